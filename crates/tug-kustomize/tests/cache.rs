//! The shared parse cache: builds through a [`Cache`] print the same bytes as plain builds,
//! parse shared files once, and see changed files.

mod common;

use std::path::{Path, PathBuf};
use tug_kustomize::fs::{MemFs, RealFs};
use tug_kustomize::{build_dir, to_yaml, Cache, LoadRestrictor};

fn mem_tree(files: &[(String, String)]) -> MemFs {
    let mut fs = MemFs::new();
    for (p, text) in files {
        fs.add(Path::new("/t").join(p), text.as_bytes());
    }
    fs
}

fn plain(fs: &dyn tug_kustomize::fs::FileSystem, dir: &Path) -> String {
    to_yaml(&build_dir(fs, dir, LoadRestrictor::RootOnly).expect("plain build"))
}

fn cached(cache: &Cache, fs: &dyn tug_kustomize::fs::FileSystem, dir: &Path) -> String {
    to_yaml(
        &cache
            .build_dir(fs, dir, LoadRestrictor::RootOnly)
            .expect("cached build"),
    )
}

#[test]
fn overlays_through_one_cache_print_the_same_bytes() {
    let fs = mem_tree(&common::overlays::tree(40, 6));
    let cache = Cache::new();
    for round in 0..2 {
        for o in 0..6 {
            let dir = PathBuf::from(format!("/t/overlays/{o:02}"));
            assert_eq!(
                cached(&cache, &fs, &dir),
                plain(&fs, &dir),
                "overlay {o}, round {round}"
            );
        }
    }
    let s = cache.stats();
    // The base's 41 files are parsed once; everything after is a hit.
    assert!(s.hits >= 2 * 6 * 41 - 41, "{s:?}");
    assert!(s.misses < s.hits, "{s:?}");
}

#[test]
fn a_changed_file_is_read_again() {
    let files = common::overlays::tree(8, 1);
    let mut fs = mem_tree(&files);
    let cache = Cache::new();
    let dir = Path::new("/t/overlays/00");
    let before = cached(&cache, &fs, dir);
    fs.add(
        "/t/base/cm-0.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-0\ndata:\n  index: changed\n",
    );
    let after = cached(&cache, &fs, dir);
    assert_ne!(before, after);
    assert!(after.contains("index: changed"), "{after}");
    assert_eq!(after, plain(&fs, dir));
    // Only the changed file's old text goes unused by a build after it changed.
    assert_eq!(cache.evict_unused(), 0, "first call: everything was read");
    cached(&cache, &fs, dir);
    assert_eq!(cache.evict_unused(), 1);
}

#[test]
fn cached_builds_of_every_case_match_plain_builds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let cache = Cache::new();
    let mut n = 0;
    for _ in 0..2 {
        for e in std::fs::read_dir(&dir).expect("tests/cases") {
            let case = e.expect("entry").path();
            let mut root = case.join("input");
            if let Ok(r) = std::fs::read_to_string(case.join("root")) {
                root = root.join(r.trim());
            }
            let want = build_dir(&RealFs, &root, LoadRestrictor::RootOnly).map(|r| to_yaml(&r));
            let got = cache
                .build_dir(&RealFs, &root, LoadRestrictor::RootOnly)
                .map(|r| to_yaml(&r));
            match (want, got) {
                (Ok(w), Ok(g)) => assert_eq!(w, g, "{}", case.display()),
                (Err(w), Err(g)) => assert_eq!(w.to_string(), g.to_string()),
                (w, g) => panic!("{}: {w:?} vs {g:?}", case.display()),
            }
            n += 1;
        }
    }
    assert!(n > 10);
}
