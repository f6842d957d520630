//! Patches: strategic merge (with Kubernetes list merge keys and `$patch` directives) and
//! JSON 6902 operations.

use crate::error::{msg, Result};
use crate::yaml::{Map, Value};

/// The merge key of a list field in built-in kinds (strategic merge patch metadata).
fn merge_key(field: &str, parent: &[String]) -> Option<&'static str> {
    let in_service = parent.first().is_some_and(|k| k == "Service");
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "conditions" => "name",
        "ports" if in_service => "port",
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// Whether a kind follows Kubernetes' built-in schema (so lists merge by key); custom
/// resources without a schema get their lists replaced, as kustomize does.
pub fn is_builtin_group(group: &str) -> bool {
    group.is_empty()
        || !group.contains('.')
        || group.ends_with(".k8s.io")
        || matches!(group, "apps" | "batch" | "policy" | "autoscaling")
}

/// Merges `patch` into `target` (both resource roots). Returns false when the patch deletes
/// the whole object (`$patch: delete`).
pub fn strategic_merge(
    target: &mut Value,
    patch: &Value,
    builtin: bool,
    extra_keys: &[(String, String)],
) -> bool {
    let kind = target
        .get_path(&["kind"])
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(pm) = patch.as_map() {
        match pm.get("$patch").and_then(Value::as_str) {
            Some("delete") => return false,
            Some("replace") => {
                let mut m = pm.clone();
                m.remove("$patch");
                *target = Value::Map(m);
                return true;
            }
            _ => {}
        }
    }
    let mut ctx = vec![kind];
    merge_value(target, patch, &mut ctx, builtin, extra_keys);
    true
}

fn merge_value(
    target: &mut Value,
    patch: &Value,
    ctx: &mut Vec<String>,
    builtin: bool,
    extra: &[(String, String)],
) {
    match (target, patch) {
        (Value::Map(t), Value::Map(p)) => merge_map(t, p, ctx, builtin, extra),
        (t, p) => *t = strip_directives(p),
    }
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, val) in m.iter() {
                if k == "$patch" {
                    continue;
                }
                if val.is_null() {
                    continue;
                }
                out.insert(k.clone(), strip_directives(val));
            }
            Value::Map(out)
        }
        // A `{$patch: ...}` element is a directive for the list, never an element; so is
        // any element asking for its own deletion.
        Value::Seq(s) => Value::Seq(
            s.iter()
                .filter(|x| {
                    x.as_map().is_none_or(|m| {
                        let d = m.get("$patch").and_then(Value::as_str);
                        !(d == Some("delete") || (d.is_some() && m.len() == 1))
                    })
                })
                .map(strip_directives)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn merge_map(
    t: &mut Map,
    p: &Map,
    ctx: &mut Vec<String>,
    builtin: bool,
    extra: &[(String, String)],
) {
    for (k, pv) in p.iter() {
        if k == "$patch" {
            continue;
        }
        if pv.is_null() {
            t.remove(k);
            continue;
        }
        if let Some(pm) = pv.as_map() {
            match pm.get("$patch").and_then(Value::as_str) {
                Some("delete") => {
                    t.remove(k);
                    continue;
                }
                Some("replace") => {
                    t.insert(k.clone(), strip_directives(pv));
                    continue;
                }
                _ => {}
            }
        }
        match (t.get_mut(k), pv) {
            (Some(Value::Map(tm)), Value::Map(pm)) => {
                ctx.push(k.clone());
                merge_map(tm, pm, ctx, builtin, extra);
                ctx.pop();
            }
            (Some(Value::Seq(ts)), Value::Seq(ps)) => {
                let key = extra
                    .iter()
                    .find(|(f, _)| f == k)
                    .map(|(_, key)| key.as_str())
                    .or_else(|| if builtin { merge_key(k, ctx) } else { None });
                let replace_all = ps.iter().any(|x| {
                    x.as_map()
                        .and_then(|m| m.get("$patch"))
                        .and_then(Value::as_str)
                        == Some("replace")
                });
                match key {
                    Some(key) if !replace_all && ps.iter().all(|x| x.as_map().is_some()) => {
                        ctx.push(k.clone());
                        merge_list(ts, ps, key, ctx, builtin, extra);
                        ctx.pop();
                    }
                    _ => {
                        t.insert(k.clone(), strip_directives(pv));
                    }
                }
            }
            _ => {
                t.insert(k.clone(), strip_directives(pv));
            }
        }
    }
}

/// Merges a keyed list as kustomize's kyaml walker does with `ListIncreaseDirection:
/// prepend`: the patch's elements come first, in patch order (each merged into the target
/// element with the same key), then the target's remaining elements in their own order.
/// `$patch: delete` elements remove their match.
fn merge_list(
    ts: &mut Vec<Value>,
    ps: &[Value],
    key: &str,
    ctx: &mut Vec<String>,
    builtin: bool,
    extra: &[(String, String)],
) {
    let mut old: Vec<Option<Value>> = std::mem::take(ts).into_iter().map(Some).collect();
    let key_of = |v: &Value| v.as_map().and_then(|m| m.get(key)).cloned();
    let mut out: Vec<Value> = Vec::new();
    for pe in ps {
        let Some(pm) = pe.as_map() else { continue };
        let Some(kv) = pm.get(key) else {
            out.push(strip_directives(pe));
            continue;
        };
        // The same key twice in a patch merges into the element already placed.
        if let Some(placed) = out.iter_mut().find(|o| key_of(o).as_ref() == Some(kv)) {
            merge_value(placed, pe, ctx, builtin, extra);
            continue;
        }
        let pos = old
            .iter()
            .position(|o| o.as_ref().and_then(key_of).as_ref() == Some(kv));
        let is_delete = pm.get("$patch").and_then(Value::as_str) == Some("delete");
        if is_delete {
            if let Some(i) = pos {
                old[i] = None;
            }
            continue;
        }
        match pos.and_then(|i| old[i].take()) {
            Some(mut t) => {
                merge_value(&mut t, pe, ctx, builtin, extra);
                out.push(t);
            }
            None => out.push(strip_directives(pe)),
        }
    }
    out.extend(old.into_iter().flatten());
    *ts = out;
}

// ---------------------------------------------------------------------------------------
// JSON 6902

fn unescape(tok: &str) -> String {
    tok.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<Vec<String>> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| msg(format!("invalid JSON pointer '{path}'")))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn get_mut<'a>(root: &'a mut Value, toks: &[String], path: &str) -> Result<&'a mut Value> {
    let mut cur = root;
    for t in toks {
        cur = match cur {
            Value::Map(m) => m
                .get_mut(t)
                .ok_or_else(|| msg(format!("error in path '{path}': missing key '{t}'")))?,
            Value::Seq(s) => {
                let i: usize = t
                    .parse()
                    .map_err(|_| msg(format!("error in path '{path}': invalid index '{t}'")))?;
                s.get_mut(i)
                    .ok_or_else(|| msg(format!("error in path '{path}': index {i} out of range")))?
            }
            _ => return Err(msg(format!("error in path '{path}': not a container"))),
        };
    }
    Ok(cur)
}

