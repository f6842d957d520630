//! The Kustomization controller: renders a path of a source's artifact and keeps the cluster
//! equal to it, with Flux's kustomize-controller semantics.
//!
//! A reconcile is a sequence of steps, each owning the condition it can fail with, as Flux's:
//! suspended → dependencies → source → artifact → build → apply → prune → health. A failure
//! stops the sequence with Ready=False and the step's reason; nothing after it runs (in
//! particular nothing is pruned after a failed build or apply, and the inventory is kept).

use crate::artifact;
use crate::common::{self, Backoff, Error};
use crate::status::StatusWriter;
use crate::watch::WatchOptions;
use futures::FutureExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::finalizer::{finalizer, Event as Finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tug_api::conditions::{self, reason};
use tug_api::kustomization::ResourceInventory;
use tug_api::{GitRepository, Kustomization, KustomizationStatus, OCIRepository};
use tug_apply::{inventory, prune, Action as Change, Applier, ApplyOptions, Discovery, Owner};
use tug_source::Storage;

/// The name Events are reported under, as Flux's controller is named.
pub const CONTROLLER_NAME: &str = "kustomize-controller";
/// Flux's finalizer on Kustomizations.
pub const FINALIZER: &str = "finalizers.fluxcd.io";

/// What the reconciler needs, shared by all reconciles.
pub struct Context {
    pub client: Client,
    pub discovery: Arc<Discovery>,
    /// The artifact storage of this process's source controller, read directly when the
    /// artifact is there; otherwise artifacts are downloaded from their URL.
    pub storage: Option<Storage>,
    pub recorder: Recorder,
    pub field_manager: String,
    pub backoff: Backoff,
    /// Flux's `StrictPostBuildSubstitutions` gate: a variable without a value is an error.
    pub strict_substitutions: bool,
    /// When to look again at dependencies that are not ready, or at a source without an
    /// artifact (Flux's `--requeue-dependency`).
    pub requeue_dependency: Duration,
    /// Where what was done to objects is counted (`tug_objects_total`), when served.
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl Context {
    pub fn new(client: Client, storage: Option<Storage>, field_manager: String) -> Self {
        Context {
            discovery: Arc::new(Discovery::new(client.clone())),
            recorder: Recorder::new(client.clone(), common::reporter(CONTROLLER_NAME)),
            client,
            storage,
            field_manager,
            backoff: Backoff::default(),
            strict_substitutions: false,
            requeue_dependency: Duration::from_secs(30),
            metrics: None,
        }
    }
}

/// The source kinds a Kustomization applies from, watched so that a new artifact triggers the
/// Kustomizations that use it.
pub struct Sources {
    pub git: Api<GitRepository>,
    pub oci: Api<OCIRepository>,
}

/// The controller over `api`, also triggered by the sources in `sources` (when their artifact
/// moves to a revision a Kustomization has not attempted) and by the Kustomizations it
/// depends on (when they change, e.g. become Ready), so neither waits for an interval.
pub fn controller(
    api: Api<Kustomization>,
    sources: Sources,
    options: &WatchOptions,
    concurrency: u16,
) -> Controller<Kustomization> {
    let config = options.watcher_config();
    let ctrl = crate::watch::controller(api.clone(), options, concurrency);
    let store = ctrl.store();
    let by_git = store.clone();
    let by_oci = store.clone();
    ctrl.watches(sources.git, config.clone(), move |repo: GitRepository| {
        let artifact = repo.status.as_ref().and_then(|s| s.artifact.as_ref());
        users_of_new_artifact(&by_git, "GitRepository", &repo, artifact)
    })
    .watches(sources.oci, config.clone(), move |repo: OCIRepository| {
        let artifact = repo.status.as_ref().and_then(|s| s.artifact.as_ref());
        users_of_new_artifact(&by_oci, "OCIRepository", &repo, artifact)
    })
    .watches(api, config, move |dep: Kustomization| {
        let dep_ns = dep.namespace().unwrap_or_default();
        let dep_name = dep.name_any();
        store
            .state()
            .into_iter()
            .filter(|ks| {
                ks.spec.depends_on.iter().any(|d| {
                    d.name == dep_name
                        && d.namespace
                            .clone()
                            .or_else(|| ks.namespace())
                            .is_some_and(|ns| ns == dep_ns)
                })
            })
            .map(|ks| ObjectRef::from_obj(ks.as_ref()))
            .collect::<Vec<_>>()
    })
}

/// The Kustomizations applying from `source` (of `kind`) that have not yet attempted the
/// revision of its `artifact`.
fn users_of_new_artifact<S: ResourceExt>(
    store: &kube::runtime::reflector::Store<Kustomization>,
    kind: &str,
    source: &S,
    artifact: Option<&tug_api::meta::Artifact>,
) -> Vec<ObjectRef<Kustomization>> {
    let Some(revision) = artifact.map(|a| a.revision.as_str()) else {
        return Vec::new();
    };
    let source_ns = source.namespace().unwrap_or_default();
    let source_name = source.name_any();
    store
        .state()
        .into_iter()
        .filter(|ks| {
            let src = &ks.spec.source_ref;
            src.kind == kind
                && src.name == source_name
                && src
                    .namespace
                    .clone()
                    .or_else(|| ks.namespace())
                    .is_some_and(|ns| ns == source_ns)
        })
        .filter(|ks| {
            ks.status
                .as_ref()
                .and_then(|s| s.last_attempted_revision.as_deref())
                != Some(revision)
        })
        .map(|ks| ObjectRef::from_obj(ks.as_ref()))
        .collect()
}

/// One reconcile: the finalizer first (added on first sight; on deletion the inventory is
/// pruned when `spec.prune`), then the steps of [`apply`].
pub fn reconcile(
    obj: Arc<Kustomization>,
    ctx: Arc<Context>,
) -> futures::future::BoxFuture<'static, Result<Action, Error>> {
    // Boxed here so that the future's `Send` is proven at a concrete type (the controller
    // spawns it; rustc cannot prove it through the generic runner's higher-ranked bounds).
    reconcile_steps(obj, ctx).boxed()
}

async fn reconcile_steps(obj: Arc<Kustomization>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<Kustomization> = Api::namespaced(ctx.client.clone(), &namespace);
    finalizer(&api, FINALIZER, obj, move |event| {
        let step = match event {
            Finalizer::Apply(ks) => apply(ks, ctx).boxed(),
            Finalizer::Cleanup(ks) => cleanup(ks, ctx).boxed(),
        };
        step
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => Error::Other(other.to_string()),
    })
}

/// After an error of the machinery (API unreachable, status write refused): retry with
/// exponential back-off.
pub fn error_policy(obj: Arc<Kustomization>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = common::key(obj.as_ref());
    tracing::warn!(%key, error = %err, "reconcile error");
    Action::requeue(ctx.backoff.failed(&key))
}

/// A step that stopped the reconcile: the Ready reason and the message naming the cause.
struct Failure {
    reason: &'static str,
    message: String,
    /// Retrying cannot help until the spec changes (Flux's Stalled condition).
    stalled: bool,
    /// When to try again, if not at the retry interval.
    requeue: Option<Duration>,
}

impl Failure {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Failure {
            reason,
            message: message.into(),
            stalled: false,
            requeue: None,
        }
    }

    fn requeue_after(self, after: Duration) -> Self {
        Failure {
            requeue: Some(after),
            ..self
        }
    }

    fn stalled(reason: &'static str, message: impl Into<String>) -> Self {
        Failure {
            stalled: true,
            ..Failure::new(reason, message)
        }
    }
}

