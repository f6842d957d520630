//! The filesystem abstraction: a build reads only through [`FileSystem`], so it can run on a
//! real directory or on an in-memory tree (an unpacked artifact) without touching disk.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

pub trait FileSystem {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    fn is_dir(&self, path: &Path) -> bool;
    fn exists(&self, path: &Path) -> bool;
}

/// The real filesystem.
pub struct RealFs;

impl FileSystem for RealFs {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

/// An in-memory tree keyed by absolute, normalised paths.
#[derive(Default)]
pub struct MemFs {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemFs {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) {
        self.files.insert(normalize(path.as_ref()), content.into());
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
    fn is_dir(&self, path: &Path) -> bool {
        let p = normalize(path);
        self.files.keys().any(|k| k != &p && k.starts_with(&p))
    }
    fn exists(&self, path: &Path) -> bool {
        self.files.contains_key(&normalize(path)) || self.is_dir(path)
    }
}

/// Lexical normalisation (`a/./b/../c` -> `a/c`), as Go's filepath.Clean.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
