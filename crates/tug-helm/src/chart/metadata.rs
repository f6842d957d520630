//! Chart.yaml: its fields as Helm decodes them (sigs.k8s.io/yaml into Go structs), their
//! validation, and `.Chart` as templates see it.

use std::collections::BTreeMap;

use super::semver::Version;
use super::LoadError;
use crate::value::Value;

/// A maintainer entry of Chart.yaml.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Maintainer {
    pub name: String,
    pub email: String,
    pub url: String,
}

/// A dependency declared in Chart.yaml (or a v1 chart's requirements.yaml).
#[derive(Debug, Clone, Default)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    /// Set by dependency processing.
    pub enabled: bool,
    /// Strings (`exports.<name>`) or maps with `child` and `parent`, as written.
    pub import_values: Vec<Value>,
    pub alias: String,
}

/// Chart.yaml.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub name: String,
    pub home: String,
    pub sources: Vec<String>,
    pub version: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub maintainers: Vec<Maintainer>,
    pub icon: String,
    pub api_version: String,
    pub condition: String,
    pub tags: String,
    pub app_version: String,
    pub deprecated: bool,
    /// `None` when Chart.yaml has no `annotations` (Go's nil map: `toJson` prints `null`).
    pub annotations: Option<BTreeMap<String, String>>,
    pub kube_version: String,
    pub dependencies: Vec<Dependency>,
    /// `application`, `library` or empty.
    pub chart_type: String,
}

impl Metadata {
    /// Whether the chart is a library chart: only its partials (`_*`) are templates.
    pub fn is_library(&self) -> bool {
        self.chart_type.eq_ignore_ascii_case("library")
    }

    /// `.Chart` as Helm builds it: every field of its Go struct keyed by the Go field name
    /// (`Name`, `AppVersion`, `Dependencies`...), nil slices as empty lists. `IsRoot` is added
    /// by the renderer, which knows the chart's place.
    pub fn to_value(&self) -> Value {
        let strings =
            |v: &[String]| Value::list(v.iter().map(|s| Value::from(s.as_str())).collect());
        let mut m = BTreeMap::new();
        m.insert("Name".into(), Value::from(self.name.as_str()));
        m.insert("Home".into(), Value::from(self.home.as_str()));
        m.insert("Sources".into(), strings(&self.sources));
        m.insert("Version".into(), Value::from(self.version.as_str()));
        m.insert("Description".into(), Value::from(self.description.as_str()));
        m.insert("Keywords".into(), strings(&self.keywords));
        m.insert(
            "Maintainers".into(),
            Value::list(
                self.maintainers
                    .iter()
                    .map(|mt| {
                        Value::map(BTreeMap::from([
                            ("Name".to_string(), Value::from(mt.name.as_str())),
                            ("Email".to_string(), Value::from(mt.email.as_str())),
                            ("URL".to_string(), Value::from(mt.url.as_str())),
                        ]))
                    })
                    .collect(),
            ),
        );
        m.insert("Icon".into(), Value::from(self.icon.as_str()));
        m.insert("APIVersion".into(), Value::from(self.api_version.as_str()));
        m.insert("Condition".into(), Value::from(self.condition.as_str()));
        m.insert("Tags".into(), Value::from(self.tags.as_str()));
        m.insert("AppVersion".into(), Value::from(self.app_version.as_str()));
        m.insert("Deprecated".into(), Value::Bool(self.deprecated));
        m.insert(
            "Annotations".into(),
            match &self.annotations {
                None => Value::Nil,
                Some(a) => Value::map(
                    a.iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                        .collect(),
                ),
            },
        );
        m.insert(
            "KubeVersion".into(),
            Value::from(self.kube_version.as_str()),
        );
        m.insert(
            "Dependencies".into(),
            Value::list(self.dependencies.iter().map(Dependency::to_value).collect()),
        );
        m.insert("Type".into(), Value::from(self.chart_type.as_str()));
        Value::map(m)
    }

