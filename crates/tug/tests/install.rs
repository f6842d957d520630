//! `tug install`, `tug check --pre` and `tug uninstall` against the real local control plane.

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use std::path::Path;
use std::time::{Duration, Instant};
use tug_testsupport::cluster;

mod common;
use common::{printed, tug_with};

fn sample(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tug-api/samples")
        .join(name);
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every field of `want` is in `got` with the same value (the apiserver may add defaults).
fn assert_subset(want: &serde_json::Value, got: &serde_json::Value, path: &str) {
    match (want, got) {
        (serde_json::Value::Object(w), serde_json::Value::Object(g)) => {
            for (k, v) in w {
                let sub = format!("{path}.{k}");
                assert!(g.contains_key(k), "{sub} missing after the round trip");
                assert_subset(v, &g[k], &sub);
            }
        }
        (serde_json::Value::Array(w), serde_json::Value::Array(g)) => {
            assert_eq!(
                w.len(),
                g.len(),
                "{path}: list length changed in the round trip"
            );
            for (i, (wi, gi)) in w.iter().zip(g).enumerate() {
                assert_subset(wi, gi, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(want, got, "{path} changed in the round trip"),
    }
}

#[tokio::test]
async fn install_is_idempotent_and_crds_serve_flux_samples() {
    let kc = cluster().kubeconfig().to_path_buf();
    let first = tug_with(&kc, &["install"]);
    assert!(first.status.success(), "{}", printed(&first));
    assert!(
        printed(&first).contains(
            "CustomResourceDefinition/kustomizations.kustomize.toolkit.fluxcd.io created"
        ),
        "{}",
        printed(&first)
    );

    // No controller is deployed yet: the output says so, and how to run one.
    assert!(
        printed(&first).contains("no controller was installed")
            && printed(&first).contains("tug controller -n flux-system"),
        "{}",
        printed(&first)
    );

    let second = tug_with(&kc, &["install"]);
    assert!(second.status.success(), "{}", printed(&second));
    let second_text = printed(&second);
    assert!(second_text.contains("no changes"), "{second_text}");
    assert_eq!(
        second_text.matches(" unchanged").count(),
        // The namespace, the CRDs, the service account, its role and two bindings.
        tug_api::crds::all().len() + 5,
        "{second_text}"
    );

    // The controller's service account may do what an in-cluster `tug controller` does.
    let client = cluster().client().await.unwrap();
    for (group, resource, verb, namespace) in [
        ("apps", "deployments", "create", "default"),
        (
            "kustomize.toolkit.fluxcd.io",
            "kustomizations",
            "patch",
            "any",
        ),
        ("coordination.k8s.io", "leases", "update", "flux-system"),
        ("", "secrets", "watch", "flux-system"),
    ] {
        let review: k8s_openapi::api::authorization::v1::SubjectAccessReview =
            serde_json::from_value(serde_json::json!({
                "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {
                    "user": "system:serviceaccount:flux-system:tug-controller",
                    "groups": ["system:serviceaccounts"],
                    "resourceAttributes": {
                        "group": group, "resource": resource, "verb": verb, "namespace": namespace
                    }
                }
            }))
            .unwrap();
        let api: kube::Api<k8s_openapi::api::authorization::v1::SubjectAccessReview> =
            kube::Api::all(client.clone());
        let answer = api.create(&Default::default(), &review).await.unwrap();
        assert!(
            answer.status.is_some_and(|s| s.allowed),
            "tug-controller may not {verb} {resource}"
        );
    }

    let check = tug_with(&kc, &["check", "--pre"]);
    let check_text = printed(&check);
    assert!(check.status.success(), "{check_text}");
    assert!(check_text.contains("Kubernetes 1.20"), "{check_text}");
    assert!(
        check_text.contains("gitrepositories.source.toolkit.fluxcd.io: installed, established"),
        "{check_text}"
    );
    assert!(
        check_text.contains("kustomizations.kustomize.toolkit.fluxcd.io: installed, established"),
        "{check_text}"
    );

    // Flux's documented examples go through the apiserver unchanged (defaults may be added).
    let ns = cluster().namespace("samples").await.unwrap();
    for (file, group, kind, plural) in [
        (
            "gitrepository.yaml",
            "source.toolkit.fluxcd.io",
            "GitRepository",
            "gitrepositories",
        ),
        (
            "gitrepository-full.yaml",
            "source.toolkit.fluxcd.io",
            "GitRepository",
            "gitrepositories",
        ),
        (
            "ocirepository.yaml",
            "source.toolkit.fluxcd.io",
            "OCIRepository",
            "ocirepositories",
        ),
        (
            "helmrepository.yaml",
            "source.toolkit.fluxcd.io",
            "HelmRepository",
            "helmrepositories",
        ),
        (
            "helmrepository-oci.yaml",
            "source.toolkit.fluxcd.io",
            "HelmRepository",
            "helmrepositories",
        ),
        (
            "helmchart.yaml",
            "source.toolkit.fluxcd.io",
            "HelmChart",
            "helmcharts",
        ),
        (
            "kustomization.yaml",
            "kustomize.toolkit.fluxcd.io",
            "Kustomization",
            "kustomizations",
        ),
        (
            "kustomization-full.yaml",
            "kustomize.toolkit.fluxcd.io",
            "Kustomization",
            "kustomizations",
        ),
    ] {
        let mut want = sample(file);
        want["metadata"]["namespace"] = ns.name.clone().into();
        let resource = ApiResource {
            group: group.into(),
            version: "v1".into(),
            api_version: format!("{group}/v1"),
            kind: kind.into(),
            plural: plural.into(),
        };
        let api: Api<DynamicObject> = Api::namespaced_with(ns.client.clone(), &ns.name, &resource);
        let name = want["metadata"]["name"].as_str().unwrap().to_string();
        api.patch(&name, &PatchParams::apply("tug-test"), &Patch::Apply(&want))
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = serde_json::to_value(api.get(&name).await.unwrap()).unwrap();
        assert_subset(&want["spec"], &got["spec"], &format!("{file}: spec"));
        assert_eq!(
            got["status"]["observedGeneration"], -1,
            "{file}: Flux's status default"
        );
        if kind == "GitRepository" && file == "gitrepository.yaml" {
            assert_eq!(got["spec"]["timeout"], "60s", "Flux's default timeout");
        }
        if file == "helmrepository-oci.yaml" {
            assert_eq!(
                got["spec"]["provider"], "generic",
                "Flux's default provider"
            );
        }
    }

    // Uninstall refuses while custom resources exist.
    let refused = tug_with(&kc, &["uninstall"]);
    assert!(!refused.status.success());
    assert!(
        printed(&refused).contains("custom resource(s) still exist"),
        "{}",
        printed(&refused)
    );
}

#[test]
fn an_unreachable_cluster_is_named_in_the_error_within_ten_seconds() {
    let dir = std::env::temp_dir().join(format!("tug-unreachable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A port nothing listens on: bind one, note it, and close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kc = dir.join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: secret-token-value\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    for args in [&["install"][..], &["check", "--pre"][..]] {
        let start = Instant::now();
        let out = tug_with(&kc, args);
        let t = printed(&out);
        assert!(!out.status.success(), "{args:?}: {t}");
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{args:?} took {:?}",
            start.elapsed()
        );
        assert!(
            t.contains(&format!("https://127.0.0.1:{port}")),
            "{args:?} does not name the server: {t}"
        );
        assert!(
            !t.contains("secret-token-value"),
            "{args:?} printed the token: {t}"
        );
    }
}

#[tokio::test]
async fn an_unauthorised_token_is_reported_as_such() {
    let real = std::fs::read_to_string(cluster().kubeconfig()).unwrap();
    let token_line = real
        .lines()
        .find(|l| l.trim_start().starts_with("token:"))
        .unwrap();
    let bad = real.replace(token_line, "    token: not-a-valid-token");
    let path = std::env::temp_dir().join(format!("tug-badtoken-{}", std::process::id()));
    std::fs::write(&path, bad).unwrap();
    let out = tug_with(&path, &["check", "--pre"]);
    let t = printed(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("401") || t.to_lowercase().contains("unauthorized"),
        "{t}"
    );
    assert!(!t.contains("not-a-valid-token"), "printed the token: {t}");
}
