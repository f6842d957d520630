//! `postBuild` variable substitution, as Flux's kustomize-controller does it with
//! `fluxcd/pkg/envsubst` (a fork of `drone/envsubst`).
//!
//! Only `${...}` expressions are expanded, so `$var` in embedded scripts is left alone and
//! `$$` is the escape for a literal `$` (`$${var}` gives `${var}`). Inside the braces the
//! bash string functions envsubst knows are supported: `${#var}`, `${var^}` `${var^^}`
//! `${var,}` `${var,,}`, `${var:pos}` `${var:pos:len}`, `${var#glob}` `${var##glob}`
//! `${var%glob}` `${var%%glob}`, `${var/pat/rep}` `${var//pat/rep}` `${var/#pat/rep}`
//! `${var/%pat/rep}`, and the defaults `${var=d}` `${var:=d}` `${var:-d}` `${var:?d}`
//! `${var:+d}` (all of which mean "`d` when the value is empty", as in envsubst). Arguments
//! may hold nested expressions: `${a:=prefix-${b}}`.
//!
//! An unset variable is the empty string, or an error in strict mode unless a default
//! operator is used. Text that envsubst cannot parse (`${`, `${var`, `${var-d}`, ...) is an
//! error for the object, with envsubst's message. Objects that carry
//! `kustomize.toolkit.fluxcd.io/substitute: disabled` are left untouched.
//!
//! The evaluation works on bytes, as envsubst's Go strings do: lengths and substring offsets
//! count bytes, so `${#var}` of `é` is 2.

mod eval;
mod glob;
mod parse;

use eval::Scope;
use parse::Parser;
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
    /// The object's text is not something envsubst can expand (Flux fails the same way).
    #[error("{object}: variable substitution failed: {message}")]
    Syntax { object: String, message: String },
    #[error("{object}: variable substitution failed: {message}")]
    Yaml { object: String, message: String },
}

/// Why envsubst refuses a text; the messages are envsubst's, so users can search for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("bad substitution")]
    BadSubstitution,
    #[error("missing closing brace")]
    MissingClosingBrace,
    #[error("unable to parse variable name")]
    VariableName,
    #[error("unable to parse substitution within function")]
    FunctionArgument,
}

/// Why [`substitute_text`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Strict mode: the variable is not set and the expression gives no default.
    #[error("variable '{0}' not set (strict mode)")]
    Unset(String),
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// `${var:pos:len}` whose end falls before its start: envsubst's slice panics there,
    /// which fails Flux's reconciliation; here it is an ordinary error with Go's message.
    #[error("runtime error: slice bounds out of range [{0}]")]
    OutOfRange(String),
    /// Byte offsets (`${var:1}`, `${var#?}`) cut a multi-byte character, so the result is
    /// no longer text; Flux then fails to read the YAML back.
    #[error("the substituted text is not valid UTF-8")]
    InvalidUtf8,
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

/// Expands the `${...}` expressions in `text`. In `strict` mode a variable missing from
/// `vars` is an error unless a default operator covers it; otherwise it reads as "".
pub fn substitute_text(
    text: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<String, TextError> {
    let template = Parser::new(text).template()?;
    let scope = Scope { vars, strict };
    let mut out = Vec::with_capacity(text.len());
    for node in &template {
        out.extend(scope.eval(node)?);
    }
    String::from_utf8(out).map_err(|_| TextError::InvalidUtf8)
}

// ---------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------

fn disabled(obj: &Value) -> bool {
    ["annotations", "labels"].iter().any(|field| {
        obj["metadata"][field][SUBSTITUTE_KEY]
            .as_str()
            .is_some_and(|v| v == "disabled")
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
            let replaced = substitute_text(&yaml, vars, strict).map_err(|e| match e {
                TextError::Unset(name) => SubstituteError::Unset {
                    object: object.clone(),
                    name,
                },
                TextError::InvalidUtf8 => SubstituteError::Yaml {
                    object: object.clone(),
                    message: e.to_string(),
                },
                _ => SubstituteError::Syntax {
                    object: object.clone(),
                    message: e.to_string(),
                },
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
mod tests;
