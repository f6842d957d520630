//! Field specs: "in resources of this group/version/kind, the field at this path". Every
//! built-in transformer is driven by a list of them, and users can extend the lists with
//! `configurations:` files.

use crate::error::Result;
use crate::resource::Gvk;
use crate::yaml::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub gvk: Gvk,
    pub path: Vec<String>,
    pub create: bool,
}

/// Splits `a/b\/c/d` into `["a", "b/c", "d"]`.
pub fn split_path(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'/') {
            cur.push('/');
            chars.next();
        } else if c == '/' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

impl FieldSpec {
    pub fn new(kind: &str, group: &str, version: &str, path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            gvk: Gvk {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
            },
            path: split_path(path),
            create,
        }
    }

    /// Reads a field spec from its YAML form (`path`, `kind`, `group`, `version`, `create`).
    pub fn from_value(v: &Value) -> Option<FieldSpec> {
        let m = v.as_map()?;
        let s = |k: &str| m.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        Some(FieldSpec {
            gvk: Gvk {
                group: s("group"),
                version: s("version"),
                kind: s("kind"),
            },
            path: split_path(m.get("path")?.as_str()?),
            create: matches!(m.get("create"), Some(Value::Bool(true))),
        })
    }

    pub fn applies_to(&self, gvk: &Gvk) -> bool {
        gvk.is_selected_by(&self.gvk)
    }

    /// Calls `f` on every node at this path inside `obj`. Sequences met on the way are
    /// traversed element by element. With `create`, missing maps are made and the final
    /// field is created from `make` when given.
    pub fn apply(
        &self,
        obj: &mut Value,
        make: Option<&dyn Fn() -> Value>,
        f: &mut dyn FnMut(&mut Value) -> Result<()>,
    ) -> Result<()> {
        walk(obj, &self.path, self.create, make, f)
    }
}

fn walk(
    node: &mut Value,
    path: &[String],
    create: bool,
    make: Option<&dyn Fn() -> Value>,
    f: &mut dyn FnMut(&mut Value) -> Result<()>,
) -> Result<()> {
    if path.is_empty() {
        return f(node);
    }
    if let Value::Seq(items) = node {
        for it in items.iter_mut() {
            walk(it, path, create, make, f)?;
        }
        return Ok(());
    }
    let raw = &path[0];
    let (key, is_seq) = match raw.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (raw.as_str(), false),
    };
    let Value::Map(m) = node else { return Ok(()) };
    let last = path.len() == 1;
    if !m.contains_key(key) || (m.get(key).is_some_and(Value::is_null) && create) {
        if !create {
            return Ok(());
        }
        if last {
            match make {
                Some(mk) => m.insert(key, mk()),
                None => return Ok(()),
            }
        } else if is_seq {
            return Ok(());
        } else {
            m.insert(key, Value::Map(Map::new()));
        }
    }
    let Some(child) = m.get_mut(key) else {
        return Ok(());
    };
    if is_seq {
        if let Value::Seq(items) = child {
            for it in items.iter_mut() {
                walk(it, &path[1..], create, make, f)?;
            }
        }
        return Ok(());
    }
    walk(child, &path[1..], create, make, f)
}
