//! Getting a source's artifact onto disk for a build: read it from the shared storage (same
//! process) or download `status.artifact.url` (another source controller), check its digest,
//! and unpack it into a temporary directory, refusing anything that would land outside it.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tug_api::meta::Artifact;
use tug_source::Storage;

/// Why an artifact could not be used; every message names the artifact or entry at fault.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("failed to download artifact from {url}: {message}")]
    Download { url: String, message: String },
    #[error("failed to read artifact {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to verify artifact: computed digest {computed} does not match {expected}")]
    Digest { expected: String, computed: String },
    #[error("failed to extract artifact: {0}")]
    Extract(String),
    #[error("path {path:?} is outside the artifact's root")]
    PathEscapes { path: String },
}

/// Longest wait for an artifact download.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// The bytes of `artifact`: from `storage` when this process holds it, else over HTTP.
pub async fn fetch(
    artifact: &Artifact,
    storage: Option<&Storage>,
) -> Result<Vec<u8>, ArtifactError> {
    if let Some(path) = storage.and_then(|s| s.local_path(&artifact.path)) {
        if path.is_file() {
            return tokio::fs::read(&path)
                .await
                .map_err(|source| ArtifactError::Read { path, source });
        }
    }
    tokio::time::timeout(DOWNLOAD_TIMEOUT, http_get(&artifact.url))
        .await
        .unwrap_or_else(|_| {
            Err(ArtifactError::Download {
                url: artifact.url.clone(),
                message: format!("timed out after {DOWNLOAD_TIMEOUT:?}"),
            })
        })
}

/// Checks `bytes` against the artifact's `sha256:<hex>` digest (when it has one).
pub fn verify(artifact: &Artifact, bytes: &[u8]) -> Result<(), ArtifactError> {
    let Some(expected) = artifact.digest.as_deref() else {
        return Ok(());
    };
    let computed = format!("sha256:{:x}", Sha256::digest(bytes));
    if expected.starts_with("sha256:") && computed != expected {
        return Err(ArtifactError::Digest {
            expected: expected.to_string(),
            computed,
        });
    }
    Ok(())
}

/// Unpacks a tar.gz into `dir`. Entries with absolute paths or `..` components, and links,
/// are refused: an artifact must not write outside its directory.
pub fn extract(bytes: &[u8], dir: &Path) -> Result<(), ArtifactError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|e| ArtifactError::Extract(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ArtifactError::Extract(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| ArtifactError::Extract(e.to_string()))?
            .into_owned();
        let safe = path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !safe {
            return Err(ArtifactError::Extract(format!(
                "entry {} would be written outside the artifact's directory",
                path.display()
            )));
        }
        let target = dir.join(&path);
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&target)
                .map_err(|e| ArtifactError::Extract(format!("{}: {e}", path.display())))?;
        } else if kind.is_file() {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| ArtifactError::Extract(format!("{}: {e}", path.display())))?;
            }
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| ArtifactError::Extract(format!("{}: {e}", path.display())))?;
            std::fs::write(&target, data)
                .map_err(|e| ArtifactError::Extract(format!("{}: {e}", path.display())))?;
        } else {
            // Symlinks and special files could point outside the directory; tug-source
            // does not write them, so anything else is skipped.
            tracing::debug!(entry = %path.display(), "skipping non-regular artifact entry");
        }
    }
    Ok(())
}

/// `spec.path` inside `root`: `./apps`, `apps` and `/apps` all mean `<root>/apps`; a path
/// whose `..` would climb above the root is refused.
pub fn resolve_path(root: &Path, path: Option<&str>) -> Result<PathBuf, ArtifactError> {
    let mut out = root.to_path_buf();
    let mut depth = 0usize;
    for c in Path::new(path.unwrap_or("")).components() {
        match c {
            Component::Normal(part) => {
                out.push(part);
                depth += 1;
            }
            Component::ParentDir if depth > 0 => {
                out.pop();
                depth -= 1;
            }
            Component::ParentDir => {
                return Err(ArtifactError::PathEscapes {
                    path: path.unwrap_or_default().to_string(),
                })
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(out)
}

/// A plain HTTP/1.1 GET of `url` (artifact servers serve plain HTTP inside the cluster, as
/// Flux's source-controller does); https is not supported yet.
async fn http_get(url: &str) -> Result<Vec<u8>, ArtifactError> {
    let fail = |message: String| ArtifactError::Download {
        url: url.to_string(),
        message,
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| fail("only http:// artifact URLs are supported".into()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nAccept: */*\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| fail("malformed HTTP response".into()))?;
    let head = String::from_utf8_lossy(&response[..head_end]).into_owned();
    let status_line = head.lines().next().unwrap_or_default();
    let code = status_line.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        return Err(fail(format!("server answered {status_line:?}")));
    }
    if head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"))
    {
        return Err(fail("chunked responses are not supported".into()));
    }
    Ok(response[head_end + 4..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = Path::new("/tmp/a");
        assert_eq!(resolve_path(root, None).unwrap(), root);
        assert_eq!(
            resolve_path(root, Some("./apps")).unwrap(),
            root.join("apps")
        );
        assert_eq!(
            resolve_path(root, Some("/apps/x/../y")).unwrap(),
            root.join("apps/y")
        );
        assert!(resolve_path(root, Some("../etc")).is_err());
        assert!(resolve_path(root, Some("apps/../../etc")).is_err());
    }

    #[test]
    fn digest_mismatch_is_refused() {
        let artifact = Artifact {
            digest: Some(format!("sha256:{:x}", Sha256::digest(b"abc"))),
            ..Default::default()
        };
        assert!(verify(&artifact, b"abc").is_ok());
        assert!(matches!(
            verify(&artifact, b"abd"),
            Err(ArtifactError::Digest { .. })
        ));
    }

    #[test]
    fn entries_escaping_the_directory_are_refused() {
        let mut builder = tar::Builder::new(Vec::new());
        let data = b"x";
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // set_path refuses "..", so write the name bytes directly.
        let name = b"../evil.yaml";
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_cksum();
        builder.append(&header, &data[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let bytes = gz.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = extract(&bytes, &dir.path().join("root")).unwrap_err();
        assert!(err.to_string().contains("evil.yaml"), "{err}");
    }
}
