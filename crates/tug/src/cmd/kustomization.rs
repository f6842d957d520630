//! `tug apply kustomization` and `tug build kustomization`: one reconcile of a Kustomization
//! object, from a local directory instead of its source (the dev loop: suspend, apply local
//! changes, diff, resume).

use crate::cluster::{describe_kube_error, ClusterArgs};
use crate::ui;
use anyhow::{anyhow, Context, Result};
use kube::api::{Api, Patch, PatchParams};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tug_api::Kustomization;
use tug_apply::{inventory, prune, Applier, ApplyOptions, Discovery, Owner};

#[derive(clap::Args)]
pub struct ApplyArgs {
    /// Name of the Kustomization object whose settings and inventory are used.
    pub name: String,
    /// Local directory to render instead of the Kustomization's source.
    #[arg(long)]
    pub path: PathBuf,
    /// Delete objects that left the set (default: the Kustomization's spec.prune).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub prune: Option<bool>,
    /// Wait for the applied objects to become healthy (default: the Kustomization's spec.wait).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub wait: Option<bool>,
    /// Field manager for server-side apply.
    #[arg(long, default_value = tug_api::DEFAULT_FIELD_MANAGER)]
    pub field_manager: String,
}

#[derive(clap::Args)]
pub struct BuildArgs {
    /// Name of the Kustomization object.
    pub name: String,
    /// Local directory to render.
    #[arg(long)]
    pub path: PathBuf,
    /// Fail when a `${var}` of spec.postBuild has no value and no default.
    #[arg(long)]
    pub strict_substitute: bool,
}

async fn fetch(
    cluster: &ClusterArgs,
    name: &str,
) -> Result<(crate::cluster::Connection, Kustomization)> {
    let conn = cluster.connect().await?;
    conn.server_version().await?;
    let api: Api<Kustomization> = Api::namespaced(conn.client.clone(), &cluster.namespace);
    let ks = match api.get_opt(name).await {
        Ok(Some(ks)) => ks,
        Ok(None) => {
            return Err(anyhow!(
                "Kustomization {}/{name} not found",
                cluster.namespace
            ))
        }
        // The resource itself is not served: the CRD is missing, not the object.
        Err(kube::Error::Api(s)) if s.code == 404 => {
            return Err(anyhow!(
                "the Kustomization kind is not installed in {} (run `tug install`)",
                conn.server
            ))
        }
        Err(e) => {
            return Err(anyhow!(
                "reading Kustomization {}/{name}: {}",
                cluster.namespace,
                describe_kube_error(&e)
            ))
        }
    };
    Ok((conn, ks))
}

