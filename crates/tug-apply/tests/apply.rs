//! The apply engine on the real local control plane: create, no-op without writes, drift
//! correction, prune, opt-outs, immutable fields, staging, and failures that change nothing.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use tug_apply::{inventory, prune, Action, Applier, ApplyOptions, ChangeSet, Discovery, Owner};
use tug_testsupport::{cluster, TestNamespace};

fn applier(ns: &TestNamespace, force: bool) -> (Applier, Owner) {
    let owner = Owner {
        name: "app".into(),
        namespace: ns.name.clone(),
    };
    let opts = ApplyOptions {
        owner: Some(owner.clone()),
        default_namespace: Some(ns.name.clone()),
        force,
        ..ApplyOptions::default()
    };
    (
        Applier::new(
            ns.client.clone(),
            Arc::new(Discovery::new(ns.client.clone())),
            opts,
        ),
        owner,
    )
}

fn configmap(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"key": value}})
}

fn actions(changes: &ChangeSet) -> BTreeMap<String, Action> {
    changes
        .changes
        .iter()
        .map(|c| (c.id.id.to_string(), c.action))
        .collect()
}

async fn resource_versions(ns: &TestNamespace) -> BTreeMap<String, String> {
    let cms: Api<ConfigMap> = ns.api();
    cms.list(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.metadata.name.as_deref() != Some("kube-root-ca.crt"))
        .map(|c| {
            (
                c.metadata.name.unwrap(),
                c.metadata.resource_version.unwrap(),
            )
        })
        .collect()
}

/// Write requests the apiserver audited in `namespace` (the cluster logs writes only).
fn audited_writes(namespace: &str) -> usize {
    let Some(path) = cluster().audit_log() else {
        return 0;
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["objectRef"]["namespace"] == namespace && e["stage"] == "ResponseComplete")
        .filter(|e| {
            !e["requestURI"]
                .as_str()
                .unwrap_or_default()
                .contains("dryRun")
        })
        .count()
}

#[tokio::test]
async fn create_then_no_op_writes_nothing_then_drift_is_corrected() {
    let ns = cluster().namespace("apply-noop").await.unwrap();
    let (applier, _) = applier(&ns, false);
    let set: Vec<Value> = (0..20)
        .map(|i| configmap(&format!("cm-{i}"), "v1"))
        .collect();

    let first = applier.apply_all(set.clone()).await.unwrap();
    assert!(
        first.changes.iter().all(|c| c.action == Action::Created),
        "{first:?}"
    );
    assert_eq!(first.changes.len(), 20);
    let before = resource_versions(&ns).await;
    let writes_before = audited_writes(&ns.name);
    if cluster().audit_log().is_some() {
        assert!(
            writes_before >= 20,
            "the audit log should show the 20 creates, saw {writes_before}"
        );
    }

    let second = applier.apply_all(set.clone()).await.unwrap();
    assert!(
        second.changes.iter().all(|c| c.action == Action::Unchanged),
        "{second:?}"
    );
    assert_eq!(
        resource_versions(&ns).await,
        before,
        "a no-op apply changed resourceVersions"
    );
    if cluster().audit_log().is_some() {
        assert_eq!(
            audited_writes(&ns.name),
            writes_before,
            "a no-op apply sent write requests"
        );
    }

    // Someone edits a field tug owns: the next apply puts it back.
    let cms: Api<ConfigMap> = ns.api();
    cms.patch(
        "cm-3",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"key": "edited"}})),
    )
    .await
    .unwrap();
    let third = applier.apply_all(set).await.unwrap();
    let by_id = actions(&third);
    assert_eq!(
        by_id[&format!("ConfigMap/{}/cm-3", ns.name)],
        Action::Configured
    );
    assert_eq!(
        third
            .changes
            .iter()
            .filter(|c| c.action == Action::Unchanged)
            .count(),
        19
    );
    assert_eq!(cms.get("cm-3").await.unwrap().data.unwrap()["key"], "v1");
    let labels = cms.get("cm-3").await.unwrap().metadata.labels.unwrap();
    assert_eq!(labels["kustomize.toolkit.fluxcd.io/name"], "app");
    assert_eq!(labels["kustomize.toolkit.fluxcd.io/namespace"], ns.name);
}

