//! The build: loads a kustomization, accumulates resources from files, bases and components,
//! runs generators and transformers in kustomize's order, then (once, at the top) adds
//! content hashes to generated names, fixes name references and sorts.

use crate::defaults;
use crate::error::{msg, Error, Result};
use crate::fieldspec::FieldSpec;
use crate::fs::{normalize, FileSystem};
use crate::generator;
use crate::kustomization::Kustomization;
use crate::resource::{Gvk, ResId, Resource};
use crate::transform;
use crate::yaml::{parse_documents, parse_documents_yaml11, ParseError, Value};
use std::path::{Path, PathBuf};

/// Whether files outside a kustomization's directory may be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictor {
    #[default]
    RootOnly,
    None,
}

/// Transformer configuration accumulated from defaults and `configurations:` files.
#[derive(Clone)]
pub struct Config {
    pub name_refs: Vec<defaults::NameRef>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
    pub var_references: Vec<FieldSpec>,
    /// List merge keys from `openapi:` schema files.
    pub openapi: Vec<crate::openapi::KindMergeKeys>,
}

impl Clone for defaults::NameRef {
    fn clone(&self) -> Self {
        defaults::NameRef {
            target: self.target.clone(),
            referrers: self.referrers.clone(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name_refs: defaults::name_references(),
            common_labels: defaults::common_labels(),
            template_labels: defaults::template_labels(),
            common_annotations: defaults::common_annotations(),
            name_prefix: vec![FieldSpec::new("", "", "", "metadata/name", false)],
            name_suffix: vec![FieldSpec::new("", "", "", "metadata/name", false)],
            namespace: defaults::namespace_extra(),
            images: Vec::new(),
            replicas: defaults::replicas(),
            var_references: defaults::var_references(),
            openapi: Vec::new(),
        }
    }
}

pub struct Builder<'a> {
    pub fs: &'a dyn FileSystem,
    pub restrictor: LoadRestrictor,
    stack: Vec<PathBuf>,
    /// With `buildMetadata`, the current kustomization's path relative to the build root
    /// (origins are recorded relative to it); `None` when origins are not tracked.
    pub origin: Option<String>,
    /// Parsed documents shared with other builds, if any.
    cache: Option<&'a crate::cache::Cache>,
}

/// The result of building one kustomization (before the final top-level steps).
pub struct Accumulated {
    pub resources: Vec<Resource>,
    pub config: Config,
    /// Legacy `vars` declared here and in every base, resolved once at the end.
    pub vars: Vec<crate::vars::Var>,
}

fn is_remote(s: &str) -> bool {
    s.contains("://")
        || s.starts_with("github.com/")
        || s.starts_with("git@")
        || s.starts_with("gitlab.com/")
        || s.starts_with("bitbucket.org/")
}

impl<'a> Builder<'a> {
    pub fn new(fs: &'a dyn FileSystem, restrictor: LoadRestrictor) -> Self {
        Builder {
            fs,
            restrictor,
            stack: Vec::new(),
            origin: None,
            cache: None,
        }
    }

