//! Waiting for a set of objects to become healthy, with watches.
//!
//! Each kind and namespace is watched once (an object alone in its kind and namespace is
//! watched by name, with a field selector), so a set of a thousand objects costs a handful of
//! watches, not a thousand polls. Workloads also get a watch on the pods of their namespace,
//! and Deployments on its ReplicaSets, to see which pods belong to the current rollout and
//! why they do not start.
//!
//! The outcome follows Flux's `WaitForSet` (fluxcd/pkg/ssa): success once every object is
//! Current; on timeout an error naming each object that is not, with its status and
//! message; an early error when every object is either Current or Failed (nothing left to
//! wait for), or, in fail-fast mode, as soon as one is Failed. Fail-fast mode also counts a
//! workload as Failed when a pod of its current rollout is stuck for one of the
//! [`FAILURE_REASONS`](super::FAILURE_REASONS) (crash loop, image pull back-off…), where kstatus
//! would keep a Deployment InProgress until its progress deadline, ten minutes by default.

use super::pods::{self, Selector};
use super::{compute_kind, is_workload, with_pods, Health, HealthStatus};
use crate::ObjectId;
use futures::stream::{self, BoxStream};
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::Client;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::{Duration, SystemTime};

/// One object that did not become healthy, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotReady {
    pub id: ObjectId,
    pub health: Health,
}

impl fmt::Display for NotReady {
    /// `Deployment/apps/web status: 'InProgress': Available: 0/2`, Flux's form plus the
    /// message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} status: '{}'", self.id, self.health.status)?;
        if !self.health.message.is_empty() {
            write!(f, ": {}", self.health.message)?;
        }
        Ok(())
    }
}

fn list(items: &[NotReady]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a wait did not end with every object Current.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The timeout ran out; `not_ready` lists every object that was not Current then.
    #[error("timeout waiting for: [{}]", list(.not_ready))]
    Timeout {
        timeout: Duration,
        not_ready: Vec<NotReady>,
    },
    /// Objects failed (kstatus Failed, or a crashing pod in fail-fast mode) and waiting
    /// longer would not help.
    #[error("failed early due to stalled resources: [{}]", list(.failed))]
    Failed { failed: Vec<NotReady> },
}

impl HealthError {
    /// The objects the error is about.
    pub fn objects(&self) -> &[NotReady] {
        match self {
            HealthError::Timeout { not_ready, .. } => not_ready,
            HealthError::Failed { failed } => failed,
        }
    }
}

/// Waits until every object is Current, watching them (not polling).
///
/// `objects` are the resource serving each object (from [`crate::Discovery`]), whether it is
/// namespaced, and its id. Returns [`HealthError::Timeout`] listing the objects not Current
/// after `timeout`, or [`HealthError::Failed`] early when every object not Current has
/// Failed, or (with `fail_fast`) as soon as one has, including a workload whose pods crash.
/// Watch errors (a kind no longer served, a lost connection) are retried with back-off until
/// the timeout, and show up in the objects' messages if they persist.
pub async fn wait(
    client: Client,
    objects: Vec<(ApiResource, bool, ObjectId)>,
    timeout: Duration,
    fail_fast: bool,
) -> Result<(), HealthError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut state = State::new(&client, objects, fail_fast);
    if state.objects.is_empty() {
        return Ok(());
    }
    let mut events = stream::select_all(state.streams());
    loop {
        if let Some(result) = state.outcome() {
            return result;
        }
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some((watch, event))) => state.handle(watch, event),
            // Watch streams retry forever; they end only if the runtime shuts down.
            Ok(None) | Err(_) => {
                return Err(HealthError::Timeout {
                    timeout,
                    not_ready: state.not_current(),
                })
            }
        }
    }
}

/// One item of a watch stream.
type WatchEvent = Result<Event<DynamicObject>, watcher::Error>;

/// What a watch is for.
enum Target {
    /// Tracked objects of one resource in one namespace (or cluster-wide), by name.
    Objects {
        by_name: HashMap<String, Vec<usize>>,
        /// Names seen since the current (re)list began.
        listing: Option<HashSet<String>>,
    },
    /// Pods of a namespace holding tracked workloads.
    Pods {
        namespace: String,
        pods: HashMap<String, PodInfo>,
        listing: Option<HashMap<String, PodInfo>>,
    },
    /// ReplicaSets of a namespace holding tracked Deployments.
    ReplicaSets {
        namespace: String,
        sets: HashMap<String, RsInfo>,
        listing: Option<HashMap<String, RsInfo>>,
    },
}

