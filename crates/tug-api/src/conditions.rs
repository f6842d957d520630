//! Status conditions with Flux's types and reasons.
//!
//! Flux's tooling (and users' scripts) read these strings, so they are kept exactly as Flux
//! spells them. A reconciler owns one condition per named step; [`set`] keeps the transition
//! time stable while a condition's status does not change, as `meta.SetStatusCondition` does.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub const READY: &str = "Ready";
pub const RECONCILING: &str = "Reconciling";
pub const STALLED: &str = "Stalled";
pub const HEALTHY: &str = "Healthy";
pub const FETCH_FAILED: &str = "FetchFailed";
pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
pub const SOURCE_VERIFIED: &str = "SourceVerified";
pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
pub const INCLUDE_UNAVAILABLE: &str = "IncludeUnavailable";

/// Flux's reasons, shared by sources and appliers.
pub mod reason {
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";
    pub const PROGRESSING: &str = "Progressing";
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    pub const SUSPENDED: &str = "Suspended";
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    pub const BUILD_FAILED: &str = "BuildFailed";
    pub const PRUNE_FAILED: &str = "PruneFailed";
    pub const INVALID_PATH: &str = "InvalidPath";
    pub const INVALID_URL: &str = "InvalidURL";
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    pub const VERIFICATION_ERROR: &str = "VerificationError";
    pub const GIT_OPERATION_SUCCEEDED: &str = "GitOperationSucceeded";
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    pub const NEW_ARTIFACT: &str = "NewArtifact";
    pub const ARTIFACT_UP_TO_DATE: &str = "ArtifactUpToDate";
}

/// Sets `new` in `conditions`, replacing a condition of the same type. The transition time is
/// kept from the old condition when the status did not change.
pub fn set(conditions: &mut Vec<Condition>, mut new: Condition) {
    if let Some(old) = conditions.iter_mut().find(|c| c.type_ == new.type_) {
        if old.status == new.status {
            new.last_transition_time = old.last_transition_time.clone();
        }
        *old = new;
    } else {
        conditions.push(new);
    }
}

/// Removes the condition of type `type_`, if present.
pub fn remove(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

/// The condition of type `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether a condition of type `type_` is present with status `"True"`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == "True")
}

/// Builds a condition; `status` is `true` → `"True"`, `false` → `"False"`.
pub fn new(
    type_: &str,
    status: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: Time,
) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: reason.to_string(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: now,
    }
}

/// Builds a condition with status `"Unknown"`.
pub fn unknown(
    type_: &str,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: Time,
) -> Condition {
    Condition {
        status: "Unknown".to_string(),
        ..new(type_, false, reason, message, generation, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(secs).unwrap())
    }

    #[test]
    fn transition_time_moves_only_when_status_changes() {
        let mut conds = vec![];
        set(
            &mut conds,
            new(
                READY,
                false,
                reason::PROGRESSING,
                "fetching",
                Some(1),
                at(10),
            ),
        );
        set(
            &mut conds,
            new(READY, false, reason::FAILED, "boom", Some(1), at(20)),
        );
        assert_eq!(conds.len(), 1);
        assert_eq!(conds[0].last_transition_time, at(10));
        assert_eq!(conds[0].reason, "Failed");
        set(
            &mut conds,
            new(READY, true, reason::SUCCEEDED, "stored", Some(2), at(30)),
        );
        assert_eq!(conds[0].last_transition_time, at(30));
        assert!(is_true(&conds, READY));
        remove(&mut conds, READY);
        assert!(find(&conds, READY).is_none());
    }
}
