//! The index as a HelmRepository artifact.
//!
//! Flux's revision of an index is the SHA-256 of the fetched bytes (`sha256:<hex>`, computed
//! before decoding) and the artifact is stored as `index-<hex>.yaml`. Flux re-encodes the index
//! as JSON before storing it, so its `digest` is that of the JSON; tug stores the fetched bytes
//! as they are (re-encoding needs the whole decoded index in memory, which is what this
//! module avoids), so here `digest` equals `revision`.

use super::error::{HelmError, Result};
use super::repository::FetchedIndex;
use crate::storage::Storage;
use tug_api::meta::Artifact;

/// Flux's artifact revision for an index with this digest (`sha256:<hex>`).
pub fn index_revision(fetched: &FetchedIndex) -> String {
    fetched.digest.clone()
}

/// Stores a fetched index for the HelmRepository `namespace/name`: at
/// `helmrepository/<namespace>/<name>/index-<hex>.yaml`, revision and digest `sha256:<hex>`.
pub fn store_index(
    storage: &Storage,
    namespace: &str,
    name: &str,
    fetched: &FetchedIndex,
) -> Result<Artifact> {
    let dir = Storage::artifact_dir("HelmRepository", namespace, name);
    let artifact = storage
        .store_file(
            &dir,
            &index_revision(fetched),
            "index-",
            ".yaml",
            &fetched.path,
        )
        .map_err(|e| match e {
            crate::Error::Storage { path, source } => HelmError::Storage { path, source },
            other => HelmError::Storage {
                path: fetched.path.to_path_buf(),
                source: std::io::Error::other(other.to_string()),
            },
        })?;
    debug_assert_eq!(artifact.digest.as_deref(), Some(fetched.digest.as_str()));
    Ok(artifact)
}
