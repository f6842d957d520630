//! `postBuild` variable substitution, as Flux's kustomize-controller does it with
//! `fluxcd/pkg/envsubst`: only the `${var}` form is replaced (so `$var` in embedded scripts is
//! left alone), `${var:=default}` / `${var:-default}` give a default when the variable is
//! unset or empty, `$${var}` escapes to a literal `${var}`, and an unset variable becomes the
//! empty string (or an error in strict mode). Objects that carry
//! `kustomize.toolkit.fluxcd.io/substitute: disabled` are left untouched.

use serde_json::Value;
use std::collections::BTreeMap;

/// The opt-out annotation (or label) Flux honours on an object.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// A substitution that could not be done, naming the object and variable.
#[derive(Debug, thiserror::Error)]
pub enum SubstituteError {
    #[error("{object}: variable substitution failed: variable '{name}' not set (strict mode)")]
    Unset { object: String, name: String },
    #[error("'{name}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'")]
    InvalidName { name: String },
    #[error("{object}: variable substitution failed: {message}")]
    Yaml { object: String, message: String },
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Checks the variable names as Flux does before substituting.
pub fn check_names(vars: &BTreeMap<String, String>) -> Result<(), SubstituteError> {
    match vars.keys().find(|k| !valid_name(k)) {
        Some(name) => Err(SubstituteError::InvalidName { name: name.clone() }),
        None => Ok(()),
    }
}

/// Replaces `${...}` references in `text`. Returns the name of the first unset variable
/// without a default as the error when `strict`.
pub fn substitute_text(
    text: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(escaped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = escaped;
            continue;
        }
        if let Some(body) = after.strip_prefix("${") {
            if let Some(end) = body.find('}') {
                let inner = &body[..end];
                let (name, default) = split_default(inner);
                if valid_name(name) {
                    match (vars.get(name), default) {
                        (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
                        (Some(v), _) => out.push_str(v),
                        (None, Some(d)) => out.push_str(d),
                        (None, None) if strict => return Err(name.to_string()),
                        (None, None) => {}
                    }
                    rest = &body[end + 1..];
                    continue;
                }
            }
        }
        out.push('$');
        rest = &after[1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `name:=default`, `name:-default`, `name=default`, `name-default` → (name, Some(default)).
fn split_default(inner: &str) -> (&str, Option<&str>) {
    for op in [":=", ":-", "=", "-"] {
        if let Some(i) = inner.find(op) {
            if valid_name(&inner[..i]) {
                return (&inner[..i], Some(&inner[i + op.len()..]));
            }
        }
    }
    (inner, None)
}

fn disabled(obj: &Value) -> bool {
    ["annotations", "labels"].iter().any(|field| {
        obj["metadata"][field][SUBSTITUTE_KEY]
            .as_str()
            .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
    })
}

fn describe(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or("?");
    let name = obj["metadata"]["name"].as_str().unwrap_or("?");
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// Substitutes `vars` in every object (through its YAML text, as Flux does) except those
/// that opt out.
pub fn substitute_objects(
    objects: Vec<Value>,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<Vec<Value>, SubstituteError> {
    check_names(vars)?;
    objects
        .into_iter()
        .map(|obj| {
            if disabled(&obj) {
                return Ok(obj);
            }
            let object = describe(&obj);
            let yaml = serde_yaml::to_string(&obj).map_err(|e| SubstituteError::Yaml {
                object: object.clone(),
                message: e.to_string(),
            })?;
            let replaced =
                substitute_text(&yaml, vars, strict).map_err(|name| SubstituteError::Unset {
                    object: object.clone(),
                    name,
                })?;
            if replaced == yaml {
                return Ok(obj);
            }
            serde_yaml::from_str(&replaced).map_err(|e| SubstituteError::Yaml {
                object,
                message: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flux_syntax() {
        let v = vars(&[("env", "staging"), ("empty", "")]);
        let s = |t: &str| substitute_text(t, &v, false).unwrap();
        assert_eq!(s("a-${env}-b"), "a-staging-b");
        assert_eq!(s("${missing:=dflt}"), "dflt");
        assert_eq!(s("${empty:=dflt}"), "dflt");
        assert_eq!(s("${env:=dflt}"), "staging");
        assert_eq!(s("${missing}"), "");
        assert_eq!(
            s("$env stays, $${env} escapes"),
            "$env stays, ${env} escapes"
        );
        assert_eq!(s("cost: $5 ${"), "cost: $5 ${");
        assert_eq!(
            substitute_text("${missing}", &v, true),
            Err("missing".to_string())
        );
    }

    #[test]
    fn objects_and_opt_out() {
        let v = vars(&[("replicas", "3"), ("name", "web")]);
        let objs = vec![
            json!({"kind": "Deployment", "metadata": {"name": "${name}"}, "spec": {"replicas": "${replicas}"}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "raw", "annotations": {SUBSTITUTE_KEY: "disabled"}}, "data": {"x": "${name}"}}),
        ];
        let out = substitute_objects(objs, &v, false).unwrap();
        assert_eq!(out[0]["metadata"]["name"], "web");
        assert_eq!(out[0]["spec"]["replicas"], 3, "YAML typing as Flux's");
        assert_eq!(out[1]["data"]["x"], "${name}");
        assert!(substitute_objects(vec![], &vars(&[("bad-name", "x")]), false).is_err());
    }
}
