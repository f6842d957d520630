//! kstatus's rules, kind by kind (sigs.k8s.io/cli-utils `pkg/kstatus/status`: `Compute`,
//! `checkGenericProperties` and the "legacy" per-kind functions). Flux computes health with
//! exactly these rules, so tug follows them, messages included, to be a drop-in: a user who
//! reads "Available: 0/2" in Flux reads the same here. Where tug says more (a crashing
//! container's reason, a namespace's phase, a Deployment's deadline message) it only adds to
//! the message; the status is what kstatus would report. One kind differs from plain
//! kstatus the way Flux's does: Jobs, which Flux's kustomize-controller judges with its own
//! reader so that a health check waits for completion.

use super::pods;
use super::{Health, HealthStatus};
use serde_json::Value;
use std::time::SystemTime;

/// How long a pod may stay unschedulable before kstatus calls it Failed (its
/// `ScheduleWindow`): schedulers often need a few seconds (autoscalers, preemption).
const SCHEDULE_WINDOW_SECS: i64 = 15;

/// The status of a pod still within the schedule window: the one status that changes with
/// time alone, so waiters recompute it (see `wait.rs`).
pub(crate) const POD_NOT_SCHEDULED: &str = "Pod has not been scheduled";

/// The object's status cannot be read: kstatus returns an error here, which its poller shows
/// as Unknown.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum RuleError {
    #[error("{0}")]
    Malformed(String),
    #[error("unknown phase {0}")]
    UnknownPhase(String),
}

type Rule = Result<Health, RuleError>;

/// One condition, as kstatus reads it (`BasicCondition`): absent string fields are empty.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Condition {
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

fn current(message: impl Into<String>) -> Health {
    Health {
        status: HealthStatus::Current,
        message: message.into(),
    }
}

fn in_progress(message: impl Into<String>) -> Health {
    Health {
        status: HealthStatus::InProgress,
        message: message.into(),
    }
}

fn failed(message: impl Into<String>) -> Health {
    Health {
        status: HealthStatus::Failed,
        message: message.into(),
    }
}

/// A condition's message, or its reason when the controller left the message empty, so the
/// user is never shown a blank "why".
fn explain(c: &Condition) -> String {
    if c.message.is_empty() {
        c.reason.clone()
    } else {
        c.message.clone()
    }
}

/// The value at a dotted path, `None` when any step is missing.
pub(crate) fn field<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = obj;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// kstatus's `GetIntField`: the integer at `path`, or `default` when absent or not an integer.
pub(crate) fn int(obj: &Value, path: &[&str], default: i64) -> i64 {
    field(obj, path).and_then(Value::as_i64).unwrap_or(default)
}

/// kstatus's `GetStringField`.
pub(crate) fn string<'a>(obj: &'a Value, path: &[&str], default: &'a str) -> &'a str {
    field(obj, path).and_then(Value::as_str).unwrap_or(default)
}

fn boolean(obj: &Value, path: &[&str], default: bool) -> bool {
    field(obj, path).and_then(Value::as_bool).unwrap_or(default)
}

/// kstatus's `NestedInt64`: absent is `None`, present but not an integer is an error.
fn strict_int(obj: &Value, path: &[&str]) -> Result<Option<i64>, RuleError> {
    match field(obj, path) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            RuleError::Malformed(format!("{} is not an integer: {v}", path.join(".")))
        }),
    }
}

/// `status.conditions` as kstatus decodes it: a list of objects whose `type`, `status`,
/// `reason` and `message` are strings. Anything else makes the status unreadable.
pub(crate) fn conditions(obj: &Value) -> Result<Vec<Condition>, RuleError> {
    let status = match obj.get("status") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(s @ Value::Object(_)) => s,
        Some(other) => {
            return Err(RuleError::Malformed(format!(
                "status is not an object: {other}"
            )))
        }
    };
    let list = match status.get("conditions") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(RuleError::Malformed(format!(
                "status.conditions is not a list: {other}"
            )))
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let c = match item {
            Value::Null => continue,
            Value::Object(c) => c,
            other => {
                return Err(RuleError::Malformed(format!(
                    "status.conditions has an entry that is not an object: {other}"
                )))
            }
        };
        let text = |key: &str| -> Result<String, RuleError> {
            match c.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(RuleError::Malformed(format!(
                    "status.conditions[].{key} is not a string: {other}"
                ))),
            }
        };
        out.push(Condition {
            type_: text("type")?,
            status: text("status")?,
            reason: text("reason")?,
            message: text("message")?,
        });
    }
    Ok(out)
}

