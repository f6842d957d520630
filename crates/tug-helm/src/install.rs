//! Rendering a chart into a release, as `helm install --dry-run=client` and `helm template` do
//! (Helm's `action.Install` up to the manifest): checks, values, rendering, then the release
//! manifest, hooks, notes and CRDs.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::chart::Chart;
use crate::engine::{Capabilities, Engine, KubeVersion, TopValues};
use crate::release::{self, Hook};
use crate::template::Lookup;
use crate::value::Value;

/// The stack a render needs at most: templates may nest `include`/`template` thousands of levels
/// deep (Helm bounds `include` recursion at 1000 per name), each level several native frames.
/// Callers should render on a thread with this much stack; it is reserved, not used, memory.
pub const RENDER_STACK_SIZE: usize = 1 << 30;

/// The longest release name Helm accepts.
pub const MAX_RELEASE_NAME_LEN: usize = 53;

/// Helm's DNS rule for release names, as its error message spells it.
const RELEASE_NAME_REGEX: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// What to render a chart for.
#[derive(Clone)]
pub struct RenderOptions {
    pub release_name: String,
    pub namespace: String,
    /// User values (`-f` files and `--set` flags already merged), a map.
    pub values: Value,
    /// `.Capabilities.KubeVersion`; Helm's offline default (v1.36.0) when `None`.
    pub kube_version: Option<KubeVersion>,
    /// Group/versions added to Helm's offline defaults (`--api-versions`).
    pub api_versions: Vec<String>,
    pub is_upgrade: bool,
    /// `.Release.Revision`; Helm renders an install as revision 1.
    pub revision: i64,
    /// Put the `crds/` files at the start of the manifest (`helm template --include-crds`).
    pub include_crds: bool,
    /// Answers `lookup`; it finds nothing when `None`, as in client-only rendering.
    pub lookup: Option<Arc<dyn Lookup>>,
}

impl RenderOptions {
    /// Options for a first install of `release_name` in `namespace` with no user values.
    pub fn new(release_name: &str, namespace: &str) -> RenderOptions {
        RenderOptions {
            release_name: release_name.to_string(),
            namespace: namespace.to_string(),
            values: Value::empty_map(),
            kube_version: None,
            api_versions: Vec::new(),
            is_upgrade: false,
            revision: 1,
            include_crds: false,
            lookup: None,
        }
    }

    /// `.Capabilities` for these options.
    pub fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        if let Some(kv) = &self.kube_version {
            caps.kube_version = kv.clone();
        }
        caps.api_versions.extend(self.api_versions.iter().cloned());
        caps
    }
}

/// A file of a chart's `crds/` directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Crd {
    /// `<chart full path>/crds/<file>`.
    pub filename: String,
    pub data: Vec<u8>,
}

/// A rendered release.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// The release manifest, byte for byte as Helm stores it (CRDs first when asked for).
    pub manifest: String,
    /// Hooks, in install order of their kinds.
    pub hooks: Vec<Hook>,
    /// The root chart's rendered `NOTES.txt` (empty when it has none).
    pub notes: String,
    /// The `crds/` files of the chart and its enabled subcharts.
    pub crds: Vec<Crd>,
}

/// Why a chart could not be rendered; messages are Helm's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error("release name check failed: release name \"{name}\": {reason}")]
    ReleaseName { name: String, reason: String },
    #[error("{0} charts are not installable")]
    NotInstallable(String),
    #[error("an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: {0}")]
    MissingDependencies(String),
    /// Dependency processing, coalescing or schema validation failed.
    #[error(transparent)]
    Values(#[from] crate::values::PrepareError),
    #[error(
        "chart requires kubeVersion: {constraint} which is incompatible with Kubernetes {version}"
    )]
    KubeVersion { constraint: String, version: String },
    #[error("{0}")]
    Template(String),
    #[error(transparent)]
    Manifest(#[from] release::ManifestError),
}

impl From<crate::engine::EngineError> for RenderError {
    fn from(e: crate::engine::EngineError) -> Self {
        RenderError::Template(e.0)
    }
}

/// Helm's `ValidateReleaseName`.
pub fn validate_release_name(name: &str) -> Result<(), RenderError> {
    let invalid = |reason: String| RenderError::ReleaseName {
        name: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("no name provided".into()));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if name.len() > MAX_RELEASE_NAME_LEN || !name.split('.').all(label_ok) {
        return Err(invalid(format!(
            "invalid release name, must match regex {RELEASE_NAME_REGEX} and the length must not be longer than {MAX_RELEASE_NAME_LEN}"
        )));
    }
    Ok(())
}