pub async fn build(cluster: &ClusterArgs, args: BuildArgs) -> Result<ExitCode> {
    let (conn, ks) = fetch(cluster, &args.name).await?;
    let objects = render(&conn, &ks, &args, cluster).await?;
    for obj in &objects {
        ui::out!("---\n{}", serde_yaml::to_string(obj)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The path rendered as the controller renders it: the Kustomization's kustomize fields
/// written into its kustomization, its postBuild substitution (variables read from the
/// cluster), then `commonMetadata`.
async fn render_path(
    conn: &crate::cluster::Connection,
    ks: &Kustomization,
    path: &std::path::Path,
    strict_substitute: bool,
) -> Result<Vec<serde_json::Value>> {
    let objects = tug_controller::render::render_local(
        path,
        &tug_controller::render::Overrides::from_spec(&ks.spec),
    )?;
    let namespace = ks.metadata.namespace.clone().unwrap_or_default();
    let mut objects = tug_controller::post_build::substitute(
        &conn.client,
        &namespace,
        ks.spec.post_build.as_ref(),
        objects,
        strict_substitute,
    )
    .await
    .context("postBuild substitution")?;
    if let Some(meta) = &ks.spec.common_metadata {
        tug_controller::render::set_common_metadata(&mut objects, meta);
    }
    Ok(objects)
}

async fn render(
    conn: &crate::cluster::Connection,
    ks: &Kustomization,
    args: &BuildArgs,
    cluster: &ClusterArgs,
) -> Result<Vec<serde_json::Value>> {
    let mut objects = render_path(conn, ks, &args.path, args.strict_substitute).await?;
    let owner = Owner {
        name: ks.metadata.name.clone().unwrap_or_default(),
        namespace: cluster.namespace.clone(),
    };
    for obj in &mut objects {
        tug_apply::apply::prepare(obj, Some(&owner));
    }
    Ok(objects)
}

pub async fn apply(cluster: &ClusterArgs, args: ApplyArgs) -> Result<ExitCode> {
    tracing::debug!("start");
    let (conn, ks) = fetch(cluster, &args.name).await?;
    tracing::debug!("fetched kustomization");
    let display = format!("Kustomization/{}/{}", cluster.namespace, args.name);
    ui::action(&format!("building {}", args.path.display()));
    let objects = render_path(&conn, &ks, &args.path, false)
        .await
        .with_context(|| format!("{display}: build failed; nothing was applied or pruned"))?;
    ui::success(&format!("built {} objects", objects.len()));
    tracing::debug!("rendered");

    let owner = Owner {
        name: args.name.clone(),
        namespace: cluster.namespace.clone(),
    };
    // Objects outside the recorded inventory are expected to be new: not read first.
    let known = ks
        .status
        .as_ref()
        .and_then(|s| s.inventory.as_ref())
        .and_then(|inv| inventory::ids(inv).ok())
        .map(|ids| ids.into_iter().map(|v| v.id).collect());
    let options = ApplyOptions {
        field_manager: args.field_manager.clone(),
        force: ks.spec.force,
        default_namespace: ks.spec.target_namespace.clone(),
        owner: Some(owner.clone()),
        known,
        ..ApplyOptions::default()
    };
    let discovery = Arc::new(Discovery::new(conn.client.clone()));
    let applier = Applier::new(conn.client.clone(), discovery.clone(), options);
    ui::action("applying (server-side)");
    let changes = match applier.apply_all(objects).await {
        Ok(changes) => changes,
        Err(e) => {
            if let Some(partial) = e.partial() {
                for c in partial
                    .changes
                    .iter()
                    .filter(|c| c.action != tug_apply::Action::Unchanged)
                {
                    ui::note(&format!("{} {}", c.id.id, c.action));
                }
            }
            return Err(anyhow!(
                "{display}: apply failed; the inventory is unchanged and nothing was pruned:\n{e}"
            ));
        }
    };
    for c in &changes.changes {
        ui::outln!("{} {}", c.id.id, c.action)?;
    }
    let new_inventory = inventory::from_change_set(&changes);
    let old_inventory = ks
        .status
        .as_ref()
        .and_then(|s| s.inventory.clone())
        .unwrap_or_default();
    let should_prune = args.prune.unwrap_or(ks.spec.prune);
    let mut deleted = 0;
    if should_prune {
        let stale = inventory::stale(&old_inventory, &new_inventory)
            .with_context(|| format!("{display}: reading its inventory"))?;
        let pruned = prune::prune(&conn.client, &discovery, &owner, &stale)
            .await
            .map_err(|e| anyhow!("{display}: {e}"))?;
        for c in &pruned.changes {
            ui::outln!("{} {}", c.id.id, c.action)?;
        }
        deleted = pruned
            .changes
            .iter()
            .filter(|c| c.action == tug_apply::Action::Deleted)
            .count();
    }
    // Record the new inventory so that a later controller reconcile carries on from it.
    // A no-op reconcile writes nothing, not even the status.
    if new_inventory != old_inventory {
        let api: Api<Kustomization> = Api::namespaced(conn.client.clone(), &cluster.namespace);
        let patch = serde_json::json!({ "status": { "inventory": new_inventory } });
        api.patch_status(&args.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| {
                anyhow!(
                    "{display}: recording the inventory: {}",
                    describe_kube_error(&e)
                )
            })?;
    }
    let should_wait = args.wait.unwrap_or(ks.spec.wait);
    if should_wait || !ks.spec.health_checks.is_empty() {
        let timeout = match ks.spec.timeout.as_deref() {
            Some(t) => tug_api::duration::parse_duration(t)
                .with_context(|| format!("{display}: spec.timeout"))?,
            None => cluster.timeout,
        };
        let mut targets = Vec::new();
        if should_wait {
            for c in changes
                .changes
                .iter()
                .filter(|c| c.action != tug_apply::Action::Skipped)
                // Current as the apply left it: nothing to wait for.
                .filter(|c| !c.health.as_ref().is_some_and(|h| h.is_current()))
            {
                let resolved = discovery
                    .resolve(&c.id.api_version(), &c.id.id.kind)
                    .await
                    .map_err(|e| anyhow!("{display}: {e}"))?;
                targets.push((resolved.resource, resolved.namespaced, c.id.id.clone()));
            }
        }
        for check in &ks.spec.health_checks {
            let api_version = check.api_version.clone().unwrap_or_else(|| "v1".into());
            let resolved = discovery
                .resolve(&api_version, &check.kind)
                .await
                .map_err(|e| anyhow!("{display}: healthChecks: {e}"))?;
            let (group, _) = tug_apply::object::split_api_version(&api_version);
            let namespace = if resolved.namespaced {
                check
                    .namespace
                    .clone()
                    .unwrap_or_else(|| cluster.namespace.clone())
            } else {
                String::new()
            };
            let id = tug_apply::ObjectId {
                group: group.into(),
                kind: check.kind.clone(),
                namespace,
                name: check.name.clone(),
            };
            if !targets.iter().any(|(_, _, t)| *t == id) {
                targets.push((resolved.resource, resolved.namespaced, id));
            }
        }
        ui::waiting(&format!(
            "waiting for {} object(s) to become ready (timeout {:?})",
            targets.len(),
            timeout
        ));
        tug_apply::health::wait(conn.client.clone(), targets, timeout, true)
            .await
            .map_err(|e| anyhow!("{display}: health check failed: {e}"))?;
        ui::success("all objects are ready");
    }
    let counts = changes.counts();
    let summary: Vec<String> = counts
        .iter()
        .map(|(action, n)| format!("{n} {action}"))
        .collect();
    ui::success(&format!(
        "applied: {}{}",
        summary.join(", "),
        if should_prune {
            format!(", {deleted} deleted")
        } else {
            String::new()
        }
    ));
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct DiffArgs {
    /// Name of the Kustomization object whose settings and inventory are used.
    pub name: String,
    /// Local directory to render and compare with the cluster.
    #[arg(long)]
    pub path: PathBuf,
    /// Fail when a `${var}` of spec.postBuild has no value and no default.
    #[arg(long)]
    pub strict_substitute: bool,
}

/// Prints what `tug apply kustomization` would change; exit 1 when something would.
pub async fn diff(cluster: &ClusterArgs, args: DiffArgs) -> Result<ExitCode> {
    let (conn, ks) = fetch(cluster, &args.name).await?;
    let display = format!("Kustomization/{}/{}", cluster.namespace, args.name);
    let objects = render_path(&conn, &ks, &args.path, args.strict_substitute)
        .await
        .with_context(|| format!("{display}: build failed"))?;
    let owner = Owner {
        name: args.name.clone(),
        namespace: cluster.namespace.clone(),
    };
    let options = ApplyOptions {
        default_namespace: ks.spec.target_namespace.clone(),
        owner: Some(owner),
        ..ApplyOptions::default()
    };
    let discovery = Arc::new(Discovery::new(conn.client.clone()));
    let applier = Applier::new(conn.client.clone(), discovery, options);
    let diffs = applier
        .diff_all(objects)
        .await
        .map_err(|e| anyhow!("{display}: {e}"))?;
    let mut changed = false;
    let mut desired = Vec::new();
    for (id, d) in &diffs {
        desired.push(id.to_inventory());
        match d {
            tug_apply::diff::ObjectDiff::Unchanged => {}
            tug_apply::diff::ObjectDiff::Created => {
                changed = true;
                ui::outln!("► {} created", id.id)?;
            }
            tug_apply::diff::ObjectDiff::Configured(text) => {
                changed = true;
                ui::outln!("► {} drifted\n{text}", id.id)?;
            }
        }
    }
    let old = ks
        .status
        .as_ref()
        .and_then(|s| s.inventory.clone())
        .unwrap_or_default();
    if ks.spec.prune {
        let new = tug_api::kustomization::ResourceInventory { entries: desired };
        for stale in inventory::stale(&old, &new)
            .with_context(|| format!("{display}: reading its inventory"))?
        {
            changed = true;
            ui::outln!("► {} deleted", stale.id)?;
        }
    }
    Ok(if changed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
