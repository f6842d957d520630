//! `tug install` and `tug uninstall`: tug's namespace, CRDs, and the service account and
//! RBAC `tug controller` needs when it runs in the cluster. The controller itself is not
//! deployed yet: users run `tug controller` themselves, and `install` tells them so.

use crate::cluster::{describe_kube_error, ClusterArgs};
use crate::ui;
use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::ResourceExt;
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tug_apply::{Action, Applier, ApplyOptions, Discovery};

#[derive(clap::Args)]
pub struct InstallArgs {
    /// Print the manifests to stdout instead of applying them.
    #[arg(long)]
    pub export: bool,
}

#[derive(clap::Args)]
pub struct UninstallArgs {
    /// Also delete every GitRepository and Kustomization (their finalizers are removed).
    #[arg(long)]
    pub force: bool,
    /// Keep the namespace.
    #[arg(long)]
    pub keep_namespace: bool,
}

/// The manifests `tug install` applies, in order.
fn manifests(namespace: &str) -> Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    let ns = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(namespace.to_string()),
            labels: Some([("app.kubernetes.io/part-of".to_string(), "tug".to_string())].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    out.push(to_dynamic(&ns, "v1", "Namespace")?);
    for crd in tug_api::crds::all() {
        out.push(to_dynamic(
            &crd,
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
        )?);
    }
    out.extend(rbac(namespace));
    Ok(out)
}

/// The service account `tug controller` runs as in a cluster, and its permissions, as
/// Flux's: a role for its own kinds (with status and finalizers), Secrets and ConfigMaps
/// (credentials, substitution), Events and its leader Lease; and cluster-admin, because a
/// Kustomization may apply any kind of object (Flux's `cluster-reconciler` binding).
fn rbac(namespace: &str) -> Vec<serde_json::Value> {
    let labels = serde_json::json!({"app.kubernetes.io/part-of": "tug"});
    let subject = serde_json::json!([{
        "kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace
    }]);
    let all = [
        "get", "list", "watch", "create", "update", "patch", "delete",
    ];
    vec![
        serde_json::json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": SERVICE_ACCOUNT, "namespace": namespace, "labels": labels}
        }),
        serde_json::json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": format!("tug-crd-controller-{namespace}"), "labels": labels},
            "rules": [
                {"apiGroups": ["source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io"],
                 "resources": ["*"], "verbs": all},
                {"apiGroups": [""], "resources": ["secrets", "configmaps"],
                 "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["", "events.k8s.io"], "resources": ["events"],
                 "verbs": ["create", "patch"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": all}
            ]
        }),
        serde_json::json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": format!("tug-crd-controller-{namespace}"), "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": format!("tug-crd-controller-{namespace}")},
            "subjects": subject
        }),
        serde_json::json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": format!("tug-cluster-reconciler-{namespace}"), "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "cluster-admin"},
            "subjects": subject
        }),
    ]
}

/// The service account of `tug controller` in a cluster.
pub const SERVICE_ACCOUNT: &str = "tug-controller";

/// The cluster-scoped objects of [`rbac`], removed by `tug uninstall`.
fn cluster_rbac_names(namespace: &str) -> [(&'static str, &'static str, String); 3] {
    [
        (
            "ClusterRoleBinding",
            "clusterrolebindings",
            format!("tug-cluster-reconciler-{namespace}"),
        ),
        (
            "ClusterRoleBinding",
            "clusterrolebindings",
            format!("tug-crd-controller-{namespace}"),
        ),
        (
            "ClusterRole",
            "clusterroles",
            format!("tug-crd-controller-{namespace}"),
        ),
    ]
}

/// A typed object as JSON with its apiVersion and kind (k8s-openapi leaves them out).
fn to_dynamic<T: Serialize>(obj: &T, api_version: &str, kind: &str) -> Result<serde_json::Value> {
    let mut value = serde_json::to_value(obj)?;
    value["apiVersion"] = api_version.into();
    value["kind"] = kind.into();
    Ok(value)
}

