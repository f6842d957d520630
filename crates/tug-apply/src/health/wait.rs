//! Waiting for a set of objects to become healthy, with watches.
//!
//! Each kind is watched once per namespace (an object alone in its kind and namespace is
//! watched by name, with a field selector), or once cluster-wide when its objects span more
//! than a few namespaces, so a set of a thousand objects costs a handful of watches, not a
//! thousand polls. A workload that is not Current and expects pods also gets a watch on the
//! pods of its namespace, and a Deployment on the ReplicaSets, to see which pods belong to
//! the current rollout and why they do not start. Those watches start only when needed (a
//! namespace of a thousand Deployments scaled to zero never lists its ReplicaSets) and,
//! for a namespace with one workload, list only what its selector selects. (Cluster-wide
//! watches need cluster-wide list/watch permission, which a GitOps controller has.)
//!
//! The outcome follows Flux's `WaitForSet` (fluxcd/pkg/ssa): success once every object is
//! Current; on timeout an error naming each object that is not, with its status and
//! message; an early error when every object is either Current or Failed (nothing left to
//! wait for), or, in fail-fast mode, as soon as one is Failed. Fail-fast mode also counts a
//! workload as Failed when a pod of its current rollout is stuck for one of the
//! [`FAILURE_REASONS`](super::FAILURE_REASONS) (crash loop, image pull back-off…), where kstatus
//! would keep a Deployment InProgress until its progress deadline, ten minutes by default.

use super::pods::{self, Selector};
use super::rules::POD_NOT_SCHEDULED;
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
    for i in state.start_needed() {
        events.push(state.stream(i));
    }
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if let Some(result) = state.outcome() {
            return result;
        }
        tokio::select! {
            next = events.next() => match next {
                Some((watch, event)) => {
                    state.handle(watch, event);
                    for i in state.start_needed() {
                        events.push(state.stream(i));
                    }
                }
                // Watch streams retry forever; they end only if the runtime shuts down.
                None => break,
            },
            _ = recheck.tick() => state.recheck(),
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    Err(HealthError::Timeout {
        timeout,
        not_ready: state.not_current(),
    })
}

/// How often statuses that change with time alone (a pod past kstatus's schedule window)
/// are recomputed from what the watches last said. No request is made.
const RECHECK: Duration = Duration::from_secs(5);

/// One item of a watch stream.
type WatchEvent = Result<Event<DynamicObject>, watcher::Error>;

/// Namespace and name; the namespace is empty for cluster-scoped objects.
type Key = (String, String);

/// Above this many namespaces, a resource is watched once cluster-wide rather than once per
/// namespace: a thousand watches would mean a thousand connections to the apiserver.
const NAMESPACES_PER_RESOURCE: usize = 8;

/// What a watch is for.
enum Target {
    /// Tracked objects of one resource, by namespace and name.
    Objects {
        by_key: HashMap<Key, Vec<usize>>,
        /// Objects seen since the current (re)list began.
        listing: Option<HashSet<Key>>,
    },
    /// Pods (or ReplicaSets) in namespaces holding tracked workloads; those of other
    /// namespaces (on a cluster-wide watch) are ignored.
    Pods(Store<PodInfo>),
    ReplicaSets(Store<RsInfo>),
}

/// What the waiter keeps of the pods or ReplicaSets of some namespaces.
struct Store<T> {
    namespaces: HashSet<String>,
    items: HashMap<Key, T>,
    listing: Option<HashMap<Key, T>>,
}

impl<T> Store<T> {
    fn new(namespaces: HashSet<String>) -> Self {
        Store {
            namespaces,
            items: HashMap::new(),
            listing: None,
        }
    }