struct Watch {
    api: Api<DynamicObject>,
    config: watcher::Config,
    target: Target,
    /// The last error of this watch, cleared by the next event.
    error: Option<String>,
}

/// What the waiter keeps of a pod.
struct PodInfo {
    labels: Value,
    health: Health,
    failure: Option<String>,
}

/// What the waiter keeps of a ReplicaSet: which Deployments own it, its revision and the
/// `pod-template-hash` its pods carry.
struct RsInfo {
    owners: Vec<String>,
    revision: Option<String>,
    hash: Option<String>,
}

struct Tracked {
    id: ObjectId,
    group: String,
    watch: usize,
    /// The last version seen; `None` when not (or no longer) found.
    live: Option<Value>,
    /// Whether a list or event has told us about this object yet.
    observed: bool,
    /// kstatus's status of the object alone.
    own: Health,
    /// The status reported: `own`, adjusted for pods of workloads.
    health: Health,
}

struct State {
    objects: Vec<Tracked>,
    watches: Vec<Watch>,
    /// Workloads per namespace, refreshed when pods or ReplicaSets there change.
    workloads: BTreeMap<String, Vec<usize>>,
    pod_watch: HashMap<String, usize>,
    rs_watch: HashMap<String, usize>,
    fail_fast: bool,
}

fn not_observed() -> Health {
    Health::new(HealthStatus::Unknown, "status not yet observed")
}

fn name_of(obj: &DynamicObject) -> String {
    obj.metadata.name.clone().unwrap_or_default()
}

fn to_json(obj: &DynamicObject) -> Result<Value, String> {
    serde_json::to_value(obj).map_err(|e| format!("cannot read the object: {e}"))
}

fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("labels")?.get(key)?.as_str()
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// Whether the workload's controller has acted on its latest spec, so that its status (and
/// revision annotations) describe the rollout the caller is waiting for.
fn generation_observed(obj: &Value) -> bool {
    let generation = obj.get("metadata").and_then(|m| m.get("generation"));
    let observed = obj.get("status").and_then(|s| s.get("observedGeneration"));
    matches!((generation, observed), (Some(g), Some(o)) if g == o)
}

impl PodInfo {
    fn of(pod: &DynamicObject) -> PodInfo {
        match to_json(pod) {
            Ok(v) => PodInfo {
                labels: serde_json::json!({"metadata": {"labels": v
                    .get("metadata")
                    .and_then(|m| m.get("labels"))
                    .cloned()
                    .unwrap_or(Value::Null)}}),
                health: compute_kind("", "Pod", &v, SystemTime::now()),
                failure: pods::failure(&v),
            },
            Err(e) => PodInfo {
                labels: Value::Null,
                health: Health::new(HealthStatus::Unknown, e),
                failure: None,
            },
        }
    }
}

impl RsInfo {
    fn of(rs: &DynamicObject) -> RsInfo {
        RsInfo {
            owners: rs
                .metadata
                .owner_references
                .iter()
                .flatten()
                .filter(|o| o.kind == "Deployment")
                .map(|o| o.uid.clone())
                .collect(),
            revision: rs
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("deployment.kubernetes.io/revision"))
                .cloned(),
            hash: rs
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("pod-template-hash"))
                .cloned(),
        }
    }
}

