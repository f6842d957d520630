//! Replacements: copy a field of one resource into fields of others, with delimiter/index
//! splicing and `create` options.

use crate::build::{Builder, Selector};
use crate::error::{msg, Result};
use crate::resource::Resource;
use crate::yaml::{parse_documents, Map, Value};
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

fn set_at(v: &mut Value, path: &[String], create: bool, f: &mut dyn FnMut(&mut Value)) -> bool {
    let Some((first, rest)) = path.split_first() else {
        f(v);
        return true;
    };
    if first == "*" {
        let mut any = false;
        match v {
            Value::Seq(s) => {
                for it in s.iter_mut() {
                    any |= set_at(it, rest, create, f);
                }
            }
            Value::Map(m) => {
                for (_, it) in m.iter_mut() {
                    any |= set_at(it, rest, create, f);
                }
            }
            _ => {}
        }
        return any;
    }
    if let Some(sel) = first.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let Some((k, want)) = sel.split_once('=') else {
            return false;
        };
        let Value::Seq(items) = v else { return false };
        let mut any = false;
        for it in items.iter_mut() {
            let hit = it
                .as_map()
                .and_then(|m| m.get(k))
                .and_then(Value::scalar_text)
                .as_deref()
                == Some(want);
            if hit {
                any |= set_at(it, rest, create, f);
            }
        }
        return any;
    }
    match v {
        Value::Map(m) => {
            if !m.contains_key(first) {
                if !create {
                    return false;
                }
                m.insert(
                    first.clone(),
                    if rest.is_empty() {
                        Value::Null
                    } else {
                        Value::Map(Map::new())
                    },
                );
            }
            match m.get_mut(first) {
                Some(c) => set_at(c, rest, create, f),
                None => false,
            }
        }
        Value::Seq(s) => match first.parse::<usize>().ok().and_then(|i| s.get_mut(i)) {
            Some(c) => set_at(c, rest, create, f),
            None => false,
        },
        Value::Null if create => {
            *v = Value::Map(Map::new());
            set_at(v, path, create, f)
        }
        _ => false,
    }
}

fn selector_list(v: Option<&Value>) -> Vec<Selector> {
    v.and_then(Value::as_seq)
        .map(|s| {
            s.iter()
                .map(|x| {
                    Selector::from_value(
                        x.as_map()
                            .and_then(|m| m.get("select"))
                            .unwrap_or(&Value::Null),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn apply(b: &Builder, dir: &Path, reps: &[Value], res: &mut [Resource]) -> Result<()> {
    let mut all = Vec::new();
    for r in reps {
        match r.as_map() {
            Some(m) if m.contains_key("path") => {
                let p = m.get("path").and_then(Value::as_str).unwrap_or("");
                let (_, text) = b.read_text(dir, p)?;
                for d in parse_documents(&text).map_err(|e| msg(format!("{p}: {e}")))? {
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
        let src = rm.get("source").cloned().unwrap_or(Value::Null);
        let sel = Selector::from_value(&src);
        let sm = src.as_map().cloned().unwrap_or_default();
        let field = sm
            .get("fieldPath")
            .and_then(Value::as_str)
            .unwrap_or("metadata.name");
        let sources: Vec<&Resource> = res.iter().filter(|r| sel.matches(r)).collect();
        if sources.len() != 1 {
            return Err(msg(format!(
                "multiple matches for selector or no match: found {} sources for replacement",
                sources.len()
            )));
        }
        let mut value = lookup(&sources[0].obj, &split_field_path(field))
            .cloned()
            .ok_or_else(|| {
                msg(format!(
                    "fieldPath `{field}` is missing for replacement source"
                ))
            })?;
        if let Some(o) = sm.get("options").and_then(Value::as_map) {
            if let Some(d) = o.get("delimiter").and_then(Value::as_str) {
                let idx = o
                    .get("index")
                    .and_then(|i| match i {
                        Value::Int(n) => Some(*n),
                        _ => None,
                    })
                    .unwrap_or(0);
                let text = value.scalar_text().unwrap_or_default();
                let parts: Vec<&str> = text.split(d).collect();
                value = Value::Str(
                    parts
                        .get(idx.max(0) as usize)
                        .copied()
                        .unwrap_or("")
                        .to_string(),
                );
            }
        }
        for t in rm
            .get("targets")
            .and_then(Value::as_seq)
            .cloned()
            .unwrap_or_default()
        {
            let Some(tm) = t.as_map() else { continue };
            let tsel = Selector::from_value(tm.get("select").unwrap_or(&Value::Null));
            let rejects = selector_list(tm.get("reject"));
            let opts = tm
                .get("options")
                .and_then(Value::as_map)
                .cloned()
                .unwrap_or_default();
            let create = matches!(opts.get("create"), Some(Value::Bool(true)));
            let delim = opts
                .get("delimiter")
                .and_then(Value::as_str)
                .map(str::to_string);
            let index = opts
                .get("index")
                .and_then(|i| match i {
                    Value::Int(n) => Some(*n),
                    _ => None,
                })
                .unwrap_or(0);
            let paths: Vec<String> = tm
                .get("fieldPaths")
                .and_then(Value::as_seq)
                .map(|s| s.iter().filter_map(Value::scalar_text).collect())
                .unwrap_or_default();
            for r in res.iter_mut() {
                if !tsel.matches(r) || rejects.iter().any(|x| x.matches(r)) {
                    continue;
                }
                for p in &paths {
                    let segs = split_field_path(p);
                    let v = value.clone();
                    let d = delim.clone();
                    let ok = set_at(&mut r.obj, &segs, create, &mut |node| match &d {
                        Some(d) => {
                            let text = node.scalar_text().unwrap_or_default();
                            let mut parts: Vec<String> =
                                text.split(d.as_str()).map(str::to_string).collect();
                            let sv = v.scalar_text().unwrap_or_default();
                            if index < 0 {
                                parts.insert(0, sv);
                            } else if (index as usize) < parts.len() {
                                parts[index as usize] = sv;
                            } else {
                                parts.push(sv);
                            }
                            *node = Value::Str(parts.join(d));
                        }
                        None => *node = v.clone(),
                    });
                    if !ok && !create {
                        return Err(msg(format!(
                            "unable to find field \"{p}\" in replacement target"
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}
