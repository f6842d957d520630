//! `spec.include`: files of other GitRepositories' artifacts copied into this one's.
//!
//! Each include names another GitRepository of the same namespace; the files of its current
//! artifact under `fromPath` (default: all of them) are placed at `toPath` (default: the
//! included repository's name) in this repository's artifact, replacing whatever this
//! repository's own tree has there. Both paths are relative to the artifact's root; a path
//! that would leave the root (`../x`, or `a/../../x`) is refused.

use crate::error::{Error, Result};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;
use tug_api::meta::Artifact;
use tug_api::source::GitRepositoryInclude;

/// One include with its source artifact, as the reconciler resolved it.
#[derive(Clone, Debug)]
pub struct Include {
    /// The included GitRepository's name (for messages and the default `toPath`).
    pub name: String,
    /// The included repository's current artifact.
    pub artifact: Artifact,
    pub from_path: Option<String>,
    pub to_path: Option<String>,
}

impl Include {
    pub fn new(spec: &GitRepositoryInclude, artifact: Artifact) -> Self {
        Include {
            name: spec.repository.name.clone(),
            artifact,
            from_path: spec.from_path.clone(),
            to_path: spec.to_path.clone(),
        }
    }

    /// `toPath`, or the repository's name when unset.
    pub fn to(&self) -> &str {
        match self.to_path.as_deref() {
            Some(p) if !p.is_empty() => p,
            _ => &self.name,
        }
    }

    pub fn from(&self) -> &str {
        self.from_path.as_deref().unwrap_or("")
    }
}

/// The files of one include, ready to be written: paths already placed under `to`.
pub(crate) struct Included {
    /// Where the include goes (cleaned, never empty).
    pub to: String,
    pub entries: Vec<IncludedEntry>,
}

pub(crate) struct IncludedEntry {
    pub path: String,
    pub dir: bool,
    pub executable: bool,
    pub data: Vec<u8>,
}

/// `path` made relative and normal (`./a//b/` → `a/b`); `Err` when it would leave the root.
pub fn clean_path(path: &str) -> std::result::Result<String, String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("path '{path}' leaves the artifact root"));
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// Reads the include's artifact from `archive` (its local file) and places the files under
/// `fromPath` at `toPath`.
pub(crate) fn read(include: &Include, archive: &Path) -> Result<Included> {
    let illegal = |cause: String| Error::IllegalIncludePath {
        name: include.name.clone(),
        cause,
    };
    let to = clean_path(include.to()).map_err(illegal)?;
    if to.is_empty() {
        return Err(illegal(format!(
            "toPath '{}' is the artifact root",
            include.to()
        )));
    }
    let from = clean_path(include.from()).map_err(illegal)?;
    let copy_err = |cause: String| Error::IncludeCopy {
        name: include.name.clone(),
        from: include.from().to_string(),
        to: include.to().to_string(),
        cause,
    };
    let file = std::fs::File::open(archive).map_err(|e| copy_err(e.to_string()))?;
    let mut tar = tar::Archive::new(GzDecoder::new(std::io::BufReader::new(file)));
    let mut entries = Vec::new();
    let mut found = from.is_empty();
    for entry in tar.entries().map_err(|e| copy_err(e.to_string()))? {
        let mut entry = entry.map_err(|e| copy_err(e.to_string()))?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            continue;
        }
        let raw = entry.path().map_err(|e| copy_err(e.to_string()))?;
        let Some(raw) = raw.to_str() else { continue };
        // An entry that would leave the root is not part of any tree tug wrote: skip it.
        let Ok(path) = clean_path(raw) else { continue };
        if path.is_empty() {
            continue;
        }
        let rest = if from.is_empty() {
            Some(path.as_str())
        } else if path == from {
            Some("")
        } else {
            path.strip_prefix(&from).and_then(|r| r.strip_prefix('/'))
        };
        let Some(rest) = rest else { continue };
        found = true;
        let placed = if rest.is_empty() {
            to.clone()
        } else {
            format!("{to}/{rest}")
        };
        let mut data = Vec::new();
        if kind.is_file() {
            entry
                .read_to_end(&mut data)
                .map_err(|e| copy_err(e.to_string()))?;
        }
        let executable = entry.header().mode().is_ok_and(|m| m & 0o100 != 0);
        entries.push(IncludedEntry {
            path: placed,
            dir: kind.is_dir(),
            executable,
            data,
        });
    }
    if !found {
        return Err(copy_err(format!(
            "'{from}' does not exist in the artifact of '{}'",
            include.name
        )));
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Included { to, entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_paths_and_refuses_escapes() {
        assert_eq!(clean_path("./a//b/").unwrap(), "a/b");
        assert_eq!(clean_path("a/../b").unwrap(), "b");
        assert_eq!(clean_path("").unwrap(), "");
        assert!(clean_path("../x").is_err());
        assert!(clean_path("a/../../x").is_err());
        assert_eq!(clean_path("/abs/path").unwrap(), "abs/path");
    }
}