    /// Reads parsed files from (and adds them to) `cache`.
    pub fn with_cache(mut self, cache: &'a crate::cache::Cache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// [`parse_documents`], through the cache when there is one.
    pub fn parse_yaml(&self, text: &str) -> std::result::Result<Vec<Value>, ParseError> {
        match self.cache {
            Some(c) => c.parse(text, false),
            None => parse_documents(text),
        }
    }

    /// [`parse_documents_yaml11`], through the cache when there is one.
    pub fn parse_yaml11(&self, text: &str) -> std::result::Result<Vec<Value>, ParseError> {
        match self.cache {
            Some(c) => c.parse(text, true),
            None => parse_documents_yaml11(text),
        }
    }

    /// Reads a file referenced from the kustomization in `root`, enforcing the restrictor.
    pub fn read_file(&self, root: &Path, rel: &str) -> Result<(PathBuf, Vec<u8>)> {
        let path = normalize(&root.join(rel));
        if self.restrictor == LoadRestrictor::RootOnly && !path.starts_with(root) {
            return Err(Error::Security {
                path,
                root: root.to_path_buf(),
            });
        }
        match self.fs.read(&path) {
            Ok(b) => Ok((path, b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound { path }),
            Err(e) => Err(Error::Io { path, source: e }),
        }
    }

    pub fn read_text(&self, root: &Path, rel: &str) -> Result<(PathBuf, String)> {
        let (p, b) = self.read_file(root, rel)?;
        let s = String::from_utf8(b).map_err(|_| Error::Yaml {
            file: rel.to_string(),
            message: "file is not valid UTF-8".into(),
        })?;
        Ok((p, s))
    }

    /// Finds and parses the kustomization file in `dir`.
    pub fn load_kustomization(&self, dir: &Path) -> Result<Kustomization> {
        let mut found = Vec::new();
        for n in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
            let p = dir.join(n);
            if self.fs.exists(&p) && !self.fs.is_dir(&p) {
                found.push(n);
            }
        }
        if found.len() > 1 {
            return Err(Error::MultipleKustomizations(dir.to_path_buf()));
        }
        let Some(name) = found.first() else {
            return Err(Error::NoKustomization(dir.to_path_buf()));
        };
        let (_, text) = self.read_text(dir, name)?;
        let docs = self.parse_yaml(&text).map_err(|e| Error::Yaml {
            file: name.to_string(),
            message: e.to_string(),
        })?;
        Kustomization::from_documents(docs, name)
    }

    /// Builds the kustomization in `dir` (top level: hashes, references, order).
    pub fn build(&mut self, dir: &Path) -> Result<Vec<Resource>> {
        let dir = normalize(dir);
        let k = self.load_kustomization(&dir)?;
        if k.is_component() {
            return Err(msg(format!(
                "'{}' is a Component: it can only be used from a kustomization's components",
                dir.display()
            )));
        }
        let mut acc = Accumulated {
            resources: Vec::new(),
            config: Config::default(),
            vars: Vec::new(),
        };
        let build_metadata: Vec<String> = k
            .list("buildMetadata")
            .iter()
            .filter_map(Value::scalar_text)
            .collect();
        self.origin = (!build_metadata.is_empty()).then(String::new);
        self.stack.push(dir.clone());
        self.accumulate(&k, &dir, &mut acc)?;
        self.stack.pop();
        transform::add_hashes(&mut acc.resources)?;
        crate::nameref::fix_name_references(&mut acc.resources, &acc.config)?;
        crate::vars::resolve(&mut acc.resources, &acc.vars, &acc.config.var_references)?;
        let out = transform::sort(acc.resources, &k)?;
        Ok(out
            .into_iter()
            .map(|mut r| {
                transform::strip_internal(&mut r);
                crate::origin::finish(std::slice::from_mut(&mut r), &build_metadata);
                r
            })
            .collect())
    }

    fn accumulate(&mut self, k: &Kustomization, dir: &Path, acc: &mut Accumulated) -> Result<()> {
        // Ids already present, so that appending stays linear in the number of resources.
        let mut ids: IdIndex = acc.resources.iter().map(Resource::id_key).collect();
        for entry in k.resources() {
            self.accumulate_resource(dir, &entry, acc, &mut ids)?;
        }
        for c in &k.configurations {
            let (_, text) = self.read_text(dir, c)?;
            transform::merge_config_file(&mut acc.config, &text, c)?;
        }
        if let Some(p) = k
            .raw
            .get("openapi")
            .and_then(Value::as_map)
            .and_then(|m| m.get("path"))
            .and_then(Value::as_str)
        {
            let (_, text) = self.read_text(dir, p)?;
            acc.config.openapi.extend(crate::openapi::load(&text, p)?);
        }
        for c in &k.crds {
            let (_, text) = self.read_text(dir, c)?;
            transform::merge_crd_file(&mut acc.config, &text, c)?;
        }
        generator::run_generators(self, k, dir, &mut acc.resources)?;
        for c in &k.components {
            self.accumulate_component(dir, c, acc)?;
        }
        transform::run_transformers(self, k, dir, acc)?;
        crate::vars::merge_vars(acc, k)?;
        Ok(())
    }

    fn accumulate_component(&mut self, dir: &Path, rel: &str, acc: &mut Accumulated) -> Result<()> {
        if is_remote(rel) {
            return Err(Error::Remote(rel.to_string()));
        }
        let cdir = normalize(&dir.join(rel));
        if !self.fs.is_dir(&cdir) {
            return Err(Error::NotFound { path: cdir });
        }
        let k = self.load_kustomization(&cdir)?;
        if !k.is_component() {
            return Err(Error::NotAComponent(cdir));
        }
        self.enter(&cdir)?;
        let saved = self.origin.clone();
        self.origin = saved.as_deref().map(|o| crate::origin::join(o, rel));
        let r = self.accumulate(&k, &cdir, acc);
        self.origin = saved;
        self.stack.pop();
        r
    }

    fn enter(&mut self, dir: &Path) -> Result<()> {
        if self.stack.iter().any(|d| d == dir) {
            return Err(msg(format!(
                "cycle detected: recursed accumulation of path '{}'",
                dir.display()
            )));
        }
        self.stack.push(dir.to_path_buf());
        Ok(())
    }

    fn accumulate_resource(
        &mut self,
        dir: &Path,
        rel: &str,
        acc: &mut Accumulated,
        ids: &mut IdIndex,
    ) -> Result<()> {
        if is_remote(rel) {
            return Err(Error::Remote(rel.to_string()));
        }
        let path = normalize(&dir.join(rel));
        if self.fs.is_dir(&path) {
            let k = self.load_kustomization(&path)?;
            if k.is_component() {
                return Err(Error::ComponentAsResource(path));
            }
            self.enter(&path)?;
            let mut sub = Accumulated {
                resources: Vec::new(),
                config: acc.config.clone(),
                vars: Vec::new(),
            };
            let saved = self.origin.clone();
            self.origin = saved.as_deref().map(|o| crate::origin::join(o, rel));
            let r = self.accumulate(&k, &path, &mut sub);
            self.origin = saved;
            self.stack.pop();
            r?;
            acc.config = sub.config;
            crate::vars::merge_var_sets(&mut acc.vars, sub.vars)?;
            for res in sub.resources {
                append_unique(&mut acc.resources, ids, res, rel)?;
            }
            return Ok(());
        }
        let (_, text) = self.read_text(dir, rel)?;
        let docs = self.parse_yaml(&text).map_err(|e| Error::Yaml {
            file: rel.to_string(),
            message: e.to_string(),
        })?;
        for mut res in resources_from_documents(docs, rel)? {
            if let Some(o) = &self.origin {
                res.origin = Some(crate::origin::Origin::file(crate::origin::join(o, rel)));
            }
            append_unique(&mut acc.resources, ids, res, rel)?;
        }
        Ok(())
    }
}

/// Adds `res`, refusing a second resource with the same id.
/// The current ids of the resources accumulated so far (see [`Resource::id_key`]).
pub type IdIndex = std::collections::HashSet<(String, String, String, String)>;

/// Appends a resource, refusing a second resource with the same current id.
pub fn append_unique(
    list: &mut Vec<Resource>,
    ids: &mut IdIndex,
    res: Resource,
    from: &str,
) -> Result<()> {
    if !ids.insert(res.id_key()) {
        return Err(Error::DuplicateId(format!(
            "{} (merging resources from '{from}')",
            res.cur_id().display()
        )));
    }
    list.push(res);
    Ok(())
}

/// Parses a resource file: multi-document YAML or JSON, `kind: List` expanded.
pub fn parse_resources(text: &str, file: &str) -> Result<Vec<Resource>> {
    let docs = parse_documents(text).map_err(|e| Error::Yaml {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    resources_from_documents(docs, file)
}

/// The resources in parsed documents of `file`.
pub fn resources_from_documents(docs: Vec<Value>, file: &str) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    for d in docs {
        push_doc(d, file, &mut out)?;
    }
    Ok(out)
}

fn push_doc(d: Value, file: &str, out: &mut Vec<Resource>) -> Result<()> {
    match d {
        Value::Null => Ok(()),
        Value::Map(m) if m.is_empty() => Ok(()),
        Value::Map(m) => {
            let kind = m.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind.ends_with("List") && m.get("items").is_some_and(|i| i.as_seq().is_some()) {
                if let Some(Value::Seq(items)) = m.get("items") {
                    for it in items.clone() {
                        push_doc(it, file, out)?;
                    }
                }
                return Ok(());
            }
            if kind.is_empty() {
                return Err(msg(format!("missing kind in resource from '{file}'")));
            }
            let named = m
                .get("metadata")
                .and_then(|md| md.as_map()?.get("name")?.scalar_text())
                .is_some_and(|n| !n.is_empty());
            if !named {
                // kustomize refuses these too (even with generateName).
                return Err(msg(format!(
                    "accumulating resources from '{file}': missing metadata.name in object of kind {kind}"
                )));
            }
            out.push(Resource::new(Value::Map(m)));
            Ok(())
        }
        other => Err(msg(format!(
            "resource in '{file}' is a {}, expected a mapping",
            other.kind_name()
        ))),
    }
}

/// Matches `id` against a patch or replacement target.
pub struct Selector {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
    pub label_selector: String,
    pub annotation_selector: String,
    /// The fields above compiled as kustomize anchors them (`^(?:PATTERN)$`), in the order
    /// group, version, kind, name, namespace; `None` for an empty (match-all) field.
    patterns: [Option<Pattern>; 5],
}

/// A compiled selector field; a pattern that is not a valid regular expression matches
/// only itself.
#[derive(Debug, Clone)]
enum Pattern {
    Regex(regex::Regex),
    Literal(String),
}

impl Pattern {
    fn new(pat: &str) -> Option<Pattern> {
        if pat.is_empty() {
            return None;
        }
        Some(match regex::Regex::new(&format!("^(?:{pat})$")) {
            Ok(re) => Pattern::Regex(re),
            Err(_) => Pattern::Literal(pat.to_string()),
        })
    }
    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Regex(re) => re.is_match(s),
            Pattern::Literal(l) => l == s,
        }
    }
}