/// Durations of a Kustomization, as Flux's getters: interval; retry interval (defaults to
/// the interval); timeout (defaults to 30 s less than the interval, never under 30 s).
struct Timing {
    interval: Duration,
    retry: Duration,
    timeout: Duration,
}

/// How long a health check runs before the status says it is running.
const HEALTH_PROGRESS_AFTER: Duration = Duration::from_secs(2);

/// Flux's floor for a Kustomization's timeout, and the margin its default keeps below the
/// interval.
const MIN_TIMEOUT: Duration = Duration::from_secs(30);

fn timing(ks: &Kustomization) -> Timing {
    let parse = |s: &str| tug_api::duration::parse_duration(s).ok();
    let interval = parse(&ks.spec.interval).unwrap_or(Duration::from_secs(600));
    let timeout = ks
        .spec
        .timeout
        .as_deref()
        .and_then(parse)
        .unwrap_or_else(|| interval.saturating_sub(MIN_TIMEOUT));
    Timing {
        interval,
        retry: ks
            .spec
            .retry_interval
            .as_deref()
            .and_then(parse)
            .unwrap_or(interval),
        timeout: timeout.max(MIN_TIMEOUT),
    }
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// The reconcile of a live (not deleting) Kustomization.
async fn apply(ks: Arc<Kustomization>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = common::key(ks.as_ref());
    // Step: suspended objects are left alone until they change.
    if ks.spec.suspend {
        tracing::debug!(%key, "suspended; skipping");
        return Ok(Action::await_change());
    }
    let namespace = ks.namespace().unwrap_or_default();
    let api: Api<Kustomization> = Api::namespaced(ctx.client.clone(), &namespace);
    let timing = timing(&ks);
    let generation = ks.metadata.generation;
    let old = ks.status.clone().unwrap_or_default();
    let mut status = old.clone();
    if let Some(at) = common::requested_at(ks.as_ref()) {
        status.last_handled_reconcile_at = Some(at);
    }
    let started = Instant::now();
    let mut writer = StatusWriter::new(api, ks.as_ref());

    let result = run_steps(&ks, &ctx, &mut writer, &mut status, &timing)
        .boxed()
        .await;
    let action = match result {
        Ok(Some(changes)) => {
            let revision = status.last_applied_revision.clone().unwrap_or_default();
            // As Flux: the generation counts as observed once it was applied (or stalled).
            status.observed_generation = generation;
            conditions::remove(&mut status.conditions, conditions::RECONCILING);
            conditions::remove(&mut status.conditions, conditions::STALLED);
            conditions::set(
                &mut status.conditions,
                conditions::new(
                    conditions::READY,
                    true,
                    reason::RECONCILIATION_SUCCEEDED,
                    format!("Applied revision: {revision}"),
                    generation,
                    now(),
                ),
            );
            writer.write(&status).boxed().await?;
            tracing::info!(%key, %revision, elapsed = ?started.elapsed(), "reconciled");
            if let Some(metrics) = &ctx.metrics {
                for (action, n) in changes.counts() {
                    metrics.count_objects(&action, n as u64);
                }
            }
            let lines = changes.changed_lines();
            let new_revision = old.last_applied_revision.as_deref() != Some(revision.as_str());
            if !lines.is_empty() || new_revision {
                let note = if lines.is_empty() {
                    format!("Applied revision: {revision}")
                } else {
                    lines
                };
                common::publish(
                    &ctx.recorder,
                    ks.as_ref(),
                    false,
                    reason::RECONCILIATION_SUCCEEDED,
                    note,
                )
                .await;
            }
            ctx.backoff.succeeded(&key);
            Action::requeue(timing.interval)
        }
        // A step asked to wait (dependencies, source) without it being an apply failure.
        Ok(None) => {
            retrying(&mut status);
            let changed = writer.write(&status).boxed().await?;
            if changed {
                if let Some(ready) = conditions::find(&status.conditions, conditions::READY) {
                    if ready.reason == reason::DEPENDENCY_NOT_READY {
                        common::publish(
                            &ctx.recorder,
                            ks.as_ref(),
                            false,
                            reason::DEPENDENCY_NOT_READY,
                            format!(
                                "Dependencies do not meet ready condition, retrying in {}",
                                tug_api_duration(ctx.requeue_dependency)
                            ),
                        )
                        .await;
                    }
                }
            }
            Action::requeue(ctx.requeue_dependency)
        }
        Err(failure) => {
            conditions::set(
                &mut status.conditions,
                conditions::new(
                    conditions::READY,
                    false,
                    failure.reason,
                    &failure.message,
                    generation,
                    now(),
                ),
            );
            if failure.stalled {
                status.observed_generation = generation;
                conditions::remove(&mut status.conditions, conditions::RECONCILING);
                conditions::set(
                    &mut status.conditions,
                    conditions::new(
                        conditions::STALLED,
                        true,
                        failure.reason,
                        &failure.message,
                        generation,
                        now(),
                    ),
                );
            } else {
                conditions::remove(&mut status.conditions, conditions::STALLED);
                retrying(&mut status);
            }
            let changed = writer.write(&status).boxed().await?;
            tracing::warn!(%key, reason = failure.reason, message = %failure.message, "reconcile failed");
            if changed {
                common::publish(
                    &ctx.recorder,
                    ks.as_ref(),
                    true,
                    failure.reason,
                    failure.message,
                )
                .await;
            }
            if failure.stalled {
                Action::await_change()
            } else {
                Action::requeue(failure.requeue.unwrap_or(timing.retry))
            }
        }
    };
    Ok(action)
}

/// Marks `status` in progress, as Flux does before long work: Reconciling=True with
/// `message`, and the condition `unknown` (Ready or Healthy) Unknown with `unknown_message`.
fn mark_progressing(
    status: &mut KustomizationStatus,
    message: &str,
    unknown: &str,
    unknown_message: &str,
    generation: Option<i64>,
) {
    conditions::set(
        &mut status.conditions,
        conditions::new(
            conditions::RECONCILING,
            true,
            reason::PROGRESSING,
            message,
            generation,
            now(),
        ),
    );
    conditions::set(
        &mut status.conditions,
        conditions::unknown(
            unknown,
            reason::PROGRESSING,
            unknown_message,
            generation,
            now(),
        ),
    );
}

/// Writes a progress status. Best effort: the reconcile goes on if it fails, and its final
/// status says how it ended.
async fn write_progress(writer: &mut StatusWriter<Kustomization>, status: &KustomizationStatus) {
    if let Err(e) = writer.write(status).boxed().await {
        tracing::debug!(error = %e, "writing the progress status failed");
    }
}

/// As Flux: a Reconciling condition left by a reconcile that did not succeed says it will
/// be retried (reason ProgressingWithRetry), so kstatus keeps reading the object as in
/// progress rather than done.
fn retrying(status: &mut KustomizationStatus) {
    if let Some(c) = status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == conditions::RECONCILING)
    {
        c.reason = reason::PROGRESSING_WITH_RETRY.to_string();
    }
}

