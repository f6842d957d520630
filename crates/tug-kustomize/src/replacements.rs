//! Replacements: copy a field of one resource into fields of others, with delimiter/index
//! splicing and `create` options.

use crate::build::{label_selector_matches, Builder};
use crate::error::{msg, Result};
use crate::resource::{Gvk, ResId, Resource};
use crate::yaml::resolve::resolve_plain;
use crate::yaml::{Map, Value};
use std::path::Path;

/// Splits `a.b[name=x].c` into segments, keeping bracket selectors whole.
fn split_field_path(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in p.chars() {
        match c {
            '[' => {
                depth += 1;
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
                out.push(std::mem::take(&mut cur));
            }
            '.' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v);
    };
    if let Some(sel) = first.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let (k, want) = sel.split_once('=')?;
        let item = v.as_seq()?.iter().find(|it| {
            it.as_map()
                .and_then(|m| m.get(k))
                .and_then(Value::scalar_text)
                .as_deref()
                == Some(want)
        })?;
        return lookup(item, rest);
    }
    match v {
        Value::Map(m) => lookup(m.get(first)?, rest),
        Value::Seq(s) => lookup(s.get(first.parse::<usize>().ok()?)?, rest),
        _ => None,
    }
}

/// kustomize's `IsIdxNumber`: a path part that is a sequence index.
fn is_index(p: &str) -> bool {
    !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
}

/// The node kind kyaml creates for a missing path part, decided by the part after it.
fn created_for(next: Option<&String>, leaf: &Value) -> Value {
    match next {
        Some(n) if is_index(n) || n.starts_with('[') => Value::Seq(Vec::new()),
        Some(_) => Value::Map(Map::new()),
        None => match leaf {
            Value::Map(_) => Value::Map(Map::new()),
            Value::Seq(_) => Value::Seq(Vec::new()),
            // An untagged empty scalar: the copied text resolves as plain YAML.
            _ => Value::Null,
        },
    }
}

/// kyaml's `PathMatcher`: visits every node a replacement field path names. `[k=v]` keeps
/// the elements whose `k` matches the regular expression `v` (unanchored, as in kyaml),
/// `[=v]` primitive elements, `*` every element, digits an index. With `create`, missing
/// fields, indexes just past the end and unmatched `[k=v]` elements are made. Returns how
/// many nodes were visited; `created` marks nodes made here.
fn visit(
    v: &mut Value,
    path: &[String],
    create: Option<&Value>,
    f: &mut dyn FnMut(&mut Value, bool) -> Result<()>,
    created: bool,
) -> Result<usize> {
    let Some((first, rest)) = path.split_first() else {
        f(v, created)?;
        return Ok(1);
    };
    if is_index(first) {
        let Value::Seq(items) = v else { return Ok(0) };
        let idx: usize = first
            .parse()
            .map_err(|_| msg(format!("invalid index {first:?}")))?;
        let mut made = false;
        if let (true, Some(leaf)) = (items.len() == idx, create) {
            items.push(created_for(rest.first(), leaf));
            made = true;
        }
        let n = items.len();
        let Some(item) = items.get_mut(idx) else {
            return Err(msg(format!(
                "index {idx} specified but only {n} elements found"
            )));
        };
        return visit(item, rest, create, f, made);
    }
    if let Some(sel) = first.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let Some((field, pat)) = sel.split_once('=') else {
            return Err(msg(format!("invalid sequence selector {first:?}")));
        };
        let re = regex::Regex::new(pat)
            .map_err(|e| msg(format!("invalid pattern in {first:?}: {e}")))?;
        let Value::Seq(items) = v else { return Ok(0) };
        let hit = |it: &Value| -> bool {
            let text = if field.is_empty() {
                it.scalar_text()
            } else {
                it.as_map()
                    .and_then(|m| m.get(field))
                    .and_then(Value::scalar_text)
            };
            text.is_some_and(|t| re.is_match(t.trim()))
        };
        let mut count = 0;
        for it in items.iter_mut() {
            if hit(it) {
                count += visit(it, rest, create, f, created)?;
            }
        }
        if count == 0 && create.is_some() && !items.iter().any(hit) {
            let elem = if field.is_empty() {
                Value::Str(pat.to_string())
            } else {
                let mut m = Map::new();
                m.insert(field, Value::Str(pat.to_string()));
                Value::Map(m)
            };
            items.push(elem);
            if let Some(last) = items.last_mut() {
                count += visit(last, rest, create, f, true)?;
            }
        }
        return Ok(count);
    }
    if first == "*" {
        let Value::Seq(items) = v else { return Ok(0) };
        let mut count = 0;
        for it in items.iter_mut() {
            count += visit(it, rest, create, f, created)?;
        }
        return Ok(count);
    }
    let Value::Map(m) = v else { return Ok(0) };
    let mut made = false;
    if !m.contains_key(first) {
        let Some(leaf) = create else { return Ok(0) };
        m.insert(first.clone(), created_for(rest.first(), leaf));
        made = true;
    }
    match m.get_mut(first) {
        Some(child) => visit(child, rest, create, f, made),
        None => Ok(0),
    }
}

