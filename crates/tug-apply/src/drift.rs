//! Local drift detection: decides, without asking the apiserver, that applying an object would
//! change nothing. This is what lets a no-op reconcile of a thousand objects send no request
//! beyond a few lists.
//!
//! The check is conservative: it answers "unchanged" only when
//! 1. every field of the desired object has the same value in the live object, and
//! 2. every field our field manager owns is still present in the desired object (otherwise
//!    the apply would remove it).
//!
//! When either fails the caller asks the apiserver (a server-side dry-run), which also covers
//! values the apiserver normalises (quantities, defaulted list keys).

use serde_json::{Map, Value};

/// Whether applying `desired` with `manager` onto `live` would leave `live` as it is.
pub fn unchanged(desired: &Value, live: &Value, manager: &str) -> bool {
    is_subset(desired, live)
        && owned_fields(live, manager).is_some_and(|owned| owned_fields_covered(owned, desired))
}

/// Every field of `desired` has an equal value in `live`. Lists must have the same length and
/// match element by element.
pub fn is_subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, dv)| match l.get(k) {
            Some(lv) => is_subset(dv, lv),
            // An explicit null in a manifest means "unset", which the live object is too.
            None => dv.is_null(),
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(dv, lv)| is_subset(dv, lv))
        }
        (Value::Number(d), Value::Number(l)) => {
            d == l || d.as_f64().zip(l.as_f64()).is_some_and(|(a, b)| a == b)
        }
        _ => desired == live,
    }
}

/// The `fieldsV1` set owned by `manager` through apply, if it has applied this object.
fn owned_fields<'a>(live: &'a Value, manager: &str) -> Option<&'a Value> {
    live.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| {
            e.get("manager").and_then(Value::as_str) == Some(manager)
                && e.get("operation").and_then(Value::as_str) == Some("Apply")
        })
        .and_then(|e| e.get("fieldsV1"))
}

/// Every path in a `fieldsV1` set exists in `desired`.
///
/// `fieldsV1` keys: `f:<name>` a field, `k:<json>` a list item identified by its key fields,
/// `v:<json>` a set member, `i:<n>` a list index, `.` the node itself.
pub fn owned_fields_covered(fields: &Value, desired: &Value) -> bool {
    let Some(fields) = fields.as_object() else {
        return true;
    };
    fields.iter().all(|(key, children)| {
        if key == "." {
            return true;
        }
        if let Some(name) = key.strip_prefix("f:") {
            return match desired.as_object().and_then(|o| o.get(name)) {
                Some(child) => owned_fields_covered(children, child),
                None => false,
            };
        }
        let Some(items) = desired.as_array() else {
            return false;
        };
        if let Some(json) = key.strip_prefix("k:") {
            let Ok(Value::Object(k)) = serde_json::from_str::<Value>(json) else {
                return false;
            };
            return items
                .iter()
                .find(|item| matches_key(item, &k))
                .is_some_and(|item| owned_fields_covered(children, item));
        }
        if let Some(json) = key.strip_prefix("v:") {
            let Ok(v) = serde_json::from_str::<Value>(json) else {
                return false;
            };
            return items.contains(&v);
        }
        if let Some(index) = key.strip_prefix("i:") {
            return index
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .is_some_and(|item| owned_fields_covered(children, item));
        }
        false
    })
}

/// A list item matches a key when each key field is equal, or absent from the item (the
/// apiserver fills defaulted key fields, e.g. a Service port's `protocol: TCP`).
fn matches_key(item: &Value, key: &Map<String, Value>) -> bool {
    let Some(item) = item.as_object() else {
        return false;
    };
    let mut present = 0;
    for (k, v) in key {
        match item.get(k) {
            Some(iv) if iv == v => present += 1,
            Some(_) => return false,
            None => {}
        }
    }
    present > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live_with(fields: Value, body: Value) -> Value {
        let mut live = body;
        live["metadata"]["managedFields"] = json!([
            {"manager": "tug", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": fields},
            {"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {"f:status": {}}}
        ]);
        live
    }

    fn deployment(image: &str, replicas: i64) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": image}]}}}
        })
    }

    fn owned() -> Value {
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}
        })
    }

    #[test]
    fn same_object_is_unchanged_even_with_server_defaults() {
        let mut live = live_with(owned(), deployment("nginx:1", 2));
        live["spec"]["strategy"] = json!({"type": "RollingUpdate"});
        live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] =
            json!("IfNotPresent");
        live["metadata"]["resourceVersion"] = json!("42");
        assert!(unchanged(&deployment("nginx:1", 2), &live, "tug"));
    }

    #[test]
    fn a_changed_value_is_drift() {
        let live = live_with(owned(), deployment("nginx:1", 3)); // someone ran kubectl scale
        assert!(!unchanged(&deployment("nginx:1", 2), &live, "tug"));
        let live = live_with(owned(), deployment("nginx:1", 2));
        assert!(!unchanged(&deployment("nginx:2", 2), &live, "tug"));
    }

    #[test]
    fn a_field_removed_from_the_manifest_needs_an_apply() {
        let live = live_with(owned(), deployment("nginx:1", 2));
        let mut desired = deployment("nginx:1", 2);
        desired["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("labels");
        assert!(is_subset(&desired, &live));
        assert!(!unchanged(&desired, &live, "tug"));
    }

    #[test]
    fn an_object_we_never_applied_is_not_unchanged() {
        let live = live_with(owned(), deployment("nginx:1", 2));
        assert!(!unchanged(&deployment("nginx:1", 2), &live, "someone-else"));
    }

    #[test]
    fn defaulted_list_keys_still_match() {
        let fields = json!({"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}}}});
        let desired = json!({"spec": {"ports": [{"port": 80}]}});
        assert!(owned_fields_covered(&fields, &desired));
        let other = json!({"spec": {"ports": [{"port": 81}]}});
        assert!(!owned_fields_covered(&fields, &other));
    }

    #[test]
    fn list_length_changes_are_drift() {
        assert!(!is_subset(&json!({"a": [1, 2]}), &json!({"a": [1, 2, 3]})));
        assert!(is_subset(&json!({"a": 1}), &json!({"a": 1.0})));
    }
}
