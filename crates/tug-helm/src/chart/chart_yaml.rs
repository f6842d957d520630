//! Reading Chart.yaml (and a v1 chart's requirements.yaml) into [`Metadata`] as Helm decodes
//! it: sigs.k8s.io/yaml, i.e. YAML converted to JSON knowing the Go struct it fills.

use std::collections::BTreeMap;

use tug_kustomize::yaml::Value as Yaml;

use super::metadata::{Dependency, Maintainer, Metadata};
use super::LoadError;
use crate::values::yaml::from_yaml;

/// Decodes YAML into Go struct fields as sigs.k8s.io/yaml does: keys match a field's JSON
/// name exactly or else case-insensitively, and numbers or booleans given for a string field
/// become their text (floats in 32-bit shortest form: `1.10` reads as `"1.1"`).
struct Decoder<'a> {
    file: &'a str,
    struct_name: &'a str,
}

fn json_kind(v: &Yaml) -> &'static str {
    match v {
        Yaml::Null => "null",
        Yaml::Bool(_) => "bool",
        Yaml::Int(_) | Yaml::UInt(_) | Yaml::Float(_) => "number",
        Yaml::Str(_) => "string",
        Yaml::Seq(_) => "array",
        Yaml::Map(_) => "object",
    }
}

impl Decoder<'_> {
    fn mismatch(&self, v: &Yaml, field: &str, go_type: &str) -> LoadError {
        LoadError::Parse {
            file: self.file.to_string(),
            message: format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {}.{} of type {}",
                json_kind(v),
                self.struct_name,
                field,
                go_type
            ),
        }
    }

    /// The fields of a mapping matched to `names`, in the order JSON decoding applies them
    /// (keys sorted, so with two spellings of one field the later key wins).
    fn fields<'v>(
        &self,
        map: &'v tug_kustomize::yaml::Map,
        names: &[&'static str],
    ) -> Vec<(&'static str, &'v Yaml)> {
        let mut keys: Vec<(&String, &Yaml)> = map.iter().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = Vec::new();
        for (k, v) in keys {
            let field = names
                .iter()
                .find(|n| **n == k.as_str())
                .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(k)));
            if let Some(f) = field {
                out.push((*f, v));
            }
        }
        out
    }

    fn string(&self, v: &Yaml, field: &str) -> Result<String, LoadError> {
        match v {
            Yaml::Null => Ok(String::new()),
            Yaml::Str(s) => Ok(s.clone()),
            Yaml::Bool(b) => Ok(b.to_string()),
            Yaml::Int(i) => Ok(i.to_string()),
            Yaml::UInt(u) => Ok(u.to_string()),
            Yaml::Float(f) => Ok(format_float32_g(*f)),
            other => Err(self.mismatch(other, field, "string")),
        }
    }

    fn strings(&self, v: &Yaml, field: &str) -> Result<Vec<String>, LoadError> {
        match v {
            Yaml::Null => Ok(Vec::new()),
            Yaml::Seq(items) => items.iter().map(|i| self.string(i, field)).collect(),
            other => Err(self.mismatch(other, field, "[]string")),
        }
    }

    fn boolean(&self, v: &Yaml, field: &str) -> Result<bool, LoadError> {
        match v {
            Yaml::Null => Ok(false),
            Yaml::Bool(b) => Ok(*b),
            other => Err(self.mismatch(other, field, "bool")),
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`.
pub fn format_float32_g(f: f64) -> String {
    let f = f as f32;
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` prints the shortest digits that read back as the same f32.
    let e = format!("{:e}", f.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    // Go switches to the exponent form outside 1e-4 <= |f| < 1e6 for shortest formatting.
    if !(-4..6).contains(&exp) {
        format_e(sign, &digits, exp)
    } else if exp < 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..point], &digits[point..])
        }
    }
}

/// Go's `%e` form of shortest digits: `1.5e+07`, exponent at least two digits.
fn format_e(sign: &str, digits: &str, exp: i32) -> String {
    let mut out = String::from(sign);
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

const METADATA_FIELDS: &[&str] = &[
    "name",
    "home",
    "sources",
    "version",
    "description",
    "keywords",
    "maintainers",
    "icon",
    "apiVersion",
    "condition",
    "tags",
    "appVersion",
    "deprecated",
    "annotations",
    "kubeVersion",
    "dependencies",
    "type",
];

/// Reads the first YAML document of Chart.yaml (or requirements.yaml) over `md`, as
/// `yaml.Unmarshal` into the existing struct does: fields absent from the text keep their
/// values.
pub fn decode_metadata(file: &str, data: &[u8], md: &mut Metadata) -> Result<(), LoadError> {
    let text = String::from_utf8_lossy(data);
    let docs =
        tug_kustomize::yaml::parse_documents_yaml11(&text).map_err(|e| LoadError::Parse {
            file: file.to_string(),
            message: format!("error converting YAML to JSON: {e}"),
        })?;
    let d = Decoder {
        file,
        struct_name: "Metadata",
    };
    let map = match docs.into_iter().next() {
        None | Some(Yaml::Null) => return Ok(()),
        Some(Yaml::Map(m)) => m,
        Some(other) => {
            return Err(LoadError::Parse {
                file: file.to_string(),
                message: format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type chart.Metadata",
                    json_kind(&other)
                ),
            })
        }
    };
    for (field, v) in d.fields(&map, METADATA_FIELDS) {
        match field {
            "name" => md.name = d.string(v, field)?,
            "home" => md.home = d.string(v, field)?,
            "sources" => md.sources = d.strings(v, field)?,
            "version" => md.version = d.string(v, field)?,
            "description" => md.description = d.string(v, field)?,
            "keywords" => md.keywords = d.strings(v, field)?,
            "maintainers" => md.maintainers = decode_maintainers(file, v)?,
            "icon" => md.icon = d.string(v, field)?,
            "apiVersion" => md.api_version = d.string(v, field)?,
            "condition" => md.condition = d.string(v, field)?,
            "tags" => md.tags = d.string(v, field)?,
            "appVersion" => md.app_version = d.string(v, field)?,
            "deprecated" => md.deprecated = d.boolean(v, field)?,
            "annotations" => md.annotations = decode_annotations(&d, v)?,
            "kubeVersion" => md.kube_version = d.string(v, field)?,
            "dependencies" => md.dependencies = decode_dependencies(file, v)?,
            _ => md.chart_type = d.string(v, field)?,
        }
    }
    Ok(())
}

