//! End to end: manifests published to a real OCI registry with `tug push artifact` (as Flux
//! users publish them from CI with `flux push artifact`), followed by an OCIRepository and
//! applied by a Kustomization; a new tag in the semver range is applied at the next interval.

use std::path::Path;

mod common;
use common::prelude::*;
use tug_testsupport::registry::{Registry, RegistryOptions};

/// `tug push artifact` of `dir` to `oci://<registry>/<repository>:<tag>` over plain HTTP.
fn push(registry: &Registry, repository: &str, tag: &str, dir: &Path) {
    let url = format!("oci://{}/{repository}:{tag}", registry.host());
    let out = tug(&[
        "push",
        "artifact",
        &url,
        "--path",
        dir.to_str().unwrap(),
        "--source",
        "https://example.invalid/app.git",
        "--revision",
        &format!("{tag}@sha1:0123456789abcdef0123456789abcdef01234567"),
        "--insecure-registry",
    ]);
    assert!(out.status.success(), "{}", printed(&out));
}

fn manifests(value: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cm.yaml"), configmap("app", value)).unwrap();
    dir
}

fn printed(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn a_kustomization_applies_what_tug_push_published_and_follows_new_tags_in_its_range() {
    let registry = Registry::start(RegistryOptions::default()).unwrap();
    push(&registry, "manifests/app", "1.0.0", manifests("v1").path());
    // A tag outside the range: never applied.
    push(
        &registry,
        "manifests/app",
        "2.0.0",
        manifests("v-two").path(),
    );

    let s = Scene::new("oci-source").await;
    let ctrl = s.controller(&[]);
    s.apply(
        OCIRepository::new("app")
            .url(format!("oci://{}/manifests/app", registry.host()))
            .semver(">=1.0.0 <2.0.0")
            .insecure(true)
            .interval("2s"),
    )
    .await;
    s.apply(
        Kustomization::new("app")
            .source_of_kind("OCIRepository", "app")
            .path("./")
            .prune(true)
            .target_namespace(s.name())
            .interval("2s"),
    )
    .await;

    let source = s
        .until(OCI_REPOSITORY, "app", "Ready with 1.0.0", secs(60), |o| {
            o.is_ready()
        })
        .await;
    let revision = source.data["status"]["artifact"]["revision"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(revision.starts_with("1.0.0@sha256:"), "{revision}");
    assert_eq!(
        source.ready_message(),
        format!("stored artifact for digest '{revision}'")
    );
    assert_eq!(
        source.data["status"]["artifact"]["metadata"]["org.opencontainers.image.source"],
        "https://example.invalid/app.git",
        "the artifact keeps the manifest's annotations"
    );
    s.eventually("the ConfigMap of 1.0.0", secs(60), || async {
        s.configmap("app").await.filter(|v| v == "v1")
    })
    .await;
    s.ks_until("app", "applied 1.0.0", secs(30), |k| {
        k.applied_revision() == Some(revision.as_str())
    })
    .await;

    // CI publishes 1.1.0: applied at the next interval, with no request from anyone.
    push(&registry, "manifests/app", "1.1.0", manifests("v2").path());
    s.eventually("the ConfigMap of 1.1.0", secs(60), || async {
        s.configmap("app").await.filter(|v| v == "v2")
    })
    .await;
    let ks = s
        .ks_until("app", "applied 1.1.0", secs(30), |k| {
            k.applied_revision()
                .is_some_and(|r| r.starts_with("1.1.0@sha256:"))
        })
        .await;
    assert!(ks.is_ready(), "{}", ks.ready_message());

    // Deleting the source removes its artifacts from storage (Flux's finalizer).
    let stored = ctrl.storage_path().join(
        source.data["status"]["artifact"]["path"]
            .as_str()
            .unwrap_or_default(),
    );
    let artifacts_dir = stored.parent().unwrap().to_path_buf();
    assert!(artifacts_dir.is_dir(), "{}", artifacts_dir.display());
    s.api(OCI_REPOSITORY)
        .delete("app", &Default::default())
        .await
        .unwrap();
    s.eventually(
        "the OCIRepository and its artifacts gone",
        secs(30),
        || async {
            s.api(OCI_REPOSITORY)
                .get_opt("app")
                .await
                .unwrap()
                .is_none()
                && !artifacts_dir.exists()
        },
    )
    .await;
}

#[tokio::test]
async fn unsupported_fields_and_unreachable_registries_are_reported_on_the_object() {
    let s = Scene::new("oci-source-bad").await;
    let _ctrl = s.controller(&[]);
    s.apply(
        OCIRepository::new("signed")
            .url("oci://127.0.0.1:9/manifests/app")
            .spec("verify", serde_json::json!({"provider": "cosign"})),
    )
    .await;
    let signed = s
        .until(OCI_REPOSITORY, "signed", "Stalled", secs(60), |o| {
            o.condition("Stalled")
                .is_some_and(|c| c["status"] == "True")
        })
        .await;
    assert!(
        signed.ready_message().contains("spec.verify"),
        "{}",
        signed.ready_message()
    );

    // Port 9 (discard) has nothing listening on loopback: a clear, retried failure.
    s.apply(
        OCIRepository::new("unreachable")
            .url("oci://127.0.0.1:9/manifests/app")
            .insecure(true),
    )
    .await;
    let unreachable = s
        .until(
            OCI_REPOSITORY,
            "unreachable",
            "Ready=False",
            secs(60),
            |o| o.ready().is_some_and(|c| c["status"] == "False"),
        )
        .await;
    let message = unreachable.ready_message();
    assert!(message.contains("127.0.0.1:9"), "{message}");
    assert!(
        unreachable.condition("Stalled").is_none(),
        "retried, not stalled"
    );
}