/// Renders charts into releases, reusing parsed templates across renders of the same chart.
pub struct Renderer {
    chart: Chart,
    engine: Engine,
}

impl Renderer {
    /// A renderer for `chart` (as loaded; dependencies are processed per render, since
    /// conditions and tags depend on values). `lookup` answers the `lookup` function.
    pub fn new(chart: Chart, lookup: Option<Arc<dyn Lookup>>) -> Renderer {
        let engine = match lookup {
            Some(l) => Engine::with_lookup(l),
            None => Engine::new(),
        };
        Renderer { chart, engine }
    }

    /// The chart being rendered.
    pub fn chart(&self) -> &Chart {
        &self.chart
    }

    /// The engine, which keeps the parsed templates.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Renders the chart for `opts` (its `lookup` is ignored: the renderer's is used).
    pub fn render(&self, opts: &RenderOptions) -> Result<Release, RenderError> {
        let kind = self.chart.metadata.chart_type.as_str();
        if !kind.is_empty() && kind != "application" {
            return Err(RenderError::NotInstallable(kind.to_string()));
        }
        crate::values::check_dependencies(&self.chart)
            .map_err(|e| RenderError::MissingDependencies(e.to_string()))?;
        validate_release_name(&opts.release_name)?;

        let mut chart = self.chart.clone();
        let values = crate::values::prepare_values(&mut chart, &opts.values)?;

        let caps = opts.capabilities();
        let constraint = &chart.metadata.kube_version;
        if !constraint.is_empty()
            && !crate::chart::semver::is_compatible_range(constraint, &caps.kube_version.normalized)
        {
            return Err(RenderError::KubeVersion {
                constraint: constraint.clone(),
                version: caps.kube_version.version.clone(),
            });
        }

        let top = TopValues {
            release: release_object(opts),
            capabilities: caps.to_value(),
            values,
        };
        let mut files = self.engine.render(&chart, &top)?;

        let notes_path = format!("{}/templates/NOTES.txt", chart.name());
        let notes = files.get(&notes_path).cloned().unwrap_or_default();
        files.retain(|path, _| !path.ends_with("NOTES.txt"));

        let sorted = release::sort_manifests(&files)?;
        let crds = crd_objects(&chart, None);
        let mut manifest = String::new();
        if opts.include_crds {
            for crd in &crds {
                release::write_source(
                    &mut manifest,
                    &crd.filename,
                    &String::from_utf8_lossy(&crd.data),
                );
            }
        }
        manifest.push_str(&release::manifest_text(&sorted.documents));
        Ok(Release {
            manifest,
            hooks: sorted.hooks,
            notes,
            crds,
        })
    }
}

/// Renders `chart` once; see [`Renderer`] to render the same chart repeatedly.
pub fn render_chart(chart: &Chart, opts: &RenderOptions) -> Result<Release, RenderError> {
    Renderer::new(chart.clone(), opts.lookup.clone()).render(opts)
}

/// `.Release`.
fn release_object(opts: &RenderOptions) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Name".to_string(), Value::str(&opts.release_name));
    m.insert("Namespace".to_string(), Value::str(&opts.namespace));
    m.insert("IsUpgrade".to_string(), Value::Bool(opts.is_upgrade));
    m.insert("IsInstall".to_string(), Value::Bool(!opts.is_upgrade));
    m.insert("Revision".to_string(), Value::Int(opts.revision));
    m.insert("Service".to_string(), Value::str("Helm"));
    Value::map(m)
}

