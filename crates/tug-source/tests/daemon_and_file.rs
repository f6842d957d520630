//! git:// (git daemon) and file:// fetches, and what an artifact contains: `.sourceignore`,
//! `spec.ignore`, Flux's defaults, and byte-for-byte determinism.

mod common;

use common::*;
use tug_source::{fetch, Auth, Error, FetchOutcome, FetchRequest, Reference, Storage};
use tug_testsupport::git::{GitDaemon, HttpGitServer, RepoRoot};

#[test]
fn git_daemon_serves_branches_and_tags() {
    let repos = RepoRoot::new().unwrap();
    let r = repos.repo("app").unwrap();
    let first = r.commit(&[("a.yaml", "a: 1\n")], "first").unwrap();
    r.git(&["tag", "-a", "v0.1.0", "-m", "v0.1.0"]).unwrap();
    let head = r.commit(&[("a.yaml", "a: 2\n")], "second").unwrap();
    r.push_all().unwrap();
    let daemon = GitDaemon::start(&repos).unwrap();
    let (a, _d) = pull(&daemon.url("app"), &branch("main"), &Auth::None)
        .unwrap_or_else(|e| panic!("{e}\n{}", daemon.process.log()));
    assert_eq!(a.revision, format!("main@sha1:{head}"));
    let (a, _d) = pull(
        &daemon.url("app"),
        &Reference::Semver("0.x".into()),
        &Auth::None,
    )
    .unwrap();
    assert_eq!(a.revision, format!("v0.1.0@sha1:{first}"));
}

#[test]
fn file_urls_are_read_in_place() {
    let repos = RepoRoot::new().unwrap();
    let r = repos.repo("app").unwrap();
    let head = r.commit(&[("a.yaml", "a: 1\n")], "first").unwrap();
    r.git(&["tag", "v1.0.0"]).unwrap();
    r.push_all().unwrap();
    let url = repos.file_url("app");
    let (a, dir) = pull(&url, &branch("main"), &Auth::None).unwrap();
    assert_eq!(a.revision, format!("main@sha1:{head}"));
    assert_eq!(
        files(dir.path(), &a).get("a.yaml").map(String::as_str),
        Some("a: 1\n")
    );
    let (a, _d) = pull(&url, &Reference::Tag("v1.0.0".into()), &Auth::None).unwrap();
    assert_eq!(a.revision, format!("v1.0.0@sha1:{head}"));
    let err = pull(&url, &branch("master"), &Auth::None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("branch 'master' not found in {url}")
    );
    let last = a.revision.parse().unwrap();
    let again = fetch(&FetchRequest {
        url: &url,
        reference: &branch("main"),
        auth: &Auth::None,
        last_revision: Some(&last),
    })
    .unwrap();
    assert!(matches!(again, FetchOutcome::Unchanged(_)));
    let empty = repos.repo("empty").unwrap();
    drop(empty);
    let err = pull(&repos.file_url("empty"), &branch("main"), &Auth::None).unwrap_err();
    assert!(matches!(err, Error::EmptyRepository { .. }), "{err}");
}

#[test]
fn sourceignore_and_spec_ignore_filter_the_artifact() {
    let repos = RepoRoot::new().unwrap();
    let r = repos.repo("app").unwrap();
    r.commit(
        &[
            ("deploy/app.yaml", "app\n"),
            ("deploy/logo.png", "png\n"),
            (".github/workflows/ci.yaml", "ci\n"),
            ("docs/readme.md", "docs\n"),
            ("charts/.sourceignore", "values-dev.yaml\n"),
            ("charts/values-dev.yaml", "dev\n"),
            ("charts/values.yaml", "prod\n"),
            ("run.sh", "#!/bin/sh\n"),
        ],
        "tree",
    )
    .unwrap();
    r.git(&["update-index", "--chmod=+x", "run.sh"]).unwrap();
    r.git(&["commit", "-q", "-m", "exec"]).unwrap();
    r.push(&["main"]).unwrap();
    let url = repos.file_url("app");
    let (a, dir) = pull(&url, &branch("main"), &Auth::None).unwrap();
    let tree = files(dir.path(), &a);
    // A .sourceignore exists, so Flux's defaults (images, CI) are replaced by it.
    assert!(
        tree.contains_key("deploy/logo.png") && tree.contains_key(".github/workflows/ci.yaml"),
        "{tree:?}"
    );
    assert!(
        !tree.contains_key("charts/values-dev.yaml") && tree.contains_key("charts/values.yaml"),
        "{tree:?}"
    );
    // spec.ignore comes on top.
    let storage = Storage::new(dir.path(), "h").unwrap();
    let FetchOutcome::Fetched(c) = fetch(&FetchRequest {
        url: &url,
        reference: &branch("main"),
        auth: &Auth::None,
        last_revision: None,
    })
    .unwrap() else {
        panic!("fetched")
    };
    let b = c
        .archive(&storage, "x/y/z", Some("docs/\n*.png\n"))
        .unwrap();
    let tree = files(dir.path(), &b);
    assert!(
        !tree.contains_key("docs/readme.md") && !tree.contains_key("deploy/logo.png"),
        "{tree:?}"
    );
    assert!(tree.contains_key("deploy/app.yaml"));
    // Modes are normalised as Flux does: 0700 for executables, 0600 otherwise.
    let f = std::fs::File::open(dir.path().join(&b.path)).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for e in archive.entries().unwrap() {
        let e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mode = e.header().mode().unwrap();
        let want = if e.header().entry_type().is_dir() {
            0o750
        } else if path == "run.sh" {
            0o700
        } else {
            0o600
        };
        assert_eq!(mode, want, "{path}");
        assert_eq!(e.header().mtime().unwrap(), 0);
    }
}

#[test]
fn flux_default_ignores_apply_without_sourceignore() {
    let repos = RepoRoot::new().unwrap();
    let r = repos.repo("app").unwrap();
    r.commit(
        &[
            ("app.yaml", "a\n"),
            ("logo.png", "p\n"),
            (".github/ci.yml", "c\n"),
            (".gitignore", "x\n"),
            ("sub/.sops.yaml", "s\n"),
        ],
        "t",
    )
    .unwrap();
    r.push(&["main"]).unwrap();
    let (a, dir) = pull(&repos.file_url("app"), &branch("main"), &Auth::None).unwrap();
    let names: Vec<String> = files(dir.path(), &a).into_keys().collect();
    assert_eq!(names, vec!["app.yaml", "sub/"]);
}

#[test]
fn same_tree_gives_the_same_artifact_bytes_over_any_transport() {
    let repos = RepoRoot::new().unwrap();
    let r = repos.repo("app").unwrap();
    let files_in: Vec<(String, String)> = (0..50)
        .map(|i| (format!("dir{}/f{i}.yaml", i % 7), format!("n: {i}\n")))
        .collect();
    let refs: Vec<(&str, &str)> = files_in
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    r.commit(&refs, "many").unwrap();
    r.push(&["main"]).unwrap();
    let server = HttpGitServer::start(&repos).unwrap();
    let (a, _d1) = pull(&repos.file_url("app"), &branch("main"), &Auth::None).unwrap();
    let (b, _d2) = pull(&server.url("git", "app"), &branch("main"), &Auth::None).unwrap();
    let (c, _d3) = pull(&server.url("git", "app"), &branch("main"), &Auth::None).unwrap();
    assert_eq!(a.digest, b.digest);
    assert_eq!(b.digest, c.digest);
    assert_eq!(a.path, b.path);
    assert_eq!(a.size, c.size);
}
