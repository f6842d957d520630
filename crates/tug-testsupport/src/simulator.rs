//! A node and pod simulator, in the spirit of kwok: the local control plane has no kubelet,
//! so without this no pod would ever run and workload health could not be tested.
//!
//! It registers one Ready node, binds every pending pod to it, and reports pods Running and
//! Ready (or Succeeded, for pods of Jobs). A test makes a pod fail by putting the annotation
//! [`SIMULATE_ANNOTATION`] on it (usually on a pod template): `CrashLoopBackOff`,
//! `ImagePullBackOff`, `Pending` (never started) or `Failed` (for Job pods: exit code 1).
//! Pods being deleted are removed at once, as a kubelet would after their containers stop.

use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Binding, Node, ObjectReference, Pod};
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;
use std::sync::OnceLock;

/// Pod annotation that selects a failure mode.
pub const SIMULATE_ANNOTATION: &str = "sim.tug.dev/state";
/// The simulated node's name.
pub const NODE_NAME: &str = "tug-sim-node";

static STARTED: OnceLock<Result<(), String>> = OnceLock::new();

impl crate::TestCluster {
    /// Starts the simulator for this cluster once per process (on a thread of its own, so it
    /// outlives each test's runtime).
    pub fn ensure_simulator(&'static self) {
        let result = STARTED.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("pod-simulator".into())
                .spawn(move || {
                    let runtime = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = tx.send(Err(format!("runtime: {e}")));
                            return;
                        }
                    };
                    runtime.block_on(async move {
                        let client = match self.client().await {
                            Ok(c) => c,
                            Err(e) => {
                                let _ = tx.send(Err(format!("{e:#}")));
                                return;
                            }
                        };
                        if let Err(e) = register_node(&client).await {
                            let _ = tx.send(Err(format!("{e:#}")));
                            return;
                        }
                        let _ = tx.send(Ok(()));
                        simulate_pods(client).await;
                    });
                })
                .map_err(|e| e.to_string())?;
            rx.recv().map_err(|e| e.to_string())?
        });
        if let Err(e) = result {
            panic!("the pod simulator could not start: {e}");
        }
    }
}

/// Runs the simulator until the process ends: registers the node, then handles every pod
/// of the cluster as it appears or changes (the `tug-sim` binary's whole job).
pub async fn run(client: Client) -> Result<()> {
    register_node(&client).await?;
    simulate_pods(client).await;
    Ok(())
}

