//! Staged server-side apply, as Flux's kustomize-controller does it.
//!
//! Stages: CustomResourceDefinitions and Namespaces first (then waited for, so that the
//! kinds and namespaces they define exist), then `*Class` kinds, then everything else.
//! Within a stage, objects are handled concurrently and in two passes: first each object is
//! compared with its live copy (locally where possible, else by server-side dry-run), which
//! also validates it; only when the whole stage validated does the second pass write. So one
//! invalid object means nothing of its stage is written.

use crate::discovery::{Discovery, Resolved};
use crate::drift;
use crate::health::{self, Health};
use crate::object::{split_api_version, ObjectId, VersionedId};
use futures::{stream, StreamExt};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::Client;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Flux's annotations and labels.
pub mod keys {
    pub const OWNER_NAME: &str = "kustomize.toolkit.fluxcd.io/name";
    pub const OWNER_NAMESPACE: &str = "kustomize.toolkit.fluxcd.io/namespace";
    pub const RECONCILE: &str = "kustomize.toolkit.fluxcd.io/reconcile";
    pub const SSA: &str = "kustomize.toolkit.fluxcd.io/ssa";
    pub const PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";
    pub const FORCE: &str = "kustomize.toolkit.fluxcd.io/force";
    pub const DISABLED: &str = "disabled";
    pub const ENABLED: &str = "enabled";
}

/// What applying (or pruning) an object did, in Flux's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Created,
    Configured,
    Unchanged,
    Deleted,
    Skipped,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Deleted => "deleted",
            Action::Skipped => "skipped",
        })
    }
}

/// One line of a change set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub id: VersionedId,
    pub action: Action,
    /// The object's health (kstatus) in the state the apiserver returned when it was
    /// written, or as it was read when left unchanged; `None` when not known (skipped,
    /// deleted). A health check can skip what was already Current without asking again.
    pub health: Option<Health>,
}

/// The result of an apply or prune, in the order objects were given (stage by stage).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub changes: Vec<Change>,
}

impl ChangeSet {
    /// How many objects got each action.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for c in &self.changes {
            *out.entry(c.action.to_string()).or_insert(0) += 1;
        }
        out
    }

    /// The changed objects, one `Kind/namespace/name action` per line, as Flux's events say.
    pub fn changed_lines(&self) -> String {
        self.changes
            .iter()
            .filter(|c| !matches!(c.action, Action::Unchanged | Action::Skipped))
            .map(|c| format!("{} {}", c.id.id, c.action))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn extend(&mut self, other: ChangeSet) {
        self.changes.extend(other.changes);
    }
}

/// The Kustomization that owns applied objects; recorded as labels on each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub name: String,
    pub namespace: String,
}

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// The field manager recorded in `managedFields`.
    pub field_manager: String,
    /// Recreate objects whose immutable fields changed (Flux's `spec.force`).
    pub force: bool,
    /// Namespace for namespaced objects that name none; without it they are an error.
    pub default_namespace: Option<String>,
    /// Labels the objects with their owner.
    pub owner: Option<Owner>,
    /// Objects handled at once within a stage.
    pub concurrency: usize,
    /// How long to wait for CRDs and Namespaces of the first stage.
    pub definitions_timeout: Duration,
    /// The objects this owner applied last time (its inventory). Others are expected not to
    /// exist yet, so they are not read before their dry-run: a first apply of N objects
    /// saves N reads. One that does exist is read then. `None`: every object is read first.
    pub known: Option<HashSet<ObjectId>>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            field_manager: tug_api::DEFAULT_FIELD_MANAGER.to_string(),
            force: false,
            default_namespace: None,
            owner: None,
            concurrency: 16,
            definitions_timeout: Duration::from_secs(60),
            known: None,
        }
    }
}

/// Why an apply failed. `partial` holds what was written before the failure.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}")]
    Invalid(String),
    #[error("{}", .failures.join("\n"))]
    Failed {
        failures: Vec<String>,
        partial: ChangeSet,
    },
}

