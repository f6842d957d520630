//! Fetching over HTTP from `git http-backend` behind lighttpd: every reference kind, no-op
//! polls, auth, force pushes, empty repositories, a server going down and coming back.

mod common;

use common::*;
use tug_source::{Auth, Error, Reference, Storage};
use tug_testsupport::git::{HttpGitServer, RepoRoot, BEARER_TOKEN, HTTP_PASSWORD, HTTP_USER};

/// A repository with history on main, a feature branch, tags and a pull-request ref.
struct Fixture {
    repos: RepoRoot,
    server: HttpGitServer,
    first: String,
    main: String,
    feature: String,
    annotated_tag_commit: String,
}

fn fixture() -> Fixture {
    let repos = RepoRoot::new().unwrap();
    let r = repos.repo("app").unwrap();
    let first = r
        .commit(&[("deploy/app.yaml", "version: 1\n")], "first")
        .unwrap();
    r.git(&["tag", "v1.0.0"]).unwrap();
    let annotated_tag_commit = r
        .commit(&[("deploy/app.yaml", "version: 2\n")], "second")
        .unwrap();
    r.git(&["tag", "-a", "v1.1.0", "-m", "release 1.1.0"])
        .unwrap();
    r.commit(&[("deploy/app.yaml", "version: 3-rc\n")], "rc")
        .unwrap();
    r.git(&["tag", "v2.0.0-rc.1"]).unwrap();
    let main = r.commit(&[("README.md", "hello\n")], "readme").unwrap();
    r.git(&["checkout", "-q", "-b", "feature"]).unwrap();
    let feature = r
        .commit(&[("feature.txt", "feature\n")], "feature")
        .unwrap();
    r.git(&["checkout", "-q", "main"]).unwrap();
    r.push_all().unwrap();
    r.push(&[&format!("{feature}:refs/pull/1/head")]).unwrap();
    let server = HttpGitServer::start(&repos).unwrap();
    Fixture {
        repos,
        server,
        first,
        main,
        feature,
        annotated_tag_commit,
    }
}

#[test]
fn each_reference_kind_resolves_like_flux() {
    let f = fixture();
    let url = f.server.url("git", "app");
    let cases: Vec<(Reference, String, &str, &str)> = vec![
        (
            branch("main"),
            format!("main@sha1:{}", f.main),
            "README.md",
            "hello\n",
        ),
        (
            branch("feature"),
            format!("feature@sha1:{}", f.feature),
            "feature.txt",
            "feature\n",
        ),
        (
            Reference::Tag("v1.0.0".into()),
            format!("v1.0.0@sha1:{}", f.first),
            "deploy/app.yaml",
            "version: 1\n",
        ),
        // An annotated tag resolves to the commit it points at.
        (
            Reference::Tag("v1.1.0".into()),
            format!("v1.1.0@sha1:{}", f.annotated_tag_commit),
            "deploy/app.yaml",
            "version: 2\n",
        ),
        (
            Reference::Name("refs/pull/1/head".into()),
            format!("refs/pull/1/head@sha1:{}", f.feature),
            "feature.txt",
            "feature\n",
        ),
        (
            Reference::Commit {
                sha: f.first.clone(),
                branch: None,
            },
            format!("sha1:{}", f.first),
            "deploy/app.yaml",
            "version: 1\n",
        ),
        (
            Reference::Commit {
                sha: f.first.clone(),
                branch: Some("main".into()),
            },
            format!("main@sha1:{}", f.first),
            "deploy/app.yaml",
            "version: 1\n",
        ),
    ];
    for (reference, revision, file, contents) in cases {
        let (artifact, dir) = pull(&url, &reference, &Auth::None)
            .unwrap_or_else(|e| panic!("{reference}: {e}\n{}", f.server.logs()));
        assert_eq!(artifact.revision, revision, "{reference}");
        assert_eq!(
            files(dir.path(), &artifact).get(file).map(String::as_str),
            Some(contents),
            "{reference}"
        );
        assert_eq!(
            artifact.digest.as_deref(),
            Some(sha256_of(dir.path(), &artifact).as_str())
        );
        assert_eq!(
            artifact.url,
            format!("http://127.0.0.1:9090/{}", artifact.path)
        );
    }
}