fn add(root: &mut Value, path: &str, value: Value) -> Result<()> {
    let toks = split_pointer(path)?;
    let Some((last, parent)) = toks.split_last() else {
        *root = value;
        return Ok(());
    };
    let p = get_mut(root, parent, path)
        .map_err(|_| msg(format!("error in add for path: '{path}': missing value")))?;
    match p {
        Value::Map(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Seq(s) => {
            if last == "-" {
                s.push(value);
                return Ok(());
            }
            let i: usize = last
                .parse()
                .map_err(|_| msg(format!("error in add for path: '{path}': invalid index")))?;
            if i > s.len() {
                return Err(msg(format!(
                    "error in add for path: '{path}': Unable to access invalid index: {i}: invalid index referenced"
                )));
            }
            s.insert(i, value);
            Ok(())
        }
        _ => Err(msg(format!(
            "error in add for path: '{path}': not a container"
        ))),
    }
}

fn remove(root: &mut Value, path: &str) -> Result<Value> {
    let toks = split_pointer(path)?;
    let Some((last, parent)) = toks.split_last() else {
        return Err(msg("cannot remove the document root"));
    };
    let missing = || {
        msg(format!(
            "error in remove for path: '{path}': Unable to remove nonexistent key: {last}: missing value"
        ))
    };
    let p = get_mut(root, parent, path).map_err(|_| missing())?;
    match p {
        Value::Map(m) => m.remove(last).ok_or_else(missing),
        Value::Seq(s) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i >= s.len() {
                return Err(missing());
            }
            Ok(s.remove(i))
        }
        _ => Err(missing()),
    }
}

/// Applies a list of JSON 6902 operations to `root`.
pub fn apply_json6902(root: &mut Value, ops: &Value) -> Result<()> {
    let ops = ops
        .as_seq()
        .ok_or_else(|| msg("json6902 patch must be a list of operations"))?;
    for op in ops {
        let m = op
            .as_map()
            .ok_or_else(|| msg("json6902 operation must be a mapping"))?;
        let kind = m.get("op").and_then(Value::as_str).unwrap_or("");
        let path = m.get("path").and_then(Value::as_str).unwrap_or("");
        let from = m.get("from").and_then(Value::as_str).unwrap_or("");
        let value = m.get("value").cloned().unwrap_or(Value::Null);
        match kind {
            "add" => add(root, path, value)?,
            "remove" => {
                remove(root, path)?;
            }
            "replace" => {
                let toks = split_pointer(path)?;
                let target = get_mut(root, &toks, path).map_err(|_| {
                    msg(format!(
                        "error in replace for path: '{path}': Unable to replace missing key"
                    ))
                })?;
                *target = value;
            }
            "move" => {
                let v = remove(root, from)?;
                add(root, path, v)?;
            }
            "copy" => {
                let toks = split_pointer(from)?;
                let v = get_mut(root, &toks, from)?.clone();
                add(root, path, v)?;
            }
            "test" => {
                let toks = split_pointer(path)?;
                let v = get_mut(root, &toks, path)?;
                if *v != value {
                    return Err(msg(format!("testing value at '{path}' failed")));
                }
            }
            other => return Err(msg(format!("Unexpected kind: {other}"))),
        }
    }
    Ok(())
}
