//! One reconcile of an OCIRepository, without the controller framework: from the object, the
//! data of its Secrets and the storage to the new status, with Flux's conditions, reasons and
//! messages.
//!
//! The steps are Flux's: choose the reference (digest, else the highest tag in the semver
//! range, else the tag, else `latest`), resolve it to a digest (one manifest request), stop
//! there when the stored artifact has that revision and was made with the same layer selector
//! and ignore rules, else pull the manifest, take the selected layer and store it (extracted and
//! archived again with the ignore rules, or copied as it is).

use crate::oci::{self, Client, ClientOptions, DockerConfig, LayerSelector, OciUrl, Operation};
use crate::outcome::{record_success, Failure};
use crate::reconcile::Outcome;
use crate::{Storage, DEFAULT_RETENTION_RECORDS};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::BTreeMap;
use std::time::Duration;
use tug_api::conditions::reason;
use tug_api::oci::DEFAULT_TAG;
use tug_api::{OCIRepository, OCIRepositoryStatus};

/// Flux's reasons for OCIRepository failures.
pub mod oci_reason {
    pub const URL_INVALID: &str = "URLInvalid";
    pub const READ_OPERATION_FAILED: &str = "ReadOperationFailed";
    pub const PULL_FAILED: &str = "OCIArtifactPullFailed";
    pub const LAYER_OPERATION_FAILED: &str = "OCIArtifactLayerOperationFailed";
    pub const ARCHIVE_OPERATION_FAILED: &str = "ArchiveOperationFailed";
    /// A field tug does not implement: refused loudly rather than ignored.
    pub const UNSUPPORTED_FIELD: &str = "UnsupportedField";
}

/// Largest layer an OCIRepository takes: beyond it the pull is refused before any byte of the
/// layer is downloaded (the manifest declares the size).
pub const MAX_LAYER_BYTES: u64 = 1 << 30;

/// What the caller read from the cluster for one reconcile: the data of `spec.secretRef` and of
/// `spec.certSecretRef`, or why it could not be read.
#[derive(Default)]
pub struct Inputs<'a> {
    pub credentials: Option<Result<&'a BTreeMap<String, Vec<u8>>, &'a String>>,
    pub tls: Option<Result<&'a BTreeMap<String, Vec<u8>>, &'a String>>,
}

/// Reconciles `obj` once.
pub fn reconcile(
    obj: &OCIRepository,
    inputs: &Inputs<'_>,
    storage: &Storage,
) -> (OCIRepositoryStatus, Outcome) {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let generation = obj.metadata.generation;
    let mut status = obj.status.clone().unwrap_or_default();
    match run(obj, inputs, storage, &mut status) {
        Ok(outcome) => {
            let revision = match &outcome {
                Outcome::NewArtifact(r) | Outcome::UpToDate(r) => r.clone(),
                Outcome::Failed { .. } => String::new(),
            };
            let message = format!("stored artifact for digest '{revision}'");
            record_success(&mut status.conditions, &message, generation, &now);
            status.observed_generation = generation;
            (status, outcome)
        }
        Err(failure) => {
            let outcome = failure.record(&mut status.conditions, generation, &now);
            status.observed_generation = generation;
            (status, outcome)
        }
    }
}

