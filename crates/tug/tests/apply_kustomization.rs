//! `tug apply kustomization` from a working copy, as the apply-engine issue's acceptance
//! checks describe: 1,000 ConfigMaps created then unchanged, 100 removed and pruned, and a
//! malformed manifest that stops everything.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use tug_testsupport::cluster;

mod common;

/// `tug ARGS -n NAMESPACE` against the test cluster.
fn tug(args: &[&str], namespace: &str) -> Output {
    common::tug(&[args, &["-n", namespace]].concat())
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn count(out: &Output, action: &str) -> usize {
    stdout(out)
        .lines()
        .filter(|l| l.ends_with(&format!(" {action}")))
        .count()
}

fn write_configmaps(dir: &Path, namespace: &str, range: std::ops::Range<usize>) {
    for i in range {
        let text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:04}\n  namespace: {namespace}\ndata:\n  key: value-{i}\n");
        std::fs::write(dir.join(format!("cm-{i:04}.yaml")), text).unwrap();
    }
}

async fn versions(cms: &Api<ConfigMap>) -> BTreeMap<String, String> {
    cms.list(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|c| {
            c.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("cm-"))
        })
        .map(|c| {
            (
                c.metadata.name.unwrap(),
                c.metadata.resource_version.unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_thousand_configmaps_created_unchanged_pruned_and_protected_from_bad_input() {
    tug(&["install"], "flux-system");
    let ns = cluster().namespace("apply-ks").await.unwrap();
    kustomization(&ns, "bulk", "1m").await;
    let kss = kustomizations(&ns);
    let dir = tempdir(&ns.name);
    write_configmaps(&dir, &ns.name, 0..1000);
    let path = dir.to_str().unwrap();

    let first = tug(
        &["apply", "kustomization", "bulk", "--path", path],
        &ns.name,
    );
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(count(&first, "created"), 1000, "{}", stderr(&first));
    let cms: Api<ConfigMap> = ns.api();
    let before = versions(&cms).await;
    assert_eq!(before.len(), 1000);
    let inventory = kss.get("bulk").await.unwrap().data["status"]["inventory"]["entries"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        inventory, 1000,
        "the inventory is recorded in the Kustomization's status"
    );

    let second = tug(
        &["apply", "kustomization", "bulk", "--path", path],
        &ns.name,
    );
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(count(&second, "unchanged"), 1000, "{}", stdout(&second));
    assert_eq!(
        versions(&cms).await,
        before,
        "the second run changed resourceVersions"
    );

    for i in 0..100 {
        std::fs::remove_file(dir.join(format!("cm-{i:04}.yaml"))).unwrap();
    }
    let third = tug(
        &["apply", "kustomization", "bulk", "--path", path, "--prune"],
        &ns.name,
    );
    assert!(third.status.success(), "{}", stderr(&third));
    assert_eq!(count(&third, "deleted"), 100);
    let after = versions(&cms).await;
    assert_eq!(after.len(), 900);
    assert!((0..100).all(|i| !after.contains_key(&format!("cm-{i:04}"))));

    // One malformed manifest: non-zero exit naming the file, nothing pruned.
    for i in 100..200 {
        std::fs::remove_file(dir.join(format!("cm-{i:04}.yaml"))).unwrap();
    }
    std::fs::write(
        dir.join("zz-broken.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n",
    )
    .unwrap();
    let fourth = tug(
        &["apply", "kustomization", "bulk", "--path", path, "--prune"],
        &ns.name,
    );
    assert!(!fourth.status.success());
    assert!(
        stderr(&fourth).contains("zz-broken.yaml"),
        "{}",
        stderr(&fourth)
    );
    assert_eq!(
        versions(&cms).await.len(),
        900,
        "a failed build pruned objects"
    );
}

#[tokio::test]
async fn a_missing_kustomization_object_is_named() {
    let ns = cluster().namespace("apply-missing").await.unwrap();
    let dir = tempdir(&ns.name);
    let before_install = tug(
        &[
            "apply",
            "kustomization",
            "nope",
            "--path",
            dir.to_str().unwrap(),
        ],
        &ns.name,
    );
    let text = stderr(&before_install);
    assert!(!before_install.status.success());
    assert!(
        text.contains("not installed") || text.contains("not found"),
        "{text}"
    );
    tug(&["install"], "flux-system");
    let out = tug(
        &[
            "apply",
            "kustomization",
            "nope",
            "--path",
            dir.to_str().unwrap(),
        ],
        &ns.name,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("Kustomization {}/nope not found", ns.name)),
        "{}",
        stderr(&out)
    );
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tug-test-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn deployment_yaml(name: &str, namespace: &str, pod_annotations: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n      annotations: {pod_annotations}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n"
    )
}

fn kustomizations(ns: &tug_testsupport::TestNamespace) -> Api<kube::api::DynamicObject> {
    let resource = kube::api::ApiResource {
        group: "kustomize.toolkit.fluxcd.io".into(),
        version: "v1".into(),
        api_version: "kustomize.toolkit.fluxcd.io/v1".into(),
        kind: "Kustomization".into(),
        plural: "kustomizations".into(),
    };
    Api::namespaced_with(ns.client.clone(), &ns.name, &resource)
}

async fn kustomization(ns: &tug_testsupport::TestNamespace, name: &str, timeout: &str) {
    let ks = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns.name},
        "spec": {"interval": "10m", "timeout": timeout, "prune": true, "suspend": true, "sourceRef": {"kind": "GitRepository", "name": "unused"}}
    });
    let kss = kustomizations(ns);
    kss.patch(name, &PatchParams::apply("test"), &Patch::Apply(&ks))
        .await
        .unwrap();
}

