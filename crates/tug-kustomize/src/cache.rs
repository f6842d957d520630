//! A parse cache shared by many builds in one process (a controller building 30 overlays of
//! one base parses the base once).
//!
//! Entries are keyed by the full text of a file (or inline patch) and the YAML flavour it was
//! read with, never by path or modification time: each build still reads every file through
//! its [`FileSystem`], and a file whose bytes changed simply misses. A hit hands out a copy of
//! the parsed documents, so builds never see each other's edits and the output is the same,
//! byte for byte, as without a cache. Parse errors are not cached.

use crate::build::{Builder, LoadRestrictor};
use crate::error::Result;
use crate::fs::FileSystem;
use crate::resource::Resource;
use crate::yaml::{parse_documents, parse_documents_yaml11, ParseError, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// Parsed YAML documents shared across builds; cheap to share between threads (`&Cache` is
/// `Sync`).
///
/// ```no_run
/// use tug_kustomize::{fs::RealFs, Cache, LoadRestrictor};
/// let cache = Cache::new();
/// for overlay in ["overlays/a", "overlays/b"] {
///     let rs = cache.build_dir(&RealFs, overlay.as_ref(), LoadRestrictor::RootOnly);
/// }
/// cache.evict_unused(); // drop what the builds above did not read
/// ```
#[derive(Default)]
pub struct Cache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// YAML 1.2 (go-yaml v3) reads, keyed by text.
    v12: HashMap<Box<str>, Entry>,
    /// YAML 1.1 booleans (JSON 6902 patch bodies), keyed by text.
    v11: HashMap<Box<str>, Entry>,
    hits: u64,
    misses: u64,
}

struct Entry {
    docs: Arc<Vec<Value>>,
    /// Read since the last [`Cache::evict_unused`].
    used: bool,
}

/// Counters for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub entries: usize,
    pub hits: u64,
    pub misses: u64,
}

impl Cache {
    pub fn new() -> Cache {
        Cache::default()
    }

    /// [`crate::build_dir`], reading parsed files from (and adding them to) this cache.
    pub fn build_dir(
        &self,
        fs: &dyn FileSystem,
        dir: &Path,
        restrictor: LoadRestrictor,
    ) -> Result<Vec<Resource>> {
        Builder::new(fs, restrictor).with_cache(self).build(dir)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves the maps consistent (every update
        // is a single insert), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The documents of `text`, parsed once per distinct text and flavour.
    pub(crate) fn parse(
        &self,
        text: &str,
        yaml11: bool,
    ) -> std::result::Result<Vec<Value>, ParseError> {
        let hit = {
            let mut g = self.lock();
            let inner = &mut *g;
            let map = if yaml11 {
                &mut inner.v11
            } else {
                &mut inner.v12
            };
            let found = map.get_mut(text).map(|e| {
                e.used = true;
                Arc::clone(&e.docs)
            });
            match found {
                Some(_) => inner.hits += 1,
                None => inner.misses += 1,
            }
            found
        };
        if let Some(docs) = hit {
            return Ok(docs.as_ref().clone());
        }
        let docs = if yaml11 {
            parse_documents_yaml11(text)?
        } else {
            parse_documents(text)?
        };
        let shared = Arc::new(docs.clone());
        let mut g = self.lock();
        let map = if yaml11 { &mut g.v11 } else { &mut g.v12 };
        map.insert(
            text.into(),
            Entry {
                docs: shared,
                used: true,
            },
        );
        Ok(docs)
    }

    /// Drops every entry no build has read since the previous call (or since it was added);
    /// returns how many were dropped. A controller calls this after each round of builds so
    /// that texts of old revisions do not pile up.
    pub fn evict_unused(&self) -> usize {
        let mut g = self.lock();
        let inner = &mut *g;
        let before = inner.v12.len() + inner.v11.len();
        for map in [&mut inner.v12, &mut inner.v11] {
            map.retain(|_, e| std::mem::take(&mut e.used));
        }
        before - (inner.v12.len() + inner.v11.len())
    }

    /// Drops everything.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.v12.clear();
        g.v11.clear();
    }

    pub fn stats(&self) -> CacheStats {
        let g = self.lock();
        CacheStats {
            entries: g.v12.len() + g.v11.len(),
            hits: g.hits,
            misses: g.misses,
        }
    }
}
