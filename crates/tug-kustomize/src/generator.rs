//! configMapGenerator and secretGenerator: key/value sources (literals, files, env files),
//! generator options, and create/merge/replace behaviours.

use crate::build::Builder;
use crate::error::{msg, Error, Result};
use crate::kustomization::Kustomization;
use crate::resource::{Behavior, Resource};
use crate::yaml::{Map, Value};
use std::path::Path;

/// kyaml's `encodeBase64` for generated Secret data and ConfigMap binaryData: an encoding
/// of 70 characters or more is cut into 70-character lines, each ending in a newline (so it
/// prints as a `|` block, and the content hash sees the newlines).
fn base64_wrapped(data: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = base64(data);
    if enc.len() < LINE {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / LINE + 1);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn s(m: &Map, k: &str) -> String {
    m.get(k).and_then(Value::scalar_text).unwrap_or_default()
}

fn list(m: &Map, k: &str) -> Vec<String> {
    match m.get(k) {
        Some(Value::Seq(v)) => v.iter().filter_map(Value::scalar_text).collect(),
        _ => Vec::new(),
    }
}

/// Parses an env file: `KEY=value` lines, comments and blank lines skipped.
fn parse_env(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches('\u{feff}');
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.push((k.trim_start().to_string(), v.to_string()));
        }
    }
    out
}

fn parse_literal(l: &str) -> Option<(String, String)> {
    let (k, v) = l.split_once('=')?;
    let v = v.trim_matches(|c| c == '"' || c == '\'');
    let v = if l[k.len() + 1..].len() >= 2
        && ((l[k.len() + 1..].starts_with('"') && l.ends_with('"'))
            || (l[k.len() + 1..].starts_with('\'') && l.ends_with('\'')))
    {
        v.to_string()
    } else {
        l[k.len() + 1..].to_string()
    };
    Some((k.to_string(), v))
}

struct Options {
    labels: Map,
    annotations: Map,
    disable_hash: Option<bool>,
    immutable: bool,
}

fn read_options(v: Option<&Value>) -> Options {
    let m = v.and_then(Value::as_map).cloned().unwrap_or_default();
    Options {
        labels: m
            .get("labels")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default(),
        annotations: m
            .get("annotations")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default(),
        disable_hash: match m.get("disableNameSuffixHash") {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        },
        immutable: matches!(m.get("immutable"), Some(Value::Bool(true))),
    }
}

pub fn run_generators(
    b: &Builder,
    k: &Kustomization,
    dir: &Path,
    resources: &mut Vec<Resource>,
) -> Result<()> {
    let global = read_options(k.raw.get("generatorOptions"));
    for (field, is_secret) in [("configMapGenerator", false), ("secretGenerator", true)] {
        for g in k.list(field) {
            let Some(gm) = g.as_map() else { continue };
            let mut res = generate(b, dir, gm, is_secret, &global)?;
            if let Some(o) = &b.origin {
                let kind = if is_secret {
                    "SecretGenerator"
                } else {
                    "ConfigMapGenerator"
                };
                res.origin = Some(crate::origin::Origin::builtin(
                    crate::origin::join(o, &k.file),
                    kind,
                ));
            }
            place(resources, res)?;
        }
    }
    Ok(())
}