fn pattern_ok(p: &Option<Pattern>, s: &str) -> bool {
    p.as_ref().is_none_or(|p| p.is_match(s))
}

/// kustomize's `EffectiveNamespace` of an id: "" means "default"; cluster-scoped objects
/// have a placeholder no selector names.
fn effective_namespace(id: &ResId) -> &str {
    if id.gvk.is_cluster_scoped() {
        "_non_namespaceable_"
    } else if id.namespace.is_empty() {
        "default"
    } else {
        &id.namespace
    }
}

impl Selector {
    pub fn from_value(v: &Value) -> Selector {
        let s = |k: &str| {
            v.as_map()
                .and_then(|m| m.get(k))
                .and_then(Value::scalar_text)
                .unwrap_or_default()
        };
        let (group, version, kind, name, namespace) = (
            s("group"),
            s("version"),
            s("kind"),
            s("name"),
            s("namespace"),
        );
        let patterns = [
            Pattern::new(&group),
            Pattern::new(&version),
            Pattern::new(&kind),
            Pattern::new(&name),
            Pattern::new(&namespace),
        ];
        Selector {
            gvk: Gvk {
                group,
                version,
                kind,
            },
            name,
            namespace,
            label_selector: s("labelSelector"),
            annotation_selector: s("annotationSelector"),
            patterns,
        }
    }

