//! Charts: loading them from a directory or a packaged `.tgz` as Helm's loader does, and the
//! data they give templates (`.Chart`, `.Files`).
//!
//! What `helm template`/`helm install` do before rendering, with this crate:
//!
//! ```no_run
//! use tug_helm::chart::{load, Chart};
//! use tug_helm::values::{merge_user_values, prepare_values, subchart_values};
//!
//! let mut chart = load(std::path::Path::new("./mychart"))?;
//! // `-f` files (name, contents), then `--set`, then `--set-string`.
//! let user = merge_user_values(&[], &["replicas=3".into()], &[])?;
//! // Dependencies checked and processed (this changes `chart`), defaults coalesced, schemas
//! // validated: the root chart's `.Values`.
//! let values = prepare_values(&mut chart, &user)?;
//!
//! // Each chart renders its templates with its own `.Chart`, `.Files` and `.Values`.
//! fn walk(chart: &Chart, values: &tug_helm::Value, parent: Option<&str>) {
//!     let path = chart.full_path(parent);
//!     let _dot_chart = chart.chart_object(parent.is_none());
//!     let _dot_files = chart.files_object();
//!     for t in chart.templates.iter().filter(|t| chart.renders_template(t)) {
//!         println!("{}", chart.template_path(parent, t));
//!     }
//!     for sub in &chart.dependencies {
//!         walk(sub, &subchart_values(values, sub.name()), Some(&path));
//!     }
//! }
//! walk(&chart, &values, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod archive;
pub mod chart_yaml;
pub mod files;
pub mod glob;
pub mod ignore;
mod load;
pub mod metadata;
pub mod package;
pub mod semver;

pub use archive::ArchiveError;
pub use files::Files;
pub use ignore::IgnoreError;
pub use load::{load, load_archive, load_dir, load_files, MAX_SUBCHART_DEPTH};
pub use metadata::{Dependency, Maintainer, Metadata};
pub use package::{package, Package};

use crate::value::Value;
use crate::values::yaml::ValuesError;

/// A file of a chart, named by its path relative to the chart's directory with `/`.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub name: String,
    pub data: Vec<u8>,
}

/// A loaded chart.
#[derive(Debug, Clone)]
pub struct Chart {
    pub metadata: Metadata,
    /// Everything under `templates/`, named `templates/...`, in load order.
    pub templates: Vec<File>,
    /// The files templates see as `.Files` (`crds/` included): everything except Chart.yaml,
    /// Chart.lock, values.yaml, values.schema.json, `templates/`, `charts/` (but `.prov` files
    /// there) and ignored paths.
    pub files: Vec<File>,
    /// The chart's default values (`values.yaml`, every document merged), always a map.
    pub values: Value,
    /// `values.schema.json`, unparsed.
    pub schema: Option<Vec<u8>>,
    /// Subcharts: every chart in `charts/`, declared or not, until dependency processing
    /// removes the disabled ones and applies aliases.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The chart's name (after an alias was applied, the alias).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Helm's `ChartFullPath`: `parent/charts/name`, or the name for the root chart.
    pub fn full_path(&self, parent_full_path: Option<&str>) -> String {
        match parent_full_path {
            Some(p) => format!("{p}/charts/{}", self.name()),
            None => self.name().to_string(),
        }
    }

    /// The name Helm gives a template: `<chart full path>/templates/x.yaml`.
    pub fn template_path(&self, parent_full_path: Option<&str>, template: &File) -> String {
        format!("{}/{}", self.full_path(parent_full_path), template.name)
    }

    /// Whether the template is rendered for this chart: a library chart keeps only partials.
    pub fn renders_template(&self, template: &File) -> bool {
        !self.metadata.is_library()
            || template
                .name
                .rsplit('/')
                .next()
                .is_some_and(|base| base.starts_with('_'))
    }

    /// The CRD files (`crds/*.yaml|yml|json`) of this chart, not of its subcharts.
    pub fn crds(&self) -> impl Iterator<Item = &File> {
        self.files.iter().filter(|f| {
            let lower = f.name.to_ascii_lowercase();
            f.name.starts_with("crds/")
                && [".yaml", ".yml", ".json"]
                    .iter()
                    .any(|e| lower.ends_with(e))
        })
    }

    /// `.Chart` for templates of this chart: its metadata keyed by Go field names, plus
    /// `IsRoot`.
    pub fn chart_object(&self, is_root: bool) -> Value {
        let v = self.metadata.to_value();
        if let Some(m) = v.as_map() {
            m.borrow_mut().insert("IsRoot".into(), Value::Bool(is_root));
        }
        v
    }

    /// `.Files` for templates of this chart (only its own files).
    pub fn files_object(&self) -> Files {
        Files::new(self.files.iter().map(|f| (f.name.clone(), f.data.clone())))
    }

    /// A subchart by its (alias) name.
    pub fn dependency(&self, name: &str) -> Option<&Chart> {
        self.dependencies.iter().find(|c| c.name() == name)
    }
}

/// Why a chart could not be loaded. Messages follow Helm's.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot load {file}: {message}")]
    Parse { file: String, message: String },
    #[error("cannot load values.yaml: {0}")]
    Values(#[from] ValuesError),
    #[error("validation: {0}")]
    Validation(String),
    #[error("Chart.yaml file is missing")]
    MissingChartYaml,
    #[error("error unpacking subchart {name} in {parent}: {source}")]
    Subchart {
        name: String,
        parent: String,
        #[source]
        source: Box<LoadError>,
    },
    #[error("error unpacking subchart tar in {parent}: expected {expected}, got {got}")]
    SubchartTar {
        parent: String,
        expected: String,
        got: String,
    },
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Ignore(#[from] IgnoreError),
    #[error("cannot load irregular file {0} as it has file mode type bits set")]
    IrregularFile(String),
    #[error("chart file {0:?} is larger than the maximum file size {max}", max = archive::MAX_FILE_SIZE)]
    FileTooLarge(String),
    /// A symbolic link in a chart directory that leads outside the chart. Helm follows it; we
    /// refuse, so a chart from a source repository cannot read the controller's files.
    #[error("chart file {0} is a link to outside the chart directory")]
    LinkOutsideChart(String),
    #[error("subcharts nest deeper than the maximum of {0} levels")]
    TooDeep(usize),
    #[error("unable to detect chart at {0}: no such file")]
    NoChartYaml(String),
    /// Chart.yaml names an apiVersion other than v1 and v2 (Helm 4's experimental v3 charts
    /// are not supported).
    #[error("unsupported chart version {0:?}")]
    UnsupportedApiVersion(String),
    #[error("file '{0}' seems to be a YAML file, but expected a gzipped archive")]
    YamlNotArchive(String),
    #[error("file '{0}' does not appear to be a gzipped archive")]
    NotArchive(String),
}

/// A chart loaded from in-memory `(path, text)` files, for unit tests.
#[cfg(test)]
pub(crate) fn test_chart(files: &[(&str, &str)]) -> Chart {
    load_files(
        files
            .iter()
            .map(|(name, text)| File {
                name: name.to_string(),
                data: text.as_bytes().to_vec(),
            })
            .collect(),
    )
    .expect("chart")
}
