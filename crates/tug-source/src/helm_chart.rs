//! One reconcile of a HelmChart, without the controller framework: the chart's archive as an
//! artifact, pulled from a HelmRepository's index by name and version range, or packaged from
//! a path of a GitRepository's or OCIRepository's artifact; Flux's conditions and messages.
//!
//! Not implemented yet, and refused by name (Stalled) rather than ignored: `valuesFiles`,
//! `verify`, `reconcileStrategy: Revision`, Bucket sources, HelmRepositories of `type: oci`,
//! and charts from Git whose dependencies are not vendored in `charts/`.

use crate::helm::{self, HttpOptions, IndexQuery};
use crate::oci::untar::{extract_tar_gz, ExtractLimits};
use crate::outcome::{record_success, Failure};
use crate::reconcile::Outcome;
use crate::{Storage, DEFAULT_RETENTION_RECORDS};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::path::{Component, Path, PathBuf};
use tug_api::helm_source::RECONCILE_STRATEGY_REVISION;
use tug_api::{HelmChart, HelmChartStatus};

/// Where the chart comes from, as the controller found the source.
pub enum Source {
    /// A HelmRepository of `type: default`: its URL, its stored index and the client options
    /// its Secrets give.
    Repository {
        url: String,
        index: PathBuf,
        revision: String,
        options: HttpOptions,
    },
    /// A HelmRepository of `type: oci`: the registry path charts are under
    /// (`oci://host/path`, the chart's name appended) and how to reach it.
    Registry {
        url: String,
        options: crate::oci::ClientOptions,
    },
    /// A GitRepository or OCIRepository: its stored artifact (a tar.gz) and revision.
    Files { archive: PathBuf, revision: String },
    /// The source cannot be used yet or at all: Flux's reason and message, and whether
    /// retrying can help.
    Unavailable {
        reason: &'static str,
        message: String,
        stalled: bool,
    },
}

/// Reconciles `obj` once.
pub fn reconcile(obj: &HelmChart, source: Source, storage: &Storage) -> (HelmChartStatus, Outcome) {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let generation = obj.metadata.generation;
    let mut status = obj.status.clone().unwrap_or_default();
    let outcome = match run(obj, source, storage, &mut status) {
        Ok((outcome, message)) => {
            record_success(&mut status.conditions, &message, generation, &now);
            outcome
        }
        Err(failure) => failure.record(&mut status.conditions, generation, &now),
    };
    status.observed_generation = generation;
    (status, outcome)
}

