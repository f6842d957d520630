//! `buildMetadata`: where each resource came from (`config.kubernetes.io/origin`), which
//! transformers touched it (`alpha.config.kubernetes.io/transformations`) and the
//! `app.kubernetes.io/managed-by` label.
//!
//! kustomize tracks origins whenever the top kustomization lists any `buildMetadata` option
//! (its bases inherit the top's options), and prints only the kinds it asked for.

use crate::resource::Resource;
use crate::yaml::{Map, Value};

pub const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";
pub const TRANSFORMATIONS_ANNOTATION: &str = "alpha.config.kubernetes.io/transformations";
const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// What `kubectl kustomize` (built without a release version) writes.
const MANAGED_BY_VALUE: &str = "kustomize-(devel)";

/// A resource's or a transformer's origin: a file path for loaded resources, or the
/// kustomization file and built-in plugin kind for generated ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Origin {
    pub path: String,
    pub configured_in: String,
    pub configured_by_kind: String,
}

impl Origin {
    pub fn file(path: String) -> Origin {
        Origin {
            path,
            ..Origin::default()
        }
    }

    pub fn builtin(kustomization_file: String, kind: &str) -> Origin {
        Origin {
            configured_in: kustomization_file,
            configured_by_kind: kind.to_string(),
            ..Origin::default()
        }
    }

    /// The YAML kustomize marshals an origin to (fields in struct order, empty ones left
    /// out), one line per entry.
    fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.path.is_empty() {
            out.push(format!("path: {}", self.path));
        }
        if !self.configured_in.is_empty() {
            out.push(format!("configuredIn: {}", self.configured_in));
        }
        if !self.configured_by_kind.is_empty() {
            out.push("configuredBy:".to_string());
            out.push("  apiVersion: builtin".to_string());
            out.push(format!("  kind: {}", self.configured_by_kind));
        }
        out
    }

    fn to_yaml(&self) -> String {
        self.lines().iter().map(|l| format!("{l}\n")).collect()
    }
}

fn transformations_yaml(list: &[Origin]) -> String {
    let mut out = String::new();
    for o in list {
        for (i, l) in o.lines().iter().enumerate() {
            out.push_str(if i == 0 { "- " } else { "  " });
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// Go's `filepath.Join`: joins and cleans (`a/../b` is `b`; leading `..` are kept).
pub fn join(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in base.split('/').chain(rel.split('/')) {
        match p {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// kustomize's `AddTransformerAnnotation`, run after each configured built-in transformer:
/// resources without an origin take the transformer's; the others record it.
pub fn note_transformer(res: &mut [Resource], origin: &Origin) {
    for r in res.iter_mut() {
        match r.origin {
            None => r.origin = Some(origin.clone()),
            Some(_) => r.transformations.push(origin.clone()),
        }
    }
}

/// Writes what the top kustomization's `buildMetadata` asks for.
pub fn finish(res: &mut [Resource], options: &[String]) {
    let has = |o: &str| options.iter().any(|x| x == o);
    for r in res.iter_mut() {
        if has("managedByLabel") {
            r.metadata_mut()
                .entry_map("labels")
                .insert(MANAGED_BY_LABEL, Value::Str(MANAGED_BY_VALUE.into()));
        }
        let mut notes = Map::new();
        if has("originAnnotations") {
            if let Some(o) = &r.origin {
                notes.insert(ORIGIN_ANNOTATION, Value::Str(o.to_yaml()));
            }
        }
        if has("transformerAnnotations") && !r.transformations.is_empty() {
            notes.insert(
                TRANSFORMATIONS_ANNOTATION,
                Value::Str(transformations_yaml(&r.transformations)),
            );
        }
        if !notes.is_empty() {
            let ann = r.metadata_mut().entry_map("annotations");
            for (k, v) in notes.iter() {
                ann.insert(k.clone(), v.clone());
            }
        }
    }
}
