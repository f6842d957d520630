//! The local control plane does what tug's tests rely on: server-side apply, CRDs, namespace
//! deletion, and (with the simulator) workloads that become available or fail.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions, Condition};
use kube::ResourceExt;
use serde_json::json;
use std::time::Duration;
use tug_testsupport::{cluster, simulator::SIMULATE_ANNOTATION};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn server_side_apply_of_a_multi_key_configmap_reads_back() {
    let ns = cluster().namespace("ssa-configmap").await.unwrap();
    let cms: Api<ConfigMap> = ns.api();
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"a": "1", "b": "two", "multi": "line one\nline two\n", "empty": ""}
    });
    cms.patch(
        "settings",
        &PatchParams::apply("tug-test"),
        &Patch::Apply(&cm),
    )
    .await
    .unwrap();
    let live = cms.get("settings").await.unwrap();
    let data = live.data.unwrap();
    assert_eq!(data.len(), 4);
    assert_eq!(data["multi"], "line one\nline two\n");
    assert_eq!(data["empty"], "");
    let managers: Vec<_> = live
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, ["tug-test"]);
}

#[tokio::test]
async fn a_crd_installs_and_serves_custom_resources() {
    let client = cluster().client().await.unwrap();
    let ns = cluster().namespace("crd").await.unwrap();
    let crd_name = format!("widgets{}.example.tug.dev", std::process::id());
    let plural = format!("widgets{}", std::process::id());
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name},
        "spec": {
            "group": "example.tug.dev", "scope": "Namespaced",
            "names": {"plural": plural, "singular": format!("widget{}", std::process::id()), "kind": format!("Widget{}", std::process::id())},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}
            }}}]
        }
    });
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        &crd_name,
        &PatchParams::apply("tug-test"),
        &Patch::Apply(&crd),
    )
    .await
    .unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(crds.clone(), &crd_name, conditions::is_crd_established()),
    )
    .await
    .unwrap()
    .unwrap();
    let resource = ApiResource {
        group: "example.tug.dev".into(),
        version: "v1".into(),
        api_version: "example.tug.dev/v1".into(),
        kind: format!("Widget{}", std::process::id()),
        plural,
    };
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns.name, &resource);
    let w = json!({"apiVersion": "example.tug.dev/v1", "kind": resource.kind, "metadata": {"name": "w1"}, "spec": {"size": 3}});
    // Discovery of a new CRD can lag its Established condition by a moment.
    let mut last_err = None;
    for _ in 0..50 {
        match widgets
            .patch("w1", &PatchParams::apply("tug-test"), &Patch::Apply(&w))
            .await
        {
            Ok(_) => {
                last_err = None;
                break;
            }
            Err(e) => last_err = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last_err.is_none(), "{last_err:?}");
    assert_eq!(widgets.get("w1").await.unwrap().data["spec"]["size"], 3);
    crds.delete(&crd_name, &DeleteParams::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_deleted_namespace_is_seen_gone() {
    let ns = cluster().namespace("deleted").await.unwrap();
    let cms: Api<ConfigMap> = ns.api();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}});
    cms.patch("c", &PatchParams::apply("tug-test"), &Patch::Apply(&cm))
        .await
        .unwrap();
    let namespaces: Api<Namespace> = Api::all(ns.client.clone());
    let uid = namespaces.get(&ns.name).await.unwrap().uid().unwrap();
    namespaces
        .delete(&ns.name, &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(namespaces, &ns.name, conditions::is_deleted(&uid)),
    )
    .await
    .expect("namespace still present after 60s")
    .unwrap();
}

fn deployment(name: &str, replicas: i32, pod_annotations: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": pod_annotations},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}
            }
        }
    })
}

fn available() -> impl Condition<Deployment> {
    |d: Option<&Deployment>| {
        let Some(status) = d.and_then(|d| d.status.as_ref()) else {
            return false;
        };
        let is_available = status.conditions.iter().flatten().any(|c| {
            c.type_.as_deref() == Some("Available") && c.status.as_deref() == Some("True")
        });
        is_available && status.ready_replicas == Some(2)
    }
}

#[tokio::test]
async fn the_simulator_makes_a_two_replica_deployment_available() {
    cluster().ensure_simulator();
    let ns = cluster().namespace("sim-available").await.unwrap();
    let deployments: Api<Deployment> = ns.api();
    deployments
        .patch(
            "web",
            &PatchParams::apply("tug-test"),
            &Patch::Apply(deployment("web", 2, json!({}))),
        )
        .await
        .unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(deployments.clone(), "web", available()),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "Deployment not Available after 60s: {:?}\n{}",
            futures::executor::block_on(deployments.get("web"))
                .ok()
                .and_then(|d| d.status),
            cluster().log_tail(20)
        )
    })
    .unwrap();
    let pods: Api<Pod> = ns.api();
    let running = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .count();
    assert_eq!(running, 2);
}

#[tokio::test]
async fn the_simulator_can_make_a_pod_crash() {
    cluster().ensure_simulator();
    let ns = cluster().namespace("sim-crash").await.unwrap();
    let deployments: Api<Deployment> = ns.api();
    let d = deployment(
        "crashy",
        1,
        json!({ SIMULATE_ANNOTATION: "CrashLoopBackOff" }),
    );
    deployments
        .patch("crashy", &PatchParams::apply("tug-test"), &Patch::Apply(&d))
        .await
        .unwrap();
    let pods: Api<Pod> = ns.api();
    let reason = tokio::time::timeout(WAIT, async {
        loop {
            let list = pods.list(&ListParams::default()).await.unwrap();
            let waiting = list.items.iter().find_map(|p| {
                p.status
                    .as_ref()?
                    .container_statuses
                    .as_ref()?
                    .first()?
                    .state
                    .as_ref()?
                    .waiting
                    .as_ref()?
                    .reason
                    .clone()
            });
            if let Some(r) = waiting {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("no crashing pod after 60s");
    assert_eq!(reason, "CrashLoopBackOff");
    let d = deployments.get("crashy").await.unwrap();
    assert_eq!(d.status.and_then(|s| s.ready_replicas).unwrap_or(0), 0);
}
