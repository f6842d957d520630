//! Health waits on the real control plane, with the pod simulator standing in for kubelets:
//! what a user sees when their workloads come up, hang, or crash.

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tug_apply::health::{targets, wait, HealthError, HealthStatus};
use tug_apply::{Discovery, ObjectId, VersionedId};
use tug_testsupport::{cluster, simulator::SIMULATE_ANNOTATION};

const LONG: Duration = Duration::from_secs(90);

/// Applies `obj` server-side and returns what `wait` needs to watch it.
async fn apply(
    client: &Client,
    discovery: &Discovery,
    ns: &str,
    obj: Value,
) -> (ApiResource, bool, ObjectId) {
    let api_version = obj["apiVersion"].as_str().expect("apiVersion");
    let kind = obj["kind"].as_str().expect("kind");
    let name = obj["metadata"]["name"].as_str().expect("name").to_string();
    let resolved = discovery
        .resolve(api_version, kind)
        .await
        .expect("kind is served");
    let api: Api<DynamicObject> = if resolved.namespaced {
        Api::namespaced_with(client.clone(), ns, &resolved.resource)
    } else {
        Api::all_with(client.clone(), &resolved.resource)
    };
    api.patch(&name, &PatchParams::apply("tug-test"), &Patch::Apply(&obj))
        .await
        .unwrap_or_else(|e| panic!("applying {kind}/{name}: {e}"));
    let id = ObjectId {
        group: resolved.resource.group.clone(),
        kind: kind.to_string(),
        namespace: if resolved.namespaced {
            ns.to_string()
        } else {
            String::new()
        },
        name,
    };
    (resolved.resource, resolved.namespaced, id)
}

fn deployment(name: &str, replicas: i32, pod_annotations: Value) -> Value {
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

#[tokio::test]
async fn deployments_service_and_configmap_become_current() {
    cluster().ensure_simulator();
    let ns = cluster().namespace("health-current").await.unwrap();
    let discovery = Discovery::new(ns.client.clone());
    let mut objects = Vec::new();
    // Two Deployments share one namespace-wide watch; the Service and ConfigMap are watched
    // by name.
    for obj in [
        deployment("web", 2, json!({})),
        deployment("api", 1, json!({})),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP"}]}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
               "data": {"a": "1"}}),
    ] {
        objects.push(apply(&ns.client, &discovery, &ns.name, obj).await);
    }
    let started = Instant::now();
    let result = wait(ns.client.clone(), objects, LONG, true).await;
    assert!(result.is_ok(), "{}", result.unwrap_err());
    assert!(started.elapsed() < LONG);
}

#[tokio::test]
async fn a_wait_that_times_out_names_each_object_not_ready_and_why() {
    cluster().ensure_simulator();
    let ns = cluster().namespace("health-timeout").await.unwrap();
    let discovery = Discovery::new(ns.client.clone());
    // Its pod is never scheduled, so it stays InProgress for ever.
    let stuck = apply(
        &ns.client,
        &discovery,
        &ns.name,
        deployment("stuck", 1, json!({ SIMULATE_ANNOTATION: "Pending" })),
    )
    .await;
    let fine = apply(
        &ns.client,
        &discovery,
        &ns.name,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fine"}}),
    )
    .await;
    let timeout = Duration::from_secs(4);
    let started = Instant::now();
    let err = wait(ns.client.clone(), vec![stuck, fine], timeout, true)
        .await
        .expect_err("the Deployment never becomes available");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_secs(10),
        "{elapsed:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "timeout waiting for: [Deployment/{}/stuck status: 'InProgress': ",
            ns.name
        )),
        "{message}"
    );
    assert!(!message.contains("ConfigMap"), "{message}");
    match err {
        HealthError::Timeout { not_ready, .. } => {
            assert_eq!(not_ready.len(), 1);
            assert_eq!(not_ready[0].health.status, HealthStatus::InProgress);
        }
        other => panic!("expected a timeout, got {other}"),
    }
}