    /// kustomize's `ResMap.Select`: namespace and name match the original or the current
    /// id, the group/version/kind the current one, then the label and annotation selectors.
    pub fn matches(&self, r: &Resource) -> bool {
        let cur = r.cur_id();
        let org = r.org_id();
        let [g, v, k, n, ns] = &self.patterns;
        (pattern_ok(ns, effective_namespace(&org)) || pattern_ok(ns, effective_namespace(&cur)))
            && (pattern_ok(n, &org.name) || pattern_ok(n, &cur.name))
            && pattern_ok(g, &cur.gvk.group)
            && pattern_ok(v, &cur.gvk.version)
            && pattern_ok(k, &cur.gvk.kind)
            && label_selector_matches(&self.label_selector, &r.labels())
            && label_selector_matches(&self.annotation_selector, &r.annotations())
    }
}

/// A Kubernetes label selector: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`.
pub fn label_selector_matches(sel: &str, labels: &[(String, String)]) -> bool {
    let get = |k: &str| {
        labels
            .iter()
            .find(|(lk, _)| lk == k)
            .map(|(_, v)| v.as_str())
    };
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in sel.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    for p in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let ok = if let Some((k, v)) = p.split_once("!=") {
            get(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
            get(k.trim()) == Some(v.trim())
        } else if let Some(idx) = p.find(" notin ") {
            let k = p[..idx].trim();
            let set = set_values(&p[idx + 7..]);
            !get(k).is_some_and(|v| set.contains(&v.to_string()))
        } else if let Some(idx) = p.find(" in ") {
            let k = p[..idx].trim();
            let set = set_values(&p[idx + 4..]);
            get(k).is_some_and(|v| set.contains(&v.to_string()))
        } else if let Some(k) = p.strip_prefix('!') {
            get(k.trim()).is_none()
        } else {
            get(p).is_some()
        };
        if !ok {
            return false;
        }
    }
    true
}

fn set_values(s: &str) -> Vec<String> {
    s.trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(|x| x.trim().to_string())
        .collect()
}