pub async fn install(cluster: &ClusterArgs, args: InstallArgs) -> Result<ExitCode> {
    let objects = manifests(&cluster.namespace)?;
    if args.export {
        return crate::cmd::objects::export(&objects);
    }
    let conn = cluster.connect().await?;
    conn.server_version().await?;
    ui::action(&format!(
        "installing components in {} namespace",
        cluster.namespace
    ));
    let applier = Applier::new(
        conn.client.clone(),
        Arc::new(Discovery::new(conn.client.clone())),
        ApplyOptions::default(),
    );
    let changes = applier
        .apply_all(objects)
        .await
        .with_context(|| format!("installing into {}", conn.server))?;
    for change in &changes.changes {
        ui::note(&format!("{} {}", change.id.id, change.action));
    }
    let changed = changes
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .count();
    ui::waiting("verifying installation");
    let crds: Api<CustomResourceDefinition> = Api::all(conn.client.clone());
    for name in tug_api::crds::names() {
        let established = await_condition(crds.clone(), &name, conditions::is_crd_established());
        tokio::time::timeout(Duration::from_secs(60), established)
            .await
            .with_context(|| {
                format!("CustomResourceDefinition/{name} was not Established within 60s")
            })?
            .with_context(|| format!("waiting for CustomResourceDefinition/{name}"))?;
        ui::success(&format!("CustomResourceDefinition/{name} established"));
    }
    if changed == 0 {
        ui::success("install finished: no changes, everything was already installed");
    } else {
        ui::success(&format!(
            "install finished: {changed} object(s) created or configured"
        ));
    }
    // Until the in-cluster install lands, nothing reconciles what the user creates next
    // unless they run the controller themselves; say so where they look.
    ui::note(&format!(
        "! no controller was installed: tug does not deploy itself into the cluster yet.\n  \
         Run it where it can reach the cluster, with the same kubeconfig:\n    \
         tug controller -n {}",
        cluster.namespace
    ));
    Ok(ExitCode::SUCCESS)
}

pub async fn uninstall(cluster: &ClusterArgs, args: UninstallArgs) -> Result<ExitCode> {
    let conn = cluster.connect().await?;
    conn.server_version().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(conn.client.clone());
    // Custom resources of tug's kinds: refuse to remove their definitions while any exist,
    // because deleting a CRD deletes every object of it.
    let mut remaining = Vec::new();
    for crd in tug_api::crds::all() {
        let name = crd.name_any();
        if crds
            .get_opt(&name)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {}", conn.server, describe_kube_error(&e)))?
            .is_none()
        {
            continue;
        }
        let version = &crd.spec.versions[0].name;
        let resource = ApiResource {
            group: crd.spec.group.clone(),
            version: version.clone(),
            api_version: format!("{}/{}", crd.spec.group, version),
            kind: crd.spec.names.kind.clone(),
            plural: crd.spec.names.plural.clone(),
        };
        let api: Api<DynamicObject> = Api::all_with(conn.client.clone(), &resource);
        for obj in api
            .list(&ListParams::default())
            .await
            .with_context(|| format!("listing {}", resource.plural))?
        {
            remaining.push((resource.clone(), obj));
        }
    }
    if !remaining.is_empty() && !args.force {
        let names: Vec<_> = remaining
            .iter()
            .map(|(r, o)| {
                format!(
                    "{}/{}/{}",
                    r.kind,
                    o.namespace().unwrap_or_default(),
                    o.name_any()
                )
            })
            .collect();
        anyhow::bail!(
            "refusing to uninstall: {} custom resource(s) still exist ({}); delete them first or pass --force",
            names.len(),
            names.join(", ")
        );
    }
    for (resource, obj) in &remaining {
        let ns = obj.namespace().unwrap_or_default();
        let api: Api<DynamicObject> = Api::namespaced_with(conn.client.clone(), &ns, resource);
        if !obj.finalizers().is_empty() {
            let patch = serde_json::json!({ "metadata": { "finalizers": null } });
            api.patch(
                &obj.name_any(),
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await
            .ok();
        }
        api.delete(&obj.name_any(), &DeleteParams::default())
            .await
            .ok();
        ui::note(&format!(
            "{}/{}/{} deleted",
            resource.kind,
            ns,
            obj.name_any()
        ));
    }
    for name in tug_api::crds::names() {
        match crds.delete(&name, &DeleteParams::default()).await {
            Ok(_) => ui::note(&format!("CustomResourceDefinition/{name} deleted")),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "deleting CustomResourceDefinition/{name}: {}",
                    describe_kube_error(&e)
                ))
            }
        }
    }
    for (kind, plural, name) in cluster_rbac_names(&cluster.namespace) {
        let resource = ApiResource {
            group: "rbac.authorization.k8s.io".into(),
            version: "v1".into(),
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: kind.into(),
            plural: plural.into(),
        };
        let api: Api<DynamicObject> = Api::all_with(conn.client.clone(), &resource);
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => ui::note(&format!("{kind}/{name} deleted")),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "deleting {kind}/{name}: {}",
                    describe_kube_error(&e)
                ))
            }
        }
    }
    if !args.keep_namespace {
        let namespaces: Api<Namespace> = Api::all(conn.client.clone());
        match namespaces
            .delete(&cluster.namespace, &DeleteParams::default())
            .await
        {
            Ok(_) => ui::note(&format!("Namespace/{} deleted", cluster.namespace)),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "deleting Namespace/{}: {}",
                    cluster.namespace,
                    describe_kube_error(&e)
                ))
            }
        }
    }
    ui::success("uninstall finished");
    Ok(ExitCode::SUCCESS)
}
