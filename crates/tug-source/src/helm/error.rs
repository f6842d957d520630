//! Why a Helm repository operation failed. Messages follow Helm's and Flux's where they word
//! the same failure, name the URL (user info removed), and never contain credentials.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    /// The repository or chart URL cannot be parsed or has a scheme other than http(s).
    #[error("invalid Helm repository URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The server answered with an error status (Helm's getter wording).
    #[error("failed to fetch {url} : {status} {reason}")]
    Status {
        url: String,
        status: u16,
        reason: String,
    },

    /// The credentials or TLS material of the secret are unusable.
    #[error("invalid TLS or authentication configuration for {url}: {cause}")]
    Config { url: String, cause: String },

    /// The server's certificate is not trusted.
    #[error("TLS certificate verification failed for {url}: {cause}")]
    Certificate { url: String, cause: String },

    /// The server could not be reached or the transfer broke off.
    #[error("unable to reach {url}: {cause}")]
    Unreachable { url: String, cause: String },

    /// The request did not finish within the timeout.
    #[error("fetching {url} timed out after {timeout:?}")]
    Timeout { url: String, timeout: Duration },

    /// The body is larger than allowed; nothing of it is kept.
    #[error("{url} is larger than the maximum size of {limit} bytes")]
    TooLarge { url: String, limit: u64 },

    /// The index is not a Helm repository index (malformed or truncated YAML, no apiVersion,
    /// `entries` not a map...). `line` is 1-based.
    #[error("invalid Helm repository index {name}{}: {message}", at_line(.line))]
    InvalidIndex {
        name: String,
        line: Option<usize>,
        message: String,
    },

    /// The index has no entry for the chart (Helm's `ErrNoChartName`).
    #[error("no chart name found")]
    NoChartName { chart: String },

    /// No version of the chart satisfies the range (Helm's wording).
    #[error("no chart version found for {chart}-{constraint}")]
    NoChartVersion { chart: String, constraint: String },

    /// The version range cannot be parsed (Masterminds semver's wording).
    #[error("improper constraint: {0}")]
    InvalidConstraint(String),

    /// The index entry has no URL to download the chart from.
    #[error("chart {name:?} version {version:?} has no downloadable URLs")]
    NoChartUrl { name: String, version: String },

    /// The downloaded archive is not the one the index describes.
    #[error("chart {url} has digest {actual}, but the index says {expected}")]
    DigestMismatch {
        url: String,
        expected: String,
        actual: String,
    },

    /// The downloaded archive is not a valid chart (not gzip, `..` paths, links, no Chart.yaml...).
    #[error("invalid chart archive {url}: {cause}")]
    InvalidChart {
        url: String,
        #[source]
        cause: tug_helm::chart::LoadError,
    },

    /// Reading or writing a local file failed.
    #[error("storage operation failed on {path}: {source}")]
    Storage {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn at_line(line: &Option<usize>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

pub type Result<T, E = HelmError> = std::result::Result<T, E>;

impl HelmError {
    pub(crate) fn storage(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        HelmError::Storage {
            path: path.into(),
            source,
        }
    }

    /// The HTTP status the server answered with, if that is the failure.
    pub fn status(&self) -> Option<u16> {
        match self {
            HelmError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Flux's condition reason for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            HelmError::InvalidUrl { .. } => "URLInvalid",
            HelmError::Config { .. } => "AuthenticationFailed",
            HelmError::Status {
                status: 401 | 403, ..
            } => "AuthenticationFailed",
            HelmError::InvalidIndex { .. } => "IndexationFailed",
            HelmError::NoChartName { .. }
            | HelmError::NoChartVersion { .. }
            | HelmError::InvalidConstraint(_)
            | HelmError::NoChartUrl { .. } => "InvalidChartReference",
            HelmError::DigestMismatch { .. } | HelmError::InvalidChart { .. } => "ChartPullError",
            HelmError::Storage { .. } => "StorageOperationFailed",
            _ => "Failed",
        }
    }
}