fn decode_annotations(
    d: &Decoder,
    v: &Yaml,
) -> Result<Option<BTreeMap<String, String>>, LoadError> {
    match v {
        Yaml::Null => Ok(None),
        Yaml::Map(m) => m
            .iter()
            .map(|(k, v)| Ok((k.clone(), d.string(v, "annotations")?)))
            .collect::<Result<_, _>>()
            .map(Some),
        other => Err(d.mismatch(other, "annotations", "map[string]string")),
    }
}

fn decode_maintainers(file: &str, v: &Yaml) -> Result<Vec<Maintainer>, LoadError> {
    let d = Decoder {
        file,
        struct_name: "Maintainer",
    };
    let items = match v {
        Yaml::Null => return Ok(Vec::new()),
        Yaml::Seq(items) => items,
        other => return Err(d.mismatch(other, "maintainers", "[]*chart.Maintainer")),
    };
    let mut out = Vec::new();
    for item in items {
        let m = match item {
            Yaml::Map(m) => m,
            Yaml::Null => {
                return Err(LoadError::Validation(
                    "maintainers must not contain empty or null nodes".into(),
                ))
            }
            other => return Err(d.mismatch(other, "maintainers", "chart.Maintainer")),
        };
        let mut mt = Maintainer::default();
        for (field, v) in d.fields(m, &["name", "email", "url"]) {
            let s = d.string(v, field)?;
            match field {
                "name" => mt.name = s,
                "email" => mt.email = s,
                _ => mt.url = s,
            }
        }
        out.push(mt);
    }
    Ok(out)
}

fn decode_dependencies(file: &str, v: &Yaml) -> Result<Vec<Dependency>, LoadError> {
    let d = Decoder {
        file,
        struct_name: "Dependency",
    };
    let items = match v {
        Yaml::Null => return Ok(Vec::new()),
        Yaml::Seq(items) => items,
        other => return Err(d.mismatch(other, "dependencies", "[]*chart.Dependency")),
    };
    let mut out = Vec::new();
    for item in items {
        let m = match item {
            Yaml::Map(m) => m,
            Yaml::Null => {
                return Err(LoadError::Validation(
                    "dependencies must not contain empty or null nodes".into(),
                ))
            }
            other => return Err(d.mismatch(other, "dependencies", "chart.Dependency")),
        };
        let mut dep = Dependency::default();
        let names = [
            "name",
            "version",
            "repository",
            "condition",
            "tags",
            "enabled",
            "import-values",
            "alias",
        ];
        for (field, v) in d.fields(m, &names) {
            match field {
                "name" => dep.name = d.string(v, field)?,
                "version" => dep.version = d.string(v, field)?,
                "repository" => dep.repository = d.string(v, field)?,
                "condition" => dep.condition = d.string(v, field)?,
                "tags" => dep.tags = d.strings(v, field)?,
                "enabled" => dep.enabled = d.boolean(v, field)?,
                "import-values" => {
                    dep.import_values = match v {
                        Yaml::Null => Vec::new(),
                        Yaml::Seq(items) => items.iter().cloned().map(from_yaml).collect(),
                        other => return Err(d.mismatch(other, field, "[]interface {}")),
                    }
                }
                _ => dep.alias = d.string(v, field)?,
            }
        }
        out.push(dep);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_string_fields_read_as_32_bit_text() {
        let mut md = Metadata::default();
        decode_metadata(
            "Chart.yaml",
            b"name: x\nversion: 1.0\nappVersion: 1.10\nNAME: y\n",
            &mut md,
        )
        .unwrap();
        assert_eq!(md.app_version, "1.1");
        assert_eq!(md.version, "1");
        assert_eq!(md.name, "x", "the exact spelling sorts after NAME and wins");
        assert_eq!(format_float32_g(1.2345678901), "1.2345679");
        assert_eq!(format_float32_g(1e7), "1e+07");
        assert_eq!(format_float32_g(0.0001), "0.0001");
        assert_eq!(format_float32_g(123456.0), "123456");
    }
}
