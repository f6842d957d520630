//! Renders every case of the Helm conformance corpus (recorded with Helm v4.2.3) through the
//! library and compares with Helm's bytes: the shared corpus (`../shared/conformance/helm` from
//! the repository root) and this crate's own cases (`tests/cases`, same layout).
//!
//! A case is `chart/`, `args` (`RELEASE NAMESPACE`), optional `values.yaml`, and either
//! `expected.yaml` (the release manifest) or `expected.error` (a keyword of Helm's message on
//! its first line).

use std::path::{Path, PathBuf};

use tug_helm::install::{render_chart, RenderOptions};
use tug_helm::values::ValueOptions;

/// The stack size renders run with.
const RENDER_STACK: usize = tug_helm::install::RENDER_STACK_SIZE;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs one case; `Err` says how it differs from Helm.
fn run_case(dir: &Path) -> Result<(), String> {
    let args = std::fs::read_to_string(dir.join("args")).map_err(|e| format!("args: {e}"))?;
    let mut words = args.split_whitespace();
    let (Some(release), Some(namespace)) = (words.next(), words.next()) else {
        return Err("args must hold RELEASE NAMESPACE".into());
    };
    let expected_error = std::fs::read_to_string(dir.join("expected.error")).ok();
    let result = render(dir, release, namespace);
    match (result, expected_error) {
        (Ok(_), Some(e)) => Err(format!(
            "rendered, expected an error mentioning '{}'",
            e.lines().next().unwrap_or_default()
        )),
        (Err(message), Some(e)) => {
            let keyword = e.lines().next().unwrap_or_default().to_lowercase();
            if message.to_lowercase().contains(&keyword) {
                Ok(())
            } else {
                Err(format!("error does not mention '{keyword}': {message}"))
            }
        }
        (Err(message), None) => Err(format!("failed: {message}")),
        (Ok(manifest), None) => {
            let expected = std::fs::read_to_string(dir.join("expected.yaml"))
                .map_err(|e| format!("expected.yaml: {e}"))?;
            if manifest == expected {
                Ok(())
            } else {
                Err(first_difference(&manifest, &expected))
            }
        }
    }
}

fn render(dir: &Path, release: &str, namespace: &str) -> Result<String, String> {
    let mut options = ValueOptions::default();
    if let Ok(data) = std::fs::read(dir.join("values.yaml")) {
        options.files.push(("values.yaml".to_string(), data));
    }
    let values = options
        .merge(&|path| Err(format!("no --set-file in cases: {path}")))
        .map_err(|e| e.to_string())?;
    let chart = tug_helm::chart::load(&dir.join("chart")).map_err(|e| e.to_string())?;
    let mut opts = RenderOptions::new(release, namespace);
    opts.values = values;
    render_chart(&chart, &opts)
        .map(|r| r.manifest)
        .map_err(|e| e.to_string())
}

fn first_difference(got: &str, expected: &str) -> String {
    for (i, (g, e)) in got.lines().zip(expected.lines()).enumerate() {
        if g != e {
            return format!("line {}: got {g:?}, expected {e:?}", i + 1);
        }
    }
    format!(
        "lengths differ: got {} lines ({} bytes), expected {} lines ({} bytes)",
        got.lines().count(),
        got.len(),
        expected.lines().count(),
        expected.len()
    )
}

/// Runs every case under `cases`, returning the failures as `NAME: reason`.
fn run_all(cases: &Path) -> (usize, Vec<String>) {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    dirs.retain(|d| d.join("args").is_file());
    dirs.sort();
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        // Each case on its own thread, with the stack `tug helm template` gives rendering (deep
        // `include` recursion is part of the corpus); a panic fails that case only.
        let case = dir.clone();
        let outcome = std::thread::Builder::new()
            .stack_size(RENDER_STACK)
            .spawn(move || run_case(&case))
            .map_err(|e| e.to_string())
            .and_then(|h| h.join().map_err(|_| "panicked".to_string()));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(reason)) | Err(reason) => failures.push(format!("{name}: {reason}")),
        }
    }
    (dirs.len(), failures)
}

fn check(cases: &Path) {
    let (total, failures) = run_all(cases);
    println!(
        "{}: {} passed, {} failed",
        cases.display(),
        total - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} cases differ from Helm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn shared_corpus_renders_as_helm() {
    // `../shared` beside the repository; a worktree nested deeper finds it further up.
    let root = repo_root();
    let Some(cases) = root
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/conformance/helm/cases"))
        .find(|dir| dir.is_dir())
    else {
        eprintln!(
            "skipping: the shared Helm corpus is not in ../shared/conformance/helm from {}",
            root.display()
        );
        return;
    };
    check(&cases);
}

#[test]
fn own_cases_render_as_helm() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    if !cases.is_dir() {
        eprintln!("skipping: no cases at {}", cases.display());
        return;
    }
    check(&cases);
}
