//! Content-addressed artifact storage, laid out as Flux's source-controller lays it out.
//!
//! Artifacts live at `<root>/<kind>/<namespace>/<name>/<sha256>.tar.gz` (a Helm index at
//! `.../index-<sha256>.yaml`) and are served at
//! `http://<advertised address>/<same path>`. Naming files by the digest of their bytes makes
//! a rewrite of identical content a no-op and lets a consumer verify what it downloaded. Files
//! are written to a temporary name in the same directory, synced, then renamed into place, so a
//! crash never leaves a partial file under a name a status points at.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use tug_api::meta::Artifact;

/// Flux's default for `--artifact-retention-records`: how many artifacts to keep per object.
pub const DEFAULT_RETENTION_RECORDS: usize = 2;
/// Prefix of in-progress files; never served, removed by garbage collection.
const TEMP_PREFIX: &str = ".tmp-";

/// A storage directory and the address its files are served at.
#[derive(Clone, Debug)]
pub struct Storage {
    root: PathBuf,
    hostname: String,
}

impl Storage {
    /// Storage under `root` (created if missing), advertised at `hostname` (`host:port`, or a
    /// full `http(s)://` base URL), as `--storage-path` and `--storage-adv-addr`.
    pub fn new(root: impl Into<PathBuf>, hostname: impl Into<String>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| Error::storage(&root, e))?;
        Ok(Storage {
            root,
            hostname: hostname.into(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of an object's artifacts, relative to the root: `<kind>/<namespace>/<name>`.
    pub fn artifact_dir(kind: &str, namespace: &str, name: &str) -> String {
        format!("{}/{namespace}/{name}", kind.to_ascii_lowercase())
    }

    /// The URL an artifact at `path` (relative to the root) is served at.
    pub fn url_for(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        if self.hostname.starts_with("http://") || self.hostname.starts_with("https://") {
            format!("{}/{path}", self.hostname.trim_end_matches('/'))
        } else {
            format!("http://{}/{path}", self.hostname)
        }
    }

    /// The file of a relative path, refusing paths that would leave the root.
    pub fn local_path(&self, path: &str) -> Option<PathBuf> {
        let rel = Path::new(path.trim_start_matches('/'));
        if rel.as_os_str().is_empty()
            || !rel.components().all(|c| matches!(c, Component::Normal(_)))
        {
            return None;
        }
        Some(self.root.join(rel))
    }

    /// Whether the artifact's file is present.
    pub fn exists(&self, artifact: &Artifact) -> bool {
        self.local_path(&artifact.path).is_some_and(|p| p.is_file())
    }

    /// Writes an artifact into `dir` (relative to the root) with the bytes `write` produces and
    /// returns its status entry for `revision`.
    pub fn store(
        &self,
        dir: &str,
        revision: &str,
        write: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<Artifact> {
        self.store_named(dir, revision, "", ".tar.gz", write)
    }

    /// Stores a copy of the file at `source` as `<prefix><sha256 hex><suffix>` in `dir` (a
    /// Helm index is `index-<hex>.yaml`), streamed, never read into memory whole.
    pub fn store_file(
        &self,
        dir: &str,
        revision: &str,
        prefix: &str,
        suffix: &str,
        source: &Path,
    ) -> Result<Artifact> {
        self.store_named(dir, revision, prefix, suffix, |w| {
            let mut f = fs::File::open(source).map_err(|e| Error::storage(source, e))?;
            io::copy(&mut f, w)
                .map(|_| ())
                .map_err(|e| Error::storage(source, e))
        })
    }

    /// [`Storage::store`] with the file named `<prefix><sha256 hex><suffix>`.
    pub fn store_named(
        &self,
        dir: &str,
        revision: &str,
        prefix: &str,
        suffix: &str,
        write: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<Artifact> {
        let dir = dir.trim_matches('/');
        let abs_dir = if dir.is_empty() {
            self.root.clone()
        } else {
            self.local_path(dir).ok_or_else(|| {
                Error::storage(
                    dir,
                    io::Error::new(io::ErrorKind::InvalidInput, "path leaves the storage root"),
                )
            })?
        };
        fs::create_dir_all(&abs_dir).map_err(|e| Error::storage(&abs_dir, e))?;
        let temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(suffix)
            .tempfile_in(&abs_dir)
            .map_err(|e| Error::storage(&abs_dir, e))?;
        let (hasher, size) = {
            let mut hashing = HashingWriter {
                inner: io::BufWriter::new(temp.as_file()),
                hasher: Sha256::new(),
                size: 0,
            };
            write(&mut hashing)?;
            hashing
                .flush()
                .map_err(|e| Error::storage(temp.path(), e))?;
            (hashing.hasher, hashing.size)
        };
        temp.as_file()
            .sync_all()
            .map_err(|e| Error::storage(temp.path(), e))?;
        let hex = hex(&hasher.finalize());
        let file_name = format!("{prefix}{hex}{suffix}");
        let final_path = abs_dir.join(&file_name);
        if final_path.is_file() {
            // Same bytes already stored: keep the old file, mark it as the newest for retention.
            drop(temp);
            let f = fs::File::options()
                .append(true)
                .open(&final_path)
                .map_err(|e| Error::storage(&final_path, e))?;
            f.set_modified(std::time::SystemTime::now())
                .map_err(|e| Error::storage(&final_path, e))?;
        } else {
            temp.persist(&final_path)
                .map_err(|e| Error::storage(&final_path, e.error))?;
            if let Ok(d) = fs::File::open(&abs_dir) {
                let _ = d.sync_all();
            }
        }
        let path = if dir.is_empty() {
            file_name
        } else {
            format!("{dir}/{file_name}")
        };
        Ok(Artifact {
            url: self.url_for(&path),
            path,
            revision: revision.to_string(),
            digest: Some(format!("sha256:{hex}")),
            last_update_time: jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now())
                .to_string(),
            size: Some(size as i64),
            metadata: None,
        })
    }

    /// Removes old artifacts of `dir`, keeping the `keep` most recently written ones and always
    /// `current` (a path relative to the root); also removes abandoned temporary files.
    /// Returns the removed files.
    pub fn garbage_collect(
        &self,
        dir: &str,
        keep: usize,
        current: Option<&str>,
    ) -> Result<Vec<PathBuf>> {
        let Some(abs_dir) = self.local_path(dir) else {
            return Ok(vec![]);
        };
        let entries = match fs::read_dir(&abs_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(Error::storage(&abs_dir, e)),
        };
        let current = current.and_then(|c| self.local_path(c));
        let mut artifacts = Vec::new();
        let mut removed = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            if name.starts_with(TEMP_PREFIX) {
                // Another writer may be mid-way: only old temporaries are abandoned.
                if modified
                    .elapsed()
                    .map(|age| age.as_secs() > 600)
                    .unwrap_or(false)
                    && fs::remove_file(&path).is_ok()
                {
                    removed.push(path);
                }
            } else if name.ends_with(".tar.gz") || name.ends_with(".yaml") || name.ends_with(".tgz")
            {
                artifacts.push((modified, path));
            }
        }
        artifacts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        for (i, (_, path)) in artifacts.into_iter().enumerate() {
            if i < keep || Some(&path) == current.as_ref() {
                continue;
            }
            fs::remove_file(&path).map_err(|e| Error::storage(&path, e))?;
            removed.push(path);
        }
        Ok(removed)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Passes bytes through while hashing and counting them, so the digest needs no second read.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_content_addressed_and_collects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::new(
            dir.path(),
            "source-controller.flux-system.svc.cluster.local.",
        )
        .unwrap();
        let d = Storage::artifact_dir("GitRepository", "ns", "app");
        let a = s
            .store(&d, "main@sha1:abc", |w| {
                w.write_all(b"one").map_err(|e| Error::storage("test", e))
            })
            .unwrap();
        assert_eq!(
            a.path,
            format!(
                "gitrepository/ns/app/{}.tar.gz",
                a.digest.as_deref().unwrap().trim_start_matches("sha256:")
            )
        );
        assert_eq!(
            a.digest.as_deref(),
            Some("sha256:7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed")
        );
        assert_eq!(a.size, Some(3));
        assert_eq!(
            a.url,
            format!(
                "http://source-controller.flux-system.svc.cluster.local./{}",
                a.path
            )
        );
        assert!(s.exists(&a));
        let same = s
            .store(&d, "main@sha1:abc", |w| {
                w.write_all(b"one").map_err(|e| Error::storage("test", e))
            })
            .unwrap();
        assert_eq!(same.path, a.path);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = s
            .store(&d, "r2", |w| {
                w.write_all(b"two").map_err(|e| Error::storage("test", e))
            })
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let c = s
            .store(&d, "r3", |w| {
                w.write_all(b"three").map_err(|e| Error::storage("test", e))
            })
            .unwrap();
        let removed = s.garbage_collect(&d, 2, Some(&c.path)).unwrap();
        assert_eq!(removed.len(), 1);
        assert!(!s.exists(&a) && s.exists(&b) && s.exists(&c));
        assert_eq!(
            std::fs::read_dir(dir.path().join(&d)).unwrap().count(),
            2,
            "no temporary left behind"
        );
    }

    #[test]
    fn refuses_paths_outside_root() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::new(dir.path(), "http://h:9090/").unwrap();
        assert!(s.local_path("../etc/passwd").is_none());
        assert!(s.local_path("/a/../../b").is_none());
        assert_eq!(s.url_for("a/b.tar.gz"), "http://h:9090/a/b.tar.gz");
    }
}