    /// Applies a watch event; returns the namespaces whose contents changed.
    fn apply(
        &mut self,
        event: Event<DynamicObject>,
        read: impl Fn(&DynamicObject) -> T,
    ) -> Vec<String> {
        let interesting = |o: &DynamicObject| self.namespaces.contains(&namespace_of(o));
        match event {
            Event::Init => {
                self.listing = Some(HashMap::new());
                Vec::new()
            }
            Event::InitApply(o) => {
                if interesting(&o) {
                    let item = read(&o);
                    if let Some(l) = self.listing.as_mut() {
                        l.insert(key_of(&o), item);
                    }
                }
                Vec::new()
            }
            Event::InitDone => {
                self.items = self.listing.take().unwrap_or_default();
                self.namespaces.iter().cloned().collect()
            }
            Event::Apply(o) => {
                if !interesting(&o) {
                    return Vec::new();
                }
                self.items.insert(key_of(&o), read(&o));
                vec![namespace_of(&o)]
            }
            Event::Delete(o) => {
                if !interesting(&o) {
                    return Vec::new();
                }
                self.items.remove(&key_of(&o));
                vec![namespace_of(&o)]
            }
        }
    }

    /// Recomputes items whose status may have changed with time; returns the namespaces
    /// where one did.
    fn recheck(&mut self, update: impl Fn(&mut T) -> bool) -> Vec<String> {
        let mut changed: Vec<String> = self
            .items
            .iter_mut()
            .filter_map(|((ns, _), item)| update(item).then(|| ns.clone()))
            .collect();
        changed.sort();
        changed.dedup();
        changed
    }

    fn in_namespace<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = (&'a str, &'a T)> + 'a {
        self.items
            .iter()
            .filter(move |((n, _), _)| n == ns)
            .map(|((_, name), item)| (name.as_str(), item))
    }
}

struct Watch {
    api: Api<DynamicObject>,
    config: watcher::Config,
    target: Target,
    /// The last error of this watch, cleared by the next event.
    error: Option<String>,
    /// Pod and ReplicaSet watches start when a workload needs them.
    started: bool,
}

/// What the waiter keeps of a pod.
struct PodInfo {
    labels: Value,
    health: Health,
    failure: Option<String>,
    /// The pod, kept only while its status may change with time alone.
    recheck: Option<Value>,
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
    /// The watch holding each namespace's pods, and ReplicaSets.
    pod_watch: HashMap<String, usize>,
    rs_watch: HashMap<String, usize>,
    fail_fast: bool,
}

fn not_observed() -> Health {
    Health::new(HealthStatus::Unknown, "status not yet observed")
}

fn namespace_of(obj: &DynamicObject) -> String {
    obj.metadata.namespace.clone().unwrap_or_default()
}

