//! End to end: a HelmRepository on a real chart repository (lighttpd on loopback) becomes an
//! index artifact with Flux's revision; polls of an unchanged index are conditional requests
//! the server answers 304; a new chart version is a new revision. `type: oci` repositories
//! are static, as in Flux.

mod common;
use common::prelude::*;
use tug_source::helm::{write_index, IndexEntry};
use tug_testsupport::chartrepo::{write_chart_dir, ChartRepoOptions, ChartRepoServer};

const HELM_REPOSITORY: Kind = Kind {
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    kind: "HelmRepository",
    plural: "helmrepositories",
};

/// Packages `podinfo` at each of `versions` into the served directory, with their index.
fn publish(repo: &ChartRepoServer, versions: &[&str]) {
    let work = tempfile::tempdir().unwrap();
    let mut entries = Vec::new();
    for version in versions {
        let dir = write_chart_dir(work.path(), "podinfo", version, version).unwrap();
        let package = tug_helm::chart::package(&dir).unwrap();
        repo.put(&package.file_name(), &package.bytes).unwrap();
        entries.push(
            IndexEntry::from_archive(&package.bytes, &package.file_name(), "2026-12-08T00:00:00Z")
                .unwrap(),
        );
    }
    let mut index = Vec::new();
    write_index(&mut index, &entries, "2026-12-08T00:00:00Z").unwrap();
    repo.put("index.yaml", &index).unwrap();
}

fn revision(o: &kube::api::DynamicObject) -> String {
    o.data["status"]["artifact"]["revision"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn an_index_becomes_an_artifact_unchanged_polls_are_304_and_new_versions_new_revisions() {
    let repo = ChartRepoServer::start(ChartRepoOptions::default()).unwrap();
    publish(&repo, &["1.0.0"]);

    let s = Scene::new("helm-repository").await;
    let ctrl = s.controller(&[]);
    s.apply(
        Object::new(HELM_REPOSITORY, "podinfo")
            .with_spec(serde_json::json!({"url": repo.url(), "interval": "2s"})),
    )
    .await;
    let first = s
        .until(HELM_REPOSITORY, "podinfo", "Ready", secs(60), |o| {
            o.is_ready()
        })
        .await;
    let rev = revision(&first);
    assert!(rev.starts_with("sha256:") && rev.len() == 71, "{rev}");
    assert_eq!(
        first.ready_message(),
        format!("stored artifact: revision '{rev}'")
    );
    let path = first.data["status"]["artifact"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    let stored = std::fs::read(ctrl.storage_path().join(&path)).unwrap();
    assert!(
        String::from_utf8_lossy(&stored).contains("podinfo-1.0.0.tgz"),
        "the artifact is the index"
    );

    // The next polls ask for changes only: the server answers 304 and nothing is downloaded.
    s.eventually("a conditional poll answered 304", secs(30), || async {
        repo.access_log()
            .lines()
            .any(|l| l.contains("GET /index.yaml") && l.contains("\" 304 "))
    })
    .await;

    publish(&repo, &["1.0.0", "1.1.0"]);
    let second = s
        .until(
            HELM_REPOSITORY,
            "podinfo",
            "a new revision",
            secs(60),
            |o| o.is_ready() && revision(o) != rev && !revision(o).is_empty(),
        )
        .await;
    let path = second.data["status"]["artifact"]["path"].as_str().unwrap();
    let stored = std::fs::read(ctrl.storage_path().join(path)).unwrap();
    assert!(String::from_utf8_lossy(&stored).contains("podinfo-1.1.0.tgz"));
}

#[tokio::test]
async fn oci_helm_repositories_are_static_and_bad_urls_are_reported() {
    let s = Scene::new("helm-repository-static").await;
    let _ctrl = s.controller(&[]);
    s.apply(
        Object::new(HELM_REPOSITORY, "oci").with_spec(serde_json::json!({
            "url": "oci://127.0.0.1:9/charts", "type": "oci", "interval": "1m"
        })),
    )
    .await;
    let oci = s
        .until(HELM_REPOSITORY, "oci", "observed", secs(60), |o| {
            o.data["status"]["observedGeneration"] == 1
        })
        .await;
    assert!(
        oci.ready().is_none(),
        "no conditions: {}",
        oci.data["status"]
    );
    assert!(oci.data["status"]["artifact"].is_null());

    s.apply(
        Object::new(HELM_REPOSITORY, "down").with_spec(serde_json::json!({
            "url": "http://127.0.0.1:9/charts", "interval": "1m"
        })),
    )
    .await;
    let down = s
        .until(HELM_REPOSITORY, "down", "Ready=False", secs(60), |o| {
            o.ready().is_some_and(|c| c["status"] == "False")
        })
        .await;
    let message = down.ready_message();
    assert!(
        message.starts_with("failed to fetch Helm repository index: ")
            && message.contains("127.0.0.1:9"),
        "{message}"
    );
}