/// The steps after suspension. `Ok(Some(changes))` is a successful apply; `Ok(None)` means
/// the reconcile waits (its condition is already set in `status`); `Err` a failed step.
async fn run_steps(
    ks: &Kustomization,
    ctx: &Context,
    writer: &mut StatusWriter<Kustomization>,
    status: &mut KustomizationStatus,
    timing: &Timing,
) -> Result<Option<tug_apply::ChangeSet>, Failure> {
    let namespace = ks.namespace().unwrap_or_default();
    let generation = ks.metadata.generation;

    // Step: fields tug does not implement yet are refused by name, never ignored (a
    // Kustomization asking for SOPS decryption or another identity must not be applied
    // without them).
    refuse_unsupported(ks)?;

    // Step: the source must exist and have an artifact. A source that failed its last
    // fetch still serves its last artifact, which is applied (drift is still corrected
    // while Git is unreachable), as Flux does.
    let artifact = source_artifact(ks, ctx, &namespace).boxed().await?;
    let revision = artifact.revision.clone();

    // Step: dependencies must be Ready at their current generation, and those of the same
    // source must have applied this revision.
    if let Err(message) = check_dependencies(ks, ctx, &revision).boxed().await {
        conditions::set(
            &mut status.conditions,
            conditions::new(
                conditions::READY,
                false,
                reason::DEPENDENCY_NOT_READY,
                message,
                generation,
                now(),
            ),
        );
        return Ok(None);
    }
    status.last_attempted_revision = Some(revision.clone());

    // Step: when there is something new to apply (a revision or a spec not applied yet),
    // say so before the work starts, as Flux does; a periodic no-op reconcile writes
    // nothing.
    let new_work = status.last_applied_revision.as_deref() != Some(revision.as_str())
        || ks.status.as_ref().and_then(|s| s.observed_generation) != generation;
    if new_work {
        let message = format!(
            "Fetching manifests for revision {revision} with a timeout of {}",
            tug_api_duration(timing.timeout)
        );
        mark_progressing(
            status,
            &message,
            conditions::READY,
            "Reconciliation in progress",
            generation,
        );
        write_progress(writer, status).await;
    }

    // Step: fetch, verify and unpack the artifact.
    let bytes = artifact::fetch(&artifact, ctx.storage.as_ref())
        .await
        .map_err(|e| Failure::new(reason::ARTIFACT_FAILED, e.to_string()))?;
    artifact::verify(&artifact, &bytes)
        .map_err(|e| Failure::new(reason::ARTIFACT_FAILED, e.to_string()))?;
    let tmp = tempfile::Builder::new()
        .prefix("tug-kustomization-")
        .tempdir()
        .map_err(|e| {
            Failure::new(
                reason::ARTIFACT_FAILED,
                format!("creating a temporary directory: {e}"),
            )
        })?;
    let root = tmp.path().to_path_buf();
    let extracted = tokio::task::spawn_blocking(move || artifact::extract(&bytes, &root))
        .await
        .map_err(|e| Failure::new(reason::ARTIFACT_FAILED, e.to_string()))?;
    extracted.map_err(|e| Failure::new(reason::ARTIFACT_FAILED, e.to_string()))?;

    // Step: build (kustomize or plain manifests) and substitute variables.
    let dir = artifact::resolve_path(tmp.path(), ks.spec.path.as_deref())
        .map_err(|e| Failure::stalled(reason::ARTIFACT_FAILED, e.to_string()))?;
    let shown_path = ks.spec.path.clone().unwrap_or_else(|| "./".into());
    if !dir.is_dir() {
        return Err(Failure::new(
            reason::ARTIFACT_FAILED,
            format!("kustomization path not found: stat {shown_path}: no such file or directory"),
        ));
    }
    let rendered = {
        let (root, dir) = (tmp.path().to_path_buf(), dir.clone());
        let overrides = crate::render::Overrides::from_spec(&ks.spec);
        tokio::task::spawn_blocking(move || crate::render::render(&root, &dir, &overrides))
            .await
            .map_err(|e| Failure::new(reason::BUILD_FAILED, e.to_string()))?
    };
    let base = tmp.path().to_path_buf();
    let objects = rendered.map_err(|e| {
        // Paths in messages are relative to the artifact, as the user knows them.
        let message = e.to_string().replace(&format!("{}/", base.display()), "");
        let message = message.replace(&base.display().to_string(), ".");
        Failure::new(
            reason::BUILD_FAILED,
            format!("kustomize build of {shown_path} failed: {message}"),
        )
    })?;
    let mut objects = post_build(ks, ctx, &namespace, objects).boxed().await?;
    drop(tmp);
    if let Some(meta) = &ks.spec.common_metadata {
        crate::render::set_common_metadata(&mut objects, meta);
    }

    // Step: apply, with the Kustomization as owner.
    let owner = Owner {
        name: ks.name_any(),
        namespace: namespace.clone(),
    };
    // What the last apply recorded; an unreadable inventory only costs reads.
    let known = status
        .inventory
        .as_ref()
        .and_then(|inv| inventory::ids(inv).ok())
        .map(|ids| ids.into_iter().map(|v| v.id).collect());
    let options = ApplyOptions {
        field_manager: ctx.field_manager.clone(),
        force: ks.spec.force,
        default_namespace: ks.spec.target_namespace.clone(),
        owner: Some(owner.clone()),
        known,
        ..ApplyOptions::default()
    };
    let applier = Applier::new(ctx.client.clone(), ctx.discovery.clone(), options);
    let timeout = timing.timeout;
    let applied = tokio::time::timeout(timeout, applier.apply_all(objects))
        .boxed()
        .await;
    let mut changes = match applied {
        Ok(Ok(changes)) => changes,
        Ok(Err(e)) => return Err(Failure::new(reason::RECONCILIATION_FAILED, e.to_string())),
        Err(_) => {
            return Err(Failure::new(
                reason::RECONCILIATION_FAILED,
                format!("apply timed out after {}", tug_api_duration(timing.timeout)),
            ))
        }
    };

    // Step: prune what left the set, then record the new inventory.
    let new_inventory = inventory::from_change_set(&changes);
    let old_inventory = status.inventory.clone().unwrap_or_default();
    if ks.spec.prune {
        let stale = inventory::stale(&old_inventory, &new_inventory)
            .map_err(|e| Failure::new(reason::PRUNE_FAILED, e.to_string()))?;
        match prune::prune(&ctx.client, &ctx.discovery, &owner, &stale).await {
            Ok(pruned) => changes.extend(pruned),
            Err(e) => {
                // Keep what could not be deleted in the inventory, so the next reconcile
                // retries it.
                let deleted: Vec<_> = e.partial.changes.iter().map(|c| c.id.id.clone()).collect();
                let mut entries = new_inventory.entries.clone();
                entries.extend(
                    stale
                        .iter()
                        .filter(|s| !deleted.contains(&s.id))
                        .map(|s| s.to_inventory()),
                );
                entries.sort();
                entries.dedup();
                status.inventory = Some(ResourceInventory { entries });
                return Err(Failure::new(reason::PRUNE_FAILED, e.to_string()));
            }
        }
    }
    status.inventory = Some(new_inventory);

    // Step: health of the applied objects (spec.wait) or else of spec.healthChecks.
    if ks.spec.wait || !ks.spec.health_checks.is_empty() {
        let started = Instant::now();
        let targets = health_targets(ks, ctx, &changes, &namespace)
            .boxed()
            .await
            .map_err(|message| Failure::new(reason::HEALTH_CHECK_FAILED, message))?;
        let result = if targets.is_empty() {
            Ok(())
        } else {
            // Something is not Current yet. A wait that lasts is said in the status, as Flux
            // does; most end within moments (a Deployment its controller reports at once),
            // and writing for those would double the status writes of a first apply.
            let message = format!(
                "Running health checks for revision {revision} with a timeout of {}",
                tug_api_duration(timing.timeout)
            );
            mark_progressing(status, &message, conditions::HEALTHY, &message, generation);
            let wait = tug_apply::health::wait(ctx.client.clone(), targets, timing.timeout, true);
            tokio::pin!(wait);
            let waited = tokio::select! {
                done = &mut wait => done,
                _ = tokio::time::sleep(HEALTH_PROGRESS_AFTER) => {
                    write_progress(writer, status).await;
                    wait.await
                }
            };
            waited.map_err(|e| e.to_string())
        };
        match result {
            Ok(()) => {
                // A Kustomization that stays healthy keeps its condition as it is: a new
                // duration in the message would make every periodic reconcile a status write.
                let already = conditions::find(&status.conditions, conditions::HEALTHY)
                    .is_some_and(|c| c.status == "True" && c.observed_generation == generation);
                if !already {
                    conditions::set(
                        &mut status.conditions,
                        conditions::new(
                            conditions::HEALTHY,
                            true,
                            reason::SUCCEEDED,
                            format!("Health check passed in {:?}", started.elapsed()),
                            generation,
                            now(),
                        ),
                    );
                }
            }
            Err(message) => {
                conditions::set(
                    &mut status.conditions,
                    conditions::new(
                        conditions::HEALTHY,
                        false,
                        reason::HEALTH_CHECK_FAILED,
                        &message,
                        generation,
                        now(),
                    ),
                );
                return Err(Failure::new(reason::HEALTH_CHECK_FAILED, message));
            }
        }
    } else {
        conditions::remove(&mut status.conditions, conditions::HEALTHY);
    }

    status.last_applied_revision = Some(revision);
    Ok(Some(changes))
}