fn run(
    obj: &OCIRepository,
    inputs: &Inputs<'_>,
    storage: &Storage,
    status: &mut OCIRepositoryStatus,
) -> Result<Outcome, Failure> {
    let spec = &obj.spec;
    refuse_unsupported(obj)?;
    let invalid_url = |why: String| {
        Failure::stalled(
            oci_reason::URL_INVALID,
            format!("URL validation failed for '{}': {why}", spec.url),
        )
    };
    let url = OciUrl::parse(&spec.url).map_err(|e| invalid_url(e.to_string()))?;
    if let Some(tag) = &url.tag {
        return Err(invalid_url(format!(
            "URL must not contain a tag; remove ':{tag}'"
        )));
    }
    if url.digest.is_some() {
        return Err(invalid_url(
            "URL must not contain a digest; use spec.ref.digest".into(),
        ));
    }
    let client = client_for(obj, inputs)?;

    // The reference, then its digest: all a poll of an unchanged artifact costs.
    let reference = choose_reference(obj, &client, &url).map_err(|e| {
        Failure::fetch(
            oci_reason::READ_OPERATION_FAILED,
            format!(
                "failed to determine the artifact tag for '{}': {e}",
                spec.url
            ),
        )
    })?;
    let (reference_text, tag) = match &reference {
        Reference::Digest(d) => (d.as_str(), None),
        Reference::Tag(t) => (t.as_str(), Some(t.as_str())),
    };
    let descriptor = client.resolve(&url, reference_text).map_err(|e| {
        Failure::fetch(
            oci_reason::PULL_FAILED,
            format!("failed to determine artifact digest: {e}"),
        )
    })?;
    let revision = match tag {
        Some(tag) => format!("{tag}@{}", descriptor.digest),
        None => descriptor.digest.clone(),
    };

    let unchanged = status.artifact.as_ref().is_some_and(|a| {
        a.revision == revision
            && storage.exists(a)
            && status.observed_ignore == spec.ignore
            && status.observed_layer_selector == spec.layer_selector
    });
    if unchanged {
        return Ok(Outcome::UpToDate(revision));
    }

    // Pull the selected layer into a scratch directory, then store it.
    let selector = spec.layer_selector.clone().unwrap_or_default();
    let operation = match selector.operation_or_default() {
        tug_api::oci::LAYER_COPY => Operation::Copy,
        _ => Operation::Extract,
    };
    let pull_failed = |e: oci::Error| {
        let reason = if matches!(e, oci::Error::NoLayer { .. }) {
            oci_reason::LAYER_OPERATION_FAILED
        } else {
            oci_reason::PULL_FAILED
        };
        Failure::fetch(
            reason,
            format!("failed to pull artifact from '{}': {e}", spec.url),
        )
    };
    let layer_selector = match (&selector.media_type, operation) {
        (Some(media_type), _) => Some(LayerSelector {
            media_type: media_type.clone(),
            operation,
        }),
        (None, Operation::Extract) => None,
        // A copy of the first layer, whatever its type: name the type to the puller.
        (None, Operation::Copy) => {
            let manifest = client
                .manifest(&url, &descriptor.digest)
                .and_then(|m| m.image())
                .map_err(pull_failed)?;
            let first = manifest.layers.first().ok_or_else(|| {
                pull_failed(oci::Error::NoLayer {
                    url: url.to_string(),
                    media_type: "(any)".into(),
                })
            })?;
            Some(LayerSelector {
                media_type: first.media_type.clone(),
                operation,
            })
        }
    };
    let scratch = tempfile::tempdir().map_err(|e| {
        Failure::fetch(
            oci_reason::PULL_FAILED,
            format!("failed to create a temporary directory: {e}"),
        )
    })?;
    let dest = match operation {
        Operation::Extract => scratch.path().join("content"),
        Operation::Copy => scratch.path().join("layer.tgz"),
    };
    let limits = oci::PullLimits {
        max_layer_bytes: MAX_LAYER_BYTES,
        ..Default::default()
    };
    let pulled = oci::pull_artifact(
        &client,
        &url,
        Some(&descriptor),
        layer_selector.as_ref(),
        &dest,
        limits,
    )
    .map_err(pull_failed)?;

    let dir = crate::Storage::artifact_dir(
        "OCIRepository",
        obj.metadata.namespace.as_deref().unwrap_or("default"),
        obj.metadata.name.as_deref().unwrap_or_default(),
    );
    let storage_failed = |message: String| {
        Failure::storage(
            oci_reason::ARCHIVE_OPERATION_FAILED,
            format!("unable to archive artifact to storage: {message}"),
        )
    };
    let file = match operation {
        Operation::Copy => dest.clone(),
        Operation::Extract => {
            let ignore: Vec<String> = spec
                .ignore
                .as_deref()
                .map(|i| i.lines().map(str::to_string).collect())
                .unwrap_or_default();
            let layer =
                oci::build_layer(&dest, &ignore).map_err(|e| storage_failed(e.to_string()))?;
            layer
                .file
                .into_temp_path()
                .keep()
                .map_err(|e| storage_failed(e.to_string()))?
        }
    };
    let stored = storage.store(&dir, &revision, |w| {
        let mut f = std::fs::File::open(&file).map_err(|e| crate::Error::Storage {
            path: file.clone(),
            source: e,
        })?;
        std::io::copy(&mut f, w)
            .map(|_| ())
            .map_err(|e| crate::Error::Storage {
                path: file.clone(),
                source: e,
            })
    });
    if operation == Operation::Extract {
        let _ = std::fs::remove_file(&file);
    }
    let mut artifact = stored.map_err(|e| storage_failed(e.to_string()))?;
    if !pulled.annotations.is_empty() {
        artifact.metadata = Some(pulled.annotations);
    }
    let _ = storage.garbage_collect(&dir, DEFAULT_RETENTION_RECORDS, Some(&artifact.path));
    status.url = Some(artifact.url.clone());
    status.artifact = Some(artifact);
    status.observed_ignore = spec.ignore.clone();
    status.observed_layer_selector = spec.layer_selector.clone();
    Ok(Outcome::NewArtifact(revision))
}

