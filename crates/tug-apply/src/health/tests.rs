//! `compute` on objects as the apiserver returns them, one kind at a time, including the
//! failures a user needs told apart from "still rolling out".

use super::*;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

fn status(obj: &Value) -> HealthStatus {
    compute(obj).status
}

fn expect(obj: Value, status: HealthStatus, message: &str) {
    let h = compute(&obj);
    assert_eq!(
        (h.status, h.message.as_str()),
        (status, message),
        "for {obj:#}"
    );
}

use HealthStatus::*;

fn deployment(status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps", "generation": 2},
        "spec": {"replicas": 2, "progressDeadlineSeconds": 600,
                 "selector": {"matchLabels": {"app": "web"}}},
        "status": status
    })
}

#[test]
fn deployment_available_with_all_replicas_is_current() {
    expect(
        deployment(json!({
            "observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
            "readyReplicas": 2, "availableReplicas": 2,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
            ]
        })),
        Current,
        "Deployment is available. Replicas: 2",
    );
}

#[test]
fn deployment_rolling_out_is_in_progress_with_the_lagging_count() {
    expect(
        deployment(json!({"observedGeneration": 1, "replicas": 2})),
        InProgress,
        "Deployment generation is 2, but latest observed generation is 1",
    );
    expect(deployment(json!({})), InProgress, "Replicas: 0/2");
    expect(
        deployment(json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1})),
        InProgress,
        "Updated: 1/2",
    );
    expect(
        deployment(json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2})),
        InProgress,
        "Pending termination: 1",
    );
    expect(
        deployment(
            json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
                          "availableReplicas": 1, "readyReplicas": 1}),
        ),
        InProgress,
        "Available: 1/2",
    );
    // Replicas all there, but the controller has not yet declared the rollout done.
    expect(
        deployment(json!({
            "observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
            "readyReplicas": 2, "availableReplicas": 2,
            "conditions": [
                {"type": "Available", "status": "True"},
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}
            ]
        })),
        InProgress,
        "ReplicaSet not Available",
    );
}

#[test]
fn deployment_past_its_progress_deadline_failed() {
    expect(
        deployment(json!({
            "observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                            "message": "ReplicaSet \"web-5d9c\" has timed out progressing."}]
        })),
        Failed,
        "Progress deadline exceeded: ReplicaSet \"web-5d9c\" has timed out progressing.",
    );
}

#[test]
fn deployment_without_progress_deadline_needs_only_available() {
    let mut d = deployment(json!({
        "observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
        "readyReplicas": 2, "availableReplicas": 2,
        "conditions": [{"type": "Available", "status": "True"}]
    }));
    d["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("progressDeadlineSeconds");
    assert_eq!(status(&d), Current);
}

fn statefulset(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "db", "namespace": "data", "generation": 1},
           "spec": spec, "status": status})
}

#[test]
fn statefulset_rules_follow_kstatus() {
    let done = json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3,
                      "currentReplicas": 3, "updatedReplicas": 3,
                      "currentRevision": "db-7f", "updateRevision": "db-7f"});
    expect(
        statefulset(json!({"replicas": 3}), done.clone()),
        Current,
        "All replicas scheduled as expected. Replicas: 3",
    );
    expect(
        statefulset(
            json!({"replicas": 3}),
            json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 1}),
        ),
        InProgress,
        "Ready: 1/3",
    );
    let mut rolling = done.clone();
    rolling["updateRevision"] = json!("db-80");
    expect(
        statefulset(json!({"replicas": 3}), rolling),
        InProgress,
        "Waiting for updated revision to match current",
    );
    let mut partial = done.clone();
    partial["updatedReplicas"] = json!(1);
    expect(
        statefulset(
            json!({"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}}),
            partial.clone(),
        ),
        InProgress,
        "updated: 1/2",
    );
    expect(
        statefulset(
            json!({"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
            partial,
        ),
        Current,
        "Partition rollout complete. updated: 1",
    );
    expect(
        statefulset(
            json!({"replicas": 3, "updateStrategy": {"type": "OnDelete"}}),
            json!({}),
        ),
        Current,
        "StatefulSet is using the ondelete update strategy",
    );
}

#[test]
fn daemonset_needs_observed_generation_and_all_nodes_ready() {
    let ds = |status: Value| {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
               "metadata": {"name": "agent", "namespace": "kube-system", "generation": 1},
               "status": status})
    };
    expect(
        ds(json!({})),
        InProgress,
        "DaemonSet status.observedGeneration not found",
    );
    expect(
        ds(json!({"observedGeneration": 1})),
        InProgress,
        "Missing .status.desiredNumberScheduled",
    );
    expect(
        ds(
            json!({"observedGeneration": 1, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
                  "updatedNumberScheduled": 3, "numberAvailable": 2, "numberReady": 3}),
        ),
        InProgress,
        "Available: 2/3",
    );
    expect(
        ds(
            json!({"observedGeneration": 1, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
                  "updatedNumberScheduled": 3, "numberAvailable": 3, "numberReady": 3}),
        ),
        Current,
        "All replicas scheduled as expected. Replicas: 3",
    );
}

#[test]
fn replicaset_counts_and_replica_failure() {
    let rs = |status: Value| {
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": "web-5d9c", "namespace": "apps", "generation": 1},
               "spec": {"replicas": 2}, "status": status})
    };
    expect(
        rs(
            json!({"observedGeneration": 1, "replicas": 2, "fullyLabeledReplicas": 2,
                  "readyReplicas": 2, "availableReplicas": 2}),
        ),
        Current,
        "ReplicaSet is available. Replicas: 2",
    );
    expect(
        rs(
            json!({"observedGeneration": 1, "replicas": 2, "fullyLabeledReplicas": 2,
                  "readyReplicas": 1, "availableReplicas": 1}),
        ),
        InProgress,
        "Available: 1/2",
    );
    expect(
        rs(
            json!({"observedGeneration": 1, "conditions": [{"type": "ReplicaFailure", "status": "True",
            "reason": "FailedCreate", "message": "pods \"web-5d9c-\" is forbidden: exceeded quota"}]}),
        ),
        InProgress,
        "Replica Failure condition. Check Pods: pods \"web-5d9c-\" is forbidden: exceeded quota",
    );
}