/// Go's duration style for messages (`30s`, `9m30s`), as Flux's read.
fn tug_api_duration(d: Duration) -> String {
    tug_api::duration::format_duration(d)
}

/// `Ok` when every `dependsOn` Kustomization is Ready at its current generation and, when
/// it applies from the same source, has applied `revision` (so that a new commit reaches the
/// dependency before its dependents); otherwise Flux's message naming the first that is not.
async fn check_dependencies(
    ks: &Kustomization,
    ctx: &Context,
    revision: &str,
) -> Result<(), String> {
    let own_source = source_key(ks);
    for dep in &ks.spec.depends_on {
        let ns = dep
            .namespace
            .clone()
            .or_else(|| ks.namespace())
            .unwrap_or_default();
        let api: Api<Kustomization> = Api::namespaced(ctx.client.clone(), &ns);
        let name = format!("{ns}/{}", dep.name);
        let found = api
            .get_opt(&dep.name)
            .await
            .map_err(|e| format!("dependency '{name}' not found: {}", tug_apply::describe(&e)))?;
        let Some(found) = found else {
            return Err(format!("dependency '{name}' not found"));
        };
        let status = found.status.clone().unwrap_or_default();
        let ready = !status.conditions.is_empty()
            && status.observed_generation == found.metadata.generation
            && conditions::is_true(&status.conditions, conditions::READY);
        if !ready {
            return Err(format!("dependency '{name}' is not ready"));
        }
        if source_key(&found) == own_source
            && status.last_applied_revision.as_deref() != Some(revision)
        {
            return Err(format!("dependency '{name}' revision is not up to date"));
        }
    }
    Ok(())
}

