//! End to end for GitRepository's `spec.include` and `spec.verify`: the real `tug controller`
//! process against the local control plane, a real HTTP Git server and keys made by `gpg`.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::json;
use tug_testsupport::git::{GpgKey, HttpGitServer, RepoRoot};

mod common;
use common::prelude::*;

#[tokio::test]
async fn includes_wait_for_their_repository_and_unverified_commits_are_refused() {
    let key = GpgKey::generate("ci@tug.invalid").unwrap();
    let repos = RepoRoot::new().unwrap();
    let app = repos.repo("app").unwrap();
    let signed = app
        .commit_signed(&[("deploy/app.yaml", "app: 1\n")], "signed", &key)
        .unwrap();
    app.push(&["main"]).unwrap();
    let lib = repos.repo("lib").unwrap();
    lib.commit(&[("base/lib.yaml", "lib: 1\n")], "lib").unwrap();
    lib.push(&["main"]).unwrap();
    let server = HttpGitServer::start(&repos).unwrap();
    let s = Scene::new("gitrepo-include-verify").await;
    let secrets: Api<Secret> = s.ns.api();
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "pgp-keys"},
        "stringData": {"ci.asc": key.public_armored}
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let _ctrl = s.controller(&[]);

    // The including repository first: it waits for `lib`, which does not exist yet.
    s.apply(
        GitRepository::new("app")
            .url(server.url("git", "app"))
            .interval("5s")
            .spec(
                "include",
                json!([{"repository": {"name": "lib"}, "fromPath": "base", "toPath": "vendor/lib"}]),
            )
            .spec(
                "verify",
                json!({"mode": "HEAD", "secretRef": {"name": "pgp-keys"}}),
            ),
    )
    .await;
    let obj = s
        .until(GIT_REPOSITORY, "app", "IncludeUnavailable", secs(60), |o| {
            o.condition("IncludeUnavailable")
                .is_some_and(|c| c["status"] == "True")
        })
        .await;
    let ready = obj.ready().unwrap();
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "NotFound");
    assert_eq!(
        ready["message"],
        "could not get resource for include 'lib': gitrepositories.source.toolkit.fluxcd.io \"lib\" not found"
    );

    // Once `lib` has an artifact, `app` is Ready with it included and its commit verified.
    s.apply(
        GitRepository::new("lib")
            .url(server.url("git", "lib"))
            .interval("1m"),
    )
    .await;
    let obj = s
        .until(GIT_REPOSITORY, "app", "Ready", secs(60), |o| o.is_ready())
        .await;
    assert_eq!(
        obj.artifact_revision(),
        Some(format!("main@sha1:{signed}").as_str())
    );
    assert_eq!(
        obj.data["status"]["includedArtifacts"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        obj.condition("SourceVerified").unwrap()["message"],
        format!(
            "verified signature of\n\t- commit '{signed}' with key '{}'",
            key.key_id
        )
    );
    assert!(obj.condition("IncludeUnavailable").is_none());

    // An unsigned commit is refused at the next poll; the verified artifact stays.
    let unsigned = app
        .commit(&[("deploy/app.yaml", "app: 2\n")], "unsigned")
        .unwrap();
    app.push(&["main"]).unwrap();
    let obj = s
        .until(
            GIT_REPOSITORY,
            "app",
            "the unsigned commit refused",
            secs(60),
            |o| o.ready_reason().as_deref() == Some("InvalidCommitSignature"),
        )
        .await;
    assert_eq!(
        obj.ready_message(),
        format!(
            "signature verification of commit '{unsigned}' failed: unable to verify Git commit: commit does not have a PGP signature"
        )
    );
    assert_eq!(
        obj.artifact_revision(),
        Some(format!("main@sha1:{signed}").as_str())
    );
}
