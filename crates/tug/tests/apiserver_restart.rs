//! An apiserver that goes away in the middle of an apply (a crash, a control-plane upgrade,
//! an apiserver rollout) must not take `tug controller` with it: the controller logs the
//! requests that failed, retries, and converges once the apiserver is back.
//!
//! This test binary has a control plane of its own (every test binary does), so killing its
//! kube-apiserver disturbs no other test.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};
use serde_json::json;
use std::time::{Duration, Instant};
use tug_testsupport::cluster;
use tug_testsupport::git::{HttpGitServer, RepoRoot};

mod common;
use common::{
    condition, create, gitrepositories, install, kustomizations, wait_for, ControllerProcess,
};

/// Enough objects that their apply takes several seconds (about 15 s on 2 cores; see the
/// apply figures in docs/performance.md), so the apiserver can be killed in its middle.
const OBJECTS: usize = 3000;

fn configmaps(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:04}\ndata:\n  key: value-{i}\n")
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// How many ConfigMaps the namespace holds (`kube-root-ca.crt` included).
async fn count(cms: &Api<ConfigMap>) -> Option<usize> {
    Some(
        cms.list_metadata(&ListParams::default())
            .await
            .ok()?
            .items
            .len(),
    )
}

#[tokio::test]
async fn the_controller_survives_an_apiserver_restart_mid_apply_and_converges() {
    install();
    let ns = cluster().namespace("apiserver-restart").await.unwrap();
    let repos = RepoRoot::new().unwrap();
    let repo = repos.repo("app").unwrap();
    repo.commit(
        &[("deploy/configmaps.yaml", &configmaps(OBJECTS))],
        "many objects",
    )
    .unwrap();
    repo.push(&["main"]).unwrap();
    let revision = format!("main@sha1:{}", repo.head().unwrap());
    let server = HttpGitServer::start(&repos).unwrap();
    let mut ctrl = ControllerProcess::start_with(&ns.name, "", &[]);
    create(
        &gitrepositories(&ns),
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": ns.name},
            "spec": {"url": server.url("git", "app"), "interval": "10m", "ref": {"branch": "main"}}
        }),
    )
    .await;
    create(
        &kustomizations(&ns),
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": ns.name},
            "spec": {
                "interval": "10m", "retryInterval": "2s", "prune": true, "path": "./deploy",
                "targetNamespace": ns.name,
                "sourceRef": {"kind": "GitRepository", "name": "app"}
            }
        }),
    )
    .await;

    // Kill the apiserver once the apply has written a few hundred objects.
    let cms: Api<ConfigMap> = ns.api();
    let deadline = Instant::now() + Duration::from_secs(120);
    let applied_before = loop {
        let n = count(&cms).await.unwrap_or(0);
        if n >= 300 {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "the apply did not start within 120s ({n} ConfigMaps)\n--- controller log ---\n{}",
            ctrl.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let logged_before_kill = ctrl.log().lines().count();
    cluster().kill_apiserver().unwrap();
    assert!(
        applied_before < OBJECTS,
        "the apply had already finished ({applied_before} ConfigMaps) when the apiserver was killed: \
         the test needs more objects to kill it mid-apply"
    );

    // Down for a few seconds: requests of the apply, status writes and watches all fail.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = ctrl.child.try_wait().unwrap();
    assert!(
        status.is_none(),
        "tug controller died while the apiserver was down: {status:?}\n--- controller log ---\n{}",
        ctrl.log()
    );
    cluster().start_apiserver().unwrap();

    let kss = kustomizations(&ns);
    let ks = wait_for(
        &kss,
        "app",
        &ctrl,
        Duration::from_secs(180),
        "Ready after the apiserver came back",
        |o| condition(o, "Ready").is_some_and(|c| c["status"] == "True"),
    )
    .await;
    assert_eq!(
        condition(&ks, "Ready").unwrap()["message"],
        format!("Applied revision: {revision}")
    );
    assert_eq!(
        ks.data["status"]["inventory"]["entries"]
            .as_array()
            .map(Vec::len),
        Some(OBJECTS)
    );
    let names: std::collections::BTreeSet<String> = cms
        .list_metadata(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|m| m.metadata.name)
        .filter(|n| n.starts_with("cm-"))
        .collect();
    assert_eq!(names.len(), OBJECTS, "every ConfigMap is there");
    assert_eq!(
        cms.get("cm-2999").await.unwrap().data.unwrap()["key"],
        "value-2999"
    );
    let status = ctrl.child.try_wait().unwrap();
    assert!(status.is_none(), "tug controller exited: {status:?}");

    // The log says what failed, then that the retry succeeded.
    let log = ctrl.log();
    let lines: Vec<&str> = log.lines().collect();
    let failed = lines
        .iter()
        .skip(logged_before_kill)
        .position(|l| l.contains("reconcile failed") || l.contains("reconcile error"))
        .map(|i| i + logged_before_kill)
        .unwrap_or_else(|| {
            panic!("no failed reconcile logged after the kill\n--- controller log ---\n{log}")
        });
    eprintln!("logged failure: {}", lines[failed]);
    let reconciled = lines
        .iter()
        .rposition(|l| l.contains("reconciled") && l.contains(&revision))
        .unwrap_or_else(|| panic!("no successful reconcile logged\n--- controller log ---\n{log}"));
    assert!(
        failed < reconciled,
        "the success should follow the failure\n--- controller log ---\n{log}"
    );
}
