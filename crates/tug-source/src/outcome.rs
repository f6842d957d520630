//! How a source reconcile records its end in the object's conditions, the same for every
//! source kind: Flux's ArtifactInStorage and Ready on success; on failure the condition of the
//! failed step, Ready=False with the same reason and message, and Stalled when retrying cannot
//! help.

use crate::reconcile::Outcome;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use tug_api::conditions::{self, reason};

/// A failed step of a source reconcile.
#[derive(Debug)]
pub struct Failure {
    /// The condition the step owns (`FetchFailed`, `StorageOperationFailed`), set to True.
    pub condition: &'static str,
    pub reason: &'static str,
    pub message: String,
    /// Retrying cannot help until the spec changes.
    pub stalled: bool,
}

impl Failure {
    /// A failed fetch, retried with back-off.
    pub fn fetch(reason: &'static str, message: String) -> Self {
        Failure {
            condition: conditions::FETCH_FAILED,
            reason,
            message,
            stalled: false,
        }
    }

    /// A failed fetch that waits for the spec to change.
    pub fn stalled(reason: &'static str, message: String) -> Self {
        Failure {
            stalled: true,
            ..Failure::fetch(reason, message)
        }
    }

    /// A failure to store the artifact.
    pub fn storage(reason: &'static str, message: String) -> Self {
        Failure {
            condition: conditions::STORAGE_OPERATION_FAILED,
            ..Failure::fetch(reason, message)
        }
    }

    /// Records the failure in `list` and returns the outcome the controller reports.
    pub fn record(self, list: &mut Vec<Condition>, generation: Option<i64>, now: &Time) -> Outcome {
        let mut set = |t: &str, value: bool| {
            conditions::set(
                list,
                conditions::new(
                    t,
                    value,
                    self.reason,
                    &self.message,
                    generation,
                    now.clone(),
                ),
            )
        };
        set(self.condition, true);
        set(conditions::READY, false);
        if self.stalled {
            set(conditions::STALLED, true);
        } else {
            conditions::remove(list, conditions::STALLED);
        }
        conditions::remove(list, conditions::RECONCILING);
        Outcome::Failed {
            reason: self.reason.to_string(),
            message: self.message,
        }
    }
}

/// Records a stored (or still current) artifact: ArtifactInStorage and Ready, both True with
/// `message`; the failure conditions of earlier attempts go.
pub fn record_success(
    list: &mut Vec<Condition>,
    message: &str,
    generation: Option<i64>,
    now: &Time,
) {
    for t in [
        conditions::FETCH_FAILED,
        conditions::STORAGE_OPERATION_FAILED,
        conditions::STALLED,
        conditions::RECONCILING,
        conditions::ARTIFACT_OUTDATED,
    ] {
        conditions::remove(list, t);
    }
    for t in [conditions::ARTIFACT_IN_STORAGE, conditions::READY] {
        conditions::set(
            list,
            conditions::new(t, true, reason::SUCCEEDED, message, generation, now.clone()),
        );
    }
}
