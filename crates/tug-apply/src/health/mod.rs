//! Health of applied objects, computed the way Flux computes it (kstatus), and a waiter that
//! watches a set of objects until all are healthy.
//!
//! [`compute`] is a pure function of one object's JSON: kstatus's rules, kind by kind (see
//! `rules.rs`), with Flux's own Job rule (wait for completion). [`wait`] watches the objects
//! (and, for workloads, their pods) and returns once all are [`HealthStatus::Current`], or
//! says which are not and why when the timeout runs out or, in fail-fast mode, as soon as one
//! is failing.

mod pods;
mod rules;
mod wait;

#[cfg(test)]
mod tests;

pub use pods::{failure as pod_failure, FAILURE_REASONS};
pub use wait::{wait, HealthError, NotReady};

use serde_json::Value;
use std::fmt;
use std::time::SystemTime;

/// What [`wait`] needs for each object (its resource and scope), resolved through discovery
/// from the ids and versions the apply engine and inventory carry.
pub async fn targets(
    discovery: &crate::Discovery,
    ids: &[crate::VersionedId],
) -> Result<Vec<(kube::api::ApiResource, bool, crate::ObjectId)>, crate::discovery::DiscoveryError>
{
    let mut out = Vec::with_capacity(ids.len());
    for v in ids {
        let resolved = discovery.resolve(&v.api_version(), &v.id.kind).await?;
        out.push((resolved.resource, resolved.namespaced, v.id.clone()));
    }
    Ok(out)
}

/// kstatus's statuses (its `NotFound` is reported by the waiter as `Unknown` with a message
/// saying the object was not found).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HealthStatus {
    /// The object's controller has acted on its latest spec and the result is healthy.
    Current,
    /// Still being reconciled: it may become Current on its own.
    InProgress,
    /// Reconciliation stalled (a progress deadline, a failed Job, a crash-looping pod…):
    /// it will not become Current without a change.
    Failed,
    /// Being deleted.
    Terminating,
    /// The status cannot be determined (not found, unreadable status, not yet observed).
    Unknown,
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HealthStatus::Current => "Current",
            HealthStatus::InProgress => "InProgress",
            HealthStatus::Failed => "Failed",
            HealthStatus::Terminating => "Terminating",
            HealthStatus::Unknown => "Unknown",
        })
    }
}

/// An object's status and the human-readable reason for it (kstatus's messages, e.g.
/// `Ready: 1/3`, `Deployment is available. Replicas: 3`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    pub status: HealthStatus,
    pub message: String,
}

impl Health {
    pub fn new(status: HealthStatus, message: impl Into<String>) -> Health {
        Health {
            status,
            message: message.into(),
        }
    }

    pub fn is_current(&self) -> bool {
        self.status == HealthStatus::Current
    }
}

impl fmt::Display for Health {
    /// `InProgress: Available: 0/1`, or just the status when there is no message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.status)
        } else {
            write!(f, "{}: {}", self.status, self.message)
        }
    }
}

/// The health of one object (with its `status`), as kstatus computes it. The kind and group
/// come from the object's `kind` and `apiVersion`. Never fails: an object whose status
/// cannot be read is [`HealthStatus::Unknown`], with the reason in the message.
///
/// The only input besides the object is the clock, for kstatus's grace period before an
/// unschedulable pod counts as Failed; [`compute_at`] takes it explicitly.
pub fn compute(obj: &Value) -> Health {
    compute_at(obj, SystemTime::now())
}

/// [`compute`] at a given time.
pub fn compute_at(obj: &Value, now: SystemTime) -> Health {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let (group, _) = crate::object::split_api_version(api_version);
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    compute_kind(group, kind, obj, now)
}

/// [`compute`] for an object whose group and kind are known from elsewhere (watch events of
/// dynamic objects may lack `apiVersion`/`kind`).
pub(crate) fn compute_kind(group: &str, kind: &str, obj: &Value, now: SystemTime) -> Health {
    match rules::compute(group, kind, obj, now) {
        Ok(h) => h,
        Err(e) => Health::new(HealthStatus::Unknown, e.to_string()),
    }
}

/// Kinds whose pods kstatus's poller (and tug's waiter) inspect.
pub(crate) fn is_workload(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        (
            "apps" | "extensions",
            "Deployment" | "ReplicaSet" | "DaemonSet"
        ) | ("apps", "StatefulSet")
    )
}

/// A workload's health given the pods of its current rollout, as kstatus's poller aggregates it:
/// a StatefulSet or ReplicaSet that is InProgress while one of its pods is Failed (a
/// crash-looping container, an unschedulable pod) is Failed, "N pods have failed".
/// kstatus does not do this for Deployments (their progress deadline reports failure), and
/// neither does this; for every workload that is not Current, the message gains the first
/// stuck pod's reason so the user sees why.
pub(crate) fn with_pods(
    group: &str,
    kind: &str,
    own: Health,
    pods: &[(&str, &Health, Option<&str>)],
) -> Health {
    if own.is_current() || own.status == HealthStatus::Terminating {
        return own;
    }
    let failed: Vec<_> = pods
        .iter()
        .filter(|(_, h, _)| h.status == HealthStatus::Failed)
        .collect();
    let stuck = pods
        .iter()
        .find_map(|(name, _, f)| f.map(|f| format!("pod {name}: {f}")))
        .or_else(|| {
            failed
                .first()
                .map(|(name, h, _)| format!("pod {name}: {}", h.message))
        });
    let aggregates = own.status == HealthStatus::InProgress
        && matches!(
            (group, kind),
            ("apps", "StatefulSet") | ("apps" | "extensions", "ReplicaSet")
        );
    let mut health = if aggregates && !failed.is_empty() {
        Health::new(
            HealthStatus::Failed,
            format!("{} pods have failed", failed.len()),
        )
    } else {
        own
    };
    if let Some(stuck) = stuck {
        health.message = format!("{} ({stuck})", health.message);
    }
    health
}
