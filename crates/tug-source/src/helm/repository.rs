//! Fetching a repository's `index.yaml`.

use super::error::{HelmError, Result};
use super::http::{self, HttpOptions};
use super::index::{validate_index, IndexSummary};
use std::path::Path;

/// Flux's default `--helm-index-max-size`.
pub const DEFAULT_MAX_INDEX_SIZE: u64 = 50 * 1024 * 1024;

/// What the server said about the index the last time (its `ETag` and `Last-Modified`), to
/// ask for it again only if it changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A fetched and validated index, in a temporary file removed when this is dropped (store it
/// first, see [`super::store_index`]).
#[derive(Debug)]
pub struct FetchedIndex {
    pub path: tempfile::TempPath,
    /// `sha256:<hex>` of the bytes: Flux's revision of the index.
    pub digest: String,
    pub size: u64,
    /// The validators to send next time.
    pub validators: Validators,
    pub summary: IndexSummary,
    /// The URL fetched (user info removed).
    pub url: String,
}

/// The outcome of a fetch.
#[derive(Debug)]
pub enum Fetched {
    /// The server says the index did not change since `previous` (HTTP 304): nothing was
    /// downloaded.
    NotModified,
    Index(FetchedIndex),
}

/// Fetches `<repo_url>/index.yaml` (resolved as Helm does) into a temporary file in `dir`,
/// with at most `max_bytes`, and validates it. With `previous` validators the request is
/// conditional (`If-None-Match`, `If-Modified-Since`).
pub fn fetch_index(
    repo_url: &str,
    options: &HttpOptions,
    previous: &Validators,
    dir: &Path,
    max_bytes: u64,
) -> Result<Fetched> {
    http::parse_url(repo_url)?;
    let url = http::resolve_reference(repo_url, "index.yaml")?;
    let client = http::client(&url, options)?;
    let mut headers = Vec::new();
    if let Some(etag) = &previous.etag {
        headers.push(("If-None-Match", etag.as_str()));
    }
    if let Some(lm) = &previous.last_modified {
        headers.push(("If-Modified-Since", lm.as_str()));
    }
    let resp = http::get(&client, &url, options, true, &headers)?;
    if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let validators = Validators {
        etag: header("etag"),
        last_modified: header("last-modified"),
    };
    let body = http::download(resp, &url, options, dir, max_bytes)?;
    let path = body.file.into_temp_path();
    let summary = validate_index(&path).map_err(|e| match e {
        HelmError::InvalidIndex { line, message, .. } => HelmError::InvalidIndex {
            name: crate::error::redact_url(url.as_str()),
            line,
            message,
        },
        other => other,
    })?;
    Ok(Fetched::Index(FetchedIndex {
        path,
        digest: format!("sha256:{}", body.sha256_hex),
        size: body.size,
        validators,
        summary,
        url: crate::error::redact_url(url.as_str()),
    }))
}
