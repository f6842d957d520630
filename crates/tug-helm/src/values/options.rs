//! User values from the command line, merged in Helm's order (`values.Options.MergeValues`):
//! values files, then `--set-json`, `--set`, `--set-string`, `--set-file` and `--set-literal`.

use super::literal::parse_literal_into;
use super::strvals::{from_json, parse_mode_into, Mode, SetError};
use super::yaml::{load_values, merge_maps, ValuesError};
use crate::value::Value;

/// The values flags of `helm install`/`helm template`, each in command-line order.
#[derive(Debug, Clone, Default)]
pub struct ValueOptions {
    /// `-f`: name (for messages) and contents.
    pub files: Vec<(String, Vec<u8>)>,
    pub set_json: Vec<String>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    /// `--set-file key=path`; the paths are read by the reader given to [`ValueOptions::merge`].
    pub set_file: Vec<String>,
    pub set_literal: Vec<String>,
}

/// Why user values could not be merged; messages are Helm's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UserValuesError {
    #[error("failed to parse {name}: {source}")]
    File {
        name: String,
        #[source]
        source: ValuesError,
    },
    #[error("failed parsing --set-json data JSON: {0}")]
    SetJsonObject(String),
    #[error("failed parsing --set-json data {0}")]
    SetJson(String),
    #[error("failed parsing --set data: {0}")]
    Set(SetError),
    #[error("failed parsing --set-string data: {0}")]
    SetString(SetError),
    #[error("failed parsing --set-file data: {0}")]
    SetFile(SetError),
    #[error("failed parsing --set-literal data: {0}")]
    SetLiteral(SetError),
}

impl ValueOptions {
    /// The merged user values. `read_file` reads a `--set-file` path, returning its text or
    /// an error message.
    pub fn merge(
        &self,
        read_file: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Value, UserValuesError> {
        let mut base = Value::empty_map();
        for (name, data) in &self.files {
            let current = load_values(data).map_err(|source| UserValuesError::File {
                name: name.clone(),
                source,
            })?;
            base = merge_maps(&base, &current);
        }
        for item in &self.set_json {
            let trimmed = item.trim();
            if trimmed.starts_with('{') {
                let object: serde_json::Value = serde_json::from_str(trimmed)
                    .map_err(|_| UserValuesError::SetJsonObject(item.clone()))?;
                let object = from_json(object);
                if object.as_map().is_none() {
                    return Err(UserValuesError::SetJsonObject(item.clone()));
                }
                base = merge_maps(&base, &object);
            } else {
                let dest = map_of(&base);
                parse_mode_into(item, &dest, Mode::Json)
                    .map_err(|_| UserValuesError::SetJson(item.clone()))?;
            }
        }
        let dest = map_of(&base);
        for item in &self.set {
            parse_mode_into(item, &dest, Mode::Typed).map_err(UserValuesError::Set)?;
        }
        for item in &self.set_string {
            parse_mode_into(item, &dest, Mode::Strings).map_err(UserValuesError::SetString)?;
        }
        for item in &self.set_file {
            parse_mode_into(item, &dest, Mode::File(read_file))
                .map_err(UserValuesError::SetFile)?;
        }
        for item in &self.set_literal {
            parse_literal_into(item, &dest).map_err(UserValuesError::SetLiteral)?;
        }
        Ok(Value::Map(dest))
    }
}

fn map_of(v: &Value) -> crate::value::Map {
    match v {
        Value::Map(m) => m.clone(),
        _ => super::new_map(),
    }
}

/// Merges `-f` files, then `--set`, then `--set-string` (the common case of
/// [`ValueOptions::merge`]).
pub fn merge_user_values(
    files: &[(String, Vec<u8>)],
    sets: &[String],
    set_strings: &[String],
) -> Result<Value, UserValuesError> {
    ValueOptions {
        files: files.to_vec(),
        set: sets.to_vec(),
        set_string: set_strings.to_vec(),
        ..Default::default()
    }
    .merge(&|path| {
        Err(format!(
            "cannot read {path}: --set-file is not given a reader"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_then_sets_then_set_strings() {
        let files = vec![
            (
                "a.yaml".to_string(),
                b"x: {p: 1, r: 2}\nlist: [1]\n".to_vec(),
            ),
            ("b.yaml".to_string(), b"x: {r: 3}\n".to_vec()),
        ];
        let v = merge_user_values(&files, &["x.p=5,list[1]=b".into()], &["x.r=7".into()]).unwrap();
        assert_eq!(v.format_v(), "map[list:[1 b] x:map[p:5 r:7]]");
        let err = merge_user_values(&[], &["a.b".into()], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed parsing --set data: key \"b\" has no value"
        );
    }

    #[test]
    fn every_flag_in_helms_order() {
        let opts = ValueOptions {
            files: vec![(
                "f.yaml".into(),
                b"a: file\nb: file\nc: file\nd: file\ne: file\n".to_vec(),
            )],
            set_json: vec![
                r#"{"a": "json-object", "j": [1, {"k": null}]}"#.into(),
                "b=\"json\"".into(),
            ],
            set: vec!["c=set".into()],
            set_string: vec!["d=set-string".into()],
            set_file: vec!["e=some/path".into()],
            set_literal: vec!["f=literal,with=comma\\".into()],
        };
        let v = opts
            .merge(&|path| Ok(format!("contents of {path}")))
            .unwrap();
        assert_eq!(
            v.format_v(),
            "map[a:json-object b:json c:set d:set-string e:contents of some/path f:literal,with=comma\\ j:[1 map[k:<nil>]]]"
        );
        let err = ValueOptions {
            set_file: vec!["x=missing".into()],
            ..Default::default()
        }
        .merge(&|p| Err(format!("open {p}: no such file or directory")))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed parsing --set-file data: open missing: no such file or directory"
        );
    }
}