#[tokio::test]
async fn prune_deletes_what_left_the_set_but_keeps_opt_outs() {
    let ns = cluster().namespace("apply-prune").await.unwrap();
    let (applier, owner) = applier(&ns, false);
    let mut keep = configmap("keep-me", "x");
    keep["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/prune": "disabled"});
    let first = applier
        .apply_all(vec![configmap("a", "1"), configmap("b", "2"), keep])
        .await
        .unwrap();
    let old = inventory::from_change_set(&first);
    assert_eq!(old.entries.len(), 3);
    assert!(old
        .entries
        .iter()
        .any(|e| e.id == format!("{}_a__ConfigMap", ns.name) && e.v == "v1"));

    let second = applier.apply_all(vec![configmap("a", "1")]).await.unwrap();
    let new = inventory::from_change_set(&second);
    let stale = inventory::stale(&old, &new).unwrap();
    assert_eq!(stale.len(), 2);
    let pruned = prune::prune(&ns.client, applier.discovery(), &owner, &stale)
        .await
        .unwrap();
    let by_id = actions(&pruned);
    assert_eq!(by_id[&format!("ConfigMap/{}/b", ns.name)], Action::Deleted);
    assert_eq!(
        by_id[&format!("ConfigMap/{}/keep-me", ns.name)],
        Action::Skipped
    );
    let names: Vec<_> = resource_versions(&ns).await.into_keys().collect();
    assert_eq!(names, ["a", "keep-me"]);
}

#[tokio::test]
async fn prune_never_deletes_objects_of_another_owner() {
    let ns = cluster().namespace("apply-foreign").await.unwrap();
    let (applier, _) = applier(&ns, false);
    applier
        .apply_all(vec![configmap("shared", "1")])
        .await
        .unwrap();
    let stranger = Owner {
        name: "other".into(),
        namespace: ns.name.clone(),
    };
    let stale = vec![tug_apply::VersionedId {
        id: tug_apply::ObjectId {
            group: "".into(),
            kind: "ConfigMap".into(),
            namespace: ns.name.clone(),
            name: "shared".into(),
        },
        version: "v1".into(),
    }];
    let pruned = prune::prune(&ns.client, applier.discovery(), &stranger, &stale)
        .await
        .unwrap();
    assert_eq!(pruned.changes[0].action, Action::Skipped);
    assert!(resource_versions(&ns).await.contains_key("shared"));
}

#[tokio::test]
async fn immutable_fields_fail_without_force_and_recreate_with_it() {
    let ns = cluster().namespace("apply-immutable").await.unwrap();
    let immutable = |v: &str| {
        let mut cm = configmap("frozen", v);
        cm["immutable"] = json!(true);
        cm
    };
    let (plain, _) = applier(&ns, false);
    plain.apply_all(vec![immutable("1")]).await.unwrap();
    let err = plain
        .apply_all(vec![immutable("2")])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("ConfigMap/{}/frozen", ns.name)),
        "{err}"
    );
    assert!(err.contains("immutable"), "{err}");

    let (forced, _) = applier(&ns, true);
    let changes = forced.apply_all(vec![immutable("2")]).await.unwrap();
    assert_eq!(changes.changes[0].action, Action::Created);
    let cms: Api<ConfigMap> = ns.api();
    assert_eq!(cms.get("frozen").await.unwrap().data.unwrap()["key"], "2");

    // The per-object annotation works without spec.force.
    let mut annotated = immutable("3");
    annotated["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/force": "enabled"});
    assert_eq!(
        plain.apply_all(vec![annotated]).await.unwrap().changes[0].action,
        Action::Created
    );
}

#[tokio::test]
async fn a_crd_and_its_custom_resources_apply_in_one_set() {
    let ns = cluster().namespace("apply-crd").await.unwrap();
    let (applier, _) = applier(&ns, false);
    let suffix = std::process::id();
    let group = format!("g{suffix}.apply.tug.dev");
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("gadgets.{group}")},
        "spec": {
            "group": group, "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}
            }}}]
        }
    });
    let cr = json!({"apiVersion": format!("{group}/v1"), "kind": "Gadget", "metadata": {"name": "g1"}, "spec": {"size": 2}});
    // The custom resource comes first in the list: staging must still apply the CRD before it.
    let changes = applier
        .apply_all(vec![cr.clone(), crd.clone()])
        .await
        .unwrap();
    assert_eq!(changes.changes[0].id.id.kind, "CustomResourceDefinition");
    assert!(
        changes.changes.iter().all(|c| c.action == Action::Created),
        "{changes:?}"
    );
    let again = applier.apply_all(vec![cr, crd]).await.unwrap();
    assert!(
        again.changes.iter().all(|c| c.action == Action::Unchanged),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_namespace_and_its_objects_apply_in_one_set() {
    let ns = cluster().namespace("apply-ns").await.unwrap();
    let (applier, _) = applier(&ns, false);
    let target = format!("{}-inner", ns.name);
    let mut cm = configmap("inside", "1");
    cm["metadata"]["namespace"] = json!(target);
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}});
    let changes = applier.apply_all(vec![cm, namespace]).await.unwrap();
    assert_eq!(
        changes.changes[0].id.id.to_string(),
        format!("Namespace/{target}")
    );
    assert!(changes.changes.iter().all(|c| c.action == Action::Created));
}