fn generate(b: &Builder, dir: &Path, g: &Map, secret: bool, global: &Options) -> Result<Resource> {
    let name = s(g, "name");
    let kind = if secret { "Secret" } else { "ConfigMap" };
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    let push = |k: String, v: Vec<u8>, pairs: &mut Vec<(String, Vec<u8>)>| -> Result<()> {
        if pairs.iter().any(|(pk, _)| *pk == k) {
            return Err(msg(format!(
                "{} {name} illegally repeats the key `{k}`",
                kind.to_lowercase()
            )));
        }
        pairs.push((k, v));
        Ok(())
    };
    for env in list(g, "envs").into_iter().chain(
        g.get("env")
            .and_then(Value::scalar_text)
            .filter(|e| !e.is_empty()),
    ) {
        let (_, text) = b.read_text(dir, &env)?;
        for (k, v) in parse_env(&text) {
            push(k, v.into_bytes(), &mut pairs)?;
        }
    }
    for f in list(g, "files") {
        let (key, path) = match f.split_once('=') {
            Some((k, p)) => (k.to_string(), p.to_string()),
            None => (
                Path::new(&f)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| f.clone()),
                f.clone(),
            ),
        };
        let (_, bytes) = b.read_file(dir, &path).map_err(|e| match e {
            Error::NotFound { path } => msg(format!(
                "loading KV pairs: file sources: [{f}]: evalsymlink failure on '{}' : lstat {}: no such file or directory",
                path.display(),
                path.display()
            )),
            other => other,
        })?;
        push(key, bytes, &mut pairs)?;
    }
    for l in list(g, "literals") {
        let (k, v) = parse_literal(&l)
            .ok_or_else(|| msg(format!("invalid literal source {l}, expected key=value")))?;
        push(k, v.into_bytes(), &mut pairs)?;
    }
    let mut obj = Map::new();
    obj.insert("apiVersion", Value::Str("v1".into()));
    obj.insert("kind", Value::Str(kind.into()));
    let mut meta = Map::new();
    meta.insert("name", Value::Str(name.clone()));
    let ns = s(g, "namespace");
    if !ns.is_empty() {
        meta.insert("namespace", Value::Str(ns));
    }
    let local = read_options(g.get("options"));
    let mut labels = global.labels.clone();
    for (k, v) in local.labels.iter() {
        labels.insert(k.clone(), v.clone());
    }
    let mut ann = global.annotations.clone();
    for (k, v) in local.annotations.iter() {
        ann.insert(k.clone(), v.clone());
    }
    if !labels.is_empty() {
        meta.insert("labels", Value::Map(labels));
    }
    if !ann.is_empty() {
        meta.insert("annotations", Value::Map(ann));
    }
    obj.insert("metadata", Value::Map(meta));
    let mut data = Map::new();
    let mut binary = Map::new();
    for (k, v) in pairs {
        if secret {
            data.insert(k, Value::Str(base64_wrapped(&v)));
        } else {
            match String::from_utf8(v) {
                Ok(text) => data.insert(k, Value::Str(text)),
                Err(e) => binary.insert(k, Value::Str(base64_wrapped(e.as_bytes()))),
            }
        }
    }
    if !data.is_empty() {
        obj.insert("data", Value::Map(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData", Value::Map(binary));
    }
    if secret {
        let t = s(g, "type");
        obj.insert(
            "type",
            Value::Str(if t.is_empty() { "Opaque".into() } else { t }),
        );
    }
    if local.immutable || global.immutable {
        obj.insert("immutable", Value::Bool(true));
    }
    let mut r = Resource::new(Value::Map(obj));
    // A global `true` wins over a local `false`: kustomize cannot tell an explicit false
    // from an absent one.
    let disable = global.disable_hash == Some(true) || local.disable_hash == Some(true);
    r.needs_hash = !disable;
    r.behavior = Some(match s(g, "behavior").as_str() {
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        _ => Behavior::Create,
    });
    Ok(r)
}

/// Adds a generated resource according to its behaviour.
fn place(resources: &mut Vec<Resource>, mut res: Resource) -> Result<()> {
    let id = res.cur_id();
    let pos = resources.iter().position(|r| {
        r.all_ids().iter().any(|rid| {
            rid.gvk == id.gvk
                && rid.name == id.name
                && (id.namespace.is_empty() || rid.ns_equals(&id))
        })
    });
    let behavior = res.behavior.unwrap_or(Behavior::Create);
    match (pos, behavior) {
        (None, Behavior::Create) => {
            resources.push(res);
            Ok(())
        }
        (None, _) => Err(msg(format!(
            "id {} does not exist; cannot merge or replace",
            id.display()
        ))),
        (Some(_), Behavior::Create) => Err(msg(format!(
            "id {} exists; behavior must be merge or replace",
            id.display()
        ))),
        (Some(i), b) => {
            merge_into(&mut res, &resources[i], b);
            resources[i] = res;
            Ok(())
        }
    }
}

/// kustomize's merge/replace of a generated object over an existing one: the new object is
/// the base; it takes the old one's name, namespace and rename history, labels and
/// annotations of both (new values win), and with `merge` the union of the data maps. It
/// keeps a pending hash suffix only when both sides asked for one.
fn merge_into(res: &mut Resource, old: &Resource, b: Behavior) {
    if let (Some(nm), Some(om)) = (res.obj.as_map_mut(), old.obj.as_map()) {
        if b == Behavior::Merge {
            for field in ["data", "binaryData"] {
                let mut merged = match om.get(field) {
                    Some(Value::Map(o)) => o.clone(),
                    _ => Map::new(),
                };
                if let Some(Value::Map(n)) = nm.get(field) {
                    for (k, v) in n.iter() {
                        merged.insert(k.clone(), v.clone());
                    }
                }
                if !merged.is_empty() {
                    nm.insert(field, Value::Map(merged));
                }
            }
        }
        let meta = nm.entry_map("metadata");
        for field in ["labels", "annotations"] {
            let mut merged = match om.get_path_meta(field) {
                Some(Value::Map(o)) => o.clone(),
                _ => Map::new(),
            };
            if let Some(Value::Map(n)) = meta.get(field) {
                for (k, v) in n.iter() {
                    merged.insert(k.clone(), v.clone());
                }
            }
            if merged.is_empty() {
                meta.remove(field);
            } else {
                meta.insert(field, Value::Map(merged));
            }
        }
        meta.insert("name", Value::Str(old.name()));
        let ns = old.namespace();
        if ns.is_empty() {
            meta.remove("namespace");
        } else {
            meta.insert("namespace", Value::Str(ns));
        }
    }
    res.prev_ids = old.prev_ids.clone();
    res.ref_vars = old.ref_vars.clone();
    // A merge keeps where the object first came from; a replace takes the new origin.
    if b == Behavior::Merge && old.origin.is_some() {
        res.origin = old.origin.clone();
    }
    res.transformations = old.transformations.clone();
    res.prefixes = old.prefixes.clone();
    res.suffixes = old.suffixes.clone();
    res.needs_hash = old.needs_hash && res.needs_hash;
    res.behavior = old.behavior;
}

trait MetaGet {
    fn get_path_meta(&self, field: &str) -> Option<&Value>;
}

impl MetaGet for Map {
    fn get_path_meta(&self, field: &str) -> Option<&Value> {
        self.get("metadata")?.as_map()?.get(field)
    }
}