fn pod(phase: &str, extra_status: Value) -> Value {
    let mut status = json!({"phase": phase});
    if let (Some(s), Some(extra)) = (status.as_object_mut(), extra_status.as_object()) {
        s.extend(extra.clone());
    }
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web-5d9c-x1", "namespace": "apps",
                        "creationTimestamp": "2026-01-01T00:00:00Z"},
           "status": status})
}

#[test]
fn pods_ready_completed_and_pending() {
    expect(
        pod(
            "Running",
            json!({"conditions": [{"type": "Ready", "status": "True"}]}),
        ),
        Current,
        "Pod is Ready",
    );
    expect(
        pod("Succeeded", json!({})),
        Current,
        "Pod has completed successfully",
    );
    // kstatus: a finished pod is done, whatever its exit code.
    expect(
        pod("Failed", json!({})),
        Current,
        "Pod has completed, but not successfully",
    );
    expect(
        pod(
            "Running",
            json!({"conditions": [{"type": "Ready", "status": "False"}]}),
        ),
        InProgress,
        "Pod is running but is not Ready",
    );
    expect(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
        InProgress,
        "Pod phase not available",
    );
    expect(
        pod("Sleeping", json!({})),
        Unknown,
        "unknown phase Sleeping",
    );
}

#[test]
fn crash_looping_pod_failed_with_the_container_and_reason() {
    expect(
        pod(
            "Running",
            json!({
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [{"name": "web", "restartCount": 5, "state": {"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": "back-off 5m0s restarting failed container=web"}}}]
            }),
        ),
        Failed,
        "Containers in CrashLoop state: web (container web: CrashLoopBackOff: back-off 5m0s restarting failed container=web)",
    );
}

#[test]
fn image_pull_back_off_stays_in_progress_as_in_kstatus_but_says_why() {
    let p = pod(
        "Pending",
        json!({"containerStatuses": [{"name": "web", "state": {"waiting": {
            "reason": "ImagePullBackOff", "message": "Back-off pulling image \"nginx:nope\""}}}]}),
    );
    expect(
        p.clone(),
        InProgress,
        "Pod is in the Pending phase (container web: ImagePullBackOff: Back-off pulling image \"nginx:nope\")",
    );
    assert_eq!(
        pod_failure(&p).as_deref(),
        Some("container web: ImagePullBackOff: Back-off pulling image \"nginx:nope\"")
    );
}

#[test]
fn unschedulable_pod_fails_after_the_schedule_window() {
    let p = pod(
        "Pending",
        json!({"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 Insufficient cpu."}]}),
    );
    let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01
    assert_eq!(
        compute_at(&p, created + Duration::from_secs(5)),
        Health::new(InProgress, "Pod has not been scheduled")
    );
    assert_eq!(
        compute_at(&p, created + Duration::from_secs(60)),
        Health::new(
            Failed,
            "Pod could not be scheduled: 0/1 nodes are available: 1 Insufficient cpu."
        )
    );
}

fn job(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "migrate", "namespace": "apps", "generation": 1},
           "spec": spec, "status": status})
}

