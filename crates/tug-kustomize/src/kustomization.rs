//! The kustomization file: parsed into a loosely typed view with the same validation kustomize
//! applies (unknown fields and wrongly typed label maps are errors).

use crate::error::{Error, Result};
use crate::yaml::{parse_documents, Map, Value};

const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

#[derive(Debug, Clone, Default)]
pub struct Kustomization {
    pub raw: Map,
    pub file: String,
    pub components: Vec<String>,
    pub configurations: Vec<String>,
    pub crds: Vec<String>,
}

fn str_list(m: &Map, key: &str) -> Vec<String> {
    match m.get(key) {
        Some(Value::Seq(s)) => s.iter().filter_map(|v| v.scalar_text()).collect(),
        _ => Vec::new(),
    }
}

impl Kustomization {
    pub fn parse(text: &str, file: &str) -> Result<Kustomization> {
        let docs = parse_documents(text).map_err(|e| Error::Yaml {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        Kustomization::from_documents(docs, file)
    }

    /// The kustomization in already parsed documents of `file`.
    pub fn from_documents(docs: Vec<Value>, file: &str) -> Result<Kustomization> {
        let raw = match docs.into_iter().next() {
            Some(Value::Map(m)) => m,
            Some(Value::Null) | None => Map::new(),
            Some(other) => {
                return Err(Error::Yaml {
                    file: file.into(),
                    message: format!(
                        "kustomization is a {}, expected a mapping",
                        other.kind_name()
                    ),
                })
            }
        };
        for k in raw.keys() {
            if !KNOWN_FIELDS.contains(&k.as_str()) {
                return Err(Error::UnknownField {
                    file: file.into(),
                    field: k.clone(),
                });
            }
        }
        for field in ["commonLabels", "commonAnnotations"] {
            if let Some(Value::Map(m)) = raw.get(field) {
                for (_, v) in m.iter() {
                    let found = match v {
                        Value::Str(_) => continue,
                        Value::Int(_) | Value::UInt(_) | Value::Float(_) => "number",
                        Value::Bool(_) => "bool",
                        Value::Null => continue,
                        Value::Seq(_) => "array",
                        Value::Map(_) => "object",
                    };
                    return Err(Error::FieldType {
                        file: file.into(),
                        field: field.into(),
                        found: found.into(),
                        expected: "string".into(),
                    });
                }
            }
        }
        if raw.contains_key("helmCharts") || raw.contains_key("helmChartInflationGenerator") {
            return Err(Error::Helm(file.into()));
        }
        Ok(Kustomization {
            components: str_list(&raw, "components"),
            configurations: str_list(&raw, "configurations"),
            crds: str_list(&raw, "crds"),
            file: file.into(),
            raw,
        })
    }

    pub fn is_component(&self) -> bool {
        self.raw.get("kind").and_then(Value::as_str) == Some("Component")
    }

    /// `resources` followed by the deprecated `bases`, as kustomize's fix-up does.
    pub fn resources(&self) -> Vec<String> {
        let mut v = str_list(&self.raw, "resources");
        v.extend(str_list(&self.raw, "bases"));
        v
    }

    pub fn str_field(&self, key: &str) -> String {
        self.raw
            .get(key)
            .and_then(Value::scalar_text)
            .unwrap_or_default()
    }

    pub fn list(&self, key: &str) -> Vec<Value> {
        match self.raw.get(key) {
            Some(Value::Seq(s)) => s.clone(),
            _ => Vec::new(),
        }
    }

    pub fn string_map(&self, key: &str) -> Vec<(String, String)> {
        match self.raw.get(key) {
            Some(Value::Map(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_default()))
                .collect(),
            _ => Vec::new(),
        }
    }
}