impl ApplyError {
    pub fn partial(&self) -> Option<&ChangeSet> {
        match self {
            ApplyError::Failed { partial, .. } => Some(partial),
            ApplyError::Invalid(_) => None,
        }
    }
}

/// Managers whose fields tug takes over (and whose entries it removes), as Flux does: kubectl
/// in its client-side and server-side forms, and the entry the apiserver makes when an object
/// created by client-side apply is first server-side applied.
/// How many times rewriting the managers of an object that keeps changing is tried.
const CONFLICT_ATTEMPTS: u32 = 10;

const FOREIGN_MANAGERS: &[(&str, &str)] = &[
    ("kubectl", "Apply"),
    ("kubectl", "Update"),
    ("before-first-apply", "Update"),
];

/// An object to apply, resolved against the API.
#[derive(Clone, Debug)]
pub(crate) struct Desired {
    pub(crate) obj: Value,
    pub(crate) id: VersionedId,
    pub(crate) resolved: Resolved,
}

/// Writes a Secret's `stringData` into `data` (base64), as the API server stores it and as
/// Flux applies Secrets: a live Secret never has `stringData`, so otherwise it would never
/// equal its manifest and every reconcile would write it again. `stringData` wins over
/// `data` for a key in both, as in the API.
fn merge_string_data(obj: &mut Value) {
    let Some(fields) = obj.as_object_mut() else {
        return;
    };
    let Some(Value::Object(strings)) = fields.remove("stringData") else {
        return;
    };
    let data = fields
        .entry("data")
        .or_insert_with(|| Value::Object(Default::default()));
    if !data.is_object() {
        *data = Value::Object(Default::default());
    }
    for (key, value) in strings {
        let text = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        // ByteString serializes as base64, the encoding of `data`.
        data[key] =
            serde_json::to_value(k8s_openapi::ByteString(text.into_bytes())).unwrap_or(Value::Null);
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Plan {
    /// Left as it is; its health as read.
    Unchanged(Health),
    Skip,
    Create,
    Update {
        cleanup: bool,
    },
    Recreate,
}

/// What writing one object did, and its health in the state the apiserver returned.
type Outcome = (Action, Option<Health>);

/// Applies sets of objects for one owner.
pub struct Applier {
    client: Client,
    discovery: Arc<Discovery>,
    opts: ApplyOptions,
}

impl Applier {
    pub fn new(client: Client, discovery: Arc<Discovery>, opts: ApplyOptions) -> Self {
        Applier {
            client,
            discovery,
            opts,
        }
    }

    pub fn options(&self) -> &ApplyOptions {
        &self.opts
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn discovery(&self) -> &Arc<Discovery> {
        &self.discovery
    }

    /// Applies `objects` in stages; returns what happened to each.
    pub async fn apply_all(&self, objects: Vec<Value>) -> Result<ChangeSet, ApplyError> {
        let mut staged: [Vec<Value>; 3] = Default::default();
        let mut seen = HashSet::new();
        for (index, mut obj) in objects.into_iter().enumerate() {
            let (api_version, kind, name) = identity(&obj)
                .map_err(|e| ApplyError::Invalid(format!("object #{}: {e}", index + 1)))?;
            let key = (
                api_version.clone(),
                kind.clone(),
                name.clone(),
                obj.pointer("/metadata/namespace").cloned(),
            );
            if !seen.insert(key) {
                return Err(ApplyError::Invalid(format!(
                    "{kind}/{name} ({api_version}) appears twice in the set"
                )));
            }
            prepare(&mut obj, self.opts.owner.as_ref());
            staged[stage_of(&kind)].push(obj);
        }
        let mut result = ChangeSet::default();
        for (stage, objects) in staged.into_iter().enumerate() {
            if objects.is_empty() {
                continue;
            }
            let desired = match self.resolve(objects).await {
                Ok(d) => d,
                Err(failures) => {
                    return Err(ApplyError::Failed {
                        failures,
                        partial: result,
                    })
                }
            };
            let changes = match self.apply_stage(&desired).await {
                Ok(c) => c,
                Err(ApplyError::Failed { failures, partial }) => {
                    result.extend(partial);
                    return Err(ApplyError::Failed {
                        failures,
                        partial: result,
                    });
                }
                Err(e) => return Err(e),
            };
            let wrote_definitions = stage == 0
                && changes
                    .changes
                    .iter()
                    .any(|c| c.action != Action::Unchanged);
            result.extend(changes);
            if stage == 0 {
                if let Err(failures) = self.wait_for_definitions(&desired).await {
                    return Err(ApplyError::Failed {
                        failures,
                        partial: result,
                    });
                }
                if wrote_definitions {
                    self.discovery.invalidate().await;
                }
            }
        }
        Ok(result)
    }

    /// Resolves kinds and namespaces; every failure is reported, not just the first.
    pub(crate) async fn resolve(&self, objects: Vec<Value>) -> Result<Vec<Desired>, Vec<String>> {
        let mut out = Vec::with_capacity(objects.len());
        let mut failures = Vec::new();
        for mut obj in objects {
            let (api_version, kind, name) = match identity(&obj) {
                Ok(i) => i,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            let resolved = match self.discovery.resolve(&api_version, &kind).await {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{kind}/{name}: {e}"));
                    continue;
                }
            };
            let namespace = if resolved.namespaced {
                match obj
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    Some(ns) => ns.to_string(),
                    None => match &self.opts.default_namespace {
                        Some(ns) => {
                            obj["metadata"]["namespace"] = Value::String(ns.clone());
                            ns.clone()
                        }
                        None => {
                            failures.push(format!("{kind}/{name}: namespace not specified, and no default namespace (targetNamespace) is set"));
                            continue;
                        }
                    },
                }
            } else {
                if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("namespace");
                }
                String::new()
            };
            let (group, version) = split_api_version(&api_version);
            let id = VersionedId {
                id: ObjectId {
                    group: group.into(),
                    kind: kind.clone(),
                    namespace,
                    name,
                },
                version: version.into(),
            };
            if id.id.group.is_empty() && id.id.kind == "Secret" {
                merge_string_data(&mut obj);
            }
            out.push(Desired { obj, id, resolved });
        }
        if failures.is_empty() {
            Ok(out)
        } else {
            Err(failures)
        }
    }

    async fn apply_stage(&self, desired: &[Desired]) -> Result<ChangeSet, ApplyError> {
        let started = std::time::Instant::now();
        let live = self
            .fetch_live(desired)
            .await
            .map_err(|failures| ApplyError::Failed {
                failures,
                partial: ChangeSet::default(),
            })?;
        tracing::debug!(elapsed = ?started.elapsed(), objects = desired.len(), live = live.len(), "live objects fetched");
        // Pass 1: decide (and validate by dry-run where needed); no writes.
        // The futures are collected before they are streamed: a stream over a closure that
        // borrows makes the whole future non-`Send` (rustc cannot prove the closure general
        // enough over the borrow's lifetime).
        let planning: Vec<_> = desired
            .iter()
            .map(|d| self.plan(d, live.get(&d.id.id)))
            .collect();
        let plans: Vec<Result<Plan, String>> = stream::iter(planning)
            .buffered(self.opts.concurrency)
            .collect()
            .await;
        let failures: Vec<String> = plans
            .iter()
            .filter_map(|p| p.as_ref().err().cloned())
            .collect();
        if !failures.is_empty() {
            return Err(ApplyError::Failed {
                failures,
                partial: ChangeSet::default(),
            });
        }
        tracing::debug!(elapsed = ?started.elapsed(), "planned");
        // Pass 2: write.
        let plans: Vec<Plan> = plans.into_iter().map(|p| p.unwrap_or(Plan::Skip)).collect();
        let writing: Vec<_> = desired
            .iter()
            .zip(plans)
            .map(|(d, plan)| async move { (d.id.clone(), self.execute(d, plan).await) })
            .collect();
        let results: Vec<(VersionedId, Result<Outcome, String>)> = stream::iter(writing)
            .buffered(self.opts.concurrency)
            .collect()
            .await;
        tracing::debug!(elapsed = ?started.elapsed(), "written");
        let mut changes = ChangeSet::default();
        let mut failures = Vec::new();
        for (id, result) in results {
            match result {
                Ok((action, health)) => changes.changes.push(Change { id, action, health }),
                Err(e) => failures.push(e),
            }
        }
        if failures.is_empty() {
            Ok(changes)
        } else {
            Err(ApplyError::Failed {
                failures,
                partial: changes,
            })
        }
    }

    /// Live copies of the desired objects: one list per resource and namespace when several
    /// objects share them, single gets otherwise.
    pub(crate) async fn fetch_live(
        &self,
        desired: &[Desired],
    ) -> Result<HashMap<ObjectId, Value>, Vec<String>> {
        let mut groups: BTreeMap<(String, String, String), Vec<&Desired>> = BTreeMap::new();
        let expected = |d: &Desired| {
            self.opts
                .known
                .as_ref()
                .is_none_or(|k| k.contains(&d.id.id))
        };
        for d in desired.iter().filter(|d| expected(d)) {
            groups
                .entry((
                    d.resolved.resource.api_version.clone(),
                    d.resolved.resource.plural.clone(),
                    d.id.id.namespace.clone(),
                ))
                .or_default()
                .push(d);
        }
        let lookups = groups.into_values().map(|members| async move {
            let first = members[0];
            let api = self.api(first);
            let mut found = Vec::new();
            if members.len() >= 4 {
                let list = api.list(&ListParams::default()).await.map_err(|e| {
                    format!(
                        "listing {} in {:?}: {}",
                        first.resolved.resource.plural,
                        first.id.id.namespace,
                        crate::describe(&e)
                    )
                })?;
                let wanted: HashSet<&str> = members.iter().map(|d| d.id.id.name.as_str()).collect();
                for obj in list.items {
                    if obj
                        .metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| wanted.contains(n))
                    {
                        let name = obj.metadata.name.clone().unwrap_or_default();
                        // List items come without apiVersion and kind; the comparisons need them.
                        let mut value = to_value(&obj);
                        value["apiVersion"] = first.resolved.resource.api_version.clone().into();
                        value["kind"] = first.resolved.resource.kind.clone().into();
                        found.push((
                            ObjectId {
                                name,
                                ..first.id.id.clone()
                            },
                            value,
                        ));
                    }
                }
            } else {
                for d in members {
                    match api.get_opt(&d.id.id.name).await {
                        Ok(Some(obj)) => found.push((d.id.id.clone(), to_value(&obj))),
                        Ok(None) => {}
                        Err(e) => {
                            return Err(format!(
                                "{}: reading the live object: {}",
                                d.id.id,
                                crate::describe(&e)
                            ))
                        }
                    }
                }
            }
            Ok::<_, String>(found)
        });
        let lookups: Vec<_> = lookups.collect();
        let results: Vec<_> = stream::iter(lookups)
            .buffer_unordered(self.opts.concurrency)
            .collect()
            .await;
        let mut live = HashMap::new();
        let mut failures = Vec::new();
        for r in results {
            match r {
                Ok(found) => live.extend(found),
                Err(e) => failures.push(e),
            }
        }
        if failures.is_empty() {
            Ok(live)
        } else {
            Err(failures)
        }
    }

    pub(crate) fn api(&self, d: &Desired) -> Api<DynamicObject> {
        if d.resolved.namespaced {
            Api::namespaced_with(
                self.client.clone(),
                &d.id.id.namespace,
                &d.resolved.resource,
            )
        } else {
            Api::all_with(self.client.clone(), &d.resolved.resource)
        }
    }

    pub(crate) fn params(&self, dry_run: bool) -> PatchParams {
        let mut p = PatchParams::apply(&self.opts.field_manager).force();
        p.dry_run = dry_run;
        p
    }

    async fn plan(&self, d: &Desired, live: Option<&Value>) -> Result<Plan, String> {
        let annotation = |key: &str| {
            d.obj
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let ssa = annotation(keys::SSA).unwrap_or_default();
        if annotation(keys::RECONCILE).as_deref() == Some(keys::DISABLED)
            || ssa.eq_ignore_ascii_case("ignore")
        {
            return Ok(Plan::Skip);
        }
        let read;
        let live = match live {
            Some(live) => live,
            None => {
                // Not found, or not read (not in the owner's inventory): the dry-run
                // validates the object, and tells whether it exists after all (a dry-run
                // create has no resourceVersion), in which case it is read and compared.
                let dry = self.dry_run(d).await?;
                if dry
                    .metadata
                    .resource_version
                    .as_deref()
                    .unwrap_or("")
                    .is_empty()
                {
                    return Ok(Plan::Create);
                }
                read = match self.api(d).get_opt(&d.id.id.name).await {
                    Ok(Some(obj)) => to_value(&obj),
                    // Deleted meanwhile: a create, as the dry-run validated.
                    Ok(None) => return Ok(Plan::Create),
                    Err(e) => {
                        return Err(format!(
                            "{}: reading the live object: {}",
                            d.id.id,
                            crate::describe(&e)
                        ))
                    }
                };
                &read
            }
        };
        if ssa.eq_ignore_ascii_case("ifnotpresent") {
            return Ok(Plan::Skip);
        }
        let unchanged = || Plan::Unchanged(self.health_of(d, live));
        let cleanup = !ssa.eq_ignore_ascii_case("merge") && has_foreign_managers(live);
        if !cleanup && drift::unchanged(&d.obj, live, &self.opts.field_manager) {
            return Ok(unchanged());
        }
        match self
            .api(d)
            .patch(&d.id.id.name, &self.params(true), &Patch::Apply(&d.obj))
            .await
        {
            Ok(dry) => {
                if !cleanup && comparable(&to_value(&dry)) == comparable(live) {
                    Ok(unchanged())
                } else {
                    Ok(Plan::Update { cleanup })
                }
            }
            Err(e) if is_immutable_error(&e) => {
                let forced =
                    self.opts.force || annotation(keys::FORCE).as_deref() == Some(keys::ENABLED);
                if forced {
                    Ok(Plan::Recreate)
                } else {
                    Err(format!("{} dry-run failed (immutable field; set spec.force or the {} annotation to recreate it): {}", d.id.id, keys::FORCE, crate::describe(&e)))
                }
            }
            Err(e) => Err(format!(
                "{} dry-run failed: {}",
                d.id.id,
                crate::describe(&e)
            )),
        }
    }

    /// A server-side dry-run apply of `d`.
    async fn dry_run(&self, d: &Desired) -> Result<DynamicObject, String> {
        self.api(d)
            .patch(&d.id.id.name, &self.params(true), &Patch::Apply(&d.obj))
            .await
            .map_err(|e| format!("{} dry-run failed: {}", d.id.id, crate::describe(&e)))
    }

    /// kstatus's health of `obj`, a state of `d` the apiserver returned.
    fn health_of(&self, d: &Desired, obj: &Value) -> Health {
        health::compute_kind(
            &d.resolved.resource.group,
            &d.resolved.resource.kind,
            obj,
            std::time::SystemTime::now(),
        )
    }

    async fn execute(&self, d: &Desired, plan: Plan) -> Result<Outcome, String> {
        let api = self.api(d);
        let name = &d.id.id.name;
        let apply = || async {
            api.patch(name, &self.params(false), &Patch::Apply(&d.obj))
                .await
                .map(|obj| Some(self.health_of(d, &to_value(&obj))))
                .map_err(|e| format!("{} apply failed: {}", d.id.id, crate::describe(&e)))
        };
        match plan {
            Plan::Unchanged(health) => Ok((Action::Unchanged, Some(health))),
            Plan::Skip => Ok((Action::Skipped, None)),
            Plan::Create => Ok((Action::Created, apply().await?)),
            Plan::Update { cleanup } => {
                let health = apply().await?;
                if cleanup {
                    self.remove_foreign_managers(&api, name)
                        .await
                        .map_err(|e| {
                            format!("{}: removing kubectl's field managers: {e}", d.id.id)
                        })?;
                }
                Ok((Action::Configured, health))
            }
            Plan::Recreate => {
                let dp = DeleteParams::background();
                match api.delete(name, &dp).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => {
                        return Err(format!(
                            "{} delete (to recreate) failed: {}",
                            d.id.id,
                            crate::describe(&e)
                        ))
                    }
                }
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                while api.get_opt(name).await.ok().flatten().is_some() {
                    if tokio::time::Instant::now() > deadline {
                        return Err(format!(
                            "{} was not deleted within 60s, cannot recreate it",
                            d.id.id
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok((Action::Created, apply().await?))
            }
        }
    }

    /// Drops kubectl's managedFields entries so their fields are tug's alone from now on.
    ///
    /// The write carries the resourceVersion it was computed from, so that a manager that
    /// wrote meanwhile is not dropped with kubectl's; as any other write (a controller's status
    /// update, an annotation) also moves the version, a conflict is retried from a fresh read.
    /// An object written so often that every versioned attempt conflicts gets a last write
    /// without the version, from a fresh read, as Flux always writes it: the takeover must not
    /// fail because someone else keeps writing.
    async fn remove_foreign_managers(
        &self,
        api: &Api<DynamicObject>,
        name: &str,
    ) -> Result<(), String> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = api.get(name).await.map_err(|e| crate::describe(&e))?;
            let entries = current.metadata.managed_fields.unwrap_or_default();
            let kept: Vec<_> = entries
                .into_iter()
                .filter(|e| {
                    !FOREIGN_MANAGERS.iter().any(|(m, op)| {
                        e.manager.as_deref().is_some_and(|x| x.starts_with(m))
                            && e.operation.as_deref() == Some(*op)
                    })
                })
                .collect();
            let mut patch = serde_json::json!({ "metadata": { "managedFields": kept } });
            if attempt < CONFLICT_ATTEMPTS {
                patch["metadata"]["resourceVersion"] =
                    serde_json::json!(current.metadata.resource_version);
            }
            match api
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(s)) if s.code == 409 && attempt < CONFLICT_ATTEMPTS => {
                    tracing::debug!(%name, attempt, "the object changed while its managers were rewritten; retrying");
                    tokio::time::sleep(Duration::from_millis(20 * attempt as u64)).await;
                }
                Err(e) => return Err(crate::describe(&e)),
            }
        }
    }

    /// Waits until the CRDs of the first stage are Established and its Namespaces Active.
    async fn wait_for_definitions(&self, desired: &[Desired]) -> Result<(), Vec<String>> {
        let deadline = tokio::time::Instant::now() + self.opts.definitions_timeout;
        let mut pending: Vec<&Desired> = desired.iter().collect();
        loop {
            let mut still = Vec::new();
            for d in pending {
                let obj = self
                    .api(d)
                    .get_opt(&d.id.id.name)
                    .await
                    .ok()
                    .flatten()
                    .map(|o| to_value(&o));
                let ready = match (d.id.id.kind.as_str(), &obj) {
                    ("CustomResourceDefinition", Some(o)) => has_condition(o, "Established"),
                    ("Namespace", Some(o)) => {
                        o.pointer("/status/phase").and_then(Value::as_str) == Some("Active")
                    }
                    (_, Some(_)) => true,
                    (_, None) => false,
                };
                if !ready {
                    still.push(d);
                }
            }
            if still.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(still
                    .iter()
                    .map(|d| {
                        format!(
                            "{} not ready after {:?}",
                            d.id.id, self.opts.definitions_timeout
                        )
                    })
                    .collect());
            }
            pending = still;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn identity(obj: &Value) -> Result<(String, String, String), String> {
    let field = |ptr: &str| {
        obj.pointer(ptr)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let kind = field("/kind").ok_or("missing kind")?;
    let api_version = field("/apiVersion").ok_or_else(|| format!("{kind}: missing apiVersion"))?;
    let name = field("/metadata/name").ok_or_else(|| format!("{kind}: missing metadata.name"))?;
    Ok((api_version, kind, name))
}

/// 0: definitions (CRDs, Namespaces), 1: classes, 2: everything else.
fn stage_of(kind: &str) -> usize {
    match kind {
        "CustomResourceDefinition" | "Namespace" => 0,
        k if k.ends_with("Class") => 1,
        _ => 2,
    }
}

/// Turns a rendered object into what is applied: owner labels (when there is an owner) and
/// the defaults older apiservers need. `apply_all`, `diff_all` and `tug build` all use it, so
/// they agree on what tug sends.
pub fn prepare(obj: &mut Value, owner: Option<&Owner>) {
    if let Some(owner) = owner {
        set_owner_labels(obj, owner);
    }
    set_native_defaults(obj);
}

/// Fills in `protocol: TCP` on Service and container ports that name none, as Flux does: the
/// protocol is a key of those lists, and apiservers before 1.21 reject a server-side apply
/// whose list items omit a key ("associative list with keys has an element that omits key
/// field protocol").
fn set_native_defaults(obj: &mut Value) {
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let pod_spec = match kind.as_str() {
        "Pod" => Some("/spec"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => Some("/spec/template/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    };
    let default_protocol = |ports: Option<&mut Value>| {
        for port in ports.and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(port) = port.as_object_mut() {
                port.entry("protocol")
                    .or_insert_with(|| Value::String("TCP".into()));
            }
        }
    };
    if kind == "Service" {
        default_protocol(obj.pointer_mut("/spec/ports"));
    }
    if let Some(spec) = pod_spec.and_then(|p| obj.pointer_mut(p)) {
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            for container in spec
                .get_mut(list)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                default_protocol(container.get_mut("ports"));
            }
        }
    }
}

fn set_owner_labels(obj: &mut Value, owner: &Owner) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if !labels.is_object() {
        *labels = Value::Object(Default::default());
    }
    if let Some(labels) = labels.as_object_mut() {
        labels.insert(keys::OWNER_NAME.into(), Value::String(owner.name.clone()));
        labels.insert(
            keys::OWNER_NAMESPACE.into(),
            Value::String(owner.namespace.clone()),
        );
    }
}

fn has_foreign_managers(live: &Value) -> bool {
    live.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|entries| {
            entries.iter().any(|e| {
                let manager = e.get("manager").and_then(Value::as_str).unwrap_or_default();
                let op = e
                    .get("operation")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                FOREIGN_MANAGERS
                    .iter()
                    .any(|(m, o)| manager.starts_with(m) && op == *o)
            })
        })
}

fn has_condition(obj: &Value, type_: &str) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some(type_)
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

pub(crate) fn to_value(obj: &DynamicObject) -> Value {
    serde_json::to_value(obj).unwrap_or(Value::Null)
}

/// The object without what the apiserver changes on every write attempt.
pub(crate) fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        meta.remove("generation");
        if let Some(Value::Array(fields)) = meta.get_mut("managedFields") {
            for entry in fields.iter_mut().filter_map(Value::as_object_mut) {
                entry.remove("time");
            }
        }
    }
    v
}

/// The apiserver's ways of saying a field cannot be changed in place.
fn is_immutable_error(e: &kube::Error) -> bool {
    let kube::Error::Api(s) = e else { return false };
    if s.code != 422 {
        return false;
    }
    let m = s.message.to_lowercase();
    [
        "field is immutable",
        "cannot change",
        "may not change",
        "updates to statefulset spec for fields other than",
        "pod updates may not change fields",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

#[cfg(test)]
mod send_tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The controller awaits `apply_all` on its own tasks, which tokio requires to be `Send`.
    #[allow(dead_code)]
    fn apply_all_is_send(applier: &Applier) {
        let future = applier.apply_all(Vec::new());
        assert_send(&future);
    }
}

#[cfg(test)]
mod secret_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_data_is_written_into_data_as_base64_and_wins_over_data() {
        let mut secret = json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"kept": "a2VwdA==", "both": "b2xk"},
            "stringData": {"password": "hunter2", "both": "new"}
        });
        merge_string_data(&mut secret);
        assert_eq!(
            secret,
            json!({
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                "data": {"kept": "a2VwdA==", "both": "bmV3", "password": "aHVudGVyMg=="}
            })
        );
    }
}