#[tokio::test]
async fn fail_fast_stops_on_a_crash_looping_pod_well_before_the_timeout() {
    cluster().ensure_simulator();
    let ns = cluster().namespace("health-crash").await.unwrap();
    let discovery = Discovery::new(ns.client.clone());
    let crashy = apply(
        &ns.client,
        &discovery,
        &ns.name,
        deployment(
            "crashy",
            1,
            json!({ SIMULATE_ANNOTATION: "CrashLoopBackOff" }),
        ),
    )
    .await;
    let healthy = apply(
        &ns.client,
        &discovery,
        &ns.name,
        deployment("healthy", 1, json!({})),
    )
    .await;
    let started = Instant::now();
    let err = wait(ns.client.clone(), vec![crashy, healthy], LONG, true)
        .await
        .expect_err("a crash-looping Deployment is not healthy");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "fail-fast took {:?}",
        started.elapsed()
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "failed early due to stalled resources: [Deployment/{}/crashy status: 'Failed': ",
            ns.name
        )),
        "{message}"
    );
    assert!(
        message.contains("container web: CrashLoopBackOff: back-off"),
        "{message}"
    );
    assert!(!message.contains("healthy"), "{message}");
}

#[tokio::test]
async fn without_fail_fast_a_crashing_deployment_times_out_saying_why() {
    cluster().ensure_simulator();
    let ns = cluster().namespace("health-crash-slow").await.unwrap();
    let discovery = Discovery::new(ns.client.clone());
    let pull = apply(
        &ns.client,
        &discovery,
        &ns.name,
        deployment(
            "nopull",
            1,
            json!({ SIMULATE_ANNOTATION: "ImagePullBackOff" }),
        ),
    )
    .await;
    // Give the simulator time to report the pod, so the timeout message can say why.
    let err = wait(ns.client.clone(), vec![pull], Duration::from_secs(8), false)
        .await
        .expect_err("the image never pulls");
    let message = err.to_string();
    assert!(matches!(err, HealthError::Timeout { .. }), "{message}");
    assert!(
        message.contains(&format!(
            "Deployment/{}/nopull status: 'InProgress'",
            ns.name
        )),
        "{message}"
    );
    assert!(
        message.contains("container web: ImagePullBackOff"),
        "{message}"
    );
}

fn job(name: &str, pod_annotations: Value) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": pod_annotations},
                "spec": {"restartPolicy": "Never",
                         "containers": [{"name": "migrate", "image": "busybox:1.36"}]}
            }
        }
    })
}

#[tokio::test]
async fn a_job_is_healthy_once_it_completes() {
    cluster().ensure_simulator();
    let ns = cluster().namespace("health-job").await.unwrap();
    let discovery = Discovery::new(ns.client.clone());
    let j = apply(&ns.client, &discovery, &ns.name, job("migrate", json!({}))).await;
    let result = wait(ns.client.clone(), vec![j], LONG, false).await;
    assert!(result.is_ok(), "{}", result.unwrap_err());
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = ns.api();
    let status = jobs.get("migrate").await.unwrap().status.unwrap();
    assert_eq!(status.succeeded, Some(1));
}

#[tokio::test]
async fn a_failed_job_ends_the_wait_early_even_without_fail_fast() {
    cluster().ensure_simulator();
    let ns = cluster().namespace("health-job-failed").await.unwrap();
    let discovery = Discovery::new(ns.client.clone());
    let j = apply(
        &ns.client,
        &discovery,
        &ns.name,
        job("broken", json!({ SIMULATE_ANNOTATION: "Failed" })),
    )
    .await;
    let started = Instant::now();
    let err = wait(ns.client.clone(), vec![j], LONG, false)
        .await
        .expect_err("the Job fails");
    assert!(started.elapsed() < LONG, "{:?}", started.elapsed());
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "failed early due to stalled resources: [Job/{}/broken status: 'Failed': Job Failed. failed: 1/1",
            ns.name
        )),
        "{message}"
    );
}