    /// Helm's `Metadata.Validate`, including its cleaning of strings.
    pub fn validate(&mut self) -> Result<(), LoadError> {
        for s in [
            &mut self.name,
            &mut self.description,
            &mut self.home,
            &mut self.icon,
            &mut self.condition,
            &mut self.tags,
            &mut self.app_version,
            &mut self.kube_version,
        ] {
            *s = sanitize(s);
        }
        for s in self.sources.iter_mut().chain(self.keywords.iter_mut()) {
            *s = sanitize(s);
        }
        let invalid = |m: String| Err(LoadError::Validation(m));
        if self.api_version.is_empty() {
            return invalid("chart.metadata.apiVersion is required".into());
        }
        if self.name.is_empty() {
            return invalid("chart.metadata.name is required".into());
        }
        if self.name == "." || self.name == ".." {
            return invalid(format!(
                "chart.metadata.name {:?} is not allowed",
                self.name
            ));
        }
        if self.name.contains('/') {
            return invalid(format!("chart.metadata.name {:?} is invalid", self.name));
        }
        if self.version.is_empty() {
            return invalid("chart.metadata.version is required".into());
        }
        if Version::parse(&self.version).is_none() {
            return invalid(format!(
                "chart.metadata.version {:?} is invalid",
                self.version
            ));
        }
        if !matches!(self.chart_type.as_str(), "" | "application" | "library") {
            return invalid("chart.metadata.type must be application or library".into());
        }
        for m in &mut self.maintainers {
            m.name = sanitize(&m.name);
            m.email = sanitize(&m.email);
            m.url = sanitize(&m.url);
        }
        let mut seen = std::collections::BTreeSet::new();
        for d in &mut self.dependencies {
            d.name = sanitize(&d.name);
            d.version = sanitize(&d.version);
            d.repository = sanitize(&d.repository);
            d.condition = sanitize(&d.condition);
            for t in &mut d.tags {
                *t = sanitize(t);
            }
            let alias_ok = d
                .alias
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !d.alias.is_empty() && !alias_ok {
                return invalid(format!(
                    "dependency {:?} has disallowed characters in the alias",
                    d.name
                ));
            }
            let key = if d.alias.is_empty() {
                &d.name
            } else {
                &d.alias
            };
            if !seen.insert(key.clone()) {
                return invalid(format!(
                    "more than one dependency with name or alias {key:?}"
                ));
            }
        }
        Ok(())
    }
}

impl Dependency {
    /// The dependency as an element of `.Chart.Dependencies`.
    pub fn to_value(&self) -> Value {
        let mut m = BTreeMap::new();
        m.insert("Name".into(), Value::from(self.name.as_str()));
        m.insert("Version".into(), Value::from(self.version.as_str()));
        m.insert("Repository".into(), Value::from(self.repository.as_str()));
        m.insert("Condition".into(), Value::from(self.condition.as_str()));
        m.insert(
            "Tags".into(),
            Value::list(self.tags.iter().map(|s| Value::from(s.as_str())).collect()),
        );
        m.insert("Enabled".into(), Value::Bool(self.enabled));
        m.insert(
            "ImportValues".into(),
            Value::list(self.import_values.clone()),
        );
        m.insert("Alias".into(), Value::from(self.alias.as_str()));
        Value::map(m)
    }
}

/// Go's `sanitizeString`: whitespace becomes a space, unprintable characters go.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() || is_format_char(c) {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// Unicode format characters (category Cf) that Go's `unicode.IsPrint` rejects.
fn is_format_char(c: char) -> bool {
    matches!(c as u32, 0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_uses_helms_wording() {
        let mut md = Metadata {
            api_version: "v2".into(),
            name: "x".into(),
            version: "one".into(),
            ..Default::default()
        };
        assert_eq!(
            md.validate().unwrap_err().to_string(),
            "validation: chart.metadata.version \"one\" is invalid"
        );
    }
}