fn run(
    obj: &HelmChart,
    source: Source,
    storage: &Storage,
    status: &mut HelmChartStatus,
) -> Result<(Outcome, String), Failure> {
    let spec = &obj.spec;
    refuse_unsupported(obj)?;
    let dir = Storage::artifact_dir(
        "HelmChart",
        obj.metadata.namespace.as_deref().unwrap_or("default"),
        obj.metadata.name.as_deref().unwrap_or_default(),
    );
    let scratch = tempfile::tempdir()
        .map_err(|e| Failure::fetch("ChartPullError", format!("temporary directory: {e}")))?;
    let (chart_file, name, version, source_revision, verb) = match source {
        Source::Unavailable {
            reason,
            message,
            stalled,
        } => {
            return Err(if stalled {
                Failure::stalled(reason, message)
            } else {
                Failure::fetch(reason, message)
            })
        }
        Source::Repository {
            url,
            index,
            revision,
            options,
        } => {
            let entry = IndexQuery::find(&index, &spec.chart, spec.version_or_default())
                .map_err(|e| Failure::fetch(e.reason(), format!("invalid chart reference: {e}")))?;
            if let Some(message) = current(status, storage, &spec.chart, &entry.version, "pulled") {
                return Ok((Outcome::UpToDate(entry.version), message));
            }
            let downloaded = helm::download_chart(
                &entry,
                &url,
                &options,
                scratch.path(),
                helm::DEFAULT_MAX_CHART_SIZE,
            )
            .map_err(|e| Failure::fetch(e.reason(), format!("chart pull error: {e}")))?;
            (
                downloaded.path,
                entry.name,
                entry.version,
                revision,
                "pulled",
            )
        }
        Source::Registry { url, options } => {
            let version_range = spec.version_or_default();
            match pull_from_registry(
                status,
                storage,
                &url,
                options,
                &spec.chart,
                version_range,
                scratch.path(),
            )? {
                Pulled::Current(version, message) => {
                    return Ok((Outcome::UpToDate(version), message))
                }
                Pulled::New {
                    file,
                    name,
                    version,
                } => (file, name, version.clone(), version, "pulled"),
            }
        }
        Source::Files { archive, revision } => {
            let chart_dir = unpack_chart(&archive, &spec.chart, scratch.path())?;
            let package = tug_helm::chart::package(&chart_dir).map_err(|e| {
                Failure::fetch("ChartPackageError", format!("chart package error: {e}"))
            })?;
            let chart = tug_helm::chart::load_archive(&package.bytes).map_err(|e| {
                Failure::fetch("ChartPackageError", format!("chart package error: {e}"))
            })?;
            tug_helm::values::check_dependencies(&chart).map_err(|e| {
                Failure::stalled(
                    "ChartPackageError",
                    format!(
                        "chart dependencies must be vendored in charts/ (building them from \
                         repositories is not supported by tug yet): {e}"
                    ),
                )
            })?;
            let same_source =
                status.observed_source_artifact_revision.as_deref() == Some(revision.as_str());
            if same_source {
                if let Some(message) =
                    current(status, storage, &package.name, &package.version, "packaged")
                {
                    return Ok((Outcome::UpToDate(package.version), message));
                }
            }
            let file = scratch.path().join(package.file_name());
            std::fs::write(&file, &package.bytes).map_err(|e| {
                Failure::storage("ArchiveOperationFailed", format!("writing the chart: {e}"))
            })?;
            (file, package.name, package.version, revision, "packaged")
        }
    };
    let artifact = storage
        .store_file(&dir, &version, &format!("{name}-"), ".tgz", &chart_file)
        .map_err(|e| {
            Failure::storage(
                "ArchiveOperationFailed",
                format!("unable to save artifact to storage: {e}"),
            )
        })?;
    let _ = storage.garbage_collect(&dir, DEFAULT_RETENTION_RECORDS, Some(&artifact.path));
    status.url = Some(artifact.url.clone());
    status.artifact = Some(artifact);
    status.observed_chart_name = Some(name.clone());
    status.observed_source_artifact_revision = Some(source_revision);
    status.observed_values_files = Vec::new();
    let message = format!("{verb} '{name}' chart with version '{version}'");
    Ok((Outcome::NewArtifact(version), message))
}

/// The Ready message when the stored artifact already is `name` at `version`.
fn current(
    status: &HelmChartStatus,
    storage: &Storage,
    name: &str,
    version: &str,
    verb: &str,
) -> Option<String> {
    let artifact = status.artifact.as_ref()?;
    (artifact.revision == version
        && storage.exists(artifact)
        && status.observed_chart_name.as_deref() == Some(name))
    .then(|| format!("{verb} '{name}' chart with version '{version}'"))
}

/// Extracts the source's artifact and returns the chart directory `path` inside it, refusing
/// paths that leave the artifact.
fn unpack_chart(archive: &Path, path: &str, scratch: &Path) -> Result<PathBuf, Failure> {
    let root = scratch.join("source");
    let file = std::fs::File::open(archive).map_err(|e| {
        Failure::fetch(
            "ArtifactUnavailable",
            format!("source artifact {}: {e}", archive.display()),
        )
    })?;
    extract_tar_gz(
        std::io::BufReader::new(file),
        &root,
        ExtractLimits::default(),
        "source artifact",
    )
    .map_err(|e| Failure::fetch("ArtifactUnavailable", e.to_string()))?;
    let relative = Path::new(path.trim_start_matches("./"));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(Failure::stalled(
            "InvalidChartReference",
            format!("invalid chart path '{path}': it must stay inside the source"),
        ));
    }
    let dir = root.join(relative);
    if !dir.join("Chart.yaml").is_file() {
        return Err(Failure::stalled(
            "InvalidChartReference",
            format!("no chart found at '{path}' in the source (no Chart.yaml)"),
        ));
    }
    Ok(dir)
}

