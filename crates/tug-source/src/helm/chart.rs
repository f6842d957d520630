//! Downloading a chart version's archive from an HTTP repository.

use super::error::{HelmError, Result};
use super::http::{self, HttpOptions};
use super::index::ChartVersionEntry;
use crate::error::redact_url;
use std::path::{Path, PathBuf};

/// Flux's default `--helm-chart-max-size`.
pub const DEFAULT_MAX_CHART_SIZE: u64 = 10 * 1024 * 1024;

/// A downloaded, verified chart archive.
#[derive(Debug)]
pub struct DownloadedChart {
    /// `<dest>/<name>-<version>.tgz`.
    pub path: PathBuf,
    /// `sha256:<hex>` of the archive.
    pub digest: String,
    pub size: u64,
    /// The URL it came from (user info removed).
    pub url: String,
    /// Chart.yaml of the archive.
    pub metadata: tug_helm::chart::Metadata,
}

/// The URL of the entry's archive: its first URL, absolute or relative to the repository
/// URL (as Helm's `ResolveReferenceURL`, the repository's query kept).
pub fn resolve_chart_url(repo_url: &str, entry: &ChartVersionEntry) -> Result<reqwest::Url> {
    let first = entry.urls.first().ok_or_else(|| HelmError::NoChartUrl {
        name: entry.name.clone(),
        version: entry.version.clone(),
    })?;
    let url = http::resolve_reference(repo_url, first)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HelmError::InvalidUrl {
            url: redact_url(url.as_str()),
            reason: "a chart URL must be http(s)".into(),
        });
    }
    Ok(url)
}

/// Downloads the archive of `entry` into `dest_dir` as `<name>-<version>.tgz`, with at most
/// `max_bytes`. Credentials go to the chart URL only when it has the repository's scheme,
/// host and port, or `pass_credentials` is set (as Helm's getter decides). The archive must
/// match the entry's digest, when the index gives one, and be a chart tug can load: a tar
/// with `..` paths, links, no Chart.yaml or too large when unpacked is refused.
pub fn download_chart(
    entry: &ChartVersionEntry,
    repo_url: &str,
    options: &HttpOptions,
    dest_dir: &Path,
    max_bytes: u64,
) -> Result<DownloadedChart> {
    let repo = http::parse_url(repo_url)?;
    let url = resolve_chart_url(repo_url, entry)?;
    let same_origin = url.scheme() == repo.scheme()
        && url.host_str() == repo.host_str()
        && url.port_or_known_default() == repo.port_or_known_default();
    let client = http::client(&url, options)?;
    let resp = http::get(
        &client,
        &url,
        options,
        same_origin || options.pass_credentials,
        &[],
    )?;
    let body = http::download(resp, &url, options, dest_dir, max_bytes)?;
    let shown = redact_url(url.as_str());
    if let Some(expected) = entry.digest.as_deref().filter(|d| !d.is_empty()) {
        let want = expected.strip_prefix("sha256:").unwrap_or(expected);
        if !want.eq_ignore_ascii_case(&body.sha256_hex) {
            return Err(HelmError::DigestMismatch {
                url: shown,
                expected: format!("sha256:{want}"),
                actual: format!("sha256:{}", body.sha256_hex),
            });
        }
    }
    // Bounded by max_bytes (the archive) and tug-helm's limits (what it unpacks to).
    let bytes =
        std::fs::read(body.file.path()).map_err(|e| HelmError::storage(body.file.path(), e))?;
    let chart = tug_helm::chart::load_archive(&bytes).map_err(|cause| HelmError::InvalidChart {
        url: shown.clone(),
        cause,
    })?;
    let name = format!("{}-{}.tgz", chart.metadata.name, chart.metadata.version);
    if name.contains('/') || name.starts_with('.') {
        return Err(HelmError::InvalidChart {
            url: shown,
            cause: tug_helm::chart::LoadError::Validation(format!(
                "chart name or version makes an unsafe file name {name:?}"
            )),
        });
    }
    let path = dest_dir.join(&name);
    body.file
        .persist(&path)
        .map_err(|e| HelmError::storage(&path, e.error))?;
    Ok(DownloadedChart {
        path,
        digest: format!("sha256:{}", body.sha256_hex),
        size: body.size,
        url: shown,
        metadata: chart.metadata,
    })
}