/// Stalled, naming the first field of `ks` that tug does not implement yet.
fn refuse_unsupported(ks: &Kustomization) -> Result<(), Failure> {
    let spec = &ks.spec;
    let field = if spec.decryption.is_some() {
        "spec.decryption (SOPS)"
    } else if spec.kube_config.is_some() {
        "spec.kubeConfig (remote clusters)"
    } else if spec.service_account_name.is_some() {
        "spec.serviceAccountName (impersonation)"
    } else {
        return Ok(());
    };
    Err(Failure::stalled(
        "UnsupportedField",
        format!("{field} is not supported by tug yet"),
    ))
}

/// The source a Kustomization applies from: kind, namespace (its own by default), name.
fn source_key(ks: &Kustomization) -> (String, String, String) {
    let src = &ks.spec.source_ref;
    (
        src.kind.clone(),
        src.namespace
            .clone()
            .or_else(|| ks.namespace())
            .unwrap_or_default(),
        src.name.clone(),
    )
}

/// The source's artifact, or the ArtifactFailed failure Flux reports while it has none.
async fn source_artifact(
    ks: &Kustomization,
    ctx: &Context,
    namespace: &str,
) -> Result<tug_api::meta::Artifact, Failure> {
    let src = &ks.spec.source_ref;
    let src_ns = src
        .namespace
        .clone()
        .unwrap_or_else(|| namespace.to_string());
    let name = format!("{}/{src_ns}/{}", src.kind, src.name);
    let read_failed = |e: kube::Error| {
        Failure::new(
            reason::ARTIFACT_FAILED,
            format!("reading {name}: {}", tug_apply::describe(&e)),
        )
    };
    let artifact = match src.kind.as_str() {
        "GitRepository" => Api::<GitRepository>::namespaced(ctx.client.clone(), &src_ns)
            .get_opt(&src.name)
            .await
            .map_err(read_failed)?
            .map(|r| r.status.and_then(|s| s.artifact)),
        "OCIRepository" => Api::<OCIRepository>::namespaced(ctx.client.clone(), &src_ns)
            .get_opt(&src.name)
            .await
            .map_err(read_failed)?
            .map(|r| r.status.and_then(|s| s.artifact)),
        other => {
            return Err(Failure::stalled(
                reason::ARTIFACT_FAILED,
                format!("source kind '{other}' is not supported yet"),
            ))
        }
    };
    let Some(artifact) = artifact else {
        return Err(Failure::new(
            reason::ARTIFACT_FAILED,
            format!("Source '{name}' not found"),
        ));
    };
    artifact.ok_or_else(|| {
        Failure::new(
            reason::ARTIFACT_FAILED,
            format!(
                "Source artifact not found, retrying in {}",
                tug_api_duration(ctx.requeue_dependency)
            ),
        )
        .requeue_after(ctx.requeue_dependency)
    })
}

