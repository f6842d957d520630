//! Polling many OCIRepositories whose artifact does not change costs the registry one
//! manifest HEAD per object and interval: no manifest GET, no blob download, no status write
//! that would trigger anything downstream. Prints the controller's peak RSS for
//! docs/performance.md.

mod common;
use common::prelude::*;
use tug_testsupport::registry::Registry;

const SOURCES: usize = 100;

#[tokio::test]
async fn unchanged_artifacts_cost_one_manifest_head_per_poll_and_no_download() {
    let registry = Registry::start_plain().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cm.yaml"), configmap("app", "v1")).unwrap();
    let url = format!("oci://{}/manifests/app:1.0.0", registry.host());
    let pushed = tug(&[
        "push",
        "artifact",
        &url,
        "--path",
        dir.path().to_str().unwrap(),
        "--source",
        "https://example.invalid/app.git",
        "--revision",
        "main@sha1:0123456789abcdef0123456789abcdef01234567",
        "--insecure-registry",
    ]);
    assert!(pushed.status.success(), "{pushed:?}");

    let s = Scene::new("oci-polling").await;
    let ctrl = s.controller(&["--concurrent=10"]);
    for i in 0..SOURCES {
        s.apply(
            OCIRepository::new(&format!("app-{i}"))
                .url(format!("oci://{}/manifests/app", registry.host()))
                .tag("1.0.0")
                .insecure(true)
                .interval("5s"),
        )
        .await;
    }
    s.eventually("every OCIRepository Ready", secs(120), || async {
        let list = s
            .api(OCI_REPOSITORY)
            .list(&Default::default())
            .await
            .unwrap();
        list.items.iter().filter(|o| o.is_ready()).count() == SOURCES
    })
    .await;

    // Two intervals of polling with nothing new in the registry.
    let before = registry.requests().len();
    tokio::time::sleep(secs(11)).await;
    let polls: Vec<_> = registry.requests().into_iter().skip(before).collect();
    let heads = polls
        .iter()
        .filter(|r| r.method == "HEAD" && r.path.contains("/manifests/"))
        .count();
    let others: Vec<_> = polls
        .iter()
        .filter(|r| !(r.method == "HEAD" && r.path.contains("/manifests/")))
        .collect();
    assert!(
        others.is_empty(),
        "an unchanged artifact must cost only manifest HEADs; also saw {others:?}"
    );
    assert!(
        heads >= SOURCES,
        "each source polls at least once in two intervals: {heads} HEADs"
    );
    assert!(
        heads <= 3 * SOURCES,
        "at most one HEAD per source and interval (+1 for timing): {heads} HEADs"
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", ctrl.child.id())).unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or_default()
        .to_string();
    eprintln!(
        "{SOURCES} OCIRepositories polled every 5 s: {heads} manifest HEADs in 11 s, nothing else; controller {hwm}"
    );
}
