//! A JSON Schema validator with the behaviour and messages of santhosh-tekuri/jsonschema v6,
//! the library Helm v4 validates values with: drafts 4, 6, 7, 2019-09 and 2020-12 (the
//! default), references inside the schema document, formats asserted before 2019-09.
//!
//! Helm reports errors in Go map order, which varies between runs; this validator reports
//! properties in key order. Not supported: `unevaluatedProperties`/`unevaluatedItems`,
//! `$dynamicRef`/`$recursiveRef` and content keywords. References to other documents are
//! accepted without validation (Helm downloads them; this engine works offline).

use std::collections::BTreeMap;

use serde_json::Value as J;

use super::format;
use super::number::format_english;
use crate::value::Value;
use crate::values::quote::quote;

/// A validation failure: where in the values, what, and the failures beneath it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub location: Vec<String>,
    pub kind: Kind,
    pub causes: Vec<Failure>,
}

/// What failed. `Group` and `Reference` print as `validation failed`.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Message(String),
    Group,
    Reference,
}

/// A schema that cannot be used (Helm fails to compile it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CompileError(pub String);

fn json_pointer(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

impl Failure {
    /// Prints the failure as the validator's `Error()` does, as a list item at `indent`.
    pub fn display(&self, out: &mut String, indent: usize) {
        let skip = self.kind == Kind::Reference && self.causes.len() == 1;
        let mut indent = indent;
        if !skip {
            out.push('\n');
            for _ in 1..indent {
                out.push_str("  ");
            }
            out.push_str("- ");
            indent += 1;
            let msg = match &self.kind {
                Kind::Message(m) => m.as_str(),
                Kind::Group | Kind::Reference => "validation failed",
            };
            out.push_str(&format!(
                "at {}: {msg}",
                quote(&json_pointer(&self.location))
            ));
        }
        for c in &self.causes {
            c.display(out, indent);
        }
    }
}

/// The JSON type name of a value, as the validator names it.
pub(super) fn type_of(v: &Value) -> Option<&'static str> {
    Some(match v {
        Value::Nil => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) | Value::Int64(_) | Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) => "object",
        Value::Bytes(_) | Value::Object(_) => return None,
    })
}

pub(super) fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) | Value::Int64(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

pub(super) fn is_integer(v: &Value) -> bool {
    match v {
        Value::Int(_) | Value::Int64(_) => true,
        Value::Float(f) => f.is_finite() && f.fract() == 0.0,
        _ => false,
    }
}

/// `%v`-style display of a JSON value in messages: strings quoted, composites as `value`.
pub(super) fn display_json(v: &J) -> String {
    match v {
        J::String(s) => quote(s),
        J::Array(_) | J::Object(_) => "value".into(),
        J::Number(n) => format_english(n.as_f64().unwrap_or(f64::NAN)),
        J::Bool(b) => b.to_string(),
        J::Null => "<nil>".into(),
    }
}

/// JSON equality as the validator sees it: numbers by value.
pub(super) fn equals(v: &Value, j: &J) -> bool {
    match (v, j) {
        (Value::Nil, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::String(a), J::String(b)) => &**a == b.as_str(),
        (Value::List(a), J::Array(b)) => {
            a.items.len() == b.len() && a.items.iter().zip(b).all(|(x, y)| equals(x, y))
        }
        (Value::Map(a), J::Object(b)) => {
            let a = a.borrow();
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| equals(x, y)))
        }
        (v, J::Number(n)) => as_number(v).is_some_and(|x| Some(x) == n.as_f64()),
        _ => false,
    }
}

pub(super) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.items.len() == y.items.len()
                && x.items
                    .iter()
                    .zip(y.items.iter())
                    .all(|(p, q)| values_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => match (as_number(a), as_number(b)) {
            (Some(p), Some(q)) => p == q,
            _ => false,
        },
    }
}

/// A schema document ready to validate with.
pub struct Validator {
    root: J,
    pub(super) draft: u32,
}

/// The draft a `$schema` URL names; unknown or absent means the latest, 2020-12.
fn draft_of(root: &J) -> u32 {
    let s = root.get("$schema").and_then(J::as_str).unwrap_or("");
    if s.contains("draft-04") {
        4
    } else if s.contains("draft-06") {
        6
    } else if s.contains("draft-07") {
        7
    } else if s.contains("2019-09") {
        2019
    } else {
        2020
    }
}