#[test]
fn jobs_are_healthy_once_complete_as_flux_requires() {
    expect(
        job(json!({}), json!({})),
        InProgress,
        "Job not started. active: 0/1",
    );
    expect(
        job(
            json!({}),
            json!({"startTime": "2026-01-01T00:00:00Z", "active": 1}),
        ),
        InProgress,
        "Job in progress. success:0, active: 1, failed: 0",
    );
    expect(
        job(
            json!({"completions": 3, "parallelism": 3}),
            json!({"startTime": "2026-01-01T00:00:00Z", "succeeded": 3,
                   "conditions": [{"type": "Complete", "status": "True"}]}),
        ),
        Current,
        "Job Completed. succeeded: 3/3",
    );
    expect(
        job(
            json!({"backoffLimit": 0}),
            json!({"startTime": "2026-01-01T00:00:00Z", "failed": 1,
                   "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                   "message": "Job has reached the specified backoff limit"}]}),
        ),
        Failed,
        "Job Failed. failed: 1/1 error: Job has reached the specified backoff limit",
    );
    expect(
        job(json!({"suspend": true}), json!({})),
        Current,
        "Job is suspended",
    );
}

#[test]
fn pvc_must_be_bound() {
    let pvc = |phase: Option<&str>| {
        let mut v = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                           "metadata": {"name": "data", "namespace": "db"}});
        if let Some(p) = phase {
            v["status"] = json!({"phase": p});
        }
        v
    };
    expect(pvc(Some("Bound")), Current, "PVC is Bound");
    expect(
        pvc(Some("Pending")),
        InProgress,
        "PVC is not Bound. phase: Pending",
    );
    expect(pvc(None), InProgress, "PVC is not Bound. phase: unknown");
}

#[test]
fn load_balancer_service_needs_a_cluster_ip_like_kstatus() {
    let svc = |spec: Value, status: Value| {
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "web", "namespace": "apps"}, "spec": spec, "status": status})
    };
    expect(
        svc(
            json!({"type": "ClusterIP", "clusterIP": "10.0.0.1"}),
            json!({}),
        ),
        Current,
        "Service is ready",
    );
    expect(
        svc(json!({"type": "LoadBalancer"}), json!({})),
        InProgress,
        "ClusterIP not set. Service type: LoadBalancer",
    );
    expect(
        svc(
            json!({"type": "LoadBalancer", "clusterIP": "10.0.0.1"}),
            json!({"loadBalancer": {}}),
        ),
        Current,
        "Service is ready (load balancer ingress not yet assigned)",
    );
    expect(
        svc(
            json!({"type": "LoadBalancer", "clusterIP": "10.0.0.1"}),
            json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}, {"hostname": "lb.example.com"}]}}),
        ),
        Current,
        "Service is ready. Load balancer ingress: 203.0.113.7, lb.example.com",
    );
}

fn crd(conditions: Value) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com", "generation": 1},
           "status": {"conditions": conditions}})
}

#[test]
fn crds_established_installing_or_rejected() {
    expect(
        crd(json!([
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}
        ])),
        Current,
        "CRD is established",
    );
    expect(
        crd(json!([{"type": "Established", "status": "False", "reason": "Installing"}])),
        InProgress,
        "Install in progress",
    );
    expect(crd(json!([])), InProgress, "Install in progress");
    expect(
        crd(json!([
            {"type": "NamesAccepted", "status": "False", "reason": "MultipleNameConflict",
             "message": "\"widgets\" is already in use"},
            {"type": "Established", "status": "False", "reason": "NotAccepted"}
        ])),
        Failed,
        "\"widgets\" is already in use",
    );
}

#[test]
fn namespaces_active_or_terminating() {
    expect(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"},
               "status": {"phase": "Active"}}),
        Current,
        "Namespace is Active",
    );
    expect(
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": "apps", "deletionTimestamp": "2026-01-01T00:00:00Z"},
               "status": {"phase": "Terminating"}}),
        Terminating,
        "Resource scheduled for deletion",
    );
}

#[test]
fn deletion_timestamp_means_terminating_for_any_kind() {
    let mut d = deployment(json!({}));
    d["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    expect(d, Terminating, "Resource scheduled for deletion");
}

fn custom(kind: &str, generation: i64, status: Value) -> Value {
    json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": kind,
           "metadata": {"name": "podinfo", "namespace": "flux-system", "generation": generation},
           "status": status})
}