/// Copies `text` into an existing scalar, keeping its YAML type as kyaml does (it replaces
/// only the node's value, not its tag); text that does not fit that type fails the build as
/// it does in kustomize.
fn retype(target: &Value, text: &str, created: bool) -> Result<Value> {
    let resolved =
        || resolve_plain(text).map_err(|_| msg(format!("cannot decode `{text}` as a number")));
    if created {
        return resolved();
    }
    let want = target.kind_name();
    match target {
        Value::Str(_) => Ok(Value::Str(text.to_string())),
        Value::Float(_) => match resolved()? {
            Value::Int(i) => Ok(Value::Float(i as f64)),
            v @ Value::Float(_) => Ok(v),
            v => Err(decode_error(&v, text, want)),
        },
        _ => {
            let v = resolved()?;
            let same = v.kind_name() == want;
            if same {
                Ok(v)
            } else {
                Err(decode_error(&v, text, want))
            }
        }
    }
}

fn decode_error(v: &Value, text: &str, want: &str) -> crate::error::Error {
    let tag = |k: &str| match k {
        "string" => "str".to_string(),
        other => other.to_string(),
    };
    msg(format!(
        "yaml: cannot decode !!{} `{text}` as a !!{}",
        tag(v.kind_name()),
        tag(want)
    ))
}

/// The group/version/kind/name/namespace part of a selector, matched exactly as kustomize's
/// `ResId.IsSelectedBy` does (empty fields match anything; "" and "default" namespaces are
/// equal).
struct IdSelector {
    gvk: Gvk,
    name: String,
    namespace: String,
}

impl IdSelector {
    fn from_value(v: Option<&Value>) -> IdSelector {
        let m = v.and_then(Value::as_map);
        let s = |k: &str| {
            m.and_then(|m| m.get(k))
                .and_then(Value::scalar_text)
                .unwrap_or_default()
        };
        IdSelector {
            gvk: Gvk {
                group: s("group"),
                version: s("version"),
                kind: s("kind"),
            },
            name: s("name"),
            namespace: s("namespace"),
        }
    }
    fn is_empty(&self) -> bool {
        self.gvk == Gvk::default() && self.name.is_empty() && self.namespace.is_empty()
    }
    fn selects(&self, id: &ResId) -> bool {
        let ns = ResId {
            namespace: self.namespace.clone(),
            ..ResId::default()
        };
        (self.name.is_empty() || self.name == id.name)
            && (self.namespace.is_empty() || ns.ns_equals(id))
            && id.gvk.is_selected_by(&self.gvk)
    }
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("group", &self.gvk.group),
            ("version", &self.gvk.version),
            ("kind", &self.gvk.kind),
            ("name", &self.name),
            ("namespace", &self.namespace),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}: {v}"));
            }
        }
        parts.join(", ")
    }
}

fn label_and_annotation_match(sel: Option<&Value>, r: &Resource) -> bool {
    let m = sel.and_then(Value::as_map);
    let s = |k: &str| {
        m.and_then(|m| m.get(k))
            .and_then(Value::scalar_text)
            .unwrap_or_default()
    };
    label_selector_matches(&s("labelSelector"), &r.labels())
        && label_selector_matches(&s("annotationSelector"), &r.annotations())
}

fn has_label_or_annotation_selector(sel: &Value) -> bool {
    sel.as_map().is_some_and(|m| {
        m.get("labelSelector").is_some_and(|v| !v.is_null())
            || m.get("annotationSelector").is_some_and(|v| !v.is_null())
    })
}

pub fn apply(b: &Builder, dir: &Path, reps: &[Value], res: &mut [Resource]) -> Result<()> {
    let mut all = Vec::new();
    for r in reps {
        match r.as_map() {
            Some(m) if m.contains_key("path") => {
                let p = m.get("path").and_then(Value::as_str).unwrap_or("");
                let (_, text) = b.read_text(dir, p)?;
                for d in b.parse_yaml(&text).map_err(|e| msg(format!("{p}: {e}")))? {
                    match d {
                        Value::Seq(s) => all.extend(s),
                        Value::Null => {}
                        other => all.push(other),
                    }
                }
            }
            Some(_) => all.push(r.clone()),
            None => {}
        }
    }
    for rep in &all {
        let Some(rm) = rep.as_map() else { continue };
        let (Some(src), Some(Value::Seq(targets))) = (rm.get("source"), rm.get("targets")) else {
            return Err(msg(
                "replacements must specify a source and at least one target",
            ));
        };
        let value = source_value(src, res)?;
        for t in targets {
            let Some(tm) = t.as_map() else { continue };
            apply_target(tm, &value, res)?;
        }
    }
    Ok(())
}