/// kstatus's `Compute`: generic properties first (deletion, observed generation, the
/// standard `Reconciling`/`Stalled` conditions), then the kind's own rules, then a `Ready`
/// condition, and otherwise Current.
pub(crate) fn compute(group: &str, kind: &str, obj: &Value, now: SystemTime) -> Rule {
    if let Some(h) = generic(kind, obj)? {
        return Ok(h);
    }
    let rule: Option<fn(&Value, SystemTime) -> Rule> = match (group, kind) {
        ("", "Service") => Some(service),
        ("", "Pod") => Some(pod),
        ("", "Secret") | ("", "ConfigMap") | ("batch", "CronJob") => Some(always_ready),
        ("", "PersistentVolumeClaim") => Some(pvc),
        ("", "Namespace") => Some(namespace),
        ("apps", "StatefulSet") => Some(statefulset),
        ("apps" | "extensions", "DaemonSet") => Some(daemonset),
        ("apps" | "extensions", "Deployment") => Some(deployment),
        ("apps" | "extensions", "ReplicaSet") => Some(replicaset),
        ("policy", "PodDisruptionBudget") => Some(pdb),
        ("batch", "Job") => Some(job),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Some(crd),
        _ => None,
    };
    if let Some(rule) = rule {
        return rule(obj, now);
    }
    if let Some(h) = ready_condition(obj)? {
        return Ok(h);
    }
    // No known conditions: kstatus assumes a resource without any is reconciled.
    Ok(current("Resource is current"))
}

/// kstatus's `checkGenericProperties`.
fn generic(kind: &str, obj: &Value) -> Result<Option<Health>, RuleError> {
    match field(obj, &["metadata", "deletionTimestamp"]) {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::String(_)) => {
            return Ok(Some(Health {
                status: HealthStatus::Terminating,
                message: "Resource scheduled for deletion".into(),
            }))
        }
        Some(other) => {
            return Err(RuleError::Malformed(format!(
                "metadata.deletionTimestamp is not a string: {other}"
            )))
        }
    }
    // A controller that publishes observedGeneration has not acted on the latest spec until
    // it equals generation; whatever else the status says describes an older spec.
    if let Some(generation) = strict_int(obj, &["metadata", "generation"])? {
        if let Some(observed) = strict_int(obj, &["status", "observedGeneration"])? {
            if observed != generation {
                return Ok(Some(in_progress(format!(
                    "{kind} generation is {generation}, but latest observed generation is {observed}"
                ))));
            }
        }
    }
    for c in conditions(obj)? {
        if c.type_ == "Reconciling" && c.status == "True" {
            return Ok(Some(in_progress(explain(&c))));
        }
        if c.type_ == "Stalled" && c.status == "True" {
            return Ok(Some(failed(explain(&c))));
        }
    }
    Ok(None)
}

/// kstatus's `checkReadyCondition`: the widely used (if non-standard) `Ready` condition.
fn ready_condition(obj: &Value) -> Result<Option<Health>, RuleError> {
    for c in conditions(obj)? {
        if c.type_ != "Ready" {
            continue;
        }
        match c.status.as_str() {
            "True" => return Ok(Some(current("Resource is Ready"))),
            // kstatus cannot tell a Ready=False that is making progress from one that is
            // doomed, so both are InProgress (a controller that knows sets Stalled).
            "False" | "Unknown" => return Ok(Some(in_progress(explain(&c)))),
            _ => {}
        }
    }
    Ok(None)
}

fn always_ready(_: &Value, _: SystemTime) -> Rule {
    Ok(current("Resource is always ready"))
}

fn pdb(_: &Value, _: SystemTime) -> Rule {
    Ok(current("AllowedDisruptions has been computed."))
}

/// Namespaces have no rule in kstatus (they are Current unless being deleted, which the
/// generic deletionTimestamp rule covers); tug also reads the phase so the message says it.
fn namespace(obj: &Value, _: SystemTime) -> Rule {
    match string(obj, &["status", "phase"], "") {
        "Terminating" => Ok(Health {
            status: HealthStatus::Terminating,
            message: "Namespace is Terminating".into(),
        }),
        "Active" => Ok(current("Namespace is Active")),
        _ => Ok(current("Resource is current")),
    }
}

