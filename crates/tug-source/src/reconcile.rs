//! One reconcile of a GitRepository, without the controller framework: from the object, its
//! secret's data and the storage to the new status, with Flux's conditions and messages.
//!
//! The controller (watching, requeueing, events, status patches) wraps this. The function is
//! blocking and owns no state: what it knows of the past is `status.artifact`.

use crate::error::Error;
use crate::fetch::{fetch, FetchOutcome, FetchRequest};
use crate::{Auth, Reference, Storage, DEFAULT_RETENTION_RECORDS};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::BTreeMap;
use std::time::Duration;
use tug_api::conditions::{self, reason};
use tug_api::revision::Revision;
use tug_api::{GitRepository, GitRepositoryStatus};

/// What happened, for the controller's events and logs (the status says the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new artifact was stored for this revision.
    NewArtifact(String),
    /// The revision did not move; the artifact is current.
    UpToDate(String),
    /// The reconcile failed; the message is in the Ready condition.
    Failed { reason: String, message: String },
}

/// Reconciles `obj` once. `secret` is the data of `spec.secretRef` (if any), already read.
pub fn reconcile(
    obj: &GitRepository,
    secret: Option<&BTreeMap<String, Vec<u8>>>,
    storage: &Storage,
) -> (GitRepositoryStatus, Outcome) {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let generation = obj.metadata.generation;
    let mut status = obj.status.clone().unwrap_or_default();
    let spec = &obj.spec;
    let namespace = obj.metadata.namespace.as_deref().unwrap_or("default");
    let name = obj.metadata.name.as_deref().unwrap_or_default();
    let dir = Storage::artifact_dir("GitRepository", namespace, name);

    let fail = |status: &mut GitRepositoryStatus, err: &Error, fetch_failed: bool| {
        let message = err.to_string();
        let why = err.reason();
        if fetch_failed {
            conditions::set(
                &mut status.conditions,
                conditions::new(
                    conditions::FETCH_FAILED,
                    true,
                    why,
                    &message,
                    generation,
                    now.clone(),
                ),
            );
        } else {
            conditions::set(
                &mut status.conditions,
                conditions::new(
                    conditions::STORAGE_OPERATION_FAILED,
                    true,
                    why,
                    &message,
                    generation,
                    now.clone(),
                ),
            );
        }
        conditions::set(
            &mut status.conditions,
            conditions::new(
                conditions::READY,
                false,
                why,
                &message,
                generation,
                now.clone(),
            ),
        );
        // An invalid spec will not fix itself by retrying.
        let stalled = matches!(err, Error::InvalidUrl { .. } | Error::InvalidReference(_));
        if stalled {
            conditions::set(
                &mut status.conditions,
                conditions::new(
                    conditions::STALLED,
                    true,
                    why,
                    &message,
                    generation,
                    now.clone(),
                ),
            );
        } else {
            conditions::remove(&mut status.conditions, conditions::STALLED);
        }
        conditions::remove(&mut status.conditions, conditions::RECONCILING);
        status.observed_generation = generation;
        Outcome::Failed {
            reason: why.to_string(),
            message,
        }
    };

    let prepared = Reference::from_spec(spec.reference.as_ref()).and_then(|r| {
        let auth = match secret {
            Some(data) => Auth::from_secret(&spec.url, data)?,
            None => Auth::None,
        };
        Ok((r, auth))
    });
    let (reference, auth) = match prepared {
        Ok(x) => x,
        Err(e) => {
            let outcome = fail(&mut status, &e, true);
            return (status, outcome);
        }
    };

    // The last artifact counts only while it is on disk and was made with the same rules;
    // otherwise the same revision is archived again.
    let current = status
        .artifact
        .as_ref()
        .filter(|a| storage.exists(a) && status.observed_ignore == spec.ignore)
        .and_then(|a| a.revision.parse().ok());
    let timeout = tug_api::duration::parse_duration(spec.timeout_or_default())
        .unwrap_or(Duration::from_secs(60));
    let outcome = match fetch_within(&spec.url, reference, auth, current, timeout) {
        Err(e) => {
            let outcome = fail(&mut status, &e, true);
            return (status, outcome);
        }
        Ok(FetchOutcome::Unchanged(revision)) => Outcome::UpToDate(revision.to_string()),
        Ok(FetchOutcome::Fetched(checkout)) => {
            match checkout.archive(storage, &dir, spec.ignore.as_deref()) {
                Err(e) => {
                    let outcome = fail(&mut status, &e, false);
                    return (status, outcome);
                }
                Ok(artifact) => {
                    let revision = artifact.revision.clone();
                    let _ = storage.garbage_collect(
                        &dir,
                        DEFAULT_RETENTION_RECORDS,
                        Some(&artifact.path),
                    );
                    status.artifact = Some(artifact);
                    status.observed_ignore = spec.ignore.clone();
                    Outcome::NewArtifact(revision)
                }
            }
        }
    };
    let revision = match &outcome {
        Outcome::NewArtifact(r) | Outcome::UpToDate(r) => r.clone(),
        Outcome::Failed { .. } => String::new(),
    };
    let message = format!("stored artifact for revision '{revision}'");
    for t in [
        conditions::FETCH_FAILED,
        conditions::STORAGE_OPERATION_FAILED,
        conditions::STALLED,
        conditions::RECONCILING,
    ] {
        conditions::remove(&mut status.conditions, t);
    }
    conditions::set(
        &mut status.conditions,
        conditions::new(
            conditions::ARTIFACT_IN_STORAGE,
            true,
            reason::SUCCEEDED,
            &message,
            generation,
            now.clone(),
        ),
    );
    conditions::set(
        &mut status.conditions,
        conditions::new(
            conditions::READY,
            true,
            reason::SUCCEEDED,
            &message,
            generation,
            now,
        ),
    );
    status.observed_generation = generation;
    (status, outcome)
}

/// Runs the fetch on its own thread and gives up waiting after `timeout` (Flux's
/// `spec.timeout`), so a stalled server cannot hold a reconcile forever. The abandoned fetch
/// ends on its own (connect timeouts, the server closing); its result is dropped.
fn fetch_within(
    url: &str,
    reference: Reference,
    auth: Auth,
    last: Option<Revision>,
    timeout: Duration,
) -> crate::Result<FetchOutcome> {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned_url = url.to_string();
    std::thread::Builder::new()
        .name("tug-git-fetch".into())
        .spawn(move || {
            let request = FetchRequest {
                url: &owned_url,
                reference: &reference,
                auth: &auth,
                last_revision: last.as_ref(),
            };
            let _ = tx.send(fetch(&request));
        })
        .map_err(|e| Error::Git {
            url: crate::error::redact_url(url),
            cause: format!("starting the fetch thread: {e}"),
        })?;
    rx.recv_timeout(timeout).unwrap_or_else(|_| {
        Err(Error::Timeout {
            url: crate::error::redact_url(url),
            timeout: format!("{}s", timeout.as_secs_f64()),
        })
    })
}
