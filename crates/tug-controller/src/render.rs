//! Rendering a Kustomization's path into objects to apply, as Flux's kustomize-controller
//! does: the kustomization file of the path (generated, listing the manifests, when there
//! is none) gets the Kustomization's `targetNamespace`, `namePrefix`, `nameSuffix`,
//! `patches`, `images` and `components` written into it, and is built with files allowed
//! anywhere under the source's root but never outside it.
//!
//! Nothing is written to disk: the effective kustomization file is laid over the real tree
//! by [`OverlayFs`], so a working copy given to `tug build` is left untouched.

use serde_json::{json, Map, Value};
use std::path::{Component, Path, PathBuf};
use tug_api::kustomization::{Image, KustomizationSpec, Patch};
use tug_kustomize::fs::{normalize, FileSystem};
use tug_kustomize::LoadRestrictor;

/// A render that failed, naming the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{path}: no such directory")]
    NoDirectory { path: PathBuf },
    #[error("kustomize build of {path} failed: {source}")]
    Kustomize {
        path: PathBuf,
        source: tug_kustomize::Error,
    },
    #[error("failed to decode Kubernetes YAML from {file}: {message}")]
    Manifest { file: PathBuf, message: String },
    #[error("{file}: reading failed: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("component path '{0}' must be local and relative")]
    Component(String),
    #[error("failed to decode Kubernetes apiVersion, kind and name from: {0}")]
    Incomplete(String),
}

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The Kustomization fields Flux writes into the kustomization file it builds.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub target_namespace: Option<String>,
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    pub patches: Vec<Patch>,
    pub images: Vec<Image>,
    pub components: Vec<String>,
    pub ignore_missing_components: bool,
}

impl Overrides {
    pub fn from_spec(spec: &KustomizationSpec) -> Self {
        Overrides {
            target_namespace: spec.target_namespace.clone(),
            name_prefix: spec.name_prefix.clone(),
            name_suffix: spec.name_suffix.clone(),
            patches: spec.patches.clone(),
            images: spec.images.clone(),
            components: spec.components.clone(),
            ignore_missing_components: spec.ignore_missing_components,
        }
    }

    fn is_empty(&self) -> bool {
        self.target_namespace.is_none()
            && self.name_prefix.is_none()
            && self.name_suffix.is_none()
            && self.patches.is_empty()
            && self.images.is_empty()
            && self.components.is_empty()
    }
}

/// Renders `dir` without overrides, confined to the Git working tree that holds it (or
/// anywhere, outside one): what `tug build|diff|apply kustomization --path` start from.
pub fn render_dir(dir: &Path) -> Result<Vec<Value>, RenderError> {
    render_local(dir, &Overrides::default())
}

/// Renders a working-copy directory with a Kustomization's overrides; files may come from
/// anywhere in the Git working tree that holds `dir`.
pub fn render_local(dir: &Path, overrides: &Overrides) -> Result<Vec<Value>, RenderError> {
    let abs = std::fs::canonicalize(dir).map_err(|_| RenderError::NoDirectory {
        path: dir.to_path_buf(),
    })?;
    let root = abs
        .ancestors()
        .find(|a| a.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    render(&root, &abs, overrides)
}

/// Renders `dir` (inside `root`, the unpacked source) into JSON objects in kustomize's
/// output order.
pub fn render(root: &Path, dir: &Path, overrides: &Overrides) -> Result<Vec<Value>, RenderError> {
    if !dir.is_dir() {
        return Err(RenderError::NoDirectory {
            path: dir.to_path_buf(),
        });
    }
    let confined = ConfinedFs::new(root).map_err(|source| RenderError::Io {
        file: root.to_path_buf(),
        source,
    })?;
    let existing = KUSTOMIZATION_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file());
    let (file, original) = match existing {
        Some(_) if overrides.is_empty() => {
            return build(&confined, dir);
        }
        Some(file) => {
            let text = std::fs::read_to_string(&file).map_err(|source| RenderError::Io {
                file: file.clone(),
                source,
            })?;
            let parsed = parse_yaml(&file, &text)?;
            (file, parsed)
        }
        None => (dir.join("kustomization.yaml"), generate(dir)?),
    };
    let effective = apply_overrides(original, overrides, dir)?;
    let overlay = OverlayFs {
        inner: &confined,
        path: normalize(&file),
        content: effective.to_string().into_bytes(),
    };
    build(&overlay, dir)
}