/// kstatus's `serviceConditions`: a LoadBalancer Service is Current once it has a cluster IP.
/// kstatus does not wait for the load balancer's ingress (clusters without a load balancer
/// controller would never become healthy), and neither does tug; the message says whether
/// an ingress has been assigned.
fn service(obj: &Value, _: SystemTime) -> Rule {
    let type_ = string(obj, &["spec", "type"], "ClusterIP");
    if type_ != "LoadBalancer" {
        return Ok(current("Service is ready"));
    }
    if string(obj, &["spec", "clusterIP"], "").is_empty() {
        return Ok(in_progress("ClusterIP not set. Service type: LoadBalancer"));
    }
    let ingress: Vec<&str> = field(obj, &["status", "loadBalancer", "ingress"])
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|i| {
                    i.get("ip")
                        .or_else(|| i.get("hostname"))
                        .and_then(Value::as_str)
                })
                .collect()
        })
        .unwrap_or_default();
    if ingress.is_empty() {
        Ok(current(
            "Service is ready (load balancer ingress not yet assigned)",
        ))
    } else {
        Ok(current(format!(
            "Service is ready. Load balancer ingress: {}",
            ingress.join(", ")
        )))
    }
}

fn pvc(obj: &Value, _: SystemTime) -> Rule {
    let phase = string(obj, &["status", "phase"], "unknown");
    if phase != "Bound" {
        return Ok(in_progress(format!("PVC is not Bound. phase: {phase}")));
    }
    Ok(current("PVC is Bound"))
}

/// kstatus's `stsConditions`. The StatefulSet controller sets no conditions, so status comes
/// from replica counts and revisions only.
fn statefulset(obj: &Value, _: SystemTime) -> Rule {
    if string(obj, &["spec", "updateStrategy", "type"], "") == "OnDelete" {
        return Ok(current("StatefulSet is using the ondelete update strategy"));
    }
    let spec = int(obj, &["spec", "replicas"], 1);
    let ready = int(obj, &["status", "readyReplicas"], 0);
    let current_replicas = int(obj, &["status", "currentReplicas"], 0);
    let updated = int(obj, &["status", "updatedReplicas"], 0);
    let replicas = int(obj, &["status", "replicas"], 0);
    let partition = int(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
        -1,
    );
    if spec > replicas {
        return Ok(in_progress(format!("Replicas: {replicas}/{spec}")));
    }
    if spec > ready {
        return Ok(in_progress(format!("Ready: {ready}/{spec}")));
    }
    if replicas > spec {
        return Ok(in_progress(format!(
            "Pending termination: {}",
            replicas - spec
        )));
    }
    if partition != -1 {
        if updated < spec - partition {
            return Ok(in_progress(format!(
                "updated: {updated}/{}",
                spec - partition
            )));
        }
        return Ok(current(format!(
            "Partition rollout complete. updated: {updated}"
        )));
    }
    if spec > current_replicas {
        return Ok(in_progress(format!("current: {current_replicas}/{spec}")));
    }
    if string(obj, &["status", "currentRevision"], "")
        != string(obj, &["status", "updateRevision"], "")
    {
        return Ok(in_progress("Waiting for updated revision to match current"));
    }
    Ok(current(format!(
        "All replicas scheduled as expected. Replicas: {replicas}"
    )))
}

/// kstatus's `deploymentConditions`: replica counts, then the `Progressing` condition
/// (`ProgressDeadlineExceeded` is the one failure a Deployment reports) and `Available`.
fn deployment(obj: &Value, _: SystemTime) -> Rule {
    // Without progressDeadlineSeconds the controller never sets Progressing; kstatus then
    // treats the rollout as progressing (the controller's own sentinel is MaxInt32).
    let deadline = int(
        obj,
        &["spec", "progressDeadlineSeconds"],
        i64::from(i32::MAX),
    );
    let mut progressing = deadline == i64::from(i32::MAX);
    let mut available = false;
    for c in conditions(obj)? {
        match c.type_.as_str() {
            "Progressing" => {
                if c.reason == "ProgressDeadlineExceeded" {
                    let mut message = String::from("Progress deadline exceeded");
                    if !c.message.is_empty() {
                        message.push_str(": ");
                        message.push_str(&c.message);
                    }
                    return Ok(failed(message));
                }
                if c.status == "True" && c.reason == "NewReplicaSetAvailable" {
                    progressing = true;
                }
            }
            "Available" if c.status == "True" => available = true,
            _ => {}
        }
    }
    let spec = int(obj, &["spec", "replicas"], 1);
    let replicas = int(obj, &["status", "replicas"], 0);
    let updated = int(obj, &["status", "updatedReplicas"], 0);
    let ready = int(obj, &["status", "readyReplicas"], 0);
    let avail = int(obj, &["status", "availableReplicas"], 0);
    if spec > replicas {
        return Ok(in_progress(format!("Replicas: {replicas}/{spec}")));
    }
    if spec > updated {
        return Ok(in_progress(format!("Updated: {updated}/{spec}")));
    }
    if replicas > spec {
        return Ok(in_progress(format!(
            "Pending termination: {}",
            replicas - spec
        )));
    }
    if updated > avail {
        return Ok(in_progress(format!("Available: {avail}/{updated}")));
    }
    if spec > ready {
        return Ok(in_progress(format!("Ready: {ready}/{spec}")));
    }
    if !progressing {
        return Ok(in_progress("ReplicaSet not Available"));
    }
    if !available {
        return Ok(in_progress("Deployment not Available"));
    }
    Ok(current(format!(
        "Deployment is available. Replicas: {replicas}"
    )))
}

