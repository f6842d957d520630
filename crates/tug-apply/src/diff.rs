//! What an apply would change, object by object, as `flux diff kustomization` shows it: a
//! server-side dry-run of each object compared with its live copy, printed as a unified
//! YAML diff. Secret values never appear: they are masked, marked only as changed or not.

use crate::apply::{comparable, to_value, Applier};
use crate::object::VersionedId;
use kube::api::Patch;
use serde_json::Value;

/// The difference for one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectDiff {
    /// Not in the cluster yet.
    Created,
    /// In the cluster and different: the unified diff of live → desired.
    Configured(String),
    Unchanged,
}

/// A diff that could not be computed, naming the object.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct DiffError(pub Vec<String>);

const SECRET_MASK: &str = "***";

impl Applier {
    /// Diffs `objects` against the cluster without writing anything.
    pub async fn diff_all(
        &self,
        objects: Vec<Value>,
    ) -> Result<Vec<(VersionedId, ObjectDiff)>, DiffError> {
        let mut objects = objects;
        for obj in &mut objects {
            crate::apply::prepare(obj, self.options().owner.as_ref());
        }
        let desired = self.resolve(objects).await.map_err(DiffError)?;
        let live = self.fetch_live(&desired).await.map_err(DiffError)?;
        let mut out = Vec::new();
        let mut failures = Vec::new();
        for d in &desired {
            let Some(live) = live.get(&d.id.id) else {
                out.push((d.id.clone(), ObjectDiff::Created));
                continue;
            };
            if crate::drift::unchanged(&d.obj, live, &self.options().field_manager) {
                out.push((d.id.clone(), ObjectDiff::Unchanged));
                continue;
            }
            match self
                .api(d)
                .patch(&d.id.id.name, &self.params(true), &Patch::Apply(&d.obj))
                .await
            {
                Ok(dry) => {
                    let dry = to_value(&dry);
                    if comparable(&dry) == comparable(live) {
                        out.push((d.id.clone(), ObjectDiff::Unchanged));
                    } else {
                        out.push((
                            d.id.clone(),
                            ObjectDiff::Configured(unified(live, &dry, &d.id.id.to_string())),
                        ));
                    }
                }
                Err(e) => failures.push(format!(
                    "{} dry-run failed: {}",
                    d.id.id,
                    crate::describe(&e)
                )),
            }
        }
        if failures.is_empty() {
            Ok(out)
        } else {
            Err(DiffError(failures))
        }
    }
}

/// The unified diff of two versions of an object, without server bookkeeping fields and with
/// Secret values masked.
pub fn unified(live: &Value, desired: &Value, name: &str) -> String {
    let (mut before, mut after) = (for_display(live), for_display(desired));
    if live.get("kind").and_then(Value::as_str) == Some("Secret") {
        mask_secret(&mut before, &mut after);
    }
    let before = serde_yaml::to_string(&before).unwrap_or_default();
    let after = serde_yaml::to_string(&after).unwrap_or_default();
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (live)"), &format!("{name} (merged)"))
        .to_string()
}

fn for_display(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
            "selfLink",
        ] {
            meta.remove(key);
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.remove("status");
    }
    v
}

/// Replaces every value under `data`/`stringData` by a mask; a changed value shows as
/// `*** (before)` / `*** (after)` so the diff says something changed without saying what.
fn mask_secret(before: &mut Value, after: &mut Value) {
    for field in ["data", "stringData"] {
        let b = before
            .get(field)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let a = after
            .get(field)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(map) = before.get_mut(field).and_then(Value::as_object_mut) {
            for (k, v) in map.iter_mut() {
                let changed = a.get(k) != Some(v);
                *v = Value::String(if changed {
                    format!("{SECRET_MASK} (before)")
                } else {
                    SECRET_MASK.into()
                });
            }
        }
        if let Some(map) = after.get_mut(field).and_then(Value::as_object_mut) {
            for (k, v) in map.iter_mut() {
                let changed = b.get(k) != Some(v);
                *v = Value::String(if changed {
                    format!("{SECRET_MASK} (after)")
                } else {
                    SECRET_MASK.into()
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_never_appear_in_a_diff() {
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "c2VjcmV0", "same": "eA=="}});
        let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "bmV3c2VjcmV0", "same": "eA=="}});
        let text = unified(&live, &desired, "Secret/ns/s");
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("bmV3c2VjcmV0"),
            "{text}"
        );
        assert!(
            text.contains("-  password: '*** (before)'")
                || text.contains("-  password: \"*** (before)\""),
            "{text}"
        );
        assert!(text.contains("*** (after)"), "{text}");
        assert!(!text.contains("same: '*** (before)'"), "{text}");
    }

    #[test]
    fn a_changed_field_shows_as_a_unified_diff() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "7"}, "data": {"k": "old"}});
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "8"}, "data": {"k": "new"}});
        let text = unified(&live, &desired, "ConfigMap/ns/c");
        assert!(
            text.contains("-  k: old") && text.contains("+  k: new"),
            "{text}"
        );
        assert!(!text.contains("resourceVersion"), "{text}");
    }
}