#[test]
fn semver_picks_the_highest_matching_tag_and_skips_prereleases_unless_asked() {
    let f = fixture();
    let url = f.server.url("git", "app");
    for (range, tag) in [
        ("*", "v1.1.0"),
        (">=1.0.0 <1.1.0", "v1.0.0"),
        ("~1", "v1.1.0"),
        (">=1.0.0-0", "v2.0.0-rc.1"),
    ] {
        let (artifact, _dir) = pull(&url, &Reference::Semver(range.into()), &Auth::None).unwrap();
        assert!(
            artifact.revision.starts_with(&format!("{tag}@sha1:")),
            "{range} gave {}",
            artifact.revision
        );
    }
    let err = pull(&url, &Reference::Semver(">=3.0.0".into()), &Auth::None).unwrap_err();
    assert!(matches!(err, Error::ReferenceNotFound { .. }), "{err}");
    assert!(err.to_string().contains("semver range '>=3.0.0'"), "{err}");
}

#[test]
fn missing_refs_and_commits_are_named() {
    let f = fixture();
    let url = f.server.url("git", "app");
    let err = pull(&url, &branch("nope"), &Auth::None).unwrap_err();
    assert_eq!(err.to_string(), format!("branch 'nope' not found in {url}"));
    let err = pull(&url, &Reference::Tag("v9".into()), &Auth::None).unwrap_err();
    assert_eq!(err.to_string(), format!("tag 'v9' not found in {url}"));
    // A commit that exists, but not in the named branch's history.
    let err = pull(
        &url,
        &Reference::Commit {
            sha: f.feature.clone(),
            branch: Some("main".into()),
        },
        &Auth::None,
    )
    .unwrap_err();
    assert!(matches!(err, Error::ReferenceNotFound { .. }), "{err}");
    let err = pull(
        &f.server.url("git", "missing"),
        &branch("main"),
        &Auth::None,
    )
    .unwrap_err();
    assert!(matches!(err, Error::RepositoryNotFound { .. }), "{err}");
}

fn upload_pack_posts(server: &HttpGitServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|l| l.starts_with("POST") && l.contains("git-upload-pack"))
        .count()
}

#[test]
fn no_op_poll_lists_refs_and_downloads_nothing() {
    let f = fixture();
    let url = f.server.url("git", "app");
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::new(dir.path(), "h").unwrap();
    let first = pull_into(&storage, &url, &branch("main"), &Auth::None, None)
        .unwrap()
        .unwrap();
    let before = upload_pack_posts(&f.server);
    let last = first.revision.parse().unwrap();
    assert!(
        pull_into(&storage, &url, &branch("main"), &Auth::None, Some(&last))
            .unwrap()
            .is_none()
    );
    // One ls-refs request, no fetch request.
    assert_eq!(
        upload_pack_posts(&f.server) - before,
        1,
        "{}",
        f.server.logs()
    );
    // A pinned commit that is already the last revision needs no network at all.
    let pinned = Reference::Commit {
        sha: f.main.clone(),
        branch: None,
    };
    let before = upload_pack_posts(&f.server);
    let last = format!("sha1:{}", f.main).parse().unwrap();
    assert!(pull_into(&storage, &url, &pinned, &Auth::None, Some(&last))
        .unwrap()
        .is_none());
    assert_eq!(upload_pack_posts(&f.server), before);
}