/// kstatus's `replicasetConditions`.
fn replicaset(obj: &Value, _: SystemTime) -> Rule {
    for c in conditions(obj)? {
        if c.type_ == "ReplicaFailure" && c.status == "True" {
            let mut message = String::from("Replica Failure condition. Check Pods");
            if !c.message.is_empty() {
                message.push_str(": ");
                message.push_str(&c.message);
            }
            return Ok(in_progress(message));
        }
    }
    let spec = int(obj, &["spec", "replicas"], 1);
    let replicas = int(obj, &["status", "replicas"], 0);
    let ready = int(obj, &["status", "readyReplicas"], 0);
    let avail = int(obj, &["status", "availableReplicas"], 0);
    let labelled = int(obj, &["status", "fullyLabeledReplicas"], 0);
    if spec > labelled {
        return Ok(in_progress(format!("Labelled: {labelled}/{spec}")));
    }
    if spec > avail {
        return Ok(in_progress(format!("Available: {avail}/{spec}")));
    }
    if spec > ready {
        return Ok(in_progress(format!("Ready: {ready}/{spec}")));
    }
    if replicas > spec {
        return Ok(in_progress(format!(
            "Pending termination: {}",
            replicas - spec
        )));
    }
    Ok(current(format!(
        "ReplicaSet is available. Replicas: {replicas}"
    )))
}

/// kstatus's `daemonsetConditions`. Unlike the generic rule, a DaemonSet must publish
/// observedGeneration: the controller always does once it has seen the object.
fn daemonset(obj: &Value, _: SystemTime) -> Rule {
    if strict_int(obj, &["metadata", "generation"])?.is_none() {
        return Ok(in_progress("DaemonSet metadata.generation not found"));
    }
    if strict_int(obj, &["status", "observedGeneration"])?.is_none() {
        return Ok(in_progress("DaemonSet status.observedGeneration not found"));
    }
    let desired = int(obj, &["status", "desiredNumberScheduled"], -1);
    let scheduled = int(obj, &["status", "currentNumberScheduled"], 0);
    let updated = int(obj, &["status", "updatedNumberScheduled"], 0);
    let avail = int(obj, &["status", "numberAvailable"], 0);
    let ready = int(obj, &["status", "numberReady"], 0);
    if desired == -1 {
        return Ok(in_progress("Missing .status.desiredNumberScheduled"));
    }
    if desired > scheduled {
        return Ok(in_progress(format!("Current: {scheduled}/{desired}")));
    }
    if desired > updated {
        return Ok(in_progress(format!("Updated: {updated}/{desired}")));
    }
    if desired > avail {
        return Ok(in_progress(format!("Available: {avail}/{desired}")));
    }
    if desired > ready {
        return Ok(in_progress(format!("Ready: {ready}/{desired}")));
    }
    Ok(current(format!(
        "All replicas scheduled as expected. Replicas: {desired}"
    )))
}