#[test]
fn flux_style_resources_use_ready_reconciling_and_stalled() {
    expect(
        custom(
            "HelmRelease",
            3,
            json!({"observedGeneration": 3, "conditions": [
                {"type": "Ready", "status": "True", "reason": "InstallSucceeded", "message": "Helm install succeeded"}
            ]}),
        ),
        Current,
        "Resource is Ready",
    );
    expect(
        custom(
            "HelmRelease",
            3,
            json!({"observedGeneration": 2, "conditions": [
                {"type": "Ready", "status": "True", "reason": "InstallSucceeded"}
            ]}),
        ),
        InProgress,
        "HelmRelease generation is 3, but latest observed generation is 2",
    );
    expect(
        custom(
            "HelmRelease",
            3,
            json!({"observedGeneration": 3, "conditions": [
                {"type": "Ready", "status": "Unknown", "reason": "Progressing", "message": "Running 'install' action"},
                {"type": "Reconciling", "status": "True", "reason": "Progressing", "message": "Running 'install' action"}
            ]}),
        ),
        InProgress,
        "Running 'install' action",
    );
    expect(
        custom(
            "HelmRelease",
            3,
            json!({"observedGeneration": 3, "conditions": [
                {"type": "Ready", "status": "False", "reason": "InstallFailed", "message": "install retries exhausted"},
                {"type": "Stalled", "status": "True", "reason": "RetriesExceeded", "message": "install retries exhausted"}
            ]}),
        ),
        Failed,
        "install retries exhausted",
    );
    // Ready=False without Stalled: kstatus cannot tell progress from failure.
    expect(
        custom(
            "ExternalSecret",
            1,
            json!({"conditions": [
                {"type": "Ready", "status": "False", "reason": "SecretSyncedError", "message": "could not get secret data from provider"}
            ]}),
        ),
        InProgress,
        "could not get secret data from provider",
    );
    // No conditions at all: assumed reconciled.
    expect(
        custom("Widget", 1, json!({})),
        Current,
        "Resource is current",
    );
    // Reconciling without a message: the reason is shown instead of nothing.
    expect(
        custom(
            "Widget",
            1,
            json!({"conditions": [{"type": "Reconciling", "status": "True", "reason": "Progressing"}]}),
        ),
        InProgress,
        "Progressing",
    );
}

#[test]
fn always_ready_kinds() {
    for (api, kind) in [
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("batch/v1", "CronJob"),
    ] {
        expect(
            json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x"}}),
            Current,
            "Resource is always ready",
        );
    }
}

#[test]
fn malformed_status_is_unknown_with_the_reason() {
    expect(
        custom("Widget", 1, json!({"conditions": "Ready"})),
        Unknown,
        "status.conditions is not a list: \"Ready\"",
    );
    expect(
        custom(
            "Widget",
            1,
            json!({"conditions": [{"type": "Ready", "status": true}]}),
        ),
        Unknown,
        "status.conditions[].status is not a string: true",
    );
    let mut d = deployment(json!({}));
    d["metadata"]["generation"] = json!("two");
    expect(d, Unknown, "metadata.generation is not an integer: \"two\"");
}

#[test]
fn health_and_not_ready_print_as_a_user_reads_them() {
    let h = Health::new(InProgress, "Available: 0/2");
    assert_eq!(h.to_string(), "InProgress: Available: 0/2");
    let n = NotReady {
        id: crate::ObjectId {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: "apps".into(),
            name: "web".into(),
        },
        health: h,
    };
    assert_eq!(
        n.to_string(),
        "Deployment/apps/web status: 'InProgress': Available: 0/2"
    );
    let e = HealthError::Timeout {
        timeout: Duration::from_secs(30),
        not_ready: vec![n],
    };
    assert_eq!(
        e.to_string(),
        "timeout waiting for: [Deployment/apps/web status: 'InProgress': Available: 0/2]"
    );
}

#[test]
fn statefulsets_with_failed_pods_fail_as_kstatus_poller_says_but_deployments_do_not() {
    let crashing = Health::new(Failed, "Containers in CrashLoop state: db");
    let pods = [(
        "db-0",
        &crashing,
        Some("container db: CrashLoopBackOff: back-off 10s"),
    )];
    let own = Health::new(InProgress, "Ready: 0/1");
    assert_eq!(
        with_pods("apps", "StatefulSet", own.clone(), &pods),
        Health::new(
            Failed,
            "1 pods have failed (pod db-0: container db: CrashLoopBackOff: back-off 10s)"
        )
    );
    assert_eq!(
        with_pods("apps", "Deployment", own.clone(), &pods),
        Health::new(
            InProgress,
            "Ready: 0/1 (pod db-0: container db: CrashLoopBackOff: back-off 10s)"
        )
    );
    let ok = Health::new(Current, "Deployment is available. Replicas: 1");
    assert_eq!(with_pods("apps", "Deployment", ok.clone(), &pods), ok);
}