/// `spec.postBuild` over the built objects; any failure is a BuildFailed.
async fn post_build(
    ks: &Kustomization,
    ctx: &Context,
    namespace: &str,
    objects: Vec<serde_json::Value>,
) -> Result<Vec<serde_json::Value>, Failure> {
    crate::post_build::substitute(
        &ctx.client,
        namespace,
        ks.spec.post_build.as_ref(),
        objects,
        ctx.strict_substitutions,
    )
    .await
    .map_err(|e| Failure::new(reason::BUILD_FAILED, e.to_string()))
}

/// What a health check waits for: the applied objects when `spec.wait` (Flux then ignores
/// `spec.healthChecks`), else `spec.healthChecks`, less what is known Current already and
/// less the Kustomization itself (it cannot wait on its own readiness).
async fn health_targets(
    ks: &Kustomization,
    ctx: &Context,
    changes: &tug_apply::ChangeSet,
    namespace: &str,
) -> Result<Vec<(kube::api::ApiResource, bool, tug_apply::ObjectId)>, String> {
    let mut targets = Vec::new();
    if ks.spec.wait {
        let ids: Vec<_> = changes
            .changes
            .iter()
            .filter(|c| !matches!(c.action, Change::Skipped | Change::Deleted))
            // Current in the state the apply returned (or read): nothing to wait for. A
            // no-op reconcile of a healthy set so makes no request here.
            .filter(|c| !c.health.as_ref().is_some_and(|h| h.is_current()))
            .map(|c| c.id.clone())
            .collect();
        targets = tug_apply::health::targets(&ctx.discovery, &ids)
            .await
            .map_err(|e| e.to_string())?;
    } else {
        for check in &ks.spec.health_checks {
            // Flux's default for a reference without one (v1beta1 compatibility).
            let api_version = check
                .api_version
                .clone()
                .unwrap_or_else(|| "apps/v1".into());
            let resolved = ctx
                .discovery
                .resolve(&api_version, &check.kind)
                .await
                .map_err(|e| format!("healthChecks: {e}"))?;
            let (group, _) = tug_apply::object::split_api_version(&api_version);
            let id = tug_apply::ObjectId {
                group: group.into(),
                kind: check.kind.clone(),
                // Without a namespace, the reference is local to the Kustomization's.
                namespace: if resolved.namespaced {
                    check
                        .namespace
                        .clone()
                        .unwrap_or_else(|| namespace.to_string())
                } else {
                    String::new()
                },
                name: check.name.clone(),
            };
            if !targets.iter().any(|(_, _, t)| *t == id) {
                targets.push((resolved.resource, resolved.namespaced, id));
            }
        }
    }
    let itself = |id: &tug_apply::ObjectId| {
        id.group == "kustomize.toolkit.fluxcd.io"
            && id.kind == "Kustomization"
            && id.namespace == namespace
            && Some(&id.name) == ks.metadata.name.as_ref()
    };
    targets.retain(|(_, _, id)| !itself(id));
    Ok(targets)
}