/// Finds the single source resource and reads (and optionally splits) its field.
fn source_value(src: &Value, res: &[Resource]) -> Result<Value> {
    let sel = IdSelector::from_value(Some(src));
    let sm = src.as_map().cloned().unwrap_or_default();
    let mut found: Option<&Resource> = None;
    for r in res {
        if r.all_ids().iter().any(|id| sel.selects(id)) {
            if found.is_some() {
                return Err(msg(format!(
                    "multiple matches for selector {}",
                    sel.describe()
                )));
            }
            found = Some(r);
        }
    }
    let Some(source) = found else {
        return Err(msg(format!("nothing selected by {}", sel.describe())));
    };
    let field = sm
        .get("fieldPath")
        .and_then(Value::as_str)
        .filter(|f| !f.is_empty())
        .unwrap_or("metadata.name");
    let value = lookup(&source.obj, &split_field_path(field))
        .filter(|v| match v {
            Value::Null => false,
            Value::Map(m) => !m.is_empty(),
            Value::Seq(s) => !s.is_empty(),
            _ => true,
        })
        .cloned()
        .ok_or_else(|| {
            msg(format!(
                "fieldPath `{field}` is missing for replacement source {}",
                sel.describe()
            ))
        })?;
    let Some(o) = sm.get("options").and_then(Value::as_map) else {
        return Ok(value);
    };
    let Some(d) = o
        .get("delimiter")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    else {
        return Ok(value);
    };
    let Some(text) = value
        .scalar_text()
        .filter(|_| !matches!(value, Value::Map(_) | Value::Seq(_)))
    else {
        return Err(msg("delimiter option can only be used with scalar nodes"));
    };
    let idx = match o.get("index") {
        Some(Value::Int(n)) => *n,
        _ => 0,
    };
    let parts: Vec<&str> = text.split(d).collect();
    match usize::try_from(idx).ok().and_then(|i| parts.get(i)) {
        Some(p) => Ok(match value {
            Value::Str(_) => Value::Str(p.to_string()),
            _ => resolve_plain(p).unwrap_or_else(|_| Value::Str(p.to_string())),
        }),
        None => Err(msg(format!(
            "options.index {idx} is out of bounds for value {text}"
        ))),
    }
}

fn apply_target(tm: &Map, value: &Value, res: &mut [Resource]) -> Result<()> {
    let Some(select) = tm.get("select").filter(|v| !v.is_null()) else {
        return Err(msg("target must specify resources to select"));
    };
    let sel = IdSelector::from_value(Some(select));
    let rejects: Vec<&Value> = tm
        .get("reject")
        .and_then(Value::as_seq)
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    let reject_ids: Vec<IdSelector> = rejects
        .iter()
        .map(|r| IdSelector::from_value(Some(r)))
        .filter(|r| !r.is_empty())
        .collect();
    let opts = tm
        .get("options")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    let create = matches!(opts.get("create"), Some(Value::Bool(true)));
    let delim = opts
        .get("delimiter")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .map(str::to_string);
    let index = match opts.get("index") {
        Some(Value::Int(n)) => *n,
        _ => 0,
    };
    let paths: Vec<String> = match tm.get("fieldPaths").and_then(Value::as_seq) {
        Some(s) if !s.is_empty() => s.iter().filter_map(Value::scalar_text).collect(),
        _ => vec!["metadata.name".to_string()],
    };
    for r in res.iter_mut() {
        if !label_and_annotation_match(Some(select), r) {
            continue;
        }
        if rejects
            .iter()
            .any(|x| has_label_or_annotation_selector(x) && label_and_annotation_match(Some(x), r))
        {
            continue;
        }
        let ids = r.all_ids();
        if !ids.iter().any(|id| sel.selects(id))
            || reject_ids
                .iter()
                .any(|x| ids.iter().any(|id| x.selects(id)))
        {
            continue;
        }
        for p in &paths {
            let segs = split_field_path(p);
            let n = visit(
                &mut r.obj,
                &segs,
                create.then_some(value),
                &mut |node, created| set_field(node, value, delim.as_deref(), index, created),
                false,
            )?;
            if n == 0 {
                return Err(msg(if create {
                    format!("unable to find or create field \"{p}\" in replacement target")
                } else {
                    format!("unable to find field \"{p}\" in replacement target")
                }));
            }
        }
    }
    Ok(())
}

/// kustomize's `setFieldValue`.
fn set_field(
    node: &mut Value,
    value: &Value,
    delim: Option<&str>,
    index: i64,
    created: bool,
) -> Result<()> {
    let is_scalar = !matches!(node, Value::Map(_) | Value::Seq(_));
    let mut text = match value {
        Value::Map(_) | Value::Seq(_) => None,
        v => v.scalar_text(),
    };
    if let Some(d) = delim {
        if !is_scalar {
            return Err(msg("delimiter option can only be used with scalar nodes"));
        }
        let current = node.scalar_text().unwrap_or_default();
        let mut parts: Vec<String> = current.split(d).map(str::to_string).collect();
        let v = text.clone().unwrap_or_default();
        match usize::try_from(index) {
            Err(_) => parts.insert(0, v),
            Ok(i) if i >= parts.len() => parts.push(v),
            Ok(i) => parts[i] = v,
        }
        text = Some(parts.join(d));
    }
    if is_scalar {
        *node = retype(node, text.as_deref().unwrap_or(""), created)?;
    } else {
        *node = match (&text, delim) {
            (Some(t), Some(_)) => Value::Str(t.clone()),
            _ => value.clone(),
        };
    }
    Ok(())
}
