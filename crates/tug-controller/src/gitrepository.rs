//! The GitRepository controller: watches GitRepositories and runs one source reconcile
//! ([`tug_source::reconcile::reconcile`]) per change or interval, writing the status only
//! when it changed and emitting Events on new revisions and failures.

use crate::common::{self, Error};
use crate::source_finish::with_source_finalizer;
use crate::status::StatusWriter;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tug_api::conditions;
use tug_api::GitRepository;
use tug_source::include::Include;
use tug_source::reconcile::{IncludeUnavailable, Inputs, Outcome};

pub use crate::source_finish::SOURCE_CONTROLLER_NAME as CONTROLLER_NAME;

/// What the reconciler needs, shared by all reconciles.
pub type Context = crate::source_finish::SourceContext;

/// The controller over `api` (all namespaces or one), reconciling up to `concurrency` objects
/// at once.
pub fn controller(api: Api<GitRepository>, concurrency: u16) -> Controller<GitRepository> {
    Controller::new(api, watcher_config())
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
}

/// Watches end server-side before a client read timeout could cut them (the CLI's clients
/// use 30 s), so a quiet watch is renewed instead of failing.
pub fn watcher_config() -> watcher::Config {
    watcher::Config::default().timeout(25)
}

/// One reconcile: the finalizer first (added on first sight; on deletion the object's
/// artifacts are removed from storage, as Flux does), then the steps of [`reconcile_steps`].
pub fn reconcile(
    obj: Arc<GitRepository>,
    ctx: Arc<Context>,
) -> futures::future::BoxFuture<'static, Result<Action, Error>> {
    // Boxed here so that the future's `Send` is proven at a concrete type (the controller
    // spawns it; rustc cannot prove it through the generic runner's higher-ranked bounds).
    futures::FutureExt::boxed(async move {
        let (client, storage) = (ctx.client.clone(), ctx.storage.clone());
        with_source_finalizer(&client, &storage, "GitRepository", obj, move |obj| {
            reconcile_steps(obj, ctx)
        })
        .await
    })
}

async fn reconcile_steps(obj: Arc<GitRepository>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = common::key(obj.as_ref());
    // Step 1: a suspended object is left alone until it changes.
    if obj.spec.suspend {
        tracing::debug!(%key, "suspended; skipping");
        return Ok(Action::await_change());
    }
    let namespace = obj.namespace().unwrap_or_default();
    let interval = interval(&obj);

    // Step 2: the credentials, read fresh each time (the Secret may be rotated).
    let secret = match read_secret(&ctx.client, &namespace, &obj).await? {
        Ok(secret) => secret,
        Err(message) => {
            return missing_secret(&obj, &ctx, &namespace, message).await;
        }
    };

    // Step 2b: the trusted public keys of `spec.verify`, when asked for (a missing Secret is
    // reported by the verification itself, as Flux does).
    let verification_keys = match &obj.spec.verification {
        None => None,
        Some(v) => Some(
            get_secret_data(&ctx.client, &namespace, &v.secret_ref.name)
                .await?
                .ok_or_else(|| format!("secrets \"{}\" not found", v.secret_ref.name)),
        ),
    };

    // Step 2c: the artifacts of the included GitRepositories.
    let includes = resolve_includes(&ctx.client, &namespace, &obj).await?;

    // Step 3: fetch and archive on a blocking thread (gix and the tar writer block).
    let started = std::time::Instant::now();
    let (mut status, outcome) = {
        let obj = obj.clone();
        let storage = ctx.storage.clone();
        tokio::task::spawn_blocking(move || {
            let inputs = Inputs {
                secret: secret.as_ref(),
                verification_keys: verification_keys
                    .as_ref()
                    .map(|r| r.as_ref().map_err(Clone::clone)),
                includes,
            };
            tug_source::reconcile::reconcile_with(&obj, &inputs, &storage)
        })
        .await
        .map_err(|e| Error::Other(format!("{key}: the reconcile thread failed: {e}")))?
    };

    // Step 4: record what was handled; Flux's CLI waits for these.
    status.observed_generation = obj.metadata.generation;
    if let Some(at) = common::requested_at(obj.as_ref()) {
        status.last_handled_reconcile_at = Some(at);
    }

    // Step 5: write the status only if it changed.
    let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), &namespace);
    StatusWriter::new(api, obj.as_ref()).write(&status).await?;

    // Step 6: events and the next run.
    match outcome {
        Outcome::NewArtifact(revision) => {
            tracing::info!(%key, %revision, elapsed = ?started.elapsed(), "stored new artifact");
            let message = conditions::find(&status.conditions, conditions::READY)
                .map(|c| c.message.clone())
                .unwrap_or_else(|| format!("stored artifact for revision '{revision}'"));
            common::publish(
                &ctx.recorder,
                obj.as_ref(),
                false,
                conditions::reason::NEW_ARTIFACT,
                message,
            )
            .await;
            ctx.backoff.succeeded(&key);
            Ok(Action::requeue(interval))
        }
        Outcome::UpToDate(revision) => {
            tracing::debug!(%key, %revision, "artifact up to date");
            ctx.backoff.succeeded(&key);
            Ok(Action::requeue(interval))
        }
        Outcome::Failed { reason, message } => {
            tracing::warn!(%key, %reason, %message, "reconcile failed");
            common::publish(&ctx.recorder, obj.as_ref(), true, &reason, message).await;
            let stalled = conditions::is_true(&status.conditions, conditions::STALLED);
            if stalled {
                // An invalid spec will not fix itself: wait for it to change.
                Ok(Action::await_change())
            } else if conditions::is_true(&status.conditions, conditions::INCLUDE_UNAVAILABLE) {
                // Waiting for another GitRepository: look again soon, as Flux's
                // --requeue-dependency (30 s) does.
                Ok(Action::requeue(DEPENDENCY_REQUEUE.min(interval)))
            } else {
                Ok(Action::requeue(ctx.backoff.failed(&key)))
            }
        }
    }
}