#[tokio::test]
async fn wait_succeeds_for_healthy_workloads_and_fails_fast_on_a_crash() {
    tug(&["install"], "flux-system");
    cluster().ensure_simulator();
    let ns = cluster().namespace("apply-wait").await.unwrap();
    kustomization(&ns, "web", "2m").await;

    let healthy = tempdir(&format!("{}-ok", ns.name));
    std::fs::write(
        healthy.join("deploy.yaml"),
        deployment_yaml("web", &ns.name, "{}"),
    )
    .unwrap();
    let out = tug(
        &[
            "apply",
            "kustomization",
            "web",
            "--path",
            healthy.to_str().unwrap(),
            "--wait",
        ],
        &ns.name,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("all objects are ready"),
        "{}",
        stderr(&out)
    );

    let crashing = tempdir(&format!("{}-crash", ns.name));
    std::fs::write(
        crashing.join("deploy.yaml"),
        deployment_yaml("web", &ns.name, "{sim.tug.dev/state: CrashLoopBackOff}"),
    )
    .unwrap();
    let start = std::time::Instant::now();
    let out = tug(
        &[
            "apply",
            "kustomization",
            "web",
            "--path",
            crashing.to_str().unwrap(),
            "--wait",
        ],
        &ns.name,
    );
    let text = stderr(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!("Deployment/{}/web", ns.name)),
        "{text}"
    );
    assert!(text.contains("CrashLoopBackOff"), "{text}");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(90),
        "did not fail fast: {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn diff_exits_zero_when_unchanged_and_one_after_a_change_without_secret_values() {
    tug(&["install"], "flux-system");
    let ns = cluster().namespace("diff").await.unwrap();
    kustomization(&ns, "app", "1m").await;
    let dir = tempdir(&format!("{}-diff", ns.name));
    let secret = |value: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: {}\nstringData:\n  password: {value}\n", ns.name)
    };
    std::fs::write(dir.join("secret.yaml"), secret("hunter2-original")).unwrap();
    write_configmaps(&dir, &ns.name, 0..3);
    let path = dir.to_str().unwrap();
    let applied = tug(&["apply", "kustomization", "app", "--path", path], &ns.name);
    assert!(applied.status.success(), "{}", stderr(&applied));

    let same = tug(&["diff", "kustomization", "app", "--path", path], &ns.name);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}{}",
        stdout(&same),
        stderr(&same)
    );
    assert_eq!(stdout(&same), "");

    std::fs::write(dir.join("secret.yaml"), secret("hunter2-rotated")).unwrap();
    std::fs::write(dir.join("cm-0001.yaml"), format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-0001\n  namespace: {}\ndata:\n  key: changed\n", ns.name)).unwrap();
    std::fs::remove_file(dir.join("cm-0002.yaml")).unwrap();
    let changed = tug(&["diff", "kustomization", "app", "--path", path], &ns.name);
    let text = stdout(&changed);
    assert_eq!(changed.status.code(), Some(1), "{text}{}", stderr(&changed));
    assert!(
        text.contains(&format!("► ConfigMap/{}/cm-0001 drifted", ns.name)),
        "{text}"
    );
    assert!(text.contains("+  key: changed"), "{text}");
    assert!(
        text.contains(&format!("► Secret/{}/creds drifted", ns.name)),
        "{text}"
    );
    assert!(
        !text.contains("hunter2"),
        "a secret value leaked into the diff:\n{text}"
    );
    assert!(
        text.contains(&format!("► ConfigMap/{}/cm-0002 deleted", ns.name)),
        "{text}"
    );
    // Nothing was written by the diff.
    let cms: Api<ConfigMap> = ns.api();
    assert_eq!(
        cms.get("cm-0001").await.unwrap().data.unwrap()["key"],
        "value-1"
    );
}
