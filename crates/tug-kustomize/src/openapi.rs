//! `openapi: {path: ...}`: a schema file (Swagger-style `definitions`) that tells strategic
//! merge patches how to merge the lists of custom resources. For every definition carrying
//! `x-kubernetes-group-version-kind`, each array field with a merge patch strategy yields its
//! path and merge keys (`x-kubernetes-list-map-keys`, else `x-kubernetes-patch-merge-key`).

use crate::error::{msg, Result};
use crate::resource::Gvk;
use crate::yaml::{parse_documents, Map, Value};

/// Merge keys per kind: (kind, [(field path, keys)]).
pub type KindMergeKeys = (Gvk, Vec<(Vec<String>, Vec<String>)>);

pub fn load(text: &str, file: &str) -> Result<Vec<KindMergeKeys>> {
    let docs = parse_documents(text).map_err(|e| msg(format!("openapi {file}: {e}")))?;
    let Some(Value::Map(root)) = docs.into_iter().next() else {
        return Err(msg(format!("openapi {file}: expected a schema document")));
    };
    let Some(Value::Map(defs)) = root.get("definitions") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, def) in defs.iter() {
        let Some(gvks) = def
            .as_map()
            .and_then(|m| m.get("x-kubernetes-group-version-kind"))
        else {
            continue;
        };
        let mut lists = Vec::new();
        let mut seen = vec![name.clone()];
        walk(def, defs, &mut Vec::new(), &mut seen, &mut lists);
        for g in gvks
            .as_seq()
            .into_iter()
            .flatten()
            .filter_map(Value::as_map)
        {
            let s = |k: &str| g.get(k).and_then(Value::scalar_text).unwrap_or_default();
            out.push((
                Gvk {
                    group: s("group"),
                    version: s("version"),
                    kind: s("kind"),
                },
                lists.clone(),
            ));
        }
    }
    Ok(out)
}

/// Follows a `$ref` to `#/definitions/NAME`.
fn deref<'a>(schema: &'a Value, defs: &'a Map) -> (&'a Value, Option<String>) {
    let r = schema
        .as_map()
        .and_then(|m| m.get("$ref"))
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"));
    match r.and_then(|name| defs.get(name).map(|d| (d, name.to_string()))) {
        Some((d, name)) => (d, Some(name)),
        None => (schema, None),
    }
}

fn walk(
    schema: &Value,
    defs: &Map,
    path: &mut Vec<String>,
    seen: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, Vec<String>)>,
) {
    let (schema, name) = deref(schema, defs);
    if let Some(n) = &name {
        // Recursive schemas (JSON schema props) would never end.
        if seen.contains(n) {
            return;
        }
        seen.push(n.clone());
    }
    if let Some(m) = schema.as_map() {
        if let Some(items) = m.get("items") {
            if let Some(keys) = list_keys(m) {
                out.push((path.clone(), keys));
            }
            walk(items, defs, path, seen, out);
        }
        if let Some(Value::Map(props)) = m.get("properties") {
            for (k, v) in props.iter() {
                path.push(k.clone());
                walk(v, defs, path, seen, out);
                path.pop();
            }
        }
    }
    if name.is_some() {
        seen.pop();
    }
}

fn list_keys(m: &Map) -> Option<Vec<String>> {
    let strategy = m.get("x-kubernetes-patch-strategy")?.as_str()?;
    if !strategy.split(',').any(|s| s.trim() == "merge") {
        return None;
    }
    if let Some(Value::Seq(keys)) = m.get("x-kubernetes-list-map-keys") {
        return Some(keys.iter().filter_map(Value::scalar_text).collect());
    }
    Some(vec![m
        .get("x-kubernetes-patch-merge-key")?
        .scalar_text()?])
}
