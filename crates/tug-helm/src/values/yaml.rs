//! YAML values as Helm reads them: sigs.k8s.io/yaml, i.e. go-yaml v2 (YAML 1.1 booleans, also as
//! keys) converted to JSON and decoded into `interface{}`, so every number is a float64.

use std::collections::BTreeMap;

use tug_kustomize::yaml::{parse_documents_yaml11, Value as Yaml};

use crate::value::Value;

/// Why a values document could not be read. The text follows Helm's wording.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValuesError {
    #[error("error converting YAML to JSON: {0}")]
    Yaml(String),
    /// A document that is not a mapping (a list, a string, a number).
    #[error("cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {found} into Go value of type map[string]interface {{}}")]
    NotAMap { found: &'static str },
}

/// Converts a parsed YAML value to a template value with JSON's typing: numbers become float64.
pub fn from_yaml(v: Yaml) -> Value {
    match v {
        Yaml::Null => Value::Nil,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Int(i) => Value::Float(i as f64),
        Yaml::UInt(u) => Value::Float(u as f64),
        Yaml::Float(f) => Value::Float(f),
        Yaml::Str(s) => Value::from(s),
        Yaml::Seq(items) => Value::list(items.into_iter().map(from_yaml).collect()),
        Yaml::Map(m) => {
            let mut out = BTreeMap::new();
            for (k, v) in m.iter() {
                out.insert(k.clone(), from_yaml(v.clone()));
            }
            Value::map(out)
        }
    }
}

/// The JSON type name Go's decoder reports for a value that does not fit.
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

/// Parses the first YAML document of `text` (what `yaml.Unmarshal` reads) as a values map. An
/// empty or `null` document is an empty map.
pub fn parse_values_document(text: &str) -> Result<Value, ValuesError> {
    let docs = parse_documents_yaml11(text).map_err(|e| ValuesError::Yaml(e.to_string()))?;
    match docs.into_iter().next() {
        None | Some(Yaml::Null) => Ok(Value::empty_map()),
        Some(m @ Yaml::Map(_)) => Ok(from_yaml(m)),
        Some(other) => Err(ValuesError::NotAMap {
            found: json_kind(&other),
        }),
    }
}

/// Splits a YAML stream the way Kubernetes' `YAMLReader` does: at lines that are exactly `---`
/// (trailing whitespace allowed). `--- x` does not split.
fn split_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("---") && line[3..].trim_end().is_empty() {
            docs.push(&text[start..pos]);
            start = pos + line.len();
        }
        pos += line.len();
    }
    docs.push(&text[start..]);
    docs
}

/// Reads a values file as `helm -f` and a chart's `values.yaml` are read (Helm's
/// `loader.LoadValues`): every document is a map, later documents merged over earlier ones.
pub fn load_values(data: &[u8]) -> Result<Value, ValuesError> {
    let text = String::from_utf8_lossy(data);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut values = Value::empty_map();
    for doc in split_documents(text) {
        if doc.trim().is_empty() {
            continue;
        }
        let current = parse_values_document(doc)?;
        values = merge_maps(&values, &current);
    }
    Ok(values)
}

/// Helm's `loader.MergeMaps`: maps merge recursively, anything else in `b` replaces what `a`
/// has (a `null` included). Returns a new top-level map; neither input is modified.
pub fn merge_maps(a: &Value, b: &Value) -> Value {
    let mut out: BTreeMap<String, Value> =
        a.as_map().map(|m| m.borrow().clone()).unwrap_or_default();
    if let Some(bm) = b.as_map() {
        for (k, v) in bm.borrow().iter() {
            if v.as_map().is_some() {
                if let Some(existing) = out.get(k) {
                    if existing.as_map().is_some() {
                        let merged = merge_maps(existing, v);
                        out.insert(k.clone(), merged);
                        continue;
                    }
                }
            }
            out.insert(k.clone(), v.clone());
        }
    }
    Value::map(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_floats_and_yaml11_booleans_apply_to_keys() {
        let v = load_values(b"a: 3\nb: yes\ny: 1e+06\nc: '3'\n").unwrap();
        assert_eq!(v.format_v(), "map[a:3 b:true c:3 true:1e+06]");
        let m = v.as_map().unwrap().borrow();
        assert_eq!(m["a"].type_name(), "float64");
        assert_eq!(m["c"].type_name(), "string");
    }

    #[test]
    fn documents_are_merged_and_split_only_at_bare_separators() {
        let v = load_values(b"a: {x: 1, z: 2}\n---\na: {z: 3}\nb: null\n---  \n").unwrap();
        assert_eq!(v.format_v(), "map[a:map[x:1 z:3] b:<nil>]");
        assert_eq!(split_documents("a: 1\n--- # c\nb: 2\n").len(), 1);
    }

    #[test]
    fn repeated_keys_replace_earlier_ones_as_in_go_yaml_v2() {
        // Recorded with Helm v4.2.3: {"a":2,"b":{"true":2},"true":2}
        let v = load_values(b"a: 1\na: 2\nb: {x: 1}\nb: {y: 2}\ny: 1\ntrue: 2\n").unwrap();
        assert_eq!(v.format_v(), "map[a:2 b:map[true:2] true:2]");
        let bin = load_values(b"bin: !!binary aGVsbG8=\nt: !!bool yes\n").unwrap();
        assert_eq!(bin.format_v(), "map[bin:hello t:true]");
    }

    #[test]
    fn a_document_that_is_not_a_map_is_refused() {
        let err = load_values(b"- a\n").unwrap_err();
        assert!(err
            .to_string()
            .contains("cannot unmarshal array into Go value of type map"));
    }
}