fn build(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<Value>, RenderError> {
    let resources = tug_kustomize::build_dir(fs, dir, LoadRestrictor::None).map_err(|source| {
        RenderError::Kustomize {
            path: dir.to_path_buf(),
            source,
        }
    })?;
    resources
        .iter()
        .map(|r| {
            let json = tug_kustomize::yaml::json::to_json(&r.obj);
            let value: Value = serde_json::from_str(&json).map_err(|e| RenderError::Manifest {
                file: dir.to_path_buf(),
                message: e.to_string(),
            })?;
            let has = |k: &str| {
                value
                    .get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
            };
            let named = value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            if !(has("apiVersion") && has("kind") && named) {
                return Err(RenderError::Incomplete(json));
            }
            Ok(value)
        })
        .collect()
}

fn parse_yaml(file: &Path, text: &str) -> Result<Value, RenderError> {
    let docs =
        tug_kustomize::yaml::parse::parse_documents(text).map_err(|e| RenderError::Manifest {
            file: file.to_path_buf(),
            message: e.to_string(),
        })?;
    let Some(first) = docs.first() else {
        return Ok(Value::Object(Map::new()));
    };
    serde_json::from_str(&tug_kustomize::yaml::json::to_json(first)).map_err(|e| {
        RenderError::Manifest {
            file: file.to_path_buf(),
            message: e.to_string(),
        }
    })
}

/// Flux's generated kustomization for a path without one: every `.yaml`/`.yml` file under
/// it (each must parse as YAML), and every sub-directory that has its own kustomization file
/// as one resource, not descended into. Paths are relative (`./a/b.yaml`), in walk order.
fn generate(dir: &Path) -> Result<Value, RenderError> {
    let mut resources = Vec::new();
    walk(dir, dir, &mut resources)?;
    Ok(json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }))
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), RenderError> {
    let io = |file: &Path| {
        let file = file.to_path_buf();
        move |source| RenderError::Io { file, source }
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        // Hidden files and directories (.git, .github, editor files) are not manifests.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        // Symlinks are not followed: they could point outside the repository.
        let file_type = entry.file_type().map_err(io(&path))?;
        let relative = || {
            let rel = path.strip_prefix(base).unwrap_or(&path);
            format!("./{}", rel.display())
        };
        if file_type.is_dir() {
            if KUSTOMIZATION_FILES.iter().any(|f| path.join(f).is_file()) {
                out.push(relative());
            } else {
                walk(base, &path, out)?;
            }
        } else if file_type.is_file()
            && matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            )
        {
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            tug_kustomize::yaml::parse::parse_documents(&text).map_err(|e| {
                RenderError::Manifest {
                    file: path.clone(),
                    message: e.to_string(),
                }
            })?;
            out.push(relative());
        }
    }
    Ok(())
}

/// Writes the Kustomization's fields into a kustomization, as Flux's generator: the
/// namespace and name affixes replace, patches and components are appended, and images
/// are merged by name (newName replaces; newTag and digest replace together).
fn apply_overrides(
    mut kustomization: Value,
    overrides: &Overrides,
    dir: &Path,
) -> Result<Value, RenderError> {
    let Some(map) = kustomization.as_object_mut() else {
        return Ok(kustomization);
    };
    if let Some(ns) = &overrides.target_namespace {
        map.insert("namespace".into(), json!(ns));
    }
    if let Some(prefix) = &overrides.name_prefix {
        map.insert("namePrefix".into(), json!(prefix));
    }
    if let Some(suffix) = &overrides.name_suffix {
        map.insert("nameSuffix".into(), json!(suffix));
    }
    for patch in &overrides.patches {
        push(
            map,
            "patches",
            serde_json::to_value(patch).unwrap_or(Value::Null),
        );
    }
    for component in &overrides.components {
        if !is_local_relative(component) {
            return Err(RenderError::Component(component.clone()));
        }
        if overrides.ignore_missing_components && !dir.join(component).exists() {
            continue;
        }
        push(map, "components", json!(component));
    }
    for image in &overrides.images {
        merge_image(map, image);
    }
    Ok(kustomization)
}

