//! Legacy `vars`: `$(NAME)` references in the varReference fields, resolved from a field of
//! a named resource after all other transforms.

use crate::error::{msg, Result};
use crate::kustomization::Kustomization;
use crate::resource::Resource;
use crate::yaml::Value;

struct Var {
    name: String,
    value: String,
}

fn replace_in(v: &mut Value, vars: &[Var]) {
    match v {
        Value::Str(s) => {
            for var in vars {
                let pat = format!("$({})", var.name);
                if s.contains(&pat) {
                    *s = s.replace(&pat, &var.value);
                }
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|i| replace_in(i, vars)),
        Value::Map(m) => {
            for (_, c) in m.iter_mut() {
                replace_in(c, vars);
            }
        }
        _ => {}
    }
}

pub fn resolve(res: &mut [Resource], k: &Kustomization) -> Result<()> {
    let decls = k.list("vars");
    if decls.is_empty() {
        return Ok(());
    }
    let mut vars = Vec::new();
    for d in decls {
        let Some(m) = d.as_map() else { continue };
        let name = m
            .get("name")
            .and_then(Value::scalar_text)
            .unwrap_or_default();
        let obj = m
            .get("objref")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let oname = obj.get("name").and_then(Value::as_str).unwrap_or("");
        let field = m
            .get("fieldref")
            .and_then(|f| f.as_map())
            .and_then(|f| f.get("fieldPath"))
            .and_then(Value::as_str)
            .unwrap_or("metadata.name")
            .to_string();
        let target = res
            .iter()
            .find(|r| r.kind() == kind && r.all_ids().iter().any(|id| id.name == oname))
            .ok_or_else(|| {
                msg(format!(
                    "var '{name}' cannot be mapped to a field in the set of known resources"
                ))
            })?;
        let path: Vec<&str> = field.split('.').collect();
        let value = target
            .obj
            .get_path(&path)
            .and_then(Value::scalar_text)
            .ok_or_else(|| {
                msg(format!(
                    "field specified in var '{name}' not found in corresponding resource"
                ))
            })?;
        vars.push(Var { name, value });
    }
    for r in res.iter_mut() {
        for key in ["spec", "data"] {
            if let Some(v) = r.obj.as_map_mut().and_then(|m| m.get_mut(key)) {
                replace_in(v, &vars);
            }
        }
    }
    Ok(())
}
