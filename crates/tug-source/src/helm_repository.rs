//! One reconcile of a HelmRepository of `type: default`, without the controller framework:
//! fetch `<url>/index.yaml` (conditionally, with the validators of the fetch that produced the
//! current artifact), store it when its digest is new, and record Flux's conditions.
//!
//! `type: oci` HelmRepositories are not reconciled: Flux treats them as static objects (the
//! HelmCharts that use them pull from the registry themselves), with no artifact and no
//! conditions; [`reconcile`] only clears what an earlier `type: default` left.

use crate::helm::{self, Fetched, HttpOptions, Validators};
use crate::outcome::{record_success, Failure};
use crate::reconcile::Outcome;
use crate::{Storage, DEFAULT_RETENTION_RECORDS};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::BTreeMap;
use std::time::Duration;
use tug_api::conditions::reason;
use tug_api::{HelmRepository, HelmRepositoryStatus};

/// What the caller read from the cluster, and remembers between reconciles.
#[derive(Default)]
pub struct Inputs<'a> {
    /// The data of `spec.secretRef`, or why it could not be read.
    pub auth: Option<Result<&'a BTreeMap<String, Vec<u8>>, &'a String>>,
    /// The data of `spec.certSecretRef`, or why it could not be read.
    pub cert: Option<Result<&'a BTreeMap<String, Vec<u8>>, &'a String>>,
    /// The validators of the fetch that produced the current artifact, if known.
    pub validators: Validators,
}

/// What a reconcile ends with: the status, the outcome, and the validators to send next time.
pub struct Reconciled {
    pub status: HelmRepositoryStatus,
    pub outcome: Outcome,
    pub validators: Validators,
}

/// Reconciles `obj` once.
pub fn reconcile(obj: &HelmRepository, inputs: &Inputs<'_>, storage: &Storage) -> Reconciled {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let generation = obj.metadata.generation;
    let mut status = obj.status.clone().unwrap_or_default();
    if obj.spec.is_oci() {
        // Static in Flux: nothing fetched, nothing stored, no conditions.
        status.conditions.clear();
        status.artifact = None;
        status.url = None;
        status.observed_generation = generation;
        return Reconciled {
            status,
            outcome: Outcome::UpToDate(String::new()),
            validators: Validators::default(),
        };
    }
    let (outcome, validators) = match run(obj, inputs, storage, &mut status) {
        Ok((outcome, validators)) => {
            let revision = match &outcome {
                Outcome::NewArtifact(r) | Outcome::UpToDate(r) => r.clone(),
                Outcome::Failed { .. } => String::new(),
            };
            let message = format!("stored artifact: revision '{revision}'");
            record_success(&mut status.conditions, &message, generation, &now);
            (outcome, validators)
        }
        Err(failure) => (
            failure.record(&mut status.conditions, generation, &now),
            Validators::default(),
        ),
    };
    status.observed_generation = generation;
    Reconciled {
        status,
        outcome,
        validators,
    }
}

fn run(
    obj: &HelmRepository,
    inputs: &Inputs<'_>,
    storage: &Storage,
    status: &mut HelmRepositoryStatus,
) -> Result<(Outcome, Validators), Failure> {
    let spec = &obj.spec;
    let auth_failed = |message: String| Failure::fetch(reason::AUTHENTICATION_FAILED, message);
    let (auth, cert) = (
        secret_data(inputs.auth, auth_failed)?,
        secret_data(inputs.cert, auth_failed)?,
    );
    let mut options = HttpOptions::from_secrets(auth, cert).map_err(|e| {
        auth_failed(format!(
            "failed to configure Helm client with secret data: {e}"
        ))
    })?;
    options.pass_credentials = spec.pass_credentials;
    options.timeout = tug_api::duration::parse_duration(spec.timeout_or_default())
        .unwrap_or(Duration::from_secs(60));

    // Validators only stand for the artifact we still have.
    let current = status
        .artifact
        .as_ref()
        .filter(|a| storage.exists(a))
        .cloned();
    let previous = if current.is_some() {
        inputs.validators.clone()
    } else {
        Validators::default()
    };
    let scratch = tempfile::tempdir().map_err(|e| {
        Failure::fetch(
            "IndexationFailed",
            format!("failed to create a temporary directory: {e}"),
        )
    })?;
    let fetched = helm::fetch_index(
        &spec.url,
        &options,
        &previous,
        scratch.path(),
        helm::DEFAULT_MAX_INDEX_SIZE,
    )
    .map_err(|e| {
        let message = format!("failed to fetch Helm repository index: {e}");
        match e {
            helm::HelmError::InvalidUrl { .. } => Failure::stalled("URLInvalid", message),
            _ => Failure::fetch(
                match e.reason() {
                    "Failed" => "IndexationFailed",
                    other => other,
                },
                message,
            ),
        }
    })?;
    let index = match fetched {
        Fetched::NotModified => match current {
            Some(a) => return Ok((Outcome::UpToDate(a.revision), previous)),
            // A 304 without an artifact cannot happen (no validators were sent); fetch again
            // unconditionally next time.
            None => {
                return Err(Failure::fetch(
                    "IndexationFailed",
                    "the server answered 304 Not Modified to an unconditional request".into(),
                ))
            }
        },
        Fetched::Index(index) => index,
    };
    let revision = helm::index_revision(&index);
    if let Some(a) = current.filter(|a| a.revision == revision) {
        return Ok((Outcome::UpToDate(a.revision), index.validators.clone()));
    }
    let namespace = obj.metadata.namespace.as_deref().unwrap_or("default");
    let name = obj.metadata.name.as_deref().unwrap_or_default();
    let artifact = helm::store_index(storage, namespace, name, &index).map_err(|e| {
        Failure::storage(
            "ArchiveOperationFailed",
            format!("unable to save artifact to storage: {e}"),
        )
    })?;
    let dir = Storage::artifact_dir("HelmRepository", namespace, name);
    let _ = storage.garbage_collect(&dir, DEFAULT_RETENTION_RECORDS, Some(&artifact.path));
    status.url = Some(artifact.url.clone());
    status.artifact = Some(artifact);
    Ok((Outcome::NewArtifact(revision), index.validators.clone()))
}

/// A Secret's data as read by the caller; why it is missing becomes an AuthenticationFailed.
fn secret_data<'a>(
    input: Option<Result<&'a BTreeMap<String, Vec<u8>>, &'a String>>,
    fail: impl Fn(String) -> Failure,
) -> Result<Option<&'a BTreeMap<String, Vec<u8>>>, Failure> {
    match input {
        None => Ok(None),
        Some(Ok(data)) => Ok(Some(data)),
        Some(Err(why)) => Err(fail(why.clone())),
    }
}
