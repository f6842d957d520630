//! Bytes → a small in-memory kustomize tree → a full build and print.
//!
//! Input format (what `seed.sh` writes): NUL-separated parts. The first part is the directory
//! to build (relative, may be empty); then pairs of (relative file name, content). Files live
//! under `/k`. Any panic, hang or stack overflow is a bug: every bad tree must be an error.
//! Each tree is also built twice through one [`Cache`], which must give the same result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::{Component, Path, PathBuf};
use tug_kustomize::fs::MemFs;
use tug_kustomize::{build_dir, to_yaml, Cache, LoadRestrictor};

fn rel(name: &[u8]) -> Option<PathBuf> {
    let s = std::str::from_utf8(name).ok()?;
    let p = Path::new(s.trim());
    if s.len() > 200 || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(p.to_path_buf())
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0);
    let Some(dir) = parts.next() else { return };
    let root = Path::new("/k");
    let dir = match rel(dir) {
        Some(d) => root.join(d),
        None => root.to_path_buf(),
    };
    let mut fs = MemFs::new();
    let mut files = 0;
    while let (Some(name), Some(content)) = (parts.next(), parts.next()) {
        if let Some(n) = rel(name) {
            if n.as_os_str().is_empty() {
                continue;
            }
            fs.add(root.join(n), content.to_vec());
            files += 1;
        }
        if files >= 16 {
            break;
        }
    }
    let plain = build_dir(&fs, &dir, LoadRestrictor::RootOnly).map(|rs| to_yaml(&rs));
    // The shared parse cache must not change any output or error, on a miss or a hit.
    let cache = Cache::new();
    for _ in 0..2 {
        let cached = cache
            .build_dir(&fs, &dir, LoadRestrictor::RootOnly)
            .map(|rs| to_yaml(&rs));
        match (&plain, &cached) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "cached output differs"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "cached error differs"),
            _ => panic!("cache changed the outcome: {plain:?} vs {cached:?}"),
        }
    }
});