#[tokio::test]
async fn an_invalid_object_fails_its_stage_without_writing_anything() {
    let ns = cluster().namespace("apply-invalid").await.unwrap();
    let (applier, _) = applier(&ns, false);
    // A Deployment without a selector is rejected by validation.
    let bad = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "broken"},
        "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}});
    let err = applier
        .apply_all(vec![configmap("fine", "1"), bad])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("Deployment/{}/broken", ns.name)),
        "{text}"
    );
    assert!(
        err.partial().is_some_and(|p| p.changes.is_empty()),
        "something was written: {:?}",
        err.partial()
    );
    assert!(
        resource_versions(&ns).await.is_empty(),
        "the valid object of the failed stage was written"
    );

    let unknown =
        json!({"apiVersion": "nowhere.tug.dev/v1", "kind": "Ghost", "metadata": {"name": "boo"}});
    let err = applier
        .apply_all(vec![configmap("fine", "1"), unknown])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Ghost/boo") && err.contains("CustomResourceDefinition"),
        "{err}"
    );
    assert!(resource_versions(&ns).await.is_empty());

    let nameless = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
    let err = applier
        .apply_all(vec![nameless])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing metadata.name"), "{err}");
}

#[tokio::test]
async fn kubectl_client_side_apply_fields_are_taken_over() {
    let ns = cluster().namespace("apply-takeover").await.unwrap();
    let cms: Api<ConfigMap> = ns.api();
    // What `kubectl apply` (client side) leaves behind: its manager and annotation.
    let created = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "legacy"}, "data": {"key": "old", "extra": "x"}});
    cms.create(
        &kube::api::PostParams {
            field_manager: Some("kubectl-client-side-apply".into()),
            ..Default::default()
        },
        &serde_json::from_value(created).unwrap(),
    )
    .await
    .unwrap();
    let (applier, _) = applier(&ns, false);
    let changes = applier
        .apply_all(vec![configmap("legacy", "new")])
        .await
        .unwrap();
    assert_eq!(changes.changes[0].action, Action::Configured);
    let live = cms.get("legacy").await.unwrap();
    let managers: Vec<_> = live
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, ["tug"], "kubectl's manager should be gone");
    assert_eq!(live.data.as_ref().unwrap()["key"], "new");
    let again = applier
        .apply_all(vec![configmap("legacy", "new")])
        .await
        .unwrap();
    assert_eq!(again.changes[0].action, Action::Unchanged);
}