/// Deletion: prune the inventory when `spec.prune` (and not suspended, as Flux), then let
/// the finalizer go.
async fn cleanup(ks: Arc<Kustomization>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = common::key(ks.as_ref());
    let inventory = ks
        .status
        .as_ref()
        .and_then(|s| s.inventory.clone())
        .unwrap_or_default();
    if !ks.spec.prune || ks.spec.suspend || inventory.entries.is_empty() {
        tracing::info!(%key, "deleted; objects left in place (prune disabled, suspended or none)");
        return Ok(Action::await_change());
    }
    let owner = Owner {
        name: ks.name_any(),
        namespace: ks.namespace().unwrap_or_default(),
    };
    let stale = inventory::ids(&inventory).map_err(|e| Error::Other(format!("{key}: {e}")))?;
    let pruned = prune::prune(&ctx.client, &ctx.discovery, &owner, &stale)
        .await
        .map_err(|e| Error::Other(format!("{key}: {e}")))?;
    tracing::info!(%key, deleted = pruned.changes.len(), "deleted; inventory pruned");
    common::publish(
        &ctx.recorder,
        ks.as_ref(),
        false,
        "Progressing",
        pruned.changed_lines(),
    )
    .await;
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ks(spec: serde_json::Value) -> Kustomization {
        let mut spec = spec;
        spec["sourceRef"] = serde_json::json!({"kind": "GitRepository", "name": "src"});
        spec["prune"] = serde_json::json!(true);
        serde_json::from_value(serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": "ns"},
            "spec": spec,
        }))
        .expect("a Kustomization")
    }

    #[test]
    fn timeout_defaults_to_the_interval_less_30s_and_never_under_30s_as_flux() {
        let t = timing(&ks(serde_json::json!({"interval": "10m"})));
        assert_eq!(t.interval, Duration::from_secs(600));
        assert_eq!(t.retry, Duration::from_secs(600));
        assert_eq!(t.timeout, Duration::from_secs(570));
        let t = timing(&ks(serde_json::json!({"interval": "40s"})));
        assert_eq!(t.timeout, Duration::from_secs(30));
        let t = timing(&ks(
            serde_json::json!({"interval": "5m", "timeout": "10s", "retryInterval": "1m"}),
        ));
        assert_eq!(t.timeout, Duration::from_secs(30));
        assert_eq!(t.retry, Duration::from_secs(60));
        let t = timing(&ks(serde_json::json!({"interval": "5m", "timeout": "2m"})));
        assert_eq!(t.timeout, Duration::from_secs(120));
    }

    #[test]
    fn dependencies_share_a_source_when_kind_namespace_and_name_match() {
        let a = ks(serde_json::json!({"interval": "1m"}));
        let mut b = ks(serde_json::json!({"interval": "1m"}));
        assert_eq!(source_key(&a), source_key(&b));
        b.spec.source_ref.namespace = Some("other".into());
        assert_ne!(source_key(&a), source_key(&b));
    }

    #[test]
    fn a_failed_reconcile_leaves_reconciling_as_progressing_with_retry() {
        let mut status = KustomizationStatus::default();
        retrying(&mut status);
        assert!(status.conditions.is_empty(), "nothing to mark");
        mark_progressing(
            &mut status,
            "working",
            conditions::READY,
            "in progress",
            Some(1),
        );
        retrying(&mut status);
        let c = conditions::find(&status.conditions, conditions::RECONCILING).expect("kept");
        assert_eq!(c.reason, reason::PROGRESSING_WITH_RETRY);
        assert_eq!(c.status, "True");
    }
}
