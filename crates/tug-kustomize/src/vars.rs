//! Legacy `vars`: `$(NAME)` references in the `varReference` fields, resolved from a field
//! of a named resource after every other step.
//!
//! As in kustomize, a var is bound to its resource when the kustomization declaring it is
//! accumulated (matching any id the resource has had), vars from bases carry up to the
//! overlays, and the value is read from the resource's final state.

use crate::build::Accumulated;
use crate::error::{msg, Result};
use crate::fieldspec::FieldSpec;
use crate::kustomization::Kustomization;
use crate::resource::{Gvk, ResId, Resource};
use crate::yaml::number::format_go_g;
use crate::yaml::Value;

/// One `vars:` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub name: String,
    /// The `objref`'s kind and apiVersion, compared exactly (kustomize's `GvknEquals`).
    gvk: Gvk,
    obj_name: String,
    obj_namespace: String,
    field_path: String,
}

impl Var {
    fn parse(v: &Value) -> Result<Var> {
        let m = v
            .as_map()
            .ok_or_else(|| msg("vars: each entry must be a mapping"))?;
        // Go's JSON decoding matches field names case-insensitively (`fieldpath` works).
        let get = |m: &crate::yaml::Map, key: &str| -> Option<Value> {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        let text = |m: &crate::yaml::Map, key: &str| {
            get(m, key)
                .and_then(|v| v.scalar_text())
                .unwrap_or_default()
        };
        let name = text(m, "name");
        let obj = get(m, "objref")
            .and_then(|o| o.as_map().cloned())
            .unwrap_or_default();
        let field_path = get(m, "fieldref")
            .and_then(|f| f.as_map().cloned())
            .map(|f| text(&f, "fieldPath"))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "metadata.name".to_string());
        Ok(Var {
            gvk: Gvk::from_api_version(&text(&obj, "apiVersion"), &text(&obj, "kind")),
            obj_name: text(&obj, "name"),
            obj_namespace: text(&obj, "namespace"),
            name,
            field_path,
        })
    }

    fn matches(&self, id: &ResId) -> bool {
        let gvkn = id.gvk == self.gvk && id.name == self.obj_name;
        if self.obj_namespace.is_empty() && !self.gvk.is_cluster_scoped() {
            return gvkn;
        }
        let want = ResId {
            gvk: self.gvk.clone(),
            name: self.obj_name.clone(),
            namespace: self.obj_namespace.clone(),
        };
        gvkn && (self.gvk.is_cluster_scoped() || want.ns_equals(id))
    }
}

/// Adds vars from a base to the set, refusing a name declared twice differently.
pub fn merge_var_sets(set: &mut Vec<Var>, incoming: Vec<Var>) -> Result<()> {
    for v in incoming {
        match set.iter().find(|x| x.name == v.name) {
            Some(x) if *x != v => {
                return Err(msg(format!("var '{}' already encountered", v.name)));
            }
            Some(_) => {}
            None => set.push(v),
        }
    }
    Ok(())
}

/// kustomize's `MergeVars`: binds this kustomization's vars to their resources.
pub fn merge_vars(acc: &mut Accumulated, k: &Kustomization) -> Result<()> {
    let mut declared = Vec::new();
    for d in k.list("vars") {
        let var = Var::parse(&d)?;
        let matched: Vec<usize> = acc
            .resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.all_ids().iter().any(|id| var.matches(id)))
            .map(|(i, _)| i)
            .collect();
        if matched.len() > 1 {
            return Err(msg(format!(
                "found {} resId matches for var {} (unable to disambiguate)",
                matched.len(),
                var.name
            )));
        }
        if let Some(&i) = matched.first() {
            acc.resources[i].ref_vars.push(var.name.clone());
        }
        declared.push(var);
    }
    merge_var_sets(&mut acc.vars, declared)
}

/// Splits a var field path (`spec.ports[0].port`) into keys and indexes.
fn split_var_path(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in p.split('.') {
        match part.strip_suffix(']').and_then(|s| s.rsplit_once('[')) {
            Some((head, idx)) if !idx.is_empty() && idx.bytes().all(|b| b.is_ascii_digit()) => {
                if !head.is_empty() {
                    out.push(head.to_string());
                }
                out.push(idx.to_string());
            }
            _ => out.push(part.to_string()),
        }
    }
    out
}

fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = match cur {
            Value::Map(m) => m.get(p)?,
            Value::Seq(s) => s.get(p.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Expands `$(NAME)` references in `input`. A string that is exactly one reference takes the
/// var's value with its type; unknown names and `$$` escapes are kept as kustomize keeps them.
fn expand(input: &str, values: &[(String, Value)]) -> Value {
    let lookup = |name: &str| -> Option<&Value> {
        values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .filter(|v| !matches!(v, Value::Null | Value::Map(_) | Value::Seq(_)))
    };
    let b = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance;
            if rest.starts_with('$') {
                out.push('$');
                advance = 1;
            } else if rest.starts_with('(') {
                match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        let whole = input.len() == close + 2 && cursor == 0;
                        match lookup(name) {
                            Some(v) if whole => return v.clone(),
                            Some(v) => out.push_str(&go_text(v)),
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        advance = close + 1;
                    }
                    None => {
                        out.push_str("$(");
                        advance = 1;
                    }
                }
            } else {
                let ch = rest.chars().next().unwrap_or_default();
                out.push('$');
                out.push(ch);
                advance = ch.len_utf8();
            }
            cursor += advance + 1;
            checkpoint = cursor;
            continue;
        }
        cursor += 1;
    }
    out.push_str(&input[checkpoint.min(input.len())..]);
    Value::Str(out)
}

/// Go's `%v` of a decoded YAML scalar.
fn go_text(v: &Value) -> String {
    match v {
        Value::Float(f) => format_go_g(*f),
        other => other.scalar_text().unwrap_or_default(),
    }
}

fn substitute(v: &mut Value, values: &[(String, Value)]) -> Result<()> {
    match v {
        Value::Null => Ok(()),
        Value::Str(s) => {
            *v = expand(s, values);
            Ok(())
        }
        Value::Map(m) => {
            for (_, c) in m.iter_mut() {
                if let Value::Str(s) = c {
                    *c = expand(s, values);
                }
            }
            Ok(())
        }
        Value::Seq(items) => {
            for it in items.iter_mut() {
                let Value::Str(s) = it else {
                    return Err(msg("invalid value type expect a string"));
                };
                *it = expand(s, values);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Reads every var's value and substitutes references in the `varReference` fields.
pub fn resolve(res: &mut [Resource], vars: &[Var], specs: &[FieldSpec]) -> Result<()> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values = Vec::new();
    for var in vars {
        let Some(r) = res.iter().find(|r| r.ref_vars.contains(&var.name)) else {
            return Err(msg(format!(
                "var '{}' cannot be mapped to a field in the set of known resources",
                var.name
            )));
        };
        let value = lookup(&r.obj, &split_var_path(&var.field_path)).ok_or_else(|| {
            msg(format!(
                "field specified in var '{}' not found in corresponding resource",
                var.name
            ))
        })?;
        values.push((var.name.clone(), value.clone()));
    }
    for r in res.iter_mut() {
        let gvk = r.gvk();
        for f in specs.iter().filter(|f| gvk.is_selected_by(&f.gvk)) {
            f.apply(&mut r.obj, None, &mut |v| substitute(v, &values))?;
        }
    }
    Ok(())
}
