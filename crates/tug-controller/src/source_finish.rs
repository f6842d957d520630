//! The end every source reconcile shares: write the status when it changed, publish Flux's
//! events, and choose when to run again (the interval after a success, back-off after a
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
use std::time::{Duration, Instant};
use tug_api::conditions;
use tug_source::reconcile::Outcome;

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
