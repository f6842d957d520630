//! One reconcile of a GitRepository, without the controller framework: from the object, its
//! secret's data and the storage to the new status, with Flux's conditions and messages.
//!
//! The controller (watching, requeueing, events, status patches) wraps this. The function is
//! blocking and owns no state: what it knows of the past is `status.artifact`.

use crate::error::Error;
use crate::fetch::{fetch_with, Checkout, FetchOptions, FetchOutcome, FetchRequest};
use crate::include::Include;
use crate::verify;
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

/// What the caller read from the cluster for one reconcile.
#[derive(Default)]
pub struct Inputs<'a> {
    /// The data of `spec.secretRef`, if any.
    pub secret: Option<&'a BTreeMap<String, Vec<u8>>>,
    /// The data of `spec.verify.secretRef`, or why it could not be read (e.g.
    /// `secrets "keys" not found`). `None` when there is no `spec.verify`.
    pub verification_keys: Option<std::result::Result<&'a BTreeMap<String, Vec<u8>>, String>>,
    /// One entry per `spec.include`, in order: the included repository's artifact, or why it
    /// is unavailable.
    pub includes: Vec<std::result::Result<Include, IncludeUnavailable>>,
}

/// An included GitRepository that has no artifact to give (yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludeUnavailable {
    /// Flux's reason: `NotFound` or `NoArtifact`.
    pub reason: String,
    pub message: String,
}

impl IncludeUnavailable {
    pub fn not_found(name: &str) -> Self {
        IncludeUnavailable {
            reason: "NotFound".into(),
            message: format!(
                "could not get resource for include '{name}': gitrepositories.source.toolkit.fluxcd.io \"{name}\" not found"
            ),
        }
    }

    pub fn no_artifact(name: &str) -> Self {
        IncludeUnavailable {
            reason: "NoArtifact".into(),
            message: format!("no artifact available for include '{name}'"),
        }
    }
}

/// Reconciles `obj` once. `secret` is the data of `spec.secretRef` (if any), already read.
/// For `spec.verify` and `spec.include`, use [`reconcile_with`].
pub fn reconcile(
    obj: &GitRepository,
    secret: Option<&BTreeMap<String, Vec<u8>>>,
    storage: &Storage,
) -> (GitRepositoryStatus, Outcome) {
    reconcile_with(
        obj,
        &Inputs {
            secret,
            ..Default::default()
        },
        storage,
    )
}

