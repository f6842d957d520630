//! Pods as seen by health checks: which containers are stuck and why, and which pods a
//! workload's label selector picks.

use serde_json::Value;
use std::collections::BTreeMap;

/// Waiting reasons after which a container will not start without someone changing
/// something: its process keeps crashing, its image cannot be pulled, or its configuration
/// refers to something missing. A waiter in fail-fast mode stops on these instead of
/// letting the timeout run out. `ErrImagePull` is left out: it is the first, possibly
/// transient, attempt; the kubelet turns a lasting one into `ImagePullBackOff`.
pub const FAILURE_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
];

fn statuses(pod: &Value) -> impl Iterator<Item = &Value> {
    ["initContainerStatuses", "containerStatuses"]
        .into_iter()
        .filter_map(|key| pod.get("status")?.get(key)?.as_array())
        .flatten()
}

/// (container name, waiting reason, waiting message) for every waiting container.
fn waiting(pod: &Value) -> impl Iterator<Item = (&str, &str, &str)> {
    statuses(pod).filter_map(|cs| {
        let name = cs.get("name")?.as_str()?;
        let w = cs.get("state")?.get("waiting")?;
        let reason = w.get("reason").and_then(Value::as_str).unwrap_or("");
        let message = w.get("message").and_then(Value::as_str).unwrap_or("");
        Some((name, reason, message))
    })
}

fn describe(name: &str, reason: &str, message: &str) -> String {
    match (reason.is_empty(), message.is_empty()) {
        (true, true) => format!("container {name} is waiting"),
        (false, true) => format!("container {name}: {reason}"),
        (true, false) => format!("container {name}: {message}"),
        (false, false) => format!("container {name}: {reason}: {message}"),
    }
}

/// Names of containers waiting in `CrashLoopBackOff` (kstatus's `getCrashLoopingContainers`,
/// which looks at regular containers only).
pub(crate) fn crash_looping_containers(pod: &Value) -> Vec<String> {
    pod.get("status")
        .and_then(|s| s.get("containerStatuses"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|cs| {
            let name = cs.get("name")?.as_str()?;
            let reason = cs.get("state")?.get("waiting")?.get("reason")?.as_str()?;
            (reason == "CrashLoopBackOff").then(|| name.to_string())
        })
        .collect()
}

/// One line per waiting container: `container web: ImagePullBackOff: Back-off pulling…`.
pub(crate) fn waiting_containers(pod: &Value) -> Vec<String> {
    waiting(pod).map(|(n, r, m)| describe(n, r, m)).collect()
}

/// Why a pod will not become ready on its own, when one of its containers is waiting for one
/// of the [`FAILURE_REASONS`]; `None` when it may still get there. For example
/// `container web: CrashLoopBackOff: back-off 5m0s restarting failed container=web`.
pub fn failure(pod: &Value) -> Option<String> {
    let found: Vec<String> = waiting(pod)
        .filter(|(_, r, _)| FAILURE_REASONS.contains(r))
        .map(|(n, r, m)| describe(n, r, m))
        .collect();
    if found.is_empty() {
        None
    } else {
        Some(found.join("; "))
    }
}

/// A workload's `spec.selector` (a `LabelSelector`), evaluated locally against pods' labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selector {
    labels: BTreeMap<String, String>,
    exprs: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    /// The selector at `spec.selector`; `None` when there is none or it is malformed, in
    /// which case the workload selects no pods (the apiserver would not accept such a
    /// workload anyway).
    pub(crate) fn of(workload: &Value) -> Option<Selector> {
        let sel = workload.get("spec")?.get("selector")?.as_object()?;
        let mut labels = BTreeMap::new();
        if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                labels.insert(k.clone(), v.as_str()?.to_string());
            }
        }
        let mut exprs = Vec::new();
        if let Some(list) = sel.get("matchExpressions").and_then(Value::as_array) {
            for e in list {
                let key = e.get("key")?.as_str()?.to_string();
                let op = e.get("operator")?.as_str()?.to_string();
                let values = match e.get("values") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(v) => v
                        .as_array()?
                        .iter()
                        .map(|s| s.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()?,
                };
                if !matches!(op.as_str(), "In" | "NotIn" | "Exists" | "DoesNotExist") {
                    return None;
                }
                exprs.push((key, op, values));
            }
        }
        Some(Selector { labels, exprs })
    }

    /// The selector in the apiserver's query form (`app=web,tier in (a,b),!canary`), so a
    /// watch lists only the pods (or ReplicaSets) it selects; empty selects everything.
    pub(crate) fn to_query(&self) -> String {
        let mut parts: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for (key, op, values) in &self.exprs {
            parts.push(match op.as_str() {
                "In" => format!("{key} in ({})", values.join(",")),
                "NotIn" => format!("{key} notin ({})", values.join(",")),
                "Exists" => key.clone(),
                _ => format!("!{key}"),
            });
        }
        parts.join(",")
    }

    /// Whether a pod with these labels is selected. An empty selector selects every pod, as
    /// in Kubernetes.
    pub(crate) fn matches(&self, pod: &Value) -> bool {
        let labels = pod
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object);
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.labels.iter().all(|(k, v)| get(k) == Some(v.as_str()))
            && self.exprs.iter().all(|(k, op, values)| {
                let v = get(k);
                match op.as_str() {
                    "In" => v.is_some_and(|v| values.iter().any(|x| x == v)),
                    "NotIn" => v.is_none_or(|v| values.iter().all(|x| x != v)),
                    "Exists" => v.is_some(),
                    "DoesNotExist" => v.is_none(),
                    _ => false,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_match_labels_and_expressions_as_kubernetes_does() {
        let d = json!({"spec": {"selector": {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "edge"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "NotIn", "values": ["b"]}
            ]
        }}});
        let sel = Selector::of(&d).expect("valid selector");
        let pod = |labels: Value| json!({"metadata": {"labels": labels}});
        assert!(sel.matches(&pod(json!({"app": "web", "tier": "front"}))));
        assert!(sel.matches(&pod(json!({"app": "web", "tier": "edge", "zone": "a"}))));
        assert!(!sel.matches(&pod(json!({"app": "web", "tier": "back"}))));
        assert!(!sel.matches(&pod(json!({"app": "web", "tier": "front", "canary": "1"}))));
        assert!(!sel.matches(&pod(json!({"app": "web", "tier": "front", "zone": "b"}))));
        assert!(!sel.matches(&pod(json!({"app": "db", "tier": "front"}))));
        assert!(!sel.matches(&json!({"metadata": {}})));

        let all = Selector::of(&json!({"spec": {"selector": {}}})).expect("empty selector");
        assert!(all.matches(&json!({"metadata": {}})));
        assert!(Selector::of(&json!({"spec": {}})).is_none());
        let bad =
            json!({"spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Gt"}]}}});
        assert!(Selector::of(&bad).is_none());
    }

    #[test]
    fn failure_names_the_container_and_the_kubelets_reason() {
        let pod = json!({"status": {
            "initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 0}}}],
            "containerStatuses": [
                {"name": "web", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"nginx:nope\""}}},
                {"name": "side", "state": {"waiting": {"reason": "ContainerCreating"}}}
            ]
        }});
        assert_eq!(
            failure(&pod).as_deref(),
            Some("container web: ImagePullBackOff: Back-off pulling image \"nginx:nope\"")
        );
        assert_eq!(waiting_containers(&pod).len(), 2);
        let starting = json!({"status": {"containerStatuses": [
            {"name": "web", "state": {"waiting": {"reason": "ErrImagePull"}}}
        ]}});
        assert_eq!(failure(&starting), None);
    }
}