async fn register_node(client: &Client) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node = Node {
        metadata: ObjectMeta {
            name: Some(NODE_NAME.into()),
            labels: Some(
                [
                    ("kubernetes.io/hostname".to_string(), NODE_NAME.to_string()),
                    ("kubernetes.io/os".into(), "linux".into()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        ..Default::default()
    };
    let pp = PatchParams::apply("tug-simulator").force();
    nodes
        .patch(NODE_NAME, &pp, &Patch::Apply(&node))
        .await
        .context("registering the simulated node")?;
    let now = now();
    let status = json!({
        "apiVersion": "v1", "kind": "Node",
        "status": {
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "simulated kubelet is posting ready status",
                "lastHeartbeatTime": now, "lastTransitionTime": now
            }],
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "nodeInfo": {
                "architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "v1.20.2",
                "kubeProxyVersion": "v1.20.2", "containerRuntimeVersion": "sim://1.0",
                "kernelVersion": "", "osImage": "tug simulator", "bootID": "", "machineID": "", "systemUUID": ""
            }
        }
    });
    nodes
        .patch_status(NODE_NAME, &pp, &Patch::Apply(&status))
        .await
        .context("setting the simulated node Ready")?;
    Ok(())
}

async fn simulate_pods(client: Client) {
    use kube::runtime::WatchStreamExt;
    let pods: Api<Pod> = Api::all(client.clone());
    // With backoff: the watch outlives apiserver restarts without spinning.
    let mut events = watcher(pods.clone(), watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(event) = events.next().await {
        let pod = match event {
            Ok(watcher::Event::Apply(pod)) | Ok(watcher::Event::InitApply(pod)) => pod,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!("simulator: watching pods: {e}");
                continue;
            }
        };
        if let Err(e) = handle(&client, &pod).await {
            tracing::warn!(
                "simulator: {}/{}: {e:#}",
                pod.namespace().unwrap_or_default(),
                pod.name_any()
            );
        }
    }
}

async fn handle(client: &Client, pod: &Pod) -> Result<()> {
    let ns = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    if pod.metadata.deletion_timestamp.is_some() {
        api.delete(
            &name,
            &DeleteParams {
                grace_period_seconds: Some(0),
                ..Default::default()
            },
        )
        .await
        .ok();
        return Ok(());
    }
    let spec = pod.spec.as_ref().context("pod has no spec")?;
    let mode = pod
        .annotations()
        .get(SIMULATE_ANNOTATION)
        .cloned()
        .unwrap_or_default();
    if spec.node_name.is_none() {
        if mode == "Pending" {
            return Ok(());
        }
        let binding = Binding {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            target: ObjectReference {
                kind: Some("Node".into()),
                name: Some(NODE_NAME.into()),
                api_version: Some("v1".into()),
                ..Default::default()
            },
        };
        let body = serde_json::to_vec(&binding)?;
        let req = http::Request::post(format!("/api/v1/namespaces/{ns}/pods/{name}/binding"))
            .header("Content-Type", "application/json")
            .body(body)?;
        client.request_text(req).await.context("binding the pod")?;
        tracing::info!("simulator: {ns}/{name} bound to {NODE_NAME}");
        // The bound pod comes back through the watch; its status is set then.
        return Ok(());
    }
    if pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| p != "Pending")
    {
        return Ok(()); // already simulated
    }
    let status = pod_status(pod, &mode);
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(&json!({ "status": status })),
    )
    .await
    .context("setting pod status")?;
    tracing::info!(
        "simulator: {ns}/{name} {}",
        status["phase"].as_str().unwrap_or_default()
    );
    Ok(())
}

fn pod_status(pod: &Pod, mode: &str) -> serde_json::Value {
    let now = now();
    let owned_by_job = pod.owner_references().iter().any(|o| o.kind == "Job");
    let containers: Vec<_> = pod
        .spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let cond = |t: &str, ok: bool| json!({"type": t, "status": if ok { "True" } else { "False" }, "lastTransitionTime": now});
    let (phase, ready, states): (&str, bool, Vec<serde_json::Value>) = match mode {
        "CrashLoopBackOff" => (
            "Running",
            false,
            containers.iter().map(|(n, img)| json!({
                "name": n, "image": img, "imageID": "", "ready": false, "started": false, "restartCount": 5,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off 5m0s restarting failed container={n}")}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}}
            })).collect(),
        ),
        "ImagePullBackOff" => (
            "Pending",
            false,
            containers.iter().map(|(n, img)| json!({
                "name": n, "image": img, "imageID": "", "ready": false, "started": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{img}\"")}}
            })).collect(),
        ),
        _ if owned_by_job => {
            let failed = mode == "Failed";
            (
                if failed { "Failed" } else { "Succeeded" },
                false,
                containers.iter().map(|(n, img)| json!({
                    "name": n, "image": img, "imageID": "", "ready": false, "started": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": if failed { 1 } else { 0 }, "reason": if failed { "Error" } else { "Completed" }, "startedAt": now, "finishedAt": now}}
                })).collect(),
            )
        }
        _ => (
            "Running",
            true,
            containers.iter().map(|(n, img)| json!({
                "name": n, "image": img, "imageID": format!("sim://{img}"), "ready": true, "started": true, "restartCount": 0,
                "state": {"running": {"startedAt": now}}
            })).collect(),
        ),
    };
    json!({
        "phase": phase,
        "hostIP": "127.0.0.1",
        "podIP": "10.244.0.10",
        "startTime": now,
        "conditions": [cond("PodScheduled", true), cond("Initialized", true), cond("ContainersReady", ready), cond("Ready", ready)],
        "containerStatuses": states,
    })
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