/// Reconciles `obj` once with everything it references already read.
pub fn reconcile_with(
    obj: &GitRepository,
    inputs: &Inputs<'_>,
    storage: &Storage,
) -> (GitRepositoryStatus, Outcome) {
    let secret = inputs.secret;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let generation = obj.metadata.generation;
    let mut status = obj.status.clone().unwrap_or_default();
    let spec = &obj.spec;
    let namespace = obj.metadata.namespace.as_deref().unwrap_or("default");
    let name = obj.metadata.name.as_deref().unwrap_or_default();
    let dir = Storage::artifact_dir("GitRepository", namespace, name);

    let fail = |status: &mut GitRepositoryStatus, err: &Error, fetch_failed: bool| {
        let kind = if fetch_failed {
            conditions::FETCH_FAILED
        } else {
            conditions::STORAGE_OPERATION_FAILED
        };
        // An invalid spec will not fix itself by retrying.
        let stalled = matches!(err, Error::InvalidUrl { .. } | Error::InvalidReference(_));
        let failure = Failure {
            condition: kind,
            polarity: true,
            reason: err.reason(),
            message: err.to_string(),
            stalled,
        };
        failure.record(status, generation, &now)
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

    // A failed verification is decided anew; a successful one stands for its revision.
    if conditions::find(&status.conditions, conditions::SOURCE_VERIFIED)
        .is_some_and(|c| c.status == "False")
    {
        conditions::remove(&mut status.conditions, conditions::SOURCE_VERIFIED);
    }
    let mode = match spec.verification.as_ref() {
        None => {
            status.source_verification_mode = None;
            conditions::remove(&mut status.conditions, conditions::SOURCE_VERIFIED);
            None
        }
        Some(v) => match verify::Mode::parse(v.mode.as_deref()) {
            Ok(m) => Some(m),
            Err(e) => {
                let outcome = unverified(&mut status, &e, generation, &now);
                return (status, outcome);
            }
        },
    };

    // Every include must have an artifact before anything is fetched.
    let mut includes = Vec::with_capacity(inputs.includes.len());
    for include in &inputs.includes {
        match include {
            Ok(i) => includes.push(i.clone()),
            Err(unavailable) => {
                let failure = Failure {
                    condition: conditions::INCLUDE_UNAVAILABLE,
                    polarity: true,
                    reason: &unavailable.reason,
                    message: unavailable.message.clone(),
                    stalled: false,
                };
                let outcome = failure.record(&mut status, generation, &now);
                return (status, outcome);
            }
        }
    }
    conditions::remove(&mut status.conditions, conditions::INCLUDE_UNAVAILABLE);
    let included_artifacts: Vec<_> = includes.iter().map(|i| i.artifact.clone()).collect();

    // The last artifact counts only while it is on disk and was made with the same rules, the
    // same includes and their same artifacts, and verified as now asked; otherwise the
    // revision is fetched and archived again.
    let same_includes = status.observed_include == spec.include
        && status.included_artifacts.len() == included_artifacts.len()
        && status
            .included_artifacts
            .iter()
            .zip(&included_artifacts)
            .all(|(a, b)| a.revision == b.revision && a.digest == b.digest);
    let verified = match mode {
        None => true,
        Some(m) => match status.source_verification_mode.as_deref() {
            None => false,
            Some(observed) => {
                !((observed == "Tag" && m.verifies_head())
                    || (observed == "HEAD" && m.verifies_tag()))
            }
        },
    };
    let current = status
        .artifact
        .as_ref()
        .filter(|a| {
            storage.exists(a) && status.observed_ignore == spec.ignore && same_includes && verified
        })
        .and_then(|a| a.revision.parse().ok());
    let timeout = tug_api::duration::parse_duration(spec.timeout_or_default())
        .unwrap_or(Duration::from_secs(60));
    let options = secret.map(FetchOptions::from_secret).unwrap_or_default();
    let outcome = match fetch_within(&spec.url, reference, auth, options, current, timeout) {
        Err(e) => {
            let outcome = fail(&mut status, &e, true);
            return (status, outcome);
        }
        Ok(FetchOutcome::Unchanged(revision)) => Outcome::UpToDate(revision.to_string()),
        Ok(FetchOutcome::Fetched(checkout)) => {
            if let Some(mode) = mode {
                conditions::remove(&mut status.conditions, conditions::FETCH_FAILED);
                match verify_checkout(&checkout, mode, inputs) {
                    Ok(message) => {
                        status.source_verification_mode = Some(mode.as_str().to_string());
                        conditions::set(
                            &mut status.conditions,
                            conditions::new(
                                conditions::SOURCE_VERIFIED,
                                true,
                                reason::SUCCEEDED,
                                &message,
                                generation,
                                now.clone(),
                            ),
                        );
                    }
                    Err(e) => {
                        let outcome = unverified(&mut status, &e, generation, &now);
                        return (status, outcome);
                    }
                }
            }
            match checkout.archive_with_includes(storage, &dir, spec.ignore.as_deref(), &includes) {
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
                    status.included_artifacts = included_artifacts;
                    status.observed_include = spec.include.clone();
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
    options: FetchOptions,
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
            let _ = tx.send(fetch_with(&request, &options));
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

/// Checks the signatures `mode` asks for on the fetched commit (and tag).
fn verify_checkout(
    checkout: &Checkout,
    mode: verify::Mode,
    inputs: &Inputs<'_>,
) -> std::result::Result<String, verify::VerifyError> {
    let data = match &inputs.verification_keys {
        Some(Ok(data)) => *data,
        Some(Err(why)) => return Err(verify::VerifyError::Secret(why.clone())),
        None => {
            return Err(verify::VerifyError::Secret(
                "no secret with public keys was read".into(),
            ))
        }
    };
    let keys = verify::KeyRings::from_secret(data);
    let commit_name = checkout.commit_id();
    let object_err = |e: Error| verify::VerifyError::Commit {
        commit: commit_name.clone(),
        cause: e.to_string(),
    };
    let commit_raw = checkout.commit_object().map_err(object_err)?;
    let tag_raw = checkout.tag_object().map_err(object_err)?;
    let tag_name = match (&checkout.revision.name, checkout.tag_id()) {
        (Some(name), Some(id)) => Some(format!(
            "{}@{id}",
            name.strip_prefix("refs/tags/").unwrap_or(name)
        )),
        _ => None,
    };
    let tag = match (&tag_name, &tag_raw) {
        (Some(name), Some(raw)) => Some(verify::Signed { name, raw }),
        _ => None,
    };
    verify::verify(
        mode,
        &keys,
        verify::Signed {
            name: &commit_name,
            raw: &commit_raw,
        },
        tag,
    )
}

/// A revision whose signature could not be verified: SourceVerified=False and Ready=False with
/// the reason; no artifact is stored for it (the last one stays).
fn unverified(
    status: &mut GitRepositoryStatus,
    err: &verify::VerifyError,
    generation: Option<i64>,
    now: &Time,
) -> Outcome {
    let failure = Failure {
        condition: conditions::SOURCE_VERIFIED,
        polarity: false,
        reason: err.reason(),
        message: err.to_string(),
        stalled: err.is_stalling(),
    };
    failure.record(status, generation, now)
}

/// A failed reconcile: the condition that says why (`FetchFailed=True`,
/// `SourceVerified=False`, ...), Ready=False with the same reason and message, Stalled when
/// retrying cannot help.
struct Failure<'a> {
    condition: &'a str,
    polarity: bool,
    reason: &'a str,
    message: String,
    stalled: bool,
}

impl Failure<'_> {
    fn record(
        self,
        status: &mut GitRepositoryStatus,
        generation: Option<i64>,
        now: &Time,
    ) -> Outcome {
        let mut set = |t: &str, value: bool| {
            conditions::set(
                &mut status.conditions,
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
        set(self.condition, self.polarity);
        set(conditions::READY, false);
        if self.stalled {
            set(conditions::STALLED, true);
        } else {
            conditions::remove(&mut status.conditions, conditions::STALLED);
        }
        conditions::remove(&mut status.conditions, conditions::RECONCILING);
        status.observed_generation = generation;
        Outcome::Failed {
            reason: self.reason.to_string(),
            message: self.message,
        }
    }
}
