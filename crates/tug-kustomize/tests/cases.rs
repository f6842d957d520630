//! Byte-for-byte checks against `kubectl kustomize` (Kustomize v5.5.0).
//!
//! Each directory under `tests/cases/` holds a kustomize tree in `input/` (or in
//! `input/<root>` when a file `root` names the sub-directory to build) and `expected.yaml`,
//! the exact stdout of `kubectl kustomize` on it. The cases cover behaviours the shared
//! conformance corpus does not; regenerate an expected file with
//! `kubectl kustomize tests/cases/NAME/input > tests/cases/NAME/expected.yaml`.

use std::fs;
use std::path::{Path, PathBuf};

fn case_root(case: &Path) -> PathBuf {
    let input = case.join("input");
    match fs::read_to_string(case.join("root")) {
        Ok(r) => input.join(r.lines().next().unwrap_or("").trim()),
        Err(_) => input,
    }
}

/// The first differing line, shown as a user would read a diff.
fn first_difference(expected: &str, actual: &str) -> String {
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n  expected: {e:?}\n  actual:   {a:?}", i + 1);
        }
    }
    format!(
        "lengths differ: expected {} lines, got {}",
        expected.lines().count(),
        actual.lines().count()
    )
}

#[test]
fn cases_match_kubectl_kustomize() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/cases exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.yaml").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases under {}", dir.display());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap_or_default().to_string_lossy();
        let expected = fs::read_to_string(case.join("expected.yaml")).expect("readable expected");
        let root = case_root(case);
        match tug_kustomize::build_dir(
            &tug_kustomize::fs::RealFs,
            &root,
            tug_kustomize::LoadRestrictor::RootOnly,
        ) {
            Ok(rs) => {
                let actual = tug_kustomize::to_yaml(&rs);
                if actual != expected {
                    failures.push(format!("{name}: {}", first_difference(&expected, &actual)));
                }
            }
            Err(e) => failures.push(format!("{name}: build failed: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from kubectl kustomize:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