#[tokio::test]
async fn a_crd_becomes_established_and_its_resources_are_current() {
    let ns = cluster().namespace("health-crd").await.unwrap();
    let discovery = Discovery::new(ns.client.clone());
    let suffix = std::process::id();
    let group = "health.tug.dev";
    let plural = format!("gadgets{suffix}");
    let kind = format!("Gadget{suffix}");
    let crd = apply(
        &ns.client,
        &discovery,
        &ns.name,
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {
                "group": group, "scope": "Namespaced",
                "names": {"plural": plural, "singular": format!("gadget{suffix}"), "kind": kind},
                "versions": [{"name": "v1", "served": true, "storage": true,
                              "subresources": {"status": {}},
                              "schema": {"openAPIV3Schema": {"type": "object",
                                  "x-kubernetes-preserve-unknown-fields": true}}}]
            }
        }),
    )
    .await;
    assert_eq!(
        crd.2.to_string(),
        format!("CustomResourceDefinition/{plural}.{group}")
    );
    let result = wait(ns.client.clone(), vec![crd], LONG, true).await;
    assert!(result.is_ok(), "{}", result.unwrap_err());

    // Discovery may lag the Established condition by a moment.
    let api_version = format!("{group}/v1");
    let mut resolved = None;
    for _ in 0..50 {
        discovery.invalidate().await;
        if let Ok(r) = discovery.resolve(&api_version, &kind).await {
            resolved = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(resolved.is_some(), "{kind} is not served");
    // A custom resource with Ready=False is InProgress; once its controller (here: the test)
    // sets Ready=True for the observed generation, it is Current.
    let cr = apply(
        &ns.client,
        &discovery,
        &ns.name,
        json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "g1"}, "spec": {"size": 1}}),
    )
    .await;
    let api: Api<DynamicObject> = Api::namespaced_with(ns.client.clone(), &ns.name, &cr.0);
    let set_ready = |ready: &'static str| {
        let api = api.clone();
        let kind = kind.clone();
        let api_version = api_version.clone();
        async move {
            let status = json!({"apiVersion": api_version, "kind": kind,
                "status": {"observedGeneration": 1, "conditions": [
                    {"type": "Ready", "status": ready, "reason": "Testing", "message": format!("ready is {ready}")}]}});
            api.patch_status(
                "g1",
                &PatchParams::apply("tug-test-controller"),
                &Patch::Apply(&status),
            )
            .await
            .expect("status update");
        }
    };
    set_ready("False").await;
    let err = wait(
        ns.client.clone(),
        vec![cr.clone()],
        Duration::from_secs(2),
        true,
    )
    .await
    .expect_err("Ready=False is not healthy");
    assert!(
        err.to_string().contains(&format!(
            "{kind}/{}/g1 status: 'InProgress': ready is False",
            ns.name
        )),
        "{err}"
    );
    let waiter = tokio::spawn(wait(ns.client.clone(), vec![cr], LONG, true));
    tokio::time::sleep(Duration::from_millis(500)).await;
    set_ready("True").await;
    let result = waiter.await.expect("waiter task");
    assert!(result.is_ok(), "{}", result.unwrap_err());
}

#[tokio::test]
async fn an_object_that_does_not_exist_is_reported_not_found() {
    let ns = cluster().namespace("health-missing").await.unwrap();
    let resource = ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&());
    let id = ObjectId {
        group: String::new(),
        kind: "ConfigMap".into(),
        namespace: ns.name.clone(),
        name: "ghost".into(),
    };
    let err = wait(
        ns.client.clone(),
        vec![(resource, true, id)],
        Duration::from_secs(2),
        true,
    )
    .await
    .expect_err("nothing to wait for");
    assert_eq!(
        err.to_string(),
        format!(
            "timeout waiting for: [ConfigMap/{}/ghost status: 'Unknown': not found]",
            ns.name
        )
    );
}

#[tokio::test]
async fn a_fixed_deployment_is_not_failed_by_the_crashing_pods_it_replaces() {
    cluster().ensure_simulator();
    let ns = cluster().namespace("health-fix").await.unwrap();
    let discovery = Discovery::new(ns.client.clone());
    let broken = deployment("app", 1, json!({ SIMULATE_ANNOTATION: "CrashLoopBackOff" }));
    let obj = apply(&ns.client, &discovery, &ns.name, broken).await;
    let err = wait(ns.client.clone(), vec![obj], LONG, true)
        .await
        .expect_err("the first version crashes");
    assert!(err.to_string().contains("CrashLoopBackOff"), "{err}");

    // The fix rolls out while the old pod is still crash-looping; fail-fast must judge the
    // new ReplicaSet's pods only.
    let fixed = deployment("app", 1, json!({ SIMULATE_ANNOTATION: "Running" }));
    let obj = apply(&ns.client, &discovery, &ns.name, fixed).await;
    let result = wait(ns.client.clone(), vec![obj], LONG, true).await;
    assert!(result.is_ok(), "{}", result.unwrap_err());
}