/// Helm's `CRDObjects`: the chart's CRD files, then its subcharts', depth first.
fn crd_objects(chart: &Chart, parent_path: Option<&str>) -> Vec<Crd> {
    let full_path = chart.full_path(parent_path);
    let mut out: Vec<Crd> = chart
        .crds()
        .map(|f| Crd {
            filename: format!("{full_path}/{}", f.name),
            data: f.data.clone(),
        })
        .collect();
    for dep in &chart.dependencies {
        out.extend(crd_objects(dep, Some(&full_path)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(files: &[(&str, &str)]) -> Chart {
        crate::chart::test_chart(files)
    }

    const CHART_YAML: &str = "apiVersion: v2\nname: app\nversion: 1.0.0\n";

    #[test]
    fn notes_hooks_and_crds_are_kept_apart_from_the_manifest() {
        let c = chart(&[
            ("Chart.yaml", CHART_YAML),
            ("templates/NOTES.txt", "Installed {{ .Release.Name }}."),
            (
                "templates/cm.yaml",
                "kind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
            ),
            (
                "templates/job.yaml",
                "kind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: pre-install\n",
            ),
            ("crds/widget.yaml", "kind: CustomResourceDefinition\n"),
            (
                "charts/sub/Chart.yaml",
                "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
            ),
            (
                "charts/sub/templates/NOTES.txt",
                "subchart notes are dropped",
            ),
        ]);
        let mut opts = RenderOptions::new("demo", "ns");
        let release = render_chart(&c, &opts).unwrap();
        assert_eq!(release.notes, "Installed demo.");
        assert_eq!(
            release.manifest,
            "---\n# Source: app/templates/cm.yaml\nkind: ConfigMap\nmetadata:\n  name: demo\n\n"
        );
        assert_eq!(release.hooks.len(), 1);
        assert_eq!(release.hooks[0].path, "app/templates/job.yaml");
        assert_eq!(release.crds.len(), 1);

        opts.include_crds = true;
        let release = render_chart(&c, &opts).unwrap();
        assert!(release.manifest.starts_with(
            "---\n# Source: app/crds/widget.yaml\nkind: CustomResourceDefinition\n\n---\n# Source: app/templates/cm.yaml\n"
        ));
    }

    #[test]
    fn rendering_again_with_other_values_reuses_the_parsed_templates() {
        let c = chart(&[
            ("Chart.yaml", CHART_YAML),
            ("values.yaml", "replicas: 1\n"),
            (
                "templates/cm.yaml",
                "kind: ConfigMap\ndata:\n  n: {{ .Values.replicas | quote }}\n",
            ),
        ]);
        let renderer = Renderer::new(c, None);
        let mut opts = RenderOptions::new("demo", "ns");
        let first = renderer.render(&opts).unwrap();
        assert!(first.manifest.contains("n: \"1\""), "{}", first.manifest);
        opts.values = crate::values::load_values(b"replicas: 3\n").unwrap();
        let second = renderer.render(&opts).unwrap();
        assert!(second.manifest.contains("n: \"3\""), "{}", second.manifest);
        assert_eq!(renderer.engine().cached_sets(), 1);
    }

    #[test]
    fn kube_version_prints_its_string_in_actions_and_its_struct_in_functions() {
        let c = chart(&[
            ("Chart.yaml", CHART_YAML),
            (
                "templates/cm.yaml",
                "kind: ConfigMap\ndata:\n  a: {{ .Capabilities.KubeVersion }}\n  b: {{ .Capabilities.KubeVersion | toString }}\n",
            ),
        ]);
        let release = render_chart(&c, &RenderOptions::new("demo", "ns")).unwrap();
        assert!(
            release
                .manifest
                .contains("a: v1.36.0\n  b: {v1.36.0 v1.36.0 1 36}\n"),
            "{}",
            release.manifest
        );
    }

    #[test]
    fn kube_version_constraints_use_the_given_version() {
        let c = chart(&[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: app\nversion: 1.0.0\nkubeVersion: \">= 1.30.0-0\"\n",
            ),
            (
                "templates/cm.yaml",
                "kind: ConfigMap\ndata:\n  v: {{ .Capabilities.KubeVersion.Version }}\n",
            ),
        ]);
        let mut opts = RenderOptions::new("demo", "ns");
        assert!(render_chart(&c, &opts)
            .unwrap()
            .manifest
            .contains("v: v1.36.0"));
        opts.kube_version = Some(KubeVersion::parse("1.29.3-eks").unwrap());
        assert_eq!(
            render_chart(&c, &opts).unwrap_err().to_string(),
            "chart requires kubeVersion: >= 1.30.0-0 which is incompatible with Kubernetes v1.29.3-eks"
        );
    }

    #[test]
    fn release_names_follow_helms_dns_rule() {
        for ok in ["demo", "a", "my-app.v2", "0x"] {
            assert!(validate_release_name(ok).is_ok(), "{ok}");
        }
        for bad in ["Bad_Release", "-a", "a-", "a..b", "UPPER", &"a".repeat(54)] {
            let err = validate_release_name(bad).unwrap_err().to_string();
            assert!(
                err.contains("invalid release name, must match regex"),
                "{bad}: {err}"
            );
        }
        assert!(validate_release_name("")
            .unwrap_err()
            .to_string()
            .ends_with("no name provided"));
    }
}