fn push(map: &mut Map<String, Value>, key: &str, value: Value) {
    match map.get_mut(key).and_then(Value::as_array_mut) {
        Some(list) => list.push(value),
        None => {
            map.insert(key.into(), json!([value]));
        }
    }
}

fn merge_image(map: &mut Map<String, Value>, image: &Image) {
    let existing = map
        .get_mut("images")
        .and_then(Value::as_array_mut)
        .and_then(|list| {
            list.iter_mut()
                .find(|i| i.get("name").and_then(Value::as_str) == Some(image.name.as_str()))
        })
        .and_then(Value::as_object_mut);
    let Some(existing) = existing else {
        push(
            map,
            "images",
            serde_json::to_value(image).unwrap_or(Value::Null),
        );
        return;
    };
    if let Some(new_name) = &image.new_name {
        existing.insert("newName".into(), json!(new_name));
    }
    if image.new_tag.is_some() || image.digest.is_some() {
        for (key, value) in [("newTag", &image.new_tag), ("digest", &image.digest)] {
            match value {
                Some(v) => existing.insert(key.into(), json!(v)),
                None => existing.remove(key),
            };
        }
    }
}

/// A path that stays below the directory it is relative to.
fn is_local_relative(path: &str) -> bool {
    let mut depth = 0i32;
    for c in Path::new(path).components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => depth -= 1,
            Component::RootDir | Component::Prefix(_) => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    !path.contains("://")
}

/// The real filesystem, refusing anything that resolves (symlinks included) outside `root`:
/// a repository may reference files across its directories, never the controller's disk.
pub struct ConfinedFs {
    root: PathBuf,
}

impl ConfinedFs {
    pub fn new(root: &Path) -> std::io::Result<Self> {
        Ok(ConfinedFs {
            root: std::fs::canonicalize(root)?,
        })
    }

    fn check(&self, path: &Path) -> std::io::Result<PathBuf> {
        let resolved = std::fs::canonicalize(path)?;
        if resolved.starts_with(&self.root) {
            Ok(resolved)
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "'{}' is outside the source root '{}'",
                    path.display(),
                    self.root.display()
                ),
            ))
        }
    }
}

impl FileSystem for ConfinedFs {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.check(path)?)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.check(path).is_ok_and(|p| p.is_dir())
    }
    fn exists(&self, path: &Path) -> bool {
        self.check(path).is_ok()
    }
}

/// `inner` with one file replaced (or added): the effective kustomization file.
struct OverlayFs<'a> {
    inner: &'a dyn FileSystem,
    path: PathBuf,
    content: Vec<u8>,
}

impl FileSystem for OverlayFs<'_> {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        if normalize(path) == self.path {
            return Ok(self.content.clone());
        }
        self.inner.read(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        normalize(path) != self.path && self.inner.is_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        normalize(path) == self.path || self.inner.exists(path)
    }
}

