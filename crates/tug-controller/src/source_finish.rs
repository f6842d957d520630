//! What every source reconcile shares: Flux's finalizer around it (on deletion the source's
//! artifacts leave the storage), and its end: write the status when it changed, publish
//! Flux's events, and choose when to run again (the interval after a success, back-off after a
//! failure, nothing until the spec changes when Stalled).

use crate::common::{self, Backoff, Error};
use crate::status::StatusWriter;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::Resource;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tug_api::conditions;
use tug_source::reconcile::Outcome;

/// The name source controllers report Events under, as Flux's controller is named.
pub const SOURCE_CONTROLLER_NAME: &str = "source-controller";

/// What a source reconciler needs, shared by all its reconciles.
pub struct SourceContext {
    pub client: kube::Client,
    pub storage: tug_source::Storage,
    pub recorder: Recorder,
    pub backoff: Backoff,
}

impl SourceContext {
    pub fn new(client: kube::Client, storage: tug_source::Storage) -> Self {
        SourceContext {
            recorder: Recorder::new(client.clone(), common::reporter(SOURCE_CONTROLLER_NAME)),
            client,
            storage,
            backoff: Backoff::default(),
        }
    }
}

/// What the end of a source reconcile needs from the controller.
pub struct Finish<'a> {
    pub recorder: &'a Recorder,
    pub backoff: &'a Backoff,
    pub interval: Duration,
    pub started: Instant,
}

impl Finish<'_> {
    /// Writes `status` (with `conditions`, its Ready condition giving the event's message)
    /// for `obj` through `api`, then reports `outcome`.
    pub async fn run<K, S>(
        &self,
        api: Api<K>,
        obj: &K,
        status: &S,
        conditions_of_status: &[Condition],
        outcome: Outcome,
    ) -> Result<Action, Error>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
        S: Serialize,
    {
        let key = common::key(obj);
        StatusWriter::new(api, obj).write(status).await?;
        match outcome {
            Outcome::NewArtifact(revision) => {
                tracing::info!(%key, %revision, elapsed = ?self.started.elapsed(), "stored new artifact");
                let message = conditions::find(conditions_of_status, conditions::READY)
                    .map(|c| c.message.clone())
                    .unwrap_or_else(|| format!("stored artifact for revision '{revision}'"));
                common::publish(
                    self.recorder,
                    obj,
                    false,
                    conditions::reason::NEW_ARTIFACT,
                    message,
                )
                .await;
                self.backoff.succeeded(&key);
                Ok(Action::requeue(self.interval))
            }
            Outcome::UpToDate(revision) => {
                tracing::debug!(%key, %revision, "artifact up to date");
                self.backoff.succeeded(&key);
                Ok(Action::requeue(self.interval))
            }
            Outcome::Failed { reason, message } => {
                tracing::warn!(%key, %reason, %message, "reconcile failed");
                common::publish(self.recorder, obj, true, &reason, message).await;
                if conditions::is_true(conditions_of_status, conditions::STALLED) {
                    // An invalid or unsupported spec will not fix itself: wait for it to change.
                    Ok(Action::await_change())
                } else {
                    Ok(Action::requeue(self.backoff.failed(&key)))
                }
            }
        }
    }
}

/// Runs `steps` on `obj` under Flux's source finalizer: added on first sight; on deletion the
/// artifacts of `kind` for `obj` are removed from `storage` and the finalizer released.
pub async fn with_source_finalizer<K, F, Fut>(
    client: &kube::Client,
    storage: &tug_source::Storage,
    kind: &'static str,
    obj: Arc<K>,
    steps: F,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug
        + Send
        + Sync
        + 'static,
    F: FnOnce(Arc<K>) -> Fut + Send,
    Fut: Future<Output = Result<Action, Error>> + Send,
{
    let namespace = obj.meta().namespace.clone().unwrap_or_default();
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    let storage = storage.clone();
    kube::runtime::finalizer::finalizer(
        &api,
        common::SOURCE_FINALIZER,
        obj,
        move |event| async move {
            match event {
                kube::runtime::finalizer::Event::Apply(obj) => steps(obj).await,
                kube::runtime::finalizer::Event::Cleanup(obj) => {
                    common::remove_artifacts(&storage, kind, obj.as_ref()).await?;
                    Ok(Action::await_change())
                }
            }
        },
    )
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => Error::Other(other.to_string()),
    })
}