fn key_of(obj: &DynamicObject) -> Key {
    (
        namespace_of(obj),
        obj.metadata.name.clone().unwrap_or_default(),
    )
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
            Ok(v) => {
                let health = compute_kind("", "Pod", &v, SystemTime::now());
                PodInfo {
                    labels: serde_json::json!({"metadata": {"labels": v
                        .get("metadata")
                        .and_then(|m| m.get("labels"))
                        .cloned()
                        .unwrap_or(Value::Null)}}),
                    failure: pods::failure(&v),
                    recheck: (health.message == POD_NOT_SCHEDULED).then(|| v.clone()),
                    health,
                }
            }
            Err(e) => PodInfo {
                labels: Value::Null,
                health: Health::new(HealthStatus::Unknown, e),
                failure: None,
                recheck: None,
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

/// The API for `resource` in `namespace`, or cluster-wide when `namespace` is `None`.
fn api(client: &Client, resource: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
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
        // Group by resource, then by namespace.
        type Members = BTreeMap<String, Vec<ObjectId>>;
        let mut seen = HashSet::new();
        let mut resources: BTreeMap<(String, String, String), (ApiResource, bool, Members)> =
            BTreeMap::new();
        for (resource, namespaced, mut id) in objects {
            if !namespaced {
                id.namespace.clear();
            }
            if !seen.insert(id.clone()) {
                continue;
            }
            let key = (
                resource.group.clone(),
                resource.version.clone(),
                resource.plural.clone(),
            );
            let entry = resources
                .entry(key)
                .or_insert_with(|| (resource, namespaced, BTreeMap::new()));
            entry.2.entry(id.namespace.clone()).or_default().push(id);
        }
        for (resource, namespaced, by_ns) in resources.into_values() {
            let watch_groups: Vec<(Option<&str>, Vec<&ObjectId>)> =
                if namespaced && by_ns.len() > NAMESPACES_PER_RESOURCE {
                    vec![(None, by_ns.values().flatten().collect())]
                } else {
                    by_ns
                        .iter()
                        .map(|(ns, ids)| (namespaced.then_some(ns.as_str()), ids.iter().collect()))
                        .collect()
                };
            for (scope, ids) in watch_groups {
                let mut config = watcher::Config::default();
                if let [only] = ids.as_slice() {
                    config = config.fields(&format!("metadata.name={}", only.name));
                }
                let watch = state.watches.len();
                let mut by_key: HashMap<Key, Vec<usize>> = HashMap::new();
                for id in ids {
                    let idx = state.objects.len();
                    by_key
                        .entry((id.namespace.clone(), id.name.clone()))
                        .or_default()
                        .push(idx);
                    if namespaced && is_workload(&resource.group, &resource.kind) {
                        state
                            .workloads
                            .entry(id.namespace.clone())
                            .or_default()
                            .push(idx);
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
                    api: api(client, &resource, scope),
                    config,
                    target: Target::Objects {
                        by_key,
                        listing: None,
                    },
                    error: None,
                    started: true,
                });
            }
        }
        // Pods (and ReplicaSets, for Deployments) of the workloads' namespaces.
        let namespaces: HashSet<String> = state.workloads.keys().cloned().collect();
        let with_deployments: HashSet<String> = state
            .workloads
            .iter()
            .filter(|(_, idxs)| {
                idxs.iter()
                    .any(|&i| state.objects[i].id.kind == "Deployment")
            })
            .map(|(ns, _)| ns.clone())
            .collect();
        let pod = ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&());
        let rs = ApiResource::erase::<k8s_openapi::api::apps::v1::ReplicaSet>(&());
        for (namespaces, resource, is_pods) in
            [(namespaces, pod, true), (with_deployments, rs, false)]
        {
            if namespaces.is_empty() {
                continue;
            }
            let scopes: Vec<Option<String>> = if namespaces.len() > NAMESPACES_PER_RESOURCE {
                vec![None]
            } else {
                namespaces.iter().cloned().map(Some).collect()
            };
            for scope in scopes {
                let interest: HashSet<String> = match &scope {
                    Some(ns) => [ns.clone()].into(),
                    None => namespaces.clone(),
                };
                let watch = state.watches.len();
                let index = if is_pods {
                    &mut state.pod_watch
                } else {
                    &mut state.rs_watch
                };
                for ns in &interest {
                    index.insert(ns.clone(), watch);
                }
                let target = if is_pods {
                    Target::Pods(Store::new(interest))
                } else {
                    Target::ReplicaSets(Store::new(interest))
                };
                state.watches.push(Watch {
                    api: api(client, &resource, scope.as_deref()),
                    config: watcher::Config::default(),
                    target,
                    error: None,
                    started: false,
                });
            }
        }
        state
    }

    /// One event stream per started watch.
    fn streams(&self) -> Vec<BoxStream<'static, (usize, WatchEvent)>> {
        (0..self.watches.len())
            .filter(|&i| self.watches[i].started)
            .map(|i| self.stream(i))
            .collect()
    }

    /// The event stream of watch `i`, tagged with its index. Back-off between retries keeps
    /// a persistent error (a kind no longer served) from hammering the apiserver.
    fn stream(&self, i: usize) -> BoxStream<'static, (usize, WatchEvent)> {
        let w = &self.watches[i];
        watcher(w.api.clone(), w.config.clone())
            .default_backoff()
            .map(move |e| (i, e))
            .boxed()
    }

    /// Marks the pod and ReplicaSet watches that a workload now needs as started, and
    /// returns them: a workload needs its pods once it is seen not Current while it expects
    /// pods. A watch for a namespace with a single workload selects that workload's pods.
    fn start_needed(&mut self) -> Vec<usize> {
        let needy: HashSet<&str> = self
            .workloads
            .iter()
            .filter(|(_, idxs)| idxs.iter().any(|&i| self.needs_pods(i)))
            .map(|(ns, _)| ns.as_str())
            .collect();
        if needy.is_empty() {
            return Vec::new();
        }
        let mut started = Vec::new();
        for (i, w) in self.watches.iter().enumerate() {
            if w.started {
                continue;
            }
            let interest = match &w.target {
                Target::Pods(store) => &store.namespaces,
                Target::ReplicaSets(store) => &store.namespaces,
                Target::Objects { .. } => continue,
            };
            if !interest.iter().any(|ns| needy.contains(ns.as_str())) {
                continue;
            }
            let mut selector = None;
            if let [ns] = interest.iter().collect::<Vec<_>>().as_slice() {
                if let Some([only]) = self.workloads.get(*ns).map(Vec::as_slice) {
                    selector = self.objects[*only]
                        .live
                        .as_ref()
                        .and_then(Selector::of)
                        .map(|s| s.to_query())
                        .filter(|q| !q.is_empty());
                }
            }
            started.push((i, selector));
        }
        started
            .into_iter()
            .map(|(i, selector)| {
                let w = &mut self.watches[i];
                w.started = true;
                if let Some(q) = selector {
                    w.config = w.config.clone().labels(&q);
                }
                i
            })
            .collect()
    }

    /// Whether tracked workload `idx` is not Current while pods are expected of it.
    fn needs_pods(&self, idx: usize) -> bool {
        let t = &self.objects[idx];
        let Some(live) = &t.live else {
            return false;
        };
        if t.own.is_current() || t.own.status == HealthStatus::Terminating {
            return false;
        }
        match t.id.kind.as_str() {
            "DaemonSet" => true,
            _ => live
                .get("spec")
                .and_then(|s| s.get("replicas"))
                .and_then(Value::as_i64)
                .is_none_or(|r| r > 0),
        }
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
        let mut updates: Vec<(Key, Option<DynamicObject>)> = Vec::new();
        let changed: Vec<String> = match &mut self.watches[watch].target {
            Target::Objects { by_key, listing } => {
                match event {
                    Event::Init => *listing = Some(HashSet::new()),
                    Event::InitApply(obj) => {
                        if let Some(l) = listing.as_mut() {
                            l.insert(key_of(&obj));
                        }
                        updates.push((key_of(&obj), Some(obj)));
                    }
                    Event::InitDone => {
                        let listed = listing.take().unwrap_or_default();
                        for key in by_key.keys() {
                            if !listed.contains(key) {
                                updates.push((key.clone(), None));
                            }
                        }
                    }
                    Event::Apply(obj) => updates.push((key_of(&obj), Some(obj))),
                    Event::Delete(obj) => updates.push((key_of(&obj), None)),
                }
                Vec::new()
            }
            Target::Pods(store) => store.apply(event, PodInfo::of),
            Target::ReplicaSets(store) => store.apply(event, RsInfo::of),
        };
        for (key, obj) in updates {
            self.update(watch, &key, obj);
        }
        for ns in changed {
            let idxs = self.workloads.get(&ns).cloned().unwrap_or_default();
            for idx in idxs {
                self.refresh(idx);
            }
        }
    }

    /// Records the latest version of a tracked object (`None`: not found) and recomputes it.
    fn update(&mut self, watch: usize, key: &Key, obj: Option<DynamicObject>) {
        let idxs = match &self.watches[watch].target {
            Target::Objects { by_key, .. } => by_key.get(key).cloned().unwrap_or_default(),
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

    /// The pods in a namespace, if they are watched.
    fn pods_in<'a>(&'a self, ns: &'a str) -> Vec<(&'a str, &'a PodInfo)> {
        let Some(&w) = self.pod_watch.get(ns) else {
            return Vec::new();
        };
        match &self.watches[w].target {
            Target::Pods(store) => store.in_namespace(ns).collect(),
            _ => Vec::new(),
        }
    }

    /// The `pod-template-hash` of a Deployment's newest ReplicaSet (the one whose revision
    /// is the Deployment's).
    fn newest_template_hash(&self, deployment: &Value, ns: &str) -> Option<String> {
        let uid = deployment.get("metadata")?.get("uid")?.as_str()?;
        let revision = annotation(deployment, "deployment.kubernetes.io/revision")?;
        let &w = self.rs_watch.get(ns)?;
        let Target::ReplicaSets(store) = &self.watches[w].target else {
            return None;
        };
        store
            .in_namespace(ns)
            .map(|(_, rs)| rs)
            .find(|rs| {
                rs.owners.iter().any(|o| o == uid) && rs.revision.as_deref() == Some(revision)
            })
            .and_then(|rs| rs.hash.clone())
    }

    /// Recomputes the reported health of one object from its own status and, for workloads,
    /// its pods.
    fn refresh(&mut self, idx: usize) {
        let health = self.health_of(idx);
        self.objects[idx].health = health;
    }

    fn health_of(&self, idx: usize) -> Health {
        let t = &self.objects[idx];
        let kind = t.id.kind.as_str();
        let health = t.own.clone();
        let Some(live) = t.live.as_ref() else {
            return health;
        };
        if kind == "Pod" && t.group.is_empty() {
            if self.fail_fast && health.status == HealthStatus::InProgress {
                if let Some(f) = pods::failure(live) {
                    return Health::new(HealthStatus::Failed, format!("{} ({f})", health.message));
                }
            }
            return health;
        }
        if !is_workload(&t.group, kind) {
            return health;
        }
        let Some(selector) = Selector::of(live) else {
            return health;
        };
        // Pods of the rollout being waited for: a Deployment's newest ReplicaSet's, a
        // StatefulSet's update revision's. Pods of the previous version, still crashing
        // while the fix rolls out, say nothing about the new one.
        let rollout: Option<(&str, String)> = match kind {
            "Deployment" => self
                .newest_template_hash(live, &t.id.namespace)
                .map(|h| ("pod-template-hash", h)),
            "StatefulSet" => live
                .get("status")
                .and_then(|s| s.get("updateRevision"))
                .and_then(Value::as_str)
                .map(|r| ("controller-revision-hash", r.to_string())),
            _ => None,
        };
        let in_rollout = |p: &PodInfo| -> bool {
            if !generation_observed(live) {
                return false;
            }
            match (&rollout, kind) {
                (Some((key, value)), _) => label(&p.labels, key) == Some(value.as_str()),
                // Without its newest ReplicaSet, a Deployment's pods cannot be told apart.
                (None, "Deployment") => false,
                (None, _) => true,
            }
        };
        // kstatus's poller counts every selected pod; tug counts those of the current
        // rollout only, so that a StatefulSet whose fix is rolling out is not called Failed
        // because of the crashing pods it is about to replace.
        let mut selected: Vec<(&str, &Health, Option<&str>)> = self
            .pods_in(&t.id.namespace)
            .into_iter()
            .filter(|(_, p)| selector.matches(&p.labels) && in_rollout(p))
            .map(|(name, p)| (name, &p.health, p.failure.as_deref()))
            .collect();
        selected.sort_by(|a, b| a.0.cmp(b.0));
        let crashing = selected.iter().any(|(_, _, f)| f.is_some());
        let mut health = with_pods(&t.group, kind, health, &selected);
        if self.fail_fast && crashing && health.status == HealthStatus::InProgress {
            health.status = HealthStatus::Failed;
        }
        health
    }

    /// Recomputes the statuses that change with time alone: pods (tracked, or of tracked
    /// workloads) waiting within kstatus's schedule window.
    fn recheck(&mut self) {
        let now = SystemTime::now();
        for idx in 0..self.objects.len() {
            let t = &mut self.objects[idx];
            if t.own.message != POD_NOT_SCHEDULED {
                continue;
            }
            if let Some(live) = &t.live {
                t.own = compute_kind(&t.group, &t.id.kind, live, now);
                self.refresh(idx);
            }
        }
        let mut changed = Vec::new();
        for w in &mut self.watches {
            if let Target::Pods(store) = &mut w.target {
                changed.extend(store.recheck(|p| {
                    let Some(pod) = &p.recheck else {
                        return false;
                    };
                    let health = compute_kind("", "Pod", pod, now);
                    if health == p.health {
                        return false;
                    }
                    if health.message != POD_NOT_SCHEDULED {
                        p.recheck = None;
                    }
                    p.health = health;
                    true
                }));
            }
        }
        for ns in changed {
            for idx in self.workloads.get(&ns).cloned().unwrap_or_default() {
                self.refresh(idx);
            }
        }
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

#[cfg(test)]
mod tests {
    //! The waiter's bookkeeping, fed watch events by hand (no apiserver): which events
    //! change what the user is told.

    use super::*;
    use serde_json::json;

    fn client() -> Client {
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("url"));
        Client::try_from(config).expect("client")
    }

    fn id(group: &str, kind: &str, ns: &str, name: &str) -> ObjectId {
        ObjectId {
            group: group.into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    fn obj(v: Value) -> DynamicObject {
        serde_json::from_value(v).expect("dynamic object")
    }

    fn deployment_resource() -> ApiResource {
        ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&())
    }

    fn watch_of(state: &State, pred: impl Fn(&Target) -> bool) -> usize {
        state
            .watches
            .iter()
            .position(|w| pred(&w.target))
            .expect("watch")
    }

    fn deployment(revision: &str, ready: i64) -> DynamicObject {
        obj(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "apps", "uid": "d-uid", "generation": 2,
                         "annotations": {"deployment.kubernetes.io/revision": revision}},
            "spec": {"replicas": 1, "progressDeadlineSeconds": 600,
                     "selector": {"matchLabels": {"app": "web"}}},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1,
                       "readyReplicas": ready, "availableReplicas": ready}
        }))
    }

    fn rs(name: &str, revision: &str, hash: &str) -> DynamicObject {
        obj(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "apps",
                         "labels": {"app": "web", "pod-template-hash": hash},
                         "annotations": {"deployment.kubernetes.io/revision": revision},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": "web", "uid": "d-uid"}]}
        }))
    }

    fn pod(name: &str, hash: &str, waiting: Option<&str>) -> DynamicObject {
        let statuses = match waiting {
            Some(reason) => json!([{"name": "web", "state": {"waiting": {"reason": reason}}}]),
            None => json!([{"name": "web", "state": {"waiting": {"reason": "ContainerCreating"}}}]),
        };
        obj(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "apps",
                         "labels": {"app": "web", "pod-template-hash": hash}},
            "status": {"phase": "Running", "containerStatuses": statuses}
        }))
    }

    #[tokio::test]
    async fn fail_fast_ignores_crashing_pods_of_the_replaced_revision() {
        let target = id("apps", "Deployment", "apps", "web");
        let mut state = State::new(&client(), vec![(deployment_resource(), true, target)], true);
        let d = watch_of(&state, |t| matches!(t, Target::Objects { .. }));
        let p = watch_of(&state, |t| matches!(t, Target::Pods(_)));
        let r = watch_of(&state, |t| matches!(t, Target::ReplicaSets(_)));
        state.handle(d, Ok(Event::Apply(deployment("2", 0))));
        state.handle(r, Ok(Event::Apply(rs("web-old", "1", "old"))));
        state.handle(r, Ok(Event::Apply(rs("web-new", "2", "new"))));
        state.handle(
            p,
            Ok(Event::Apply(pod(
                "web-old-1",
                "old",
                Some("CrashLoopBackOff"),
            ))),
        );
        state.handle(p, Ok(Event::Apply(pod("web-new-1", "new", None))));
        assert!(state.outcome().is_none(), "{:?}", state.objects[0].health);
        assert_eq!(state.objects[0].health.status, HealthStatus::InProgress);

        state.handle(
            p,
            Ok(Event::Apply(pod(
                "web-new-1",
                "new",
                Some("ImagePullBackOff"),
            ))),
        );
        let Some(Err(err)) = state.outcome() else {
            panic!("expected a failure, got {:?}", state.objects[0].health);
        };
        assert_eq!(
            err.to_string(),
            "failed early due to stalled resources: [Deployment/apps/web status: 'Failed': \
             Pending termination: 1 (pod web-new-1: container web: ImagePullBackOff)]"
        );
    }

    #[tokio::test]
    async fn without_fail_fast_a_crash_is_reported_but_waited_out() {
        let target = id("apps", "Deployment", "apps", "web");
        let mut state = State::new(
            &client(),
            vec![(deployment_resource(), true, target)],
            false,
        );
        let d = watch_of(&state, |t| matches!(t, Target::Objects { .. }));
        let p = watch_of(&state, |t| matches!(t, Target::Pods(_)));
        let r = watch_of(&state, |t| matches!(t, Target::ReplicaSets(_)));
        state.handle(r, Ok(Event::Apply(rs("web-new", "2", "new"))));
        state.handle(
            p,
            Ok(Event::Apply(pod(
                "web-new-1",
                "new",
                Some("CrashLoopBackOff"),
            ))),
        );
        state.handle(d, Ok(Event::Apply(deployment("2", 0))));
        assert!(state.outcome().is_none());
        assert_eq!(
            state.not_current()[0].to_string(),
            "Deployment/apps/web status: 'InProgress': Pending termination: 1 \
             (pod web-new-1: container web: CrashLoopBackOff)"
        );
    }

    #[tokio::test]
    async fn a_relist_that_lacks_an_object_reports_it_not_found() {
        let cm = ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&());
        let mut state = State::new(
            &client(),
            vec![
                (cm.clone(), true, id("", "ConfigMap", "apps", "a")),
                (cm, true, id("", "ConfigMap", "apps", "b")),
            ],
            false,
        );
        assert_eq!(
            state.watches.len(),
            1,
            "one watch for one kind in one namespace"
        );
        let a = obj(json!({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "a", "namespace": "apps"}}));
        state.handle(0, Ok(Event::Init));
        state.handle(0, Ok(Event::InitApply(a)));
        assert_eq!(
            state.not_current()[0].to_string(),
            "ConfigMap/apps/b status: 'Unknown': status not yet observed"
        );
        state.handle(0, Ok(Event::InitDone));
        let not_current = state.not_current();
        assert_eq!(not_current.len(), 1);
        assert_eq!(
            not_current[0].to_string(),
            "ConfigMap/apps/b status: 'Unknown': not found"
        );
    }

    #[tokio::test]
    async fn a_job_with_a_ttl_that_disappears_finished() {
        let job_resource = ApiResource::erase::<k8s_openapi::api::batch::v1::Job>(&());
        let mut state = State::new(
            &client(),
            vec![(job_resource, true, id("batch", "Job", "apps", "migrate"))],
            false,
        );
        let job = obj(json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "apps"},
            "spec": {"ttlSecondsAfterFinished": 0},
            "status": {"startTime": "2026-01-01T00:00:00Z", "active": 1}}));
        state.handle(0, Ok(Event::Apply(job.clone())));
        assert!(state.outcome().is_none());
        state.handle(0, Ok(Event::Delete(job)));
        assert!(matches!(state.outcome(), Some(Ok(()))));
    }

    #[tokio::test]
    async fn failures_end_the_wait_only_when_nothing_else_can_change_unless_fail_fast() {
        let cr = ApiResource {
            group: "example.com".into(),
            version: "v1".into(),
            api_version: "example.com/v1".into(),
            kind: "Widget".into(),
            plural: "widgets".into(),
        };
        let widget = |name: &str, cond: Value| {
            obj(json!({"apiVersion": "example.com/v1", "kind": "Widget",
                "metadata": {"name": name, "namespace": "apps"},
                "status": {"conditions": [cond]}}))
        };
        let stalled = json!({"type": "Stalled", "status": "True", "message": "bad spec"});
        let ready = json!({"type": "Ready", "status": "True"});
        let pending = json!({"type": "Ready", "status": "False", "message": "working"});
        for fail_fast in [false, true] {
            let mut state = State::new(
                &client(),
                vec![
                    (cr.clone(), true, id("example.com", "Widget", "apps", "a")),
                    (cr.clone(), true, id("example.com", "Widget", "apps", "b")),
                ],
                fail_fast,
            );
            state.handle(0, Ok(Event::Apply(widget("a", stalled.clone()))));
            state.handle(0, Ok(Event::Apply(widget("b", pending.clone()))));
            assert_eq!(state.outcome().is_some(), fail_fast);
            state.handle(0, Ok(Event::Apply(widget("b", ready.clone()))));
            let Some(Err(err)) = state.outcome() else {
                panic!("a Failed object with the rest Current ends the wait");
            };
            assert_eq!(
                err.to_string(),
                "failed early due to stalled resources: [Widget/apps/a status: 'Failed': bad spec]"
            );
        }
    }

    #[tokio::test]
    async fn an_unschedulable_pod_fails_once_the_schedule_window_passes_without_new_events() {
        let pod_resource = ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&());
        let mut state = State::new(
            &client(),
            vec![(pod_resource, true, id("", "Pod", "apps", "big"))],
            false,
        );
        let created = k8s_openapi::jiff::Timestamp::now()
            - k8s_openapi::jiff::SignedDuration::from_millis(13_000);
        let pod = obj(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "big", "namespace": "apps",
                         "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient memory."}]}}));
        state.handle(0, Ok(Event::Apply(pod)));
        assert_eq!(state.objects[0].health.message, POD_NOT_SCHEDULED);
        assert!(state.outcome().is_none());
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        state.recheck();
        let Some(Err(err)) = state.outcome() else {
            panic!("still {:?}", state.objects[0].health);
        };
        assert_eq!(
            err.to_string(),
            "failed early due to stalled resources: [Pod/apps/big status: 'Failed': \
             Pod could not be scheduled: 0/1 nodes are available: 1 Insufficient memory.]"
        );
    }

    #[tokio::test]
    async fn many_namespaces_share_one_cluster_wide_watch() {
        let cm = ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&());
        let objects = (0..20)
            .map(|i| {
                (
                    cm.clone(),
                    true,
                    id("", "ConfigMap", &format!("ns{i}"), "c"),
                )
            })
            .collect();
        let state = State::new(&client(), objects, true);
        assert_eq!(state.watches.len(), 1);
        let few = (0..3)
            .map(|i| {
                (
                    cm.clone(),
                    true,
                    id("", "ConfigMap", &format!("ns{i}"), "c"),
                )
            })
            .collect();
        assert_eq!(State::new(&client(), few, true).watches.len(), 3);
    }
}
