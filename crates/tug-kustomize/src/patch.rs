//! Patches: strategic merge (with Kubernetes list merge keys and `$patch` directives) and
//! JSON 6902 operations.

use crate::error::{msg, Result};
use crate::yaml::{Map, Value};

/// The merge keys of a list field in built-in kinds (strategic merge patch metadata: the
/// `x-kubernetes-list-map-keys` when the schema has them, else the patch merge key).
fn builtin_merge_keys(field: &str, parent: &[String]) -> Option<Vec<String>> {
    let in_service = parent.first().is_some_and(|k| k == "Service");
    let in_container = parent.last().is_some_and(|k| {
        matches!(
            k.as_str(),
            "containers" | "initContainers" | "ephemeralContainers"
        )
    });
    let keys: &[&str] = match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims" => &["name"],
        "conditions" => &["type"],
        "ports" if in_service && parent.len() == 2 => &["port", "protocol"],
        "ports" if in_container => &["containerPort", "protocol"],
        "volumeMounts" => &["mountPath"],
        "volumeDevices" => &["devicePath"],
        "hostAliases" => &["ip"],
        "topologySpreadConstraints" => &["topologyKey", "whenUnsatisfiable"],
        _ => return None,
    };
    Some(keys.iter().map(|k| k.to_string()).collect())
}

/// Where list merge keys come from for one resource: Kubernetes' built-in schema (for
/// built-in groups) and any `openapi:` schema given for its kind, as (field path below the
/// resource root, merge keys).
#[derive(Debug, Clone, Default)]
pub struct MergeSchema {
    pub builtin: bool,
    pub custom: Vec<(Vec<String>, Vec<String>)>,
}

