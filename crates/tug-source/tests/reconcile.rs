//! One GitRepository reconcile at a time, on a real HTTP git server: Ready with the artifact,
//! new commits picked up, failures keep the last artifact and say why.

mod common;

use std::collections::BTreeMap;
use tug_api::conditions;
use tug_api::source::GitRepositoryRef;
use tug_api::GitRepository;
use tug_source::reconcile::{reconcile, Outcome};
use tug_source::Storage;
use tug_testsupport::git::{HttpGitServer, RepoRoot, HTTP_PASSWORD, HTTP_USER};

fn object(url: &str) -> GitRepository {
    common::git_repository("podinfo", url)
}

fn ready(obj: &GitRepository) -> (String, String, String) {
    let c = conditions::find(&obj.status.as_ref().unwrap().conditions, conditions::READY)
        .expect("Ready condition")
        .clone();
    (c.status, c.reason, c.message)
}

#[test]
fn reconcile_stores_artifacts_follows_commits_and_keeps_the_last_on_failure() {
    let repos = RepoRoot::new().unwrap();
    let r = repos.repo("podinfo").unwrap();
    let first = r
        .commit(&[("kustomization.yaml", "resources: []\n")], "first")
        .unwrap();
    r.push(&["main"]).unwrap();
    let mut server = HttpGitServer::start(&repos).unwrap();
    let storage_dir = tempfile::tempdir().unwrap();
    let storage = Storage::new(
        storage_dir.path(),
        "source-controller.flux-system.svc.cluster.local.",
    )
    .unwrap();
    let mut obj = object(&server.url("private", "podinfo"));
    let secret: BTreeMap<String, Vec<u8>> = [
        ("username".to_string(), HTTP_USER.as_bytes().to_vec()),
        ("password".to_string(), HTTP_PASSWORD.as_bytes().to_vec()),
    ]
    .into();

    let (status, outcome) = reconcile(&obj, Some(&secret), &storage);
    obj.status = Some(status);
    assert_eq!(outcome, Outcome::NewArtifact(format!("main@sha1:{first}")));
    assert_eq!(
        ready(&obj),
        (
            "True".into(),
            "Succeeded".into(),
            format!("stored artifact for revision 'main@sha1:{first}'")
        )
    );
    let artifact = obj.status.as_ref().unwrap().artifact.clone().unwrap();
    assert!(artifact
        .path
        .starts_with("gitrepository/flux-system/podinfo/"));
    assert_eq!(
        artifact.url,
        format!(
            "http://source-controller.flux-system.svc.cluster.local./{}",
            artifact.path
        )
    );

    let (status, outcome) = reconcile(&obj, Some(&secret), &storage);
    obj.status = Some(status);
    assert_eq!(outcome, Outcome::UpToDate(format!("main@sha1:{first}")));

    let second = r.commit(&[("extra.yaml", "x\n")], "second").unwrap();
    r.push(&["main"]).unwrap();
    let (status, outcome) = reconcile(&obj, Some(&secret), &storage);
    obj.status = Some(status);
    assert_eq!(outcome, Outcome::NewArtifact(format!("main@sha1:{second}")));

    // Wrong password: Ready=False naming the cause, no secret, artifact kept.
    let wrong: BTreeMap<String, Vec<u8>> = [
        ("username".to_string(), HTTP_USER.as_bytes().to_vec()),
        ("password".to_string(), b"nope-nope-nope".to_vec()),
    ]
    .into();
    let (status, _) = reconcile(&obj, Some(&wrong), &storage);
    let mut failed = obj.clone();
    failed.status = Some(status);
    let (s, reason, message) = ready(&failed);
    assert_eq!(
        (s.as_str(), reason.as_str()),
        ("False", "AuthenticationFailed"),
        "{message}"
    );
    assert!(!message.contains("nope-nope-nope"), "{message}");
    assert!(conditions::is_true(
        &failed.status.as_ref().unwrap().conditions,
        conditions::FETCH_FAILED
    ));
    assert_eq!(
        failed
            .status
            .as_ref()
            .unwrap()
            .artifact
            .as_ref()
            .unwrap()
            .revision,
        format!("main@sha1:{second}")
    );

    // Server down: Ready=False, then back: Ready=True again.
    server.process.kill();
    let (status, _) = reconcile(&obj, Some(&secret), &storage);
    let mut down = obj.clone();
    down.status = Some(status);
    let (s, reason, message) = ready(&down);
    assert_eq!(
        (s.as_str(), reason.as_str()),
        ("False", "GitOperationFailed")
    );
    assert!(
        message.starts_with("unable to reach http://127.0.0.1:"),
        "{message}"
    );
    assert!(storage.exists(down.status.as_ref().unwrap().artifact.as_ref().unwrap()));
    server.process.restart().unwrap();
    let (status, _) = reconcile(&down, Some(&secret), &storage);
    down.status = Some(status);
    assert_eq!(ready(&down).0, "True");
    assert!(conditions::find(
        &down.status.as_ref().unwrap().conditions,
        conditions::FETCH_FAILED
    )
    .is_none());
}

#[test]
fn invalid_reference_stalls() {
    let mut obj = object("https://example.invalid/x.git");
    obj.spec.reference = Some(GitRepositoryRef {
        commit: Some("not-a-sha".into()),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (status, _) = reconcile(&obj, None, &Storage::new(dir.path(), "h").unwrap());
    assert!(conditions::is_true(&status.conditions, conditions::STALLED));
}

#[test]
fn a_stalled_server_fails_the_reconcile_at_spec_timeout() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let mut obj = object(&format!("http://127.0.0.1:{port}/stalled.git"));
    obj.spec.timeout = Some("1s".into());
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let (status, _) = reconcile(&obj, None, &Storage::new(dir.path(), "h").unwrap());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    obj.status = Some(status);
    let (s, _, message) = ready(&obj);
    assert_eq!(s, "False");
    assert_eq!(
        message,
        format!("fetching http://127.0.0.1:{port}/stalled.git timed out after 1s")
    );
}