/// Fields of the API tug does not implement: a loud Stalled naming the field, never a silent
/// pull that ignores what the user asked for.
fn refuse_unsupported(obj: &OCIRepository) -> Result<(), Failure> {
    let spec = &obj.spec;
    let unsupported = |field: &str, why: &str| {
        Err(Failure::stalled(
            oci_reason::UNSUPPORTED_FIELD,
            format!("spec.{field} is not supported by tug yet: {why}"),
        ))
    };
    if spec.verify.is_some() {
        return unsupported(
            "verify",
            "cosign and notation verification are not implemented",
        );
    }
    if let Some(p) = spec.provider.as_deref().filter(|p| *p != "generic") {
        return unsupported(
            "provider",
            &format!("'{p}' needs cloud workload identity; use 'generic' with spec.secretRef"),
        );
    }
    if spec.service_account_name.is_some() {
        return unsupported("serviceAccountName", "use spec.secretRef");
    }
    if spec.proxy_secret_ref.is_some() {
        return unsupported("proxySecretRef", "proxies are not implemented");
    }
    Ok(())
}

/// The registry client for `obj`: credentials from its dockerconfigjson Secret, TLS material
/// from its cert Secret, plain HTTP when `insecure`, and its timeout.
fn client_for(obj: &OCIRepository, inputs: &Inputs<'_>) -> Result<Client, Failure> {
    let auth_failed = |message: String| Failure::fetch(reason::AUTHENTICATION_FAILED, message);
    let docker_config =
        match inputs.credentials {
            None => None,
            Some(Err(why)) => return Err(auth_failed(why.clone())),
            Some(Ok(data)) => Some(DockerConfig::from_secret(data).map_err(|e| {
                auth_failed(format!("failed to read the registry credentials: {e}"))
            })?),
        };
    let tls = match inputs.tls {
        None => None,
        Some(Err(why)) => return Err(auth_failed(why.clone())),
        Some(Ok(data)) => Some(data),
    };
    let pem = |key: &str| tls.and_then(|t| t.get(key).cloned());
    let options = ClientOptions {
        plain_http: obj.spec.insecure,
        ca_pem: pem("ca.crt"),
        client_cert_pem: pem("tls.crt"),
        client_key_pem: pem("tls.key"),
        // As Flux: `insecure` without a cert Secret also accepts any certificate.
        insecure_skip_verify: obj.spec.insecure && tls.is_none(),
        credentials: None,
        docker_config,
        timeout: tug_api::duration::parse_duration(obj.spec.timeout_or_default())
            .unwrap_or(Duration::from_secs(60)),
    };
    Client::new(options).map_err(|e| {
        auth_failed(format!(
            "failed to generate transport for '{}': {e}",
            obj.spec.url
        ))
    })
}

enum Reference {
    Tag(String),
    Digest(String),
}

/// Flux's precedence: digest, semver (with its filter), tag, `latest`.
fn choose_reference(
    obj: &OCIRepository,
    client: &Client,
    url: &OciUrl,
) -> Result<Reference, String> {
    let Some(r) = obj.spec.reference.as_ref() else {
        return Ok(Reference::Tag(DEFAULT_TAG.to_string()));
    };
    if let Some(d) = r.digest.as_deref().filter(|d| !d.is_empty()) {
        return Ok(Reference::Digest(d.to_string()));
    }
    if let Some(range) = r.semver.as_deref().filter(|s| !s.is_empty()) {
        let filter = match r.semver_filter.as_deref().filter(|f| !f.is_empty()) {
            None => None,
            Some(f) => Some(
                regex::Regex::new(f).map_err(|e| format!("semver regex '{f}' parse error: {e}"))?,
            ),
        };
        let parsed: crate::semver_range::Range = range
            .parse()
            .map_err(|e| format!("semver '{range}' parse error: {e}"))?;
        let tags = client.list_tags(url, None).map_err(|e| e.to_string())?;
        let candidates = tags
            .iter()
            .map(String::as_str)
            .filter(|t| filter.as_ref().is_none_or(|re| re.is_match(t)));
        return crate::semver_range::highest_match(&parsed, candidates)
            .map(|t| Reference::Tag(t.to_string()))
            .ok_or_else(|| format!("no match found for semver: {range}"));
    }
    Ok(Reference::Tag(
        r.tag
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| DEFAULT_TAG.to_string()),
    ))
}