impl State {
    fn new(client: &Client, objects: Vec<(ApiResource, bool, ObjectId)>, fail_fast: bool) -> State {
        let mut state = State {
            objects: Vec::new(),
            watches: Vec::new(),
            workloads: BTreeMap::new(),
            pod_watch: HashMap::new(),
            rs_watch: HashMap::new(),
            fail_fast,
        };
        // One watch per resource and namespace.
        type Key = (String, String, String, String);
        let mut seen = HashSet::new();
        let mut groups: BTreeMap<Key, Vec<(ApiResource, bool, ObjectId)>> = BTreeMap::new();
        for (resource, namespaced, id) in objects {
            if !seen.insert(id.clone()) {
                continue;
            }
            let ns = if namespaced {
                id.namespace.clone()
            } else {
                String::new()
            };
            let key = (
                resource.group.clone(),
                resource.version.clone(),
                resource.plural.clone(),
                ns,
            );
            groups
                .entry(key)
                .or_default()
                .push((resource, namespaced, id));
        }
        for ((_, _, _, ns), members) in groups {
            let Some((resource, namespaced, first)) = members.first() else {
                continue;
            };
            let api = if *namespaced {
                Api::namespaced_with(client.clone(), &ns, resource)
            } else {
                Api::all_with(client.clone(), resource)
            };
            let mut config = watcher::Config::default();
            if members.len() == 1 {
                config = config.fields(&format!("metadata.name={}", first.name));
            }
            let watch = state.watches.len();
            let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
            for (resource, namespaced, id) in &members {
                let idx = state.objects.len();
                by_name.entry(id.name.clone()).or_default().push(idx);
                if *namespaced && is_workload(&resource.group, &resource.kind) {
                    state.workloads.entry(ns.clone()).or_default().push(idx);
                }
                state.objects.push(Tracked {
                    id: id.clone(),
                    group: resource.group.clone(),
                    watch,
                    live: None,
                    observed: false,
                    own: not_observed(),
                    health: not_observed(),
                });
            }
            state.watches.push(Watch {
                api,
                config,
                target: Target::Objects {
                    by_name,
                    listing: None,
                },
                error: None,
            });
        }
        let namespaces: Vec<(String, bool)> = state
            .workloads
            .iter()
            .map(|(ns, idxs)| {
                let deployments = idxs
                    .iter()
                    .any(|&i| state.objects[i].id.kind == "Deployment");
                (ns.clone(), deployments)
            })
            .collect();
        let pod = ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&());
        let rs = ApiResource::erase::<k8s_openapi::api::apps::v1::ReplicaSet>(&());
        for (ns, deployments) in namespaces {
            state.pod_watch.insert(ns.clone(), state.watches.len());
            state.watches.push(Watch {
                api: Api::namespaced_with(client.clone(), &ns, &pod),
                config: watcher::Config::default(),
                target: Target::Pods {
                    namespace: ns.clone(),
                    pods: HashMap::new(),
                    listing: None,
                },
                error: None,
            });
            if deployments {
                state.rs_watch.insert(ns.clone(), state.watches.len());
                state.watches.push(Watch {
                    api: Api::namespaced_with(client.clone(), &ns, &rs),
                    config: watcher::Config::default(),
                    target: Target::ReplicaSets {
                        namespace: ns.clone(),
                        sets: HashMap::new(),
                        listing: None,
                    },
                    error: None,
                });
            }
        }
        state
    }

    /// One event stream per watch, tagged with the watch's index. Back-off between retries
    /// keeps a persistent error (a kind no longer served) from hammering the apiserver.
    fn streams(&self) -> Vec<BoxStream<'static, (usize, WatchEvent)>> {
        self.watches
            .iter()
            .enumerate()
            .map(|(i, w)| {
                watcher(w.api.clone(), w.config.clone())
                    .default_backoff()
                    .map(move |e| (i, e))
                    .boxed()
            })
            .collect()
    }

    fn handle(&mut self, watch: usize, event: WatchEvent) {
        let event = match event {
            Ok(event) => {
                self.watches[watch].error = None;
                event
            }
            Err(e) => {
                tracing::debug!("health watch error: {e}");
                self.watches[watch].error = Some(e.to_string());
                return;
            }
        };
        let mut updates: Vec<(String, Option<DynamicObject>)> = Vec::new();
        let mut namespace_changed = None;
        match &mut self.watches[watch].target {
            Target::Objects { by_name, listing } => match event {
                Event::Init => *listing = Some(HashSet::new()),
                Event::InitApply(obj) => {
                    if let Some(l) = listing.as_mut() {
                        l.insert(name_of(&obj));
                    }
                    updates.push((name_of(&obj), Some(obj)));
                }
                Event::InitDone => {
                    let listed = listing.take().unwrap_or_default();
                    for name in by_name.keys() {
                        if !listed.contains(name) {
                            updates.push((name.clone(), None));
                        }
                    }
                }
                Event::Apply(obj) => updates.push((name_of(&obj), Some(obj))),
                Event::Delete(obj) => updates.push((name_of(&obj), None)),
            },
            Target::Pods {
                namespace,
                pods,
                listing,
            } => {
                match event {
                    Event::Init => *listing = Some(HashMap::new()),
                    Event::InitApply(pod) => {
                        if let Some(l) = listing.as_mut() {
                            l.insert(name_of(&pod), PodInfo::of(&pod));
                        }
                    }
                    Event::InitDone => *pods = listing.take().unwrap_or_default(),
                    Event::Apply(pod) => {
                        pods.insert(name_of(&pod), PodInfo::of(&pod));
                    }
                    Event::Delete(pod) => {
                        pods.remove(&name_of(&pod));
                    }
                }
                namespace_changed = Some(namespace.clone());
            }
            Target::ReplicaSets {
                namespace,
                sets,
                listing,
            } => {
                match event {
                    Event::Init => *listing = Some(HashMap::new()),
                    Event::InitApply(rs) => {
                        if let Some(l) = listing.as_mut() {
                            l.insert(name_of(&rs), RsInfo::of(&rs));
                        }
                    }
                    Event::InitDone => *sets = listing.take().unwrap_or_default(),
                    Event::Apply(rs) => {
                        sets.insert(name_of(&rs), RsInfo::of(&rs));
                    }
                    Event::Delete(rs) => {
                        sets.remove(&name_of(&rs));
                    }
                }
                namespace_changed = Some(namespace.clone());
            }
        }
        for (name, obj) in updates {
            self.update(watch, &name, obj);
        }
        if let Some(ns) = namespace_changed {
            let idxs = self.workloads.get(&ns).cloned().unwrap_or_default();
            for idx in idxs {
                self.refresh(idx);
            }
        }
    }

    /// Records the latest version of a tracked object (`None`: not found) and recomputes it.
    fn update(&mut self, watch: usize, name: &str, obj: Option<DynamicObject>) {
        let idxs = match &self.watches[watch].target {
            Target::Objects { by_name, .. } => by_name.get(name).cloned().unwrap_or_default(),
            _ => return,
        };
        for idx in idxs {
            let t = &mut self.objects[idx];
            let was_ttl_job = t.id.kind == "Job"
                && t.live.as_ref().is_some_and(|j| {
                    j.get("spec")
                        .and_then(|s| s.get("ttlSecondsAfterFinished"))
                        .is_some_and(|v| !v.is_null())
                });
            t.observed = true;
            match obj.as_ref().map(to_json) {
                Some(Ok(v)) => {
                    t.own = compute_kind(&t.group, &t.id.kind, &v, SystemTime::now());
                    t.live = Some(v);
                }
                Some(Err(e)) => {
                    t.own = Health::new(HealthStatus::Unknown, e);
                    t.live = None;
                }
                // As Flux does, a Job with a TTL that disappears was deleted by the TTL
                // controller after it finished.
                None if was_ttl_job => {
                    t.own = Health::new(
                        HealthStatus::Current,
                        "Job deleted after it finished (ttlSecondsAfterFinished)",
                    );
                    t.live = None;
                }
                None => {
                    t.own = Health::new(HealthStatus::Unknown, "not found");
                    t.live = None;
                }
            }
            self.refresh(idx);
        }
    }

    /// Recomputes the reported health of one object from its own status and, for workloads,
    /// its pods.
    fn refresh(&mut self, idx: usize) {
        let t = &self.objects[idx];
        let kind = t.id.kind.as_str();
        let mut health = t.own.clone();
        let Some(live) = t.live.as_ref() else {
            self.objects[idx].health = health;
            return;
        };
        if kind == "Pod" && t.group.is_empty() {
            if self.fail_fast && matches!(health.status, HealthStatus::InProgress) {
                if let Some(f) = pods::failure(live) {
                    health = Health::new(HealthStatus::Failed, format!("{} ({f})", health.message));
                }
            }
            self.objects[idx].health = health;
            return;
        }
        let pod_store =
            self.pod_watch
                .get(&t.id.namespace)
                .and_then(|&w| match &self.watches[w].target {
                    Target::Pods { pods, .. } => Some(pods),
                    _ => None,
                });
        let (Some(pod_store), Some(selector)) = (pod_store, Selector::of(live)) else {
            self.objects[idx].health = health;
            return;
        };
        if !is_workload(&t.group, kind) {
            self.objects[idx].health = health;
            return;
        }
        // Pods of the rollout being waited for: a Deployment's newest ReplicaSet, a
        // StatefulSet's update revision. Old pods still crashing from the previous version
        // say nothing about the new one.
        let observed = generation_observed(live);
        let rollout: Box<dyn Fn(&PodInfo) -> bool> = match kind {
            "Deployment" => {
                let uid = live
                    .get("metadata")
                    .and_then(|m| m.get("uid"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let revision = annotation(live, "deployment.kubernetes.io/revision");
                let hash = self.rs_watch.get(&t.id.namespace).and_then(|&w| {
                    match &self.watches[w].target {
                        Target::ReplicaSets { sets, .. } => sets
                            .values()
                            .find(|rs| {
                                rs.owners.iter().any(|o| o == uid)
                                    && rs.revision.as_deref() == revision
                                    && revision.is_some()
                            })
                            .and_then(|rs| rs.hash.clone()),
                        _ => None,
                    }
                });
                match hash {
                    Some(hash) => Box::new(move |p: &PodInfo| {
                        label(&p.labels, "pod-template-hash") == Some(&hash)
                    }),
                    None => Box::new(|_: &PodInfo| false),
                }
            }
            "StatefulSet" => {
                match live
                    .get("status")
                    .and_then(|s| s.get("updateRevision"))
                    .and_then(Value::as_str)
                {
                    Some(rev) => {
                        let rev = rev.to_string();
                        Box::new(move |p: &PodInfo| {
                            label(&p.labels, "controller-revision-hash") == Some(&rev)
                        })
                    }
                    None => Box::new(|_: &PodInfo| true),
                }
            }
            _ => Box::new(|_: &PodInfo| true),
        };
        let mut selected: Vec<(&str, &Health, Option<&str>)> = pod_store
            .iter()
            .filter(|(_, p)| selector.matches(&p.labels))
            .map(|(name, p)| {
                let failure = if observed && rollout(p) {
                    p.failure.as_deref()
                } else {
                    None
                };
                (name.as_str(), &p.health, failure)
            })
            .collect();
        selected.sort_by(|a, b| a.0.cmp(b.0));
        let crashing = selected.iter().any(|(_, _, f)| f.is_some());
        health = with_pods(&t.group, kind, health, &selected);
        if self.fail_fast && crashing && health.status == HealthStatus::InProgress {
            health.status = HealthStatus::Failed;
        }
        self.objects[idx].health = health;
    }

    /// `Some` when the wait is over: all Current, or failures that waiting will not fix.
    fn outcome(&self) -> Option<Result<(), HealthError>> {
        if self.objects.iter().all(|t| t.health.is_current()) {
            return Some(Ok(()));
        }
        let failed: Vec<NotReady> = self
            .objects
            .iter()
            .filter(|t| t.health.status == HealthStatus::Failed)
            .map(|t| NotReady {
                id: t.id.clone(),
                health: t.health.clone(),
            })
            .collect();
        if failed.is_empty() {
            return None;
        }
        // Flux stops early when nothing is left that could still change: every object is
        // either Current or Failed.
        let terminal = self.objects.iter().all(|t| {
            matches!(
                t.health.status,
                HealthStatus::Current | HealthStatus::Failed
            )
        });
        if self.fail_fast || terminal {
            let mut failed = failed;
            failed.sort_by(|a, b| a.id.cmp(&b.id));
            return Some(Err(HealthError::Failed { failed }));
        }
        None
    }

    /// Every object that is not Current, with its status and why.
    fn not_current(&self) -> Vec<NotReady> {
        let mut out: Vec<NotReady> = self
            .objects
            .iter()
            .filter(|t| !t.health.is_current())
            .map(|t| {
                let health = match (&self.watches[t.watch].error, t.observed) {
                    (Some(e), false) => {
                        Health::new(HealthStatus::Unknown, format!("cannot watch it: {e}"))
                    }
                    _ => t.health.clone(),
                };
                NotReady {
                    id: t.id.clone(),
                    health,
                }
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }
}