/// `spec.commonMetadata`: labels and annotations set on every object's own metadata (not
/// on selectors or templates), over what the manifests say, as Flux.
pub fn set_common_metadata(
    objects: &mut [serde_json::Value],
    meta: &tug_api::kustomization::CommonMetadata,
) {
    for obj in objects {
        let Some(metadata) = obj
            .as_object_mut()
            .map(|o| o.entry("metadata").or_insert_with(|| serde_json::json!({})))
            .and_then(|m| m.as_object_mut())
        else {
            continue;
        };
        for (field, values) in [("labels", &meta.labels), ("annotations", &meta.annotations)] {
            if values.is_empty() {
                continue;
            }
            let entry = metadata
                .entry(field)
                .or_insert_with(|| serde_json::json!({}));
            if !entry.is_object() {
                *entry = serde_json::json!({});
            }
            if let Some(map) = entry.as_object_mut() {
                for (k, v) in values {
                    map.insert(k.clone(), serde_json::Value::String(v.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        dir
    }

    fn names(objects: &[Value]) -> Vec<String> {
        objects
            .iter()
            .map(|o| {
                format!(
                    "{}/{}/{}",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["namespace"].as_str().unwrap_or(""),
                    o["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect()
    }

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.0\n";
    const CM: &str =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n";

    #[test]
    fn a_path_without_kustomization_gets_one_listing_its_manifests_in_kustomize_order() {
        let t = tree(&[
            ("app/z.yaml", DEPLOY),
            ("app/a.yml", CM),
            ("app/notes.txt", "not yaml"),
            ("app/sub/kustomization.yaml", "resources:\n- ns.yaml\n"),
            (
                "app/sub/ns.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n",
            ),
        ]);
        let objects = render(t.path(), &t.path().join("app"), &Overrides::default()).unwrap();
        // kustomize's legacy order: Namespaces first, then ConfigMaps, then Deployments.
        assert_eq!(
            names(&objects),
            ["Namespace//team", "ConfigMap//settings", "Deployment//web"]
        );
    }

    #[test]
    fn spec_fields_are_written_into_the_kustomization_as_flux_does() {
        let t = tree(&[
            ("app/deploy.yaml", DEPLOY),
            ("app/cm.yaml", CM),
            (
                "app/kustomization.yaml",
                "resources:\n- deploy.yaml\n- cm.yaml\nnamespace: original\nimages:\n- name: nginx\n  newTag: \"1.1\"\n",
            ),
            (
                "app/extra/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  from: component\n",
            ),
        ]);
        let overrides = Overrides {
            target_namespace: Some("prod".into()),
            name_prefix: Some("p-".into()),
            name_suffix: Some("-s".into()),
            patches: vec![Patch {
                patch: "- op: add\n  path: /data/patched\n  value: \"yes\"\n".into(),
                target: Some(tug_api::kustomization::Selector {
                    kind: Some("ConfigMap".into()),
                    ..Default::default()
                }),
            }],
            images: vec![Image {
                name: "nginx".into(),
                new_name: Some("registry.local/nginx".into()),
                ..Default::default()
            }],
            components: vec!["extra".into(), "missing".into()],
            ignore_missing_components: true,
        };
        let objects = render(t.path(), &t.path().join("app"), &overrides).unwrap();
        assert_eq!(
            names(&objects),
            ["ConfigMap/prod/p-settings-s", "Deployment/prod/p-web-s"]
        );
        assert_eq!(objects[0]["data"]["patched"], "yes");
        assert_eq!(objects[0]["metadata"]["annotations"]["from"], "component");
        // The kustomization's newTag is kept; the Kustomization's newName is merged in.
        assert_eq!(
            objects[1]["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.local/nginx:1.1"
        );
        // The working copy is not modified.
        let on_disk = std::fs::read_to_string(t.path().join("app/kustomization.yaml")).unwrap();
        assert!(on_disk.contains("namespace: original"));
    }

    #[test]
    fn files_anywhere_in_the_source_are_allowed_but_nothing_outside_it() {
        let outside = tree(&[("secret.yaml", CM)]);
        let t = tree(&[
            ("shared/cm.yaml", CM),
            (
                "app/kustomization.yaml",
                "resources:\n- ../shared/cm.yaml\n",
            ),
        ]);
        let objects = render(t.path(), &t.path().join("app"), &Overrides::default()).unwrap();
        assert_eq!(names(&objects), ["ConfigMap//settings"]);

        std::os::unix::fs::symlink(
            outside.path().join("secret.yaml"),
            t.path().join("app/link.yaml"),
        )
        .unwrap();
        std::fs::write(
            t.path().join("app/kustomization.yaml"),
            "resources:\n- link.yaml\n",
        )
        .unwrap();
        let err = render(t.path(), &t.path().join("app"), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("outside the source root"), "{err}");
    }

    #[test]
    fn a_component_escaping_the_path_is_refused() {
        let t = tree(&[("app/cm.yaml", CM)]);
        let overrides = Overrides {
            components: vec!["../../etc".into()],
            ..Default::default()
        };
        let err = render(t.path(), &t.path().join("app"), &overrides).unwrap_err();
        assert_eq!(
            err.to_string(),
            "component path '../../etc' must be local and relative"
        );
    }

    #[test]
    fn a_malformed_manifest_is_named() {
        let t = tree(&[("app/bad.yaml", "a: [\n"), ("app/cm.yaml", CM)]);
        let err = render(t.path(), &t.path().join("app"), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("bad.yaml"), "{err}");
    }
}