fn unescape_pointer(tok: &str) -> String {
    tok.replace("~1", "/").replace("~0", "~")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Validator {
    /// Reads a schema document. Patterns and references are checked as they are used.
    pub fn new(root: J) -> Result<Validator, CompileError> {
        if !matches!(root, J::Object(_) | J::Bool(_)) {
            return Err(CompileError(format!(
                "jsonschema validation failed with 'https://json-schema.org/draft/2020-12/schema#'\n- at '': got {}, want object or boolean",
                match root {
                    J::Null => "null",
                    J::Number(_) => "number",
                    J::String(_) => "string",
                    _ => "array",
                }
            )));
        }
        let draft = draft_of(&root);
        let v = Validator { root, draft };
        v.check_refs(&v.root)?;
        Ok(v)
    }

    /// Helm compiles the whole schema first, so a local reference that leads nowhere fails
    /// whatever the values are.
    fn check_refs(&self, node: &J) -> Result<(), CompileError> {
        match node {
            J::Object(m) => {
                if let Some(J::String(r)) = m.get("$ref") {
                    if r.starts_with('#') && self.resolve(r).is_err() {
                        return Err(CompileError(format!(
                            "json-pointer in \"file:///values.schema.json{r}\" not found"
                        )));
                    }
                }
                // Data keywords hold instances, not schemas.
                m.iter()
                    .filter(|(k, _)| {
                        !matches!(k.as_str(), "enum" | "const" | "default" | "examples")
                    })
                    .try_for_each(|(_, v)| self.check_refs(v))
            }
            J::Array(a) => a.iter().try_for_each(|v| self.check_refs(v)),
            _ => Ok(()),
        }
    }

    /// Validates `value`; the failures are the causes listed under the schema.
    pub fn validate(&self, value: &Value) -> Result<(), Vec<Failure>> {
        let mut depth = 0;
        match self.node(&self.root, value, &mut Vec::new(), &mut depth) {
            Ok(()) => Ok(()),
            Err(f) if f.kind == Kind::Group => Err(f.causes),
            Err(f) => Err(vec![f]),
        }
    }

    fn resolve(&self, reference: &str) -> Result<&J, Failure> {
        let unsupported = || Failure {
            location: Vec::new(),
            kind: Kind::Message(format!(
                "unsupported $ref {}: only references inside values.schema.json are resolved",
                quote(reference)
            )),
            causes: Vec::new(),
        };
        let Some(fragment) = reference.strip_prefix('#') else {
            return self.find_id(&self.root, reference).ok_or_else(unsupported);
        };
        let fragment = percent_decode(fragment);
        if fragment.is_empty() {
            return Ok(&self.root);
        }
        if let Some(pointer) = fragment.strip_prefix('/') {
            let mut cur = &self.root;
            for tok in pointer.split('/') {
                let tok = unescape_pointer(tok);
                cur = match cur {
                    J::Object(m) => m.get(&tok),
                    J::Array(a) => tok.parse::<usize>().ok().and_then(|i| a.get(i)),
                    _ => None,
                }
                .ok_or_else(unsupported)?;
            }
            return Ok(cur);
        }
        self.find_anchor(&self.root, &fragment)
            .ok_or_else(unsupported)
    }

    fn find_id<'a>(&'a self, node: &'a J, id: &str) -> Option<&'a J> {
        match node {
            J::Object(m) => {
                let own = m.get("$id").or_else(|| m.get("id")).and_then(J::as_str);
                if own
                    .is_some_and(|o| o == id || o.trim_end_matches('#') == id.trim_end_matches('#'))
                {
                    return Some(node);
                }
                m.values().find_map(|v| self.find_id(v, id))
            }
            J::Array(a) => a.iter().find_map(|v| self.find_id(v, id)),
            _ => None,
        }
    }

    fn find_anchor<'a>(&'a self, node: &'a J, anchor: &str) -> Option<&'a J> {
        match node {
            J::Object(m) => {
                let named = m.get("$anchor").and_then(J::as_str) == Some(anchor)
                    || m.get("$id").and_then(J::as_str) == Some(&format!("#{anchor}"));
                if named {
                    return Some(node);
                }
                m.values().find_map(|v| self.find_anchor(v, anchor))
            }
            J::Array(a) => a.iter().find_map(|v| self.find_anchor(v, anchor)),
            _ => None,
        }
    }

    pub(super) fn grouped(loc: &[String], msg: &str, causes: Vec<Failure>) -> Failure {
        Failure {
            location: loc.to_vec(),
            kind: Kind::Message(msg.into()),
            causes,
        }
    }

    pub(super) fn fail(loc: &[String], msg: impl Into<String>) -> Failure {
        Failure {
            location: loc.to_vec(),
            kind: Kind::Message(msg.into()),
            causes: Vec::new(),
        }
    }

    /// Validates `v` at `loc` against `schema`.
    pub(super) fn node(
        &self,
        schema: &J,
        v: &Value,
        loc: &mut Vec<String>,
        depth: &mut usize,
    ) -> Result<(), Failure> {
        *depth += 1;
        let result = if *depth > 512 {
            Err(Self::fail(
                loc,
                "schema nesting too deep (reference cycle?)",
            ))
        } else {
            self.node_inner(schema, v, loc, depth)
        };
        *depth -= 1;
        result
    }

    fn node_inner(
        &self,
        schema: &J,
        v: &Value,
        loc: &mut Vec<String>,
        depth: &mut usize,
    ) -> Result<(), Failure> {
        let s = match schema {
            J::Bool(true) => return Ok(()),
            J::Bool(false) => return Err(Self::fail(loc, "false schema")),
            J::Object(s) => s,
            _ => return Ok(()),
        };
        self.first_assertions(s, v, loc)?;
        let mut errors = Vec::new();
        if let Some(J::String(r)) = s.get("$ref") {
            let result = self.reference(r, v, loc, depth);
            if self.draft < 2019 {
                return result;
            }
            errors.extend(result.err());
        }
        match v {
            Value::Map(m) => {
                let entries: BTreeMap<String, Value> = m.borrow().clone();
                self.object(s, &entries, loc, depth, &mut errors);
            }
            Value::List(l) => self.array(s, &l.items, loc, depth, &mut errors),
            Value::String(text) => self.string(s, text, loc, &mut errors),
            _ => {
                if let Some(n) = as_number(v) {
                    self.number(s, n, loc, &mut errors);
                }
            }
        }
        self.conditionals(s, v, loc, depth, &mut errors);
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Failure {
                location: loc.clone(),
                kind: Kind::Group,
                causes: errors,
            }),
        }
    }

    /// `type`, `const`, `enum` and (before 2019-09) `format`: the first to fail is the only
    /// failure reported for the value.
    fn first_assertions(
        &self,
        s: &serde_json::Map<String, J>,
        v: &Value,
        loc: &[String],
    ) -> Result<(), Failure> {
        let Some(t) = type_of(v) else {
            return Err(Self::fail(
                loc,
                format!("invalid jsonType {}", v.type_name()),
            ));
        };
        if let Some(types) = s.get("type") {
            let named: Vec<&str> = match types {
                J::String(t) => vec![t.as_str()],
                J::Array(a) => a.iter().filter_map(J::as_str).collect(),
                _ => Vec::new(),
            };
            // The validator keeps types as a set and lists them in this order.
            let want: Vec<&str> = [
                "null", "boolean", "number", "integer", "string", "array", "object",
            ]
            .into_iter()
            .filter(|t| named.contains(t))
            .collect();
            let matched = want.contains(&t) || (want.contains(&"integer") && is_integer(v));
            if !want.is_empty() && !matched {
                return Err(Self::fail(
                    loc,
                    format!("got {t}, want {}", want.join(" or ")),
                ));
            }
        }
        if let Some(c) = s.get("const").filter(|c| !equals(v, c)) {
            let msg = match c {
                J::Array(_) | J::Object(_) => "'const' failed".to_string(),
                other => format!("value must be {}", display_json(other)),
            };
            return Err(Self::fail(loc, msg));
        }
        if let Some(J::Array(items)) = s.get("enum") {
            if !items.iter().any(|i| equals(v, i)) {
                let composite = items
                    .iter()
                    .any(|i| matches!(i, J::Array(_) | J::Object(_)));
                let shown: Vec<String> = items.iter().map(display_json).collect();
                let msg = match shown.as_slice() {
                    _ if composite => "'enum' failed".to_string(),
                    [one] => format!("value must be {one}"),
                    many => format!("value must be one of {}", many.join(", ")),
                };
                return Err(Self::fail(loc, msg));
            }
        }
        if let (Some(J::String(f)), Value::String(text)) = (s.get("format"), v) {
            if let Some(Err(e)) = format::check(f, text).filter(|_| self.draft < 2019) {
                return Err(Self::fail(
                    loc,
                    format!("{} is not valid {f}: {e}", quote(text)),
                ));
            }
        }
        Ok(())
    }

    fn reference(
        &self,
        r: &str,
        v: &Value,
        loc: &mut Vec<String>,
        depth: &mut usize,
    ) -> Result<(), Failure> {
        let target = match self.resolve(r) {
            Ok(t) => t,
            // Another document: Helm downloads it; without network access we accept the
            // value, as Helm does for references it cannot resolve by URN.
            Err(_) if !r.starts_with('#') => return Ok(()),
            Err(mut f) => {
                f.location = loc.clone();
                return Err(f);
            }
        };
        self.node(target, v, loc, depth).map_err(|inner| Failure {
            location: loc.clone(),
            kind: Kind::Reference,
            causes: if inner.kind == Kind::Group {
                inner.causes
            } else {
                vec![inner]
            },
        })
    }

    /// Validates a value below `loc`.
    pub(super) fn child(
        &self,
        schema: &J,
        v: &Value,
        loc: &mut Vec<String>,
        token: String,
        depth: &mut usize,
    ) -> Option<Failure> {
        loc.push(token);
        let r = self.node(schema, v, loc, depth).err();
        loc.pop();
        r
    }
}