impl MergeSchema {
    /// `ctx` is the kind followed by the field names leading to the list.
    fn keys(&self, field: &str, ctx: &[String]) -> Option<Vec<String>> {
        let path: Vec<&str> = ctx
            .iter()
            .skip(1)
            .map(String::as_str)
            .chain(std::iter::once(field))
            .collect();
        if let Some((_, keys)) = self
            .custom
            .iter()
            .find(|(p, _)| p.len() == path.len() && p.iter().zip(&path).all(|(a, b)| a == b))
        {
            return Some(keys.clone());
        }
        if self.builtin {
            builtin_merge_keys(field, ctx)
        } else {
            None
        }
    }
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
pub fn strategic_merge(target: &mut Value, patch: &Value, schema: &MergeSchema) -> bool {
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
    merge_value(target, patch, &mut ctx, schema);
    true
}

fn merge_value(target: &mut Value, patch: &Value, ctx: &mut Vec<String>, schema: &MergeSchema) {
    match (target, patch) {
        (Value::Map(t), Value::Map(p)) => merge_map(t, p, ctx, schema),
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

fn merge_map(t: &mut Map, p: &Map, ctx: &mut Vec<String>, schema: &MergeSchema) {
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
                merge_map(tm, pm, ctx, schema);
                ctx.pop();
            }
            (Some(Value::Seq(ts)), Value::Seq(ps)) => {
                let key = schema.keys(k, ctx);
                let replace_all = ps.iter().any(|x| {
                    x.as_map()
                        .and_then(|m| m.get("$patch"))
                        .and_then(Value::as_str)
                        == Some("replace")
                });
                match key {
                    Some(key) if !replace_all && ps.iter().all(|x| x.as_map().is_some()) => {
                        ctx.push(k.clone());
                        merge_list(ts, ps, &key, ctx, schema);
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

/// The text kyaml compares for a key: the scalar's value (`80` for the number 80); maps and
/// lists compare as "".
fn key_text(v: &Value) -> String {
    match v {
        Value::Map(_) | Value::Seq(_) => String::new(),
        other => other.scalar_text().unwrap_or_default(),
    }
}

/// kyaml's `ElementValuesList`: each element's values for the keys, "" when missing/empty.
fn element_values(seq: &[Value], keys: &[String]) -> Vec<Vec<String>> {
    seq.iter()
        .map(|e| {
            keys.iter()
                .map(|k| {
                    e.as_map()
                        .and_then(|m| m.get(k))
                        .filter(|v| !is_nil_or_empty(v))
                        .map(key_text)
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Str(s) => s.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Seq(s) => s.is_empty(),
        _ => false,
    }
}

/// kyaml's `mergeValues`: key tuples that agree wherever both are set describe one element.
fn merge_key_values(list: &mut [Vec<String>]) {
    for i in 0..list.len() {
        for j in 0..list.len() {
            let (a, b) = (&list[i], &list[j]);
            if a.len() != b.len() {
                continue;
            }
            let mut common = false;
            let mut merged = Vec::with_capacity(a.len());
            let mut ok = true;
            for (x, y) in a.iter().zip(b) {
                if x == y {
                    common = true;
                    merged.push(x.clone());
                } else if !x.is_empty() && !y.is_empty() {
                    ok = false;
                    break;
                } else if !x.is_empty() {
                    merged.push(x.clone());
                } else {
                    merged.push(y.clone());
                }
            }
            if ok && common {
                list[i] = merged.clone();
                list[j] = merged;
            }
        }
    }
}

/// kyaml's `validateKeys`: only keys some element sets take part (all keys if none does).
fn validate_keys(
    all: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let set: Vec<&String> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            all.iter()
                .any(|vs| vs.get(*i).is_some_and(|v| !v.is_empty()))
        })
        .map(|(_, k)| k)
        .collect();
    if set.is_empty() {
        return (keys.to_vec(), values.to_vec());
    }
    let vk: Vec<String> = keys.iter().filter(|k| set.contains(k)).cloned().collect();
    let vv: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || set.contains(&&keys[*i]))
        .map(|(_, v)| v.clone())
        .collect();
    (vk, vv)
}

/// kyaml's `ElementMatcher` with keys and values: the first mapping element whose every key
/// field exists with exactly that text.
fn element_index(seq: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
    seq.iter().position(|e| {
        let Some(m) = e.as_map() else { return false };
        keys.iter()
            .zip(values)
            .all(|(k, v)| m.get(k).is_some_and(|f| !f.is_null() && key_text(f) == *v))
            && keys.len() == values.len()
    })
}

/// kyaml's `ElementSetter`: drops null/empty elements, replaces (or with `None`, removes)
/// every element matching the key values ("" matches any present value; keys past the end
/// of `values` are not checked), and appends `element` when nothing matched.
fn element_setter(
    items: &mut Vec<Value>,
    element: Option<&Value>,
    keys: &[String],
    values: &[String],
) {
    let mapping_setter = keys.first().is_some_and(|k| !k.is_empty())
        && values.first().is_some_and(|v| !v.is_empty());
    let mut out = Vec::with_capacity(items.len() + 1);
    let mut matched = false;
    for elem in std::mem::take(items) {
        if is_null_or_empty_map(&elem) {
            continue;
        }
        let Some(m) = elem.as_map() else {
            if mapping_setter {
                out.push(elem);
            }
            continue;
        };
        let mut found = true;
        let mut last_hit = false;
        for (j, k) in keys.iter().enumerate() {
            if let Some(v) = values.get(j) {
                last_hit = m.get(k).is_some_and(|f| v.is_empty() || key_text(f) == *v);
            }
            if !last_hit {
                found = false;
                break;
            }
        }
        if !found {
            if !values.is_empty() {
                out.push(elem);
            }
            continue;
        }
        matched = true;
        if let Some(e) = element {
            out.push(e.clone());
        }
    }
    *items = out;
    if let Some(e) = element {
        if !e.is_null() && !matched {
            items.push(e.clone());
        }
    }
}

fn is_null_or_empty_map(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}

fn is_delete(v: &Value) -> bool {
    v.as_map()
        .and_then(|m| m.get("$patch"))
        .and_then(Value::as_str)
        == Some("delete")
}

/// Merges a keyed list as kustomize's kyaml walker does (`ListIncreaseDirection: prepend`):
/// the key tuples of patch then target elements, in that order, each merged or taken whole
/// (or deleted with `$patch: delete`); then the target's elements are folded back in with
/// kyaml's own matching, which also reproduces its behaviour for elements missing a key.
fn merge_list(
    ts: &mut Vec<Value>,
    ps: &[Value],
    keys: &[String],
    ctx: &mut Vec<String>,
    schema: &MergeSchema,
) {
    let mut values: Vec<Vec<String>> = Vec::new();
    for vs in element_values(ps, keys)
        .into_iter()
        .chain(element_values(ts, keys))
    {
        if !vs.is_empty() && !values.contains(&vs) {
            values.push(vs);
        }
    }
    if keys.len() > 1 {
        merge_key_values(&mut values);
    }
    let mut items: Vec<Value> = Vec::new();
    let mut valid_keys = keys.to_vec();
    for vs in values.clone() {
        let (vk, vv) = validate_keys(&values, &vs, keys);
        valid_keys = vk.clone();
        let (ek, ev) = validate_keys(std::slice::from_ref(&vv), &vv, &vk);
        let di = element_index(ts, &ek, &ev);
        let pi = element_index(ps, &ek, &ev);
        let val = match (di, pi) {
            (_, Some(p)) if is_delete(&ps[p]) => None,
            (Some(d), Some(p)) => {
                merge_value(&mut ts[d], &ps[p], ctx, schema);
                Some(ts[d].clone())
            }
            (Some(d), None) => Some(ts[d].clone()),
            (None, Some(p)) => Some(strip_directives(&ps[p])),
            (None, None) => None,
        };
        let Some(mut val) = val.filter(|v| !is_null_or_empty_map(v)) else {
            element_setter(ts, None, &vk, &vv);
            continue;
        };
        if let Value::Map(m) = &mut val {
            for (k, v) in vk.iter().zip(&vv) {
                if !m.contains_key(k) && !v.is_empty() {
                    let typed = crate::yaml::resolve::resolve_plain(v)
                        .unwrap_or_else(|_| Value::Str(v.clone()));
                    m.insert(k.clone(), typed);
                }
            }
        }
        element_setter(&mut items, Some(&val), &vk, &vv);
    }
    if values.is_empty() {
        return;
    }
    for elem in ts.iter() {
        let mut vs = Vec::new();
        for k in &valid_keys {
            match elem.as_map().and_then(|m| m.get(k)) {
                Some(v) => vs.push(key_text(v)),
                None => items.push(elem.clone()),
            }
        }
        if valid_keys.len() > 1 {
            element_setter(&mut items, None, &valid_keys, &vs);
        }
        element_setter(&mut items, Some(elem), &valid_keys, &vs);
    }
    *ts = items;
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
