//! What the reconcilers share: Kubernetes Events and exponential back-off after failures
//! (status writes are [`crate::status::StatusWriter`]'s).

use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::Resource;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// A failure of the controller machinery itself (not of the user's objects, which end up in
/// conditions): the API refused a status write, a Secret could not be read...
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {}", tug_apply::describe(.source))]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn kube(what: impl Into<String>, source: kube::Error) -> Self {
        Error::Kube {
            what: what.into(),
            source,
        }
    }
}

/// Publishes a Kubernetes Event about `obj`. Event failures are logged, never fatal: an
/// event is a notification, the status is the record.
pub async fn publish<K>(recorder: &Recorder, obj: &K, warning: bool, reason: &str, note: String)
where
    K: Resource<DynamicType = ()>,
{
    // The API limits notes to 1 kB; long change sets are cut, as Flux's events are.
    let mut note = note;
    if note.len() > 1000 {
        let mut cut = 990;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
        note.push_str("\n…");
    }
    let event = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.to_string(),
        note: Some(note),
        action: "Reconcile".to_string(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::warn!(error = %tug_apply::describe(&e), "publishing an event failed");
    }
}

/// The reporter of every event tug's controllers emit.
pub fn reporter(controller: &str) -> Reporter {
    Reporter {
        controller: controller.to_string(),
        instance: std::env::var("POD_NAME").ok(),
    }
}

/// Exponential back-off per object after consecutive failures, as controller-runtime's rate
/// limiter does for Flux: a first retry soon, then doubling, capped.
#[derive(Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

/// First retry delay (Flux's `--min-retry-delay` default).
const MIN_RETRY: Duration = Duration::from_millis(750);
/// Longest retry delay (Flux's `--max-retry-delay` default).
const MAX_RETRY: Duration = Duration::from_secs(15 * 60);

impl Backoff {
    /// Records a failure of `key` and returns how long to wait before the next attempt.
    pub fn failed(&self, key: &str) -> Duration {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key.to_string()).or_insert(0);
        let delay = MIN_RETRY.saturating_mul(1u32 << (*n).min(20));
        *n = n.saturating_add(1);
        delay.min(MAX_RETRY)
    }

    /// Forgets the failures of `key` after a success.
    pub fn succeeded(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }
}

/// `namespace/name` of an object, for logs and back-off keys.
pub fn key<K: Resource>(obj: &K) -> String {
    format!(
        "{}/{}",
        obj.meta().namespace.as_deref().unwrap_or_default(),
        obj.meta().name.as_deref().unwrap_or_default()
    )
}

/// The value of the `reconcile.fluxcd.io/requestedAt` annotation, if any.
pub fn requested_at<K: Resource>(obj: &K) -> Option<String> {
    obj.meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(tug_api::RECONCILE_REQUEST_ANNOTATION))
        .cloned()
}

/// The data of the Secret `namespace/name`, or Flux's message when it does not exist (the
/// reconcile reports it in the object's conditions).
pub async fn secret_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Result<std::collections::BTreeMap<String, Vec<u8>>, String>, Error> {
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(client.clone(), namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading Secret {namespace}/{name}"), e))?;
    Ok(match secret {
        Some(s) => Ok(s
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect()),
        None => Err(format!(
            "failed to get secret '{namespace}/{name}': secrets \"{name}\" not found"
        )),
    })
}

/// Flux's finalizer on sources: their artifacts are removed from storage before they go.
pub const SOURCE_FINALIZER: &str = "finalizers.fluxcd.io";

/// Removes every artifact of the source `obj` of `kind` from `storage` (on its deletion).
pub async fn remove_artifacts<K: Resource>(
    storage: &tug_source::Storage,
    kind: &str,
    obj: &K,
) -> Result<(), Error> {
    let dir = tug_source::Storage::artifact_dir(
        kind,
        obj.meta().namespace.as_deref().unwrap_or_default(),
        obj.meta().name.as_deref().unwrap_or_default(),
    );
    let storage = storage.clone();
    let what = format!("removing the artifacts of {kind} {}", key(obj));
    let removed = tokio::task::spawn_blocking(move || {
        let removed = storage.garbage_collect(&dir, 0, None)?;
        if let Some(path) = storage.local_path(&dir) {
            // Empty now; a concurrent writer's new file keeps it, which is harmless.
            let _ = std::fs::remove_dir(path);
        }
        Ok::<_, tug_source::Error>(removed.len())
    })
    .await
    .map_err(|e| Error::Other(format!("{what}: {e}")))?
    .map_err(|e| Error::Other(format!("{what}: {e}")))?;
    tracing::info!(key = %key(obj), kind, removed, "artifacts removed with the source");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_resets() {
        let b = Backoff::default();
        assert_eq!(b.failed("x"), MIN_RETRY);
        assert_eq!(b.failed("x"), MIN_RETRY * 2);
        assert_eq!(b.failed("x"), MIN_RETRY * 4);
        b.succeeded("x");
        assert_eq!(b.failed("x"), MIN_RETRY);
        for _ in 0..40 {
            b.failed("y");
        }
        assert_eq!(b.failed("y"), MAX_RETRY);
    }
}