#[tokio::test]
async fn a_statefulset_with_a_crashing_pod_fails_early_as_kstatus_reports_it() {
    cluster().ensure_simulator();
    let ns = cluster().namespace("health-sts").await.unwrap();
    let discovery = Discovery::new(ns.client.clone());
    let sts = apply(
        &ns.client,
        &discovery,
        &ns.name,
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 1, "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"},
                                 "annotations": { SIMULATE_ANNOTATION: "CrashLoopBackOff" }},
                    "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}
                }
            }
        }),
    )
    .await;
    let started = Instant::now();
    // Not fail-fast: kstatus itself calls a StatefulSet with a failed pod Failed, and with
    // nothing else left to wait for the wait ends, as Flux's does.
    let err = wait(ns.client.clone(), vec![sts], LONG, false)
        .await
        .expect_err("the pod crashes");
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        err.to_string(),
        format!(
            "failed early due to stalled resources: [StatefulSet/{}/db status: 'Failed': 1 pods have failed \
             (pod db-0: container db: CrashLoopBackOff: back-off 5m0s restarting failed container=db)]",
            ns.name
        )
    );
}

#[tokio::test]
async fn objects_in_many_namespaces_share_one_watch_and_are_reported_by_namespace() {
    let mut objects = Vec::new();
    let mut namespaces = Vec::new();
    for i in 0..10 {
        let ns = cluster()
            .namespace(&format!("health-many-{i}"))
            .await
            .unwrap();
        let discovery = Discovery::new(ns.client.clone());
        objects.push(
            apply(
                &ns.client,
                &discovery,
                &ns.name,
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}),
            )
            .await,
        );
        namespaces.push(ns);
    }
    let client = namespaces[0].client.clone();
    // The same targets, as the apply engine would resolve them from its inventory.
    let ids: Vec<VersionedId> = objects
        .iter()
        .map(|(_, _, id)| VersionedId {
            id: id.clone(),
            version: "v1".into(),
        })
        .collect();
    let resolved = targets(&Discovery::new(client.clone()), &ids)
        .await
        .expect("ConfigMaps are served");
    assert_eq!(
        resolved.iter().map(|t| &t.2).collect::<Vec<_>>(),
        objects.iter().map(|t| &t.2).collect::<Vec<_>>()
    );
    assert!(resolved.iter().all(|t| t.1 && t.0.plural == "configmaps"));
    let result = wait(client.clone(), resolved, LONG, true).await;
    assert!(result.is_ok(), "{}", result.unwrap_err());

    let mut missing = objects[3].2.clone();
    missing.name = "absent".into();
    objects.push((objects[3].0.clone(), true, missing));
    let err = wait(client, objects, Duration::from_secs(3), true)
        .await
        .expect_err("one ConfigMap does not exist");
    assert_eq!(
        err.to_string(),
        format!(
            "timeout waiting for: [ConfigMap/{}/absent status: 'Unknown': not found]",
            namespaces[3].name
        )
    );
}

#[tokio::test]
async fn a_kind_the_apiserver_does_not_serve_is_reported_with_the_watch_error() {
    let ns = cluster().namespace("health-unserved").await.unwrap();
    let resource = ApiResource {
        group: "nothing.tug.dev".into(),
        version: "v1".into(),
        api_version: "nothing.tug.dev/v1".into(),
        kind: "Phantom".into(),
        plural: "phantoms".into(),
    };
    let id = ObjectId {
        group: "nothing.tug.dev".into(),
        kind: "Phantom".into(),
        namespace: ns.name.clone(),
        name: "p".into(),
    };
    let err = wait(
        ns.client.clone(),
        vec![(resource, true, id)],
        Duration::from_secs(3),
        true,
    )
    .await
    .expect_err("nothing to watch");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "timeout waiting for: [Phantom/{}/p status: 'Unknown': cannot watch it: ",
            ns.name
        )),
        "{message}"
    );
    assert!(message.contains("404"), "{message}");
}
