//! The status writes of one reconcile.
//!
//! A reconcile starts from the cached object and may write several statuses: "in progress"
//! before long work, then what it concluded. Each write is sent as the difference from the
//! status the server holds, so a no-op reconcile writes nothing and a write carries only what
//! changed. The server's status is known from the cached object at first and from each
//! write's response after that: diffing the conclusion against the *cached* status instead
//! would drop it whenever it equals the status the reconcile started from (a failure repeated
//! within the second its condition timestamps are rounded to), leaving the progress status
//! on the object.

use crate::common::Error;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt::Debug;

/// Writes the status of one object during one reconcile; create one per reconcile with
/// [`StatusWriter::new`] and send every status through [`StatusWriter::write`].
pub struct StatusWriter<K> {
    api: Api<K>,
    name: String,
    /// The status the server holds, as far as this reconcile knows.
    known: Value,
    /// A write failed: whether it reached the server is unknown, so the next write sends
    /// the whole status rather than a difference from `known`.
    unsure: bool,
}

impl<K> StatusWriter<K>
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    /// A writer for `obj` (as the reconcile received it) through `api`.
    pub fn new(api: Api<K>, obj: &K) -> Self {
        StatusWriter {
            api,
            name: obj.name_any(),
            known: status_of(obj),
            unsure: false,
        }
    }

    /// Writes `status` when it differs from the status the server holds; returns whether a
    /// write was made.
    pub async fn write<S: Serialize>(&mut self, status: &S) -> Result<bool, Error> {
        let new = serde_json::to_value(status).map_err(|e| Error::Other(e.to_string()))?;
        let patch = if self.unsure {
            full_patch(&self.known, &new)
        } else {
            match merge_patch(&self.known, &new) {
                Some(patch) => patch,
                None => return Ok(false),
            }
        };
        let body = serde_json::json!({ "status": patch });
        match self
            .api
            .patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&body))
            .await
        {
            Ok(written) => {
                self.known = status_of(&written);
                self.unsure = false;
                Ok(true)
            }
            Err(e) => {
                self.unsure = true;
                Err(Error::kube(
                    format!("writing the status of {}", self.name),
                    e,
                ))
            }
        }
    }
}

/// The `status` of `obj` as JSON; an empty object when it has none.
fn status_of<K: Serialize>(obj: &K) -> Value {
    serde_json::to_value(obj)
        .ok()
        .and_then(|mut v| v.get_mut("status").map(Value::take))
        .filter(|s| !s.is_null())
        .unwrap_or_else(|| Value::Object(Map::new()))
}

/// The JSON merge patch (RFC 7386) that turns `old` into `new`, or `None` when they are equal.
/// Sending only the difference keeps status writes small, and fields that went away are sent
/// as `null` so they are removed (a plain merge of the new status would leave them).
pub fn merge_patch(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) => {
                        if let Some(p) = merge_patch(ov, nv) {
                            patch.insert(k.clone(), p);
                        }
                    }
                    None => {
                        patch.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys() {
                if !n.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            Some(Value::Object(patch))
        }
        _ => Some(new.clone()),
    }
}

/// The merge patch that sets all of `new`, whatever the server holds, and removes the
/// fields of `old` that `new` does not have.
fn full_patch(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch: Map<String, Value> = n
                .iter()
                .map(|(k, nv)| (k.clone(), full_patch(o.get(k).unwrap_or(&Value::Null), nv)))
                .collect();
            for k in o.keys().filter(|k| !n.contains_key(*k)) {
                patch.insert(k.clone(), Value::Null);
            }
            Value::Object(patch)
        }
        _ => new.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_sends_only_differences_and_nulls_removed_fields() {
        let old = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        let new = json!({"a": 1, "b": {"c": 2, "d": 4}, "f": true});
        assert_eq!(
            merge_patch(&old, &new),
            Some(json!({"b": {"d": 4}, "e": null, "f": true}))
        );
        assert_eq!(merge_patch(&new, &new), None);
    }

    #[test]
    fn a_full_patch_sets_everything_and_nulls_removed_fields() {
        let old = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        let new = json!({"a": 1, "b": {"c": 2}, "f": true});
        assert_eq!(
            full_patch(&old, &new),
            json!({"a": 1, "b": {"c": 2, "d": null}, "e": null, "f": true})
        );
        assert_eq!(full_patch(&new, &new), new);
    }

    #[test]
    fn the_status_of_an_object_without_one_is_empty() {
        let mut ks: tug_api::Kustomization = serde_json::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "a", "namespace": "n"},
            "spec": {"interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "a"}}
        }))
        .expect("a Kustomization");
        assert_eq!(status_of(&ks), json!({}));
        ks.status = Some(tug_api::KustomizationStatus {
            last_attempted_revision: Some("main@sha1:1".into()),
            ..Default::default()
        });
        assert_eq!(status_of(&ks)["lastAttemptedRevision"], "main@sha1:1");
    }
}
