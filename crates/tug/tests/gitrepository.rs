//! End to end for GitRepository's `spec.include` and `spec.verify`: the real `tug controller`
//! process against the local control plane, a real HTTP Git server and keys made by `gpg`.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::{json, Value};
use std::time::Duration;
use tug_testsupport::cluster;
use tug_testsupport::git::{GpgKey, HttpGitServer, RepoRoot};

mod common;
use common::{condition, create, gitrepositories, install, wait_for, ControllerProcess};

#[tokio::test]
async fn includes_wait_for_their_repository_and_unverified_commits_are_refused() {
    install();
    let ns = cluster().namespace("gitrepo-include-verify").await.unwrap();
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
    let secrets: Api<Secret> = ns.api();
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "pgp-keys"},
        "stringData": {"ci.asc": key.public_armored}
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let ctrl = ControllerProcess::start_with(&ns.name, "", &[]);
    let api = gitrepositories(&ns);
    let apply = |name: &str, spec: Value| {
        create(
            &api,
            json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": name, "namespace": ns.name}, "spec": spec
            }),
        )
    };

    // The including repository first: it waits for `lib`, which does not exist yet.
    apply(
        "app",
        json!({
            "url": server.url("git", "app"), "interval": "5s", "ref": {"branch": "main"},
            "include": [{"repository": {"name": "lib"}, "fromPath": "base", "toPath": "vendor/lib"}],
            "verify": {"mode": "HEAD", "secretRef": {"name": "pgp-keys"}}
        }),
    )
    .await;
    let obj = wait_for(
        &api,
        "app",
        &ctrl,
        Duration::from_secs(60),
        "IncludeUnavailable",
        |o| condition(o, "IncludeUnavailable").is_some_and(|c| c["status"] == "True"),
    )
    .await;
    let ready = condition(&obj, "Ready").unwrap();
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "NotFound");
    assert_eq!(
        ready["message"],
        "could not get resource for include 'lib': gitrepositories.source.toolkit.fluxcd.io \"lib\" not found"
    );

    // Once `lib` has an artifact, `app` is Ready with it included and its commit verified.
    apply(
        "lib",
        json!({"url": server.url("git", "lib"), "interval": "1m", "ref": {"branch": "main"}}),
    )
    .await;
    let obj = wait_for(
        &api,
        "app",
        &ctrl,
        Duration::from_secs(60),
        "app Ready",
        |o| condition(o, "Ready").is_some_and(|c| c["status"] == "True"),
    )
    .await;
    assert_eq!(
        obj.data["status"]["artifact"]["revision"],
        format!("main@sha1:{signed}")
    );
    assert_eq!(
        obj.data["status"]["includedArtifacts"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        condition(&obj, "SourceVerified").unwrap()["message"],
        format!(
            "verified signature of\n\t- commit '{signed}' with key '{}'",
            key.key_id
        )
    );
    assert!(condition(&obj, "IncludeUnavailable").is_none());

    // An unsigned commit is refused at the next poll; the verified artifact stays.
    let unsigned = app
        .commit(&[("deploy/app.yaml", "app: 2\n")], "unsigned")
        .unwrap();
    app.push(&["main"]).unwrap();
    let obj = wait_for(
        &api,
        "app",
        &ctrl,
        Duration::from_secs(60),
        "the unsigned commit refused",
        |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "InvalidCommitSignature"),
    )
    .await;
    assert_eq!(
        condition(&obj, "Ready").unwrap()["message"],
        format!(
            "signature verification of commit '{unsigned}' failed: unable to verify Git commit: commit does not have a PGP signature"
        )
    );
    assert_eq!(
        obj.data["status"]["artifact"]["revision"],
        format!("main@sha1:{signed}")
    );
}