#[test]
fn force_pushed_branch_gives_the_new_tree() {
    let f = fixture();
    let url = f.server.url("git", "app");
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::new(dir.path(), "h").unwrap();
    let a = pull_into(&storage, &url, &branch("main"), &Auth::None, None)
        .unwrap()
        .unwrap();
    let r = reopen(&f);
    r.git(&["reset", "-q", "--hard", &f.first]).unwrap();
    let rewritten = r
        .commit(&[("deploy/app.yaml", "rewritten\n")], "rewrite history")
        .unwrap();
    r.push(&["main"]).unwrap();
    let b = pull_into(
        &storage,
        &url,
        &branch("main"),
        &Auth::None,
        Some(&a.revision.parse().unwrap()),
    )
    .unwrap()
    .unwrap();
    assert_eq!(b.revision, format!("main@sha1:{rewritten}"));
    let tree = files(dir.path(), &b);
    assert_eq!(
        tree.get("deploy/app.yaml").map(String::as_str),
        Some("rewritten\n")
    );
    assert!(!tree.contains_key("README.md"));
}

/// The fixture's work tree again (it lives under the repo root).
fn reopen(f: &Fixture) -> tug_testsupport::git::GitRepo {
    tug_testsupport::git::GitRepo::open(f.repos.path(), "app")
}

#[test]
fn empty_repository_is_reported_as_empty() {
    let repos = RepoRoot::new().unwrap();
    repos.repo("empty").unwrap();
    let server = HttpGitServer::start(&repos).unwrap();
    let err = pull(&server.url("git", "empty"), &branch("main"), &Auth::None).unwrap_err();
    assert!(matches!(err, Error::EmptyRepository { .. }), "{err}");
    assert!(err.to_string().contains("is empty"), "{err}");
}

#[test]
fn basic_auth_accepts_the_right_password_and_names_the_failure_otherwise() {
    let f = fixture();
    let url = f.server.url("private", "app");
    let good = Auth::Basic {
        username: HTTP_USER.into(),
        password: HTTP_PASSWORD.into(),
    };
    let (a, _d) =
        pull(&url, &branch("main"), &good).unwrap_or_else(|e| panic!("{e}\n{}", f.server.logs()));
    assert_eq!(a.revision, format!("main@sha1:{}", f.main));
    let wrong = Auth::Basic {
        username: HTTP_USER.into(),
        password: "wrong-password-123".into(),
    };
    for auth in [wrong, Auth::None] {
        let err = pull(&url, &branch("main"), &auth).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, Error::Authentication { .. }),
            "{auth:?}: {msg}"
        );
        assert!(msg.contains(&url), "{msg}");
        assert!(
            !msg.contains("wrong-password-123") && !msg.contains(HTTP_PASSWORD),
            "{msg}"
        );
    }
}

#[test]
fn bearer_token_is_sent_and_a_wrong_one_refused() {
    let f = fixture();
    let url = f.server.url("bearer", "app");
    let (a, _d) = pull(&url, &branch("main"), &Auth::Bearer(BEARER_TOKEN.into()))
        .unwrap_or_else(|e| panic!("{e}\n{}", f.server.logs()));
    assert_eq!(a.revision, format!("main@sha1:{}", f.main));
    let err = pull(
        &url,
        &branch("main"),
        &Auth::Bearer("not-the-token-42".into()),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err}");
    assert!(!err.to_string().contains("not-the-token-42"), "{err}");
}

#[test]
fn server_down_is_unreachable_and_fetching_recovers_when_it_returns() {
    let mut f = fixture();
    let url = f.server.url("git", "app");
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::new(dir.path(), "h").unwrap();
    let a = pull_into(&storage, &url, &branch("main"), &Auth::None, None)
        .unwrap()
        .unwrap();
    f.server.process.kill();
    let err = pull_into(
        &storage,
        &url,
        &branch("main"),
        &Auth::None,
        Some(&a.revision.parse().unwrap()),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("unable to reach {url}")),
        "{err}"
    );
    // The last artifact is still there to be served.
    assert!(storage.exists(&a));
    f.server.process.restart().unwrap();
    assert!(pull_into(
        &storage,
        &url,
        &branch("main"),
        &Auth::None,
        Some(&a.revision.parse().unwrap())
    )
    .unwrap()
    .is_none());
}
