//! The head of a document (`apiVersion`, `kind`, `metadata.name`, `metadata.annotations`), read
//! the way Helm reads it: YAML converted to JSON (go-yaml v2, so YAML 1.1 scalars), then decoded by
//! Go's `encoding/json` into a struct of strings.
//!
//! That decoding is the only validation Helm applies to rendered documents, so its failures are
//! the release's failures: a document that is not a mapping, a syntax error, or a head field of
//! another type than a string (an unquoted `helm.sh/hook-weight: 5`) fails the whole release. JSON
//! field names match case-insensitively and `null` leaves a field empty, as in Go.

use std::collections::BTreeMap;

use tug_kustomize::yaml::{parse_documents_yaml11, Map as YamlMap, Value as Yaml};

/// The fields of a document Helm looks at to sort it and recognise hooks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Head {
    pub api_version: String,
    pub kind: String,
    /// `None` when the document has no `metadata` (or it is `null`).
    pub metadata: Option<HeadMetadata>,
}

/// `metadata` as far as Helm reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeadMetadata {
    pub name: String,
    /// `None` when absent or `null`, which Helm tells apart from an empty map only for hooks.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Reads the head of one document; the error is the text Helm puts after `YAML parse error on
/// <path>: `.
pub fn read_head(document: &str) -> Result<Head, String> {
    let docs = parse_documents_yaml11(document)
        .map_err(|e| format!("error converting YAML to JSON: {e}"))?;
    let mut decoder = Decoder::default();
    let head = match docs.into_iter().next() {
        None | Some(Yaml::Null) => Head::default(),
        Some(Yaml::Map(map)) => decoder.head(&map),
        Some(other) => {
            return Err(json_error(format!(
                "json: cannot unmarshal {} into Go value of type util.SimpleHead",
                json_kind(&other)
            )))
        }
    };
    match decoder.first_error {
        Some(e) => Err(json_error(e)),
        None => Ok(head),
    }
}

fn json_error(message: String) -> String {
    format!("error unmarshaling JSON: while decoding JSON: {message}")
}

/// The JSON kind of a value, as Go's `UnmarshalTypeError` names it.
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

/// Go's `encoding/json` keeps decoding after a type mismatch and reports the first one.
#[derive(Default)]
struct Decoder {
    first_error: Option<String>,
}

impl Decoder {
    fn mismatch(&mut self, value: &Yaml, field: &str, go_type: &str) {
        if self.first_error.is_none() {
            self.first_error = Some(format!(
                "json: cannot unmarshal {} into Go struct field SimpleHead.{field} of type {go_type}",
                json_kind(value)
            ));
        }
    }

    fn string(&mut self, value: &Yaml, field: &str) -> Option<String> {
        match value {
            Yaml::Str(s) => Some(s.clone()),
            Yaml::Null => None,
            other => {
                self.mismatch(other, field, "string");
                None
            }
        }
    }

    fn head(&mut self, map: &YamlMap) -> Head {
        let mut head = Head::default();
        for (key, value) in map.iter() {
            match json_field(key, &["apiVersion", "kind", "metadata"]) {
                Some("apiVersion") => {
                    if let Some(s) = self.string(value, "apiVersion") {
                        head.api_version = s;
                    }
                }
                Some("kind") => {
                    if let Some(s) = self.string(value, "kind") {
                        head.kind = s;
                    }
                }
                Some(_) => match value {
                    Yaml::Null => head.metadata = None,
                    Yaml::Map(m) => {
                        let metadata = head.metadata.get_or_insert_with(HeadMetadata::default);
                        self.metadata(m, metadata);
                    }
                    other => self.mismatch(
                        other,
                        "metadata",
                        "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }",
                    ),
                },
                None => {}
            }
        }
        head
    }

    fn metadata(&mut self, map: &YamlMap, metadata: &mut HeadMetadata) {
        for (key, value) in map.iter() {
            match json_field(key, &["name", "annotations"]) {
                Some("name") => {
                    if let Some(s) = self.string(value, "metadata.name") {
                        metadata.name = s;
                    }
                }
                Some(_) => match value {
                    Yaml::Null => metadata.annotations = None,
                    Yaml::Map(m) => {
                        // Go decodes into the existing map when there is one.
                        let annotations = metadata.annotations.get_or_insert_with(BTreeMap::new);
                        for (k, v) in m.iter() {
                            match v {
                                Yaml::Str(s) => {
                                    annotations.insert(k.clone(), s.clone());
                                }
                                Yaml::Null => {
                                    annotations.insert(k.clone(), String::new());
                                }
                                other => {
                                    self.mismatch(other, "metadata.annotations", "string");
                                }
                            }
                        }
                    }
                    other => self.mismatch(other, "metadata.annotations", "map[string]string"),
                },
                None => {}
            }
        }
    }
}

/// The struct field a JSON key decodes into: an exact match, else a case-insensitive one.
fn json_field(key: &str, fields: &[&'static str]) -> Option<&'static str> {
    fields
        .iter()
        .find(|f| **f == key)
        .or_else(|| fields.iter().find(|f| f.eq_ignore_ascii_case(key)))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kind_name_and_annotations() {
        let head = read_head(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    a: b\n    c: null\n",
        )
        .unwrap();
        assert_eq!(head.kind, "ConfigMap");
        assert_eq!(head.api_version, "v1");
        let md = head.metadata.unwrap();
        assert_eq!(md.name, "x");
        let ann = md.annotations.unwrap();
        assert_eq!(ann.get("a").map(String::as_str), Some("b"));
        assert_eq!(ann.get("c").map(String::as_str), Some(""));
    }

    #[test]
    fn comment_only_document_has_an_empty_head() {
        assert_eq!(read_head("# only a comment").unwrap(), Head::default());
    }

    #[test]
    fn non_mapping_documents_fail_as_helm_does() {
        assert_eq!(
            read_head("- a\n- b\n").unwrap_err(),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type util.SimpleHead"
        );
        assert!(read_head("just text")
            .unwrap_err()
            .contains("cannot unmarshal string"));
    }

    #[test]
    fn non_string_annotation_fails() {
        let err = read_head("kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook-weight: 5\n")
            .unwrap_err();
        assert!(err.contains("cannot unmarshal number"), "{err}");
    }

    #[test]
    fn syntax_error_names_the_line() {
        let err = read_head("a: b\nc: d: e\n").unwrap_err();
        assert!(
            err.starts_with("error converting YAML to JSON: yaml: line 2"),
            "{err}"
        );
    }

    #[test]
    fn field_names_match_case_insensitively() {
        assert_eq!(read_head("KIND: Secret").unwrap().kind, "Secret");
    }
}