/// kubectl's managers are taken over from objects that others keep writing meanwhile (a
/// controller updating a status, someone annotating them right after a bootstrap): each
/// write moves the object's version between the read and the rewrite of its managers.
#[tokio::test]
async fn kubectl_managers_are_taken_over_while_others_write_the_objects() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let ns = cluster().namespace("apply-takeover-busy").await.unwrap();
    let cms: Api<ConfigMap> = ns.api();
    let names: Vec<String> = (0..8).map(|i| format!("legacy-{i}")).collect();
    for name in &names {
        let created = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"key": "old"}});
        cms.create(
            &kube::api::PostParams {
                field_manager: Some("kubectl-client-side-apply".into()),
                ..Default::default()
            },
            &serde_json::from_value(created).unwrap(),
        )
        .await
        .unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicUsize::new(0));
    let annotator = PatchParams {
        field_manager: Some("annotator".into()),
        ..Default::default()
    };
    let writers: Vec<_> = names
        .iter()
        .map(|name| {
            let (cms, name, stop, writes, params) = (
                cms.clone(),
                name.clone(),
                stop.clone(),
                writes.clone(),
                annotator.clone(),
            );
            tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let patch =
                        json!({"metadata": {"annotations": {"example.com/seen": n.to_string()}}});
                    cms.patch(&name, &params, &Patch::Merge(&patch))
                        .await
                        .unwrap();
                    writes.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    while writes.load(Ordering::Relaxed) < names.len() {
        tokio::task::yield_now().await;
    }

    let (applier, _) = applier(&ns, false);
    let applied = applier
        .apply_all(names.iter().map(|n| configmap(n, "new")).collect())
        .await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let changes = applied.unwrap();
    assert!(
        changes
            .changes
            .iter()
            .all(|c| c.action == Action::Configured),
        "{:?}",
        actions(&changes)
    );
    for name in &names {
        let live = cms.get(name).await.unwrap();
        let managers: Vec<_> = live
            .metadata
            .managed_fields
            .unwrap()
            .into_iter()
            .filter_map(|m| m.manager)
            .collect();
        assert!(
            managers.iter().all(|m| !m.starts_with("kubectl")),
            "{name}: kubectl's manager should be gone: {managers:?}"
        );
        assert!(managers.iter().any(|m| m == "annotator"), "{managers:?}");
        assert_eq!(live.data.as_ref().unwrap()["key"], "new");
    }
}

#[tokio::test]
async fn ssa_annotations_if_not_present_ignore_and_reconcile_disabled_are_honoured() {
    let ns = cluster().namespace("apply-annotations").await.unwrap();
    let (applier, _) = applier(&ns, false);
    let annotated = |name: &str, value: &str, key: &str, setting: &str| {
        let mut cm = configmap(name, value);
        cm["metadata"]["annotations"] = json!({ key: setting });
        cm
    };
    let ssa = "kustomize.toolkit.fluxcd.io/ssa";
    let reconcile = "kustomize.toolkit.fluxcd.io/reconcile";
    let first = applier
        .apply_all(vec![
            annotated("seed", "1", ssa, "IfNotPresent"),
            annotated("ignored", "1", ssa, "Ignore"),
            annotated("frozen", "1", reconcile, "disabled"),
        ])
        .await
        .unwrap();
    let by_id = actions(&first);
    assert_eq!(
        by_id[&format!("ConfigMap/{}/seed", ns.name)],
        Action::Created,
        "IfNotPresent creates a missing object"
    );
    assert_eq!(
        by_id[&format!("ConfigMap/{}/ignored", ns.name)],
        Action::Skipped
    );
    assert_eq!(
        by_id[&format!("ConfigMap/{}/frozen", ns.name)],
        Action::Skipped
    );
    let names: Vec<_> = resource_versions(&ns).await.into_keys().collect();
    assert_eq!(
        names,
        ["seed"],
        "ignored and reconcile-disabled objects are never written"
    );

    // IfNotPresent never overwrites what is there, even when the manifest changes.
    let second = applier
        .apply_all(vec![annotated("seed", "2", ssa, "IfNotPresent")])
        .await
        .unwrap();
    assert_eq!(second.changes[0].action, Action::Skipped);
    let cms: Api<ConfigMap> = ns.api();
    assert_eq!(cms.get("seed").await.unwrap().data.unwrap()["key"], "1");
    // Skipped objects stay in the inventory, so they are not pruned.
    assert_eq!(inventory::from_change_set(&first).entries.len(), 3);
}

#[tokio::test]
async fn ports_without_a_protocol_apply_and_stay_unchanged() {
    // kube-apiserver 1.20 rejects a server-side apply whose ports omit `protocol`.
    let ns = cluster().namespace("apply-ports").await.unwrap();
    let (applier, _) = applier(&ns, false);
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}});
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"name": "http", "containerPort": 8080}]}]}}}});
    let first = applier
        .apply_all(vec![service.clone(), deployment.clone()])
        .await
        .unwrap();
    assert!(
        first.changes.iter().all(|c| c.action == Action::Created),
        "{first:?}"
    );
    let again = applier.apply_all(vec![service, deployment]).await.unwrap();
    assert!(
        again.changes.iter().all(|c| c.action == Action::Unchanged),
        "{again:?}"
    );
}

#[tokio::test]
async fn objects_outside_the_inventory_are_not_read_first_yet_existing_ones_are_compared() {
    let ns = cluster().namespace("apply-known").await.unwrap();
    let (mut applier, _) = applier(&ns, false);
    // cm-0 exists already (applied before), cm-1 does not; neither is in the inventory.
    applier
        .apply_all(vec![configmap("cm-0", "v1")])
        .await
        .unwrap();
    let before = resource_versions(&ns).await;
    let opts = ApplyOptions {
        known: Some(Default::default()),
        ..applier.options().clone()
    };
    applier = Applier::new(ns.client.clone(), applier.discovery().clone(), opts);
    let set = vec![configmap("cm-0", "v1"), configmap("cm-1", "v1")];
    let changes = applier.apply_all(set).await.unwrap();
    let by_id = actions(&changes);
    assert_eq!(
        by_id[&format!("ConfigMap/{}/cm-0", ns.name)],
        Action::Unchanged
    );
    assert_eq!(
        by_id[&format!("ConfigMap/{}/cm-1", ns.name)],
        Action::Created
    );
    let after = resource_versions(&ns).await;
    assert_eq!(
        after["cm-0"], before["cm-0"],
        "the existing object was written"
    );
    // The health of each object is known from the apply: a ConfigMap is Current at once.
    assert!(
        changes
            .changes
            .iter()
            .all(|c| c.health.as_ref().is_some_and(|h| h.is_current())),
        "{changes:?}"
    );
}

#[tokio::test]
async fn a_new_deployment_is_reported_not_current_by_its_apply() {
    let ns = cluster().namespace("apply-health").await.unwrap();
    let (applier, _) = applier(&ns, false);
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    });
    let changes = applier.apply_all(vec![deployment]).await.unwrap();
    let health = changes.changes[0]
        .health
        .clone()
        .expect("health of an applied object");
    // Its controller has not acted on it yet when the apply returns.
    assert!(!health.is_current(), "{health:?}");
}