/// After an error of the machinery (API unreachable, status write refused): retry with
/// exponential back-off.
pub fn error_policy(obj: Arc<GitRepository>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = common::key(obj.as_ref());
    tracing::warn!(%key, error = %err, "reconcile error");
    Action::requeue(ctx.backoff.failed(&key))
}

/// `spec.interval`; an unparsable one (the CRD's pattern should prevent it) counts as 1 m.
fn interval(obj: &GitRepository) -> Duration {
    tug_api::duration::parse_duration(&obj.spec.interval).unwrap_or(Duration::from_secs(60))
}

/// A `spec.secretRef` that does not exist: Ready=False with Flux's reason, retried with
/// back-off (the Secret may be created later).
async fn missing_secret(
    obj: &GitRepository,
    ctx: &Context,
    namespace: &str,
    message: String,
) -> Result<Action, Error> {
    let key = common::key(obj);
    let now =
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now());
    let generation = obj.metadata.generation;
    let mut status = obj.status.clone().unwrap_or_default();
    let why = conditions::reason::AUTHENTICATION_FAILED;
    for t in [conditions::FETCH_FAILED, conditions::READY] {
        conditions::set(
            &mut status.conditions,
            conditions::new(
                t,
                t == conditions::FETCH_FAILED,
                why,
                &message,
                generation,
                now.clone(),
            ),
        );
    }
    status.observed_generation = generation;
    if let Some(at) = common::requested_at(obj) {
        status.last_handled_reconcile_at = Some(at);
    }
    let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), namespace);
    StatusWriter::new(api, obj).write(&status).await?;
    tracing::warn!(%key, %message, "reconcile failed");
    common::publish(&ctx.recorder, obj, true, why, message).await;
    Ok(Action::requeue(ctx.backoff.failed(&key)))
}

/// How soon a GitRepository waiting for an included one looks again.
const DEPENDENCY_REQUEUE: Duration = Duration::from_secs(30);

/// For each `spec.include`, the included GitRepository's artifact, or why there is none.
async fn resolve_includes(
    client: &Client,
    namespace: &str,
    obj: &GitRepository,
) -> Result<Vec<Result<Include, IncludeUnavailable>>, Error> {
    if obj.spec.include.is_empty() {
        return Ok(Vec::new());
    }
    let api: Api<GitRepository> = Api::namespaced(client.clone(), namespace);
    let mut out = Vec::with_capacity(obj.spec.include.len());
    for include in &obj.spec.include {
        let name = &include.repository.name;
        let dep = api
            .get_opt(name)
            .await
            .map_err(|e| Error::kube(format!("reading GitRepository {namespace}/{name}"), e))?;
        out.push(match dep {
            None => Err(IncludeUnavailable::not_found(name)),
            Some(dep) => match dep.status.and_then(|s| s.artifact) {
                None => Err(IncludeUnavailable::no_artifact(name)),
                Some(artifact) => Ok(Include::new(include, artifact)),
            },
        });
    }
    Ok(out)
}

/// A Secret's data, `None` when it does not exist.
async fn get_secret_data(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, Vec<u8>>>, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading Secret {namespace}/{name}"), e))?;
    Ok(secret.map(|s| {
        s.data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect()
    }))
}

/// The data of `spec.secretRef`: `Ok(Err(message))` when the Secret does not exist.
async fn read_secret(
    client: &Client,
    namespace: &str,
    obj: &GitRepository,
) -> Result<Result<Option<BTreeMap<String, Vec<u8>>>, String>, Error> {
    let Some(reference) = &obj.spec.secret_ref else {
        return Ok(Ok(None));
    };
    match get_secret_data(client, namespace, &reference.name).await? {
        Some(data) => Ok(Ok(Some(data))),
        None => Ok(Err(format!(
            "failed to get secret '{namespace}/{}': secrets \"{}\" not found",
            reference.name, reference.name
        ))),
    }
}