/// Fields tug does not implement yet: Stalled, naming them.
fn refuse_unsupported(obj: &HelmChart) -> Result<(), Failure> {
    let spec = &obj.spec;
    let unsupported = |field: &str| {
        Err(Failure::stalled(
            "UnsupportedField",
            format!("spec.{field} is not supported by tug yet"),
        ))
    };
    if !spec.all_values_files().is_empty() {
        return unsupported("valuesFiles");
    }
    if spec.verify.is_some() {
        return unsupported("verify");
    }
    if spec.reconcile_strategy.as_deref() == Some(RECONCILE_STRATEGY_REVISION) {
        return unsupported("reconcileStrategy: Revision");
    }
    Ok(())
}

/// A chart from a registry: the stored one still current, or a new archive.
enum Pulled {
    Current(String, String),
    New {
        file: PathBuf,
        name: String,
        version: String,
    },
}

/// Pulls `<url>/<chart>` at the highest tag in `range` (tags carry `_` for semver's `+`, as
/// Helm pushes them), its Helm chart layer copied as it is.
fn pull_from_registry(
    status: &HelmChartStatus,
    storage: &Storage,
    url: &str,
    options: crate::oci::ClientOptions,
    chart: &str,
    range: &str,
    scratch: &Path,
) -> Result<Pulled, Failure> {
    use crate::oci::{self, LayerSelector, OciUrl, Operation, HELM_CHART_MEDIA_TYPE};
    let reference = format!("{}/{chart}", url.trim_end_matches('/'));
    let pull_error = |e: String| Failure::fetch("ChartPullError", format!("chart pull error: {e}"));
    let chart_url = OciUrl::parse(&reference).map_err(|e| {
        Failure::stalled(
            "URLInvalid",
            format!("invalid chart reference '{reference}': {e}"),
        )
    })?;
    let client = oci::Client::new(options).map_err(|e| pull_error(e.to_string()))?;
    let parsed: crate::semver_range::Range = range.parse().map_err(|e| {
        Failure::stalled(
            "InvalidChartReference",
            format!("invalid chart reference: semver '{range}': {e}"),
        )
    })?;
    let tags = client
        .list_tags(&chart_url, None)
        .map_err(|e| pull_error(e.to_string()))?;
    let versions: Vec<String> = tags.iter().map(|t| t.replace('_', "+")).collect();
    let version = crate::semver_range::highest_match(&parsed, versions.iter().map(String::as_str))
        .ok_or_else(|| {
            Failure::fetch(
                "InvalidChartReference",
                format!("invalid chart reference: no chart version found for {chart}-{range}"),
            )
        })?
        .to_string();
    if let Some(message) = current(status, storage, chart, &version, "pulled") {
        return Ok(Pulled::Current(version, message));
    }
    let file = scratch.join(format!("{chart}-{version}.tgz"));
    let selector = LayerSelector {
        media_type: HELM_CHART_MEDIA_TYPE.to_string(),
        operation: Operation::Copy,
    };
    oci::pull_artifact(
        &client,
        &chart_url.with_tag(&version.replace('+', "_")),
        None,
        Some(&selector),
        &file,
        oci::PullLimits {
            max_layer_bytes: helm::DEFAULT_MAX_CHART_SIZE,
            ..Default::default()
        },
    )
    .map_err(|e| pull_error(e.to_string()))?;
    let bytes = std::fs::read(&file).map_err(|e| pull_error(e.to_string()))?;
    let loaded = tug_helm::chart::load_archive(&bytes)
        .map_err(|e| pull_error(format!("{reference}:{version} is not a valid chart: {e}")))?;
    Ok(Pulled::New {
        file,
        name: loaded.metadata.name,
        version,
    })
}