/// Jobs as Flux's kustomize-controller judges them. kstatus alone calls a started Job
/// Current while it runs; Flux registers its own Job status reader (fluxcd/pkg
/// `runtime/statusreaders/job.go`) so that a health check waits for the Job to complete:
/// InProgress until `Complete=True`, Failed on `Failed=True`, Current when suspended.
fn job(obj: &Value, _: SystemTime) -> Rule {
    if boolean(obj, &["spec", "suspend"], false) {
        return Ok(current("Job is suspended"));
    }
    let parallelism = int(obj, &["spec", "parallelism"], 1);
    let completions = int(obj, &["spec", "completions"], parallelism);
    let succeeded = int(obj, &["status", "succeeded"], 0);
    let active = int(obj, &["status", "active"], 0);
    let failed_pods = int(obj, &["status", "failed"], 0);
    let started = string(obj, &["status", "startTime"], "");
    for c in conditions(obj)? {
        match c.type_.as_str() {
            "Complete" if c.status == "True" => {
                return Ok(current(format!(
                    "Job Completed. succeeded: {succeeded}/{completions}"
                )))
            }
            "Failed" if c.status == "True" => {
                let mut message = format!("Job Failed. failed: {failed_pods}/{completions}");
                if !c.message.is_empty() {
                    message.push_str(" error: ");
                    message.push_str(&c.message);
                }
                return Ok(failed(message));
            }
            _ => {}
        }
    }
    if started.is_empty() {
        return Ok(in_progress(format!(
            "Job not started. active: 0/{parallelism}"
        )));
    }
    Ok(in_progress(format!(
        "Job in progress. success:{succeeded}, active: {active}, failed: {failed_pods}"
    )))
}

/// kstatus's `CRDConditions`: `NamesAccepted=False` (a name conflict) and `Established=False`
/// for any reason but `Installing` are failures.
fn crd(obj: &Value, _: SystemTime) -> Rule {
    for c in conditions(obj)? {
        if c.type_ == "NamesAccepted" && c.status == "False" {
            return Ok(failed(explain(&c)));
        }
        if c.type_ == "Established" {
            if c.status == "False" && c.reason != "Installing" {
                return Ok(failed(explain(&c)));
            }
            if c.status == "True" {
                return Ok(current("CRD is established"));
            }
        }
    }
    Ok(in_progress("Install in progress"))
}

/// kstatus's `podConditions`. A crash-looping container makes a Running pod Failed; an image
/// that cannot be pulled leaves it Pending, which kstatus calls InProgress. tug keeps those
/// statuses and appends each waiting container's reason to the message, so a timeout says
/// why and a waiter can fail fast on it (see [`pods::failure`]).
fn pod(obj: &Value, now: SystemTime) -> Rule {
    let conds = conditions(obj)?;
    let phase = string(obj, &["status", "phase"], "");
    let detail = |base: &str| -> String {
        let waiting = pods::waiting_containers(obj);
        if waiting.is_empty() {
            base.to_string()
        } else {
            format!("{base} ({})", waiting.join("; "))
        }
    };
    match phase {
        "Succeeded" => Ok(current("Pod has completed successfully")),
        "Failed" => Ok(current("Pod has completed, but not successfully")),
        "Running" => {
            if conds
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
            {
                return Ok(current("Pod is Ready"));
            }
            let crashing = pods::crash_looping_containers(obj);
            if !crashing.is_empty() {
                return Ok(failed(detail(&format!(
                    "Containers in CrashLoop state: {}",
                    crashing.join(",")
                ))));
            }
            Ok(in_progress(detail("Pod is running but is not Ready")))
        }
        "Pending" => {
            let unschedulable = conds.iter().find(|c| {
                c.type_ == "PodScheduled" && c.status == "False" && c.reason == "Unschedulable"
            });
            if let Some(c) = unschedulable {
                let created = string(obj, &["metadata", "creationTimestamp"], "");
                if within_schedule_window(created, now) {
                    return Ok(in_progress(POD_NOT_SCHEDULED));
                }
                let mut message = String::from("Pod could not be scheduled");
                if !c.message.is_empty() {
                    message.push_str(": ");
                    message.push_str(&c.message);
                }
                return Ok(failed(message));
            }
            Ok(in_progress(detail("Pod is in the Pending phase")))
        }
        // The kubelet has not reported the pod yet.
        "" => Ok(in_progress("Pod phase not available")),
        other => Err(RuleError::UnknownPhase(other.to_string())),
    }
}

/// Whether a pod created at `created` (RFC 3339) is still within kstatus's schedule window.
/// kstatus compares against a zero time when the timestamp is missing, i.e. the window has
/// long passed; so does this.
fn within_schedule_window(created: &str, now: SystemTime) -> bool {
    let Ok(created) = created.parse::<k8s_openapi::jiff::Timestamp>() else {
        return false;
    };
    let Ok(now) = k8s_openapi::jiff::Timestamp::try_from(now) else {
        return false;
    };
    now.as_second() - SCHEDULE_WINDOW_SECS < created.as_second()
}
