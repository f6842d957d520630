//! `.Files`: a chart's non-template files, as Helm's `engine.files` (a Go
//! `map[string][]byte` with methods) shows them to templates.

use std::any::Any;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::glob::Glob;
use crate::func::FuncError;
use crate::value::{Object, Value};

/// A chart's files by chart-relative path. Being a Go map, a name that is not a method reads
/// a file (`.Files.README` is `[]byte`, empty when missing), `range` yields the contents as
/// `[]byte` in path order, and `len` counts the files.
#[derive(Debug, Clone, Default)]
pub struct Files {
    files: BTreeMap<String, Rc<[u8]>>,
}

impl Files {
    /// The files by chart-relative path.
    pub fn new(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Files {
        Files {
            files: files
                .into_iter()
                .map(|(name, data)| (name, Rc::from(data)))
                .collect(),
        }
    }

    /// `GetBytes`: the file's contents, empty when there is no such file.
    pub fn get_bytes(&self, name: &str) -> Rc<[u8]> {
        self.files
            .get(name)
            .cloned()
            .unwrap_or_else(|| Rc::from(Vec::new()))
    }

    /// `Get`: the file's contents as a string (invalid UTF-8 is kept as Go keeps it, replaced
    /// here by U+FFFD).
    pub fn get(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.get_bytes(name)).into_owned()
    }

    /// `Glob`: the files whose path matches; an invalid pattern matches everything, as in Helm.
    pub fn glob(&self, pattern: &str) -> Files {
        let glob = Glob::new(pattern).or_else(|_| Glob::new("**"));
        Files {
            files: self
                .files
                .iter()
                .filter(|(name, _)| glob.as_ref().is_ok_and(|g| g.matches(name)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// `Lines`: the file split at `\n` after dropping one final newline; no lines for a
    /// missing or empty file.
    pub fn lines(&self, name: &str) -> Vec<String> {
        let Some(data) = self.files.get(name).filter(|d| !d.is_empty()) else {
            return Vec::new();
        };
        let text = String::from_utf8_lossy(data);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        text.split('\n').map(str::to_string).collect()
    }

    /// `AsConfig`: a YAML map from base names to contents, as a ConfigMap's `data` wants it.
    pub fn as_config(&self) -> String {
        self.yaml_by_base_name(|data| String::from_utf8_lossy(data).into_owned())
    }

    /// `AsSecrets`: a YAML map from base names to base64 of the contents.
    pub fn as_secrets(&self) -> String {
        self.yaml_by_base_name(base64)
    }

    fn yaml_by_base_name(&self, encode: impl Fn(&[u8]) -> String) -> String {
        let mut by_base: BTreeMap<&str, String> = BTreeMap::new();
        for (name, data) in &self.files {
            let base = name.rsplit('/').next().unwrap_or(name);
            by_base.insert(base, encode(data));
        }
        let map: tug_kustomize::yaml::Map = by_base
            .into_iter()
            .map(|(k, v)| (k.to_string(), tug_kustomize::yaml::Value::Str(v)))
            .collect();
        let yaml = tug_kustomize::yaml::to_yaml(&tug_kustomize::yaml::Value::Map(map));
        yaml.strip_suffix('\n').unwrap_or(&yaml).to_string()
    }

    /// The files in path order, for `range` and `len`.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Rc<[u8]>)> {
        self.files.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of files (`len .Files`).
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// No files: `if .Files` is false.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn string_arg(method: &str, args: &[Value]) -> Result<String, FuncError> {
    if args.len() != 1 {
        return Err(FuncError::msg(format!(
            "wrong number of args for {method}: want 1 got {}",
            args.len()
        )));
    }
    match &args[0] {
        Value::String(s) => Ok(s.to_string()),
        other => Err(FuncError::msg(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        ))),
    }
}

fn no_args(method: &str, args: &[Value]) -> Result<(), FuncError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(FuncError::msg(format!(
            "wrong number of args for {method}: want 0 got {}",
            args.len()
        )))
    }
}

impl Object for Files {
    fn type_name(&self) -> String {
        "engine.files".into()
    }

    fn member(&self, name: &str, args: Vec<Value>) -> Option<Result<Value, FuncError>> {
        let result = match name {
            "Get" => string_arg(name, &args).map(|n| Value::from(self.get(&n))),
            "GetBytes" => string_arg(name, &args).map(|n| Value::Bytes(self.get_bytes(&n))),
            "Glob" => string_arg(name, &args).map(|p| Value::Object(Rc::new(self.glob(&p)))),
            "Lines" => string_arg(name, &args).map(|n| Value::string_list(self.lines(&n))),
            "AsConfig" => no_args(name, &args).map(|()| Value::from(self.as_config())),
            "AsSecrets" => no_args(name, &args).map(|()| Value::from(self.as_secrets())),
            key if args.is_empty() => Ok(Value::Bytes(self.get_bytes(key))),
            key => Err(FuncError::msg(format!(
                "{key} is not a method but has arguments"
            ))),
        };
        Some(result)
    }

    fn format_v(&self) -> String {
        let entries: BTreeMap<String, Value> = self
            .files
            .iter()
            .map(|(k, v)| (k.clone(), Value::Bytes(v.clone())))
            .collect();
        Value::map(entries).format_v()
    }

    fn to_data(&self) -> Value {
        Value::map(
            self.files
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(base64(v))))
                .collect(),
        )
    }

    fn truthy(&self) -> bool {
        !self.files.is_empty()
    }

    fn map_entries(&self) -> Option<Vec<(String, Value)>> {
        Some(
            self.files
                .iter()
                .map(|(k, v)| (k.clone(), Value::Bytes(v.clone())))
                .collect(),
        )
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Files {
        Files::new([
            ("config/a.yaml".to_string(), b"a: 1\n".to_vec()),
            ("config/sub/b.yaml".to_string(), b"b: 2".to_vec()),
            ("README.md".to_string(), b"one\ntwo\n\n".to_vec()),
        ])
    }

    #[test]
    fn methods_answer_like_helm() {
        let f = sample();
        assert_eq!(f.get("README.md"), "one\ntwo\n\n");
        assert_eq!(f.get("missing"), "");
        assert_eq!(f.lines("README.md"), vec!["one", "two", ""]);
        assert!(f.lines("missing").is_empty());
        assert_eq!(f.glob("config/*").len(), 1);
        assert_eq!(f.glob("config/**").len(), 2);
        assert_eq!(f.glob("[").len(), 3, "a bad pattern matches everything");
        assert_eq!(f.glob("config/*").as_config(), "a.yaml: |\n  a: 1");
        assert_eq!(f.glob("nothing").as_config(), "{}");
        assert_eq!(f.glob("config/sub/*").as_secrets(), "b.yaml: YjogMg==");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn as_an_object_it_is_a_go_map_with_methods() {
        let f = sample();
        let v = f.member("GetBytes", vec![Value::from("config/sub/b.yaml")]);
        assert_eq!(v.unwrap().unwrap().format_v(), "[98 58 32 50]");
        let missing = f.member("nokey", vec![]).unwrap().unwrap();
        assert_eq!(missing.type_name(), "[]uint8");
        let err = f
            .member("Get", vec![Value::Float(1.0)])
            .unwrap()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "wrong type for value; expected string; got float64"
        );
        assert_eq!(f.type_name(), "engine.files");
    }
}
