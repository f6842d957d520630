//! `tug create source git` and `tug create kustomization`: write (or, with `--export`, print)
//! the objects the flux CLI's `create` commands write.

use crate::cluster::ClusterArgs;
use crate::cmd::objects::{duration_arg, export};
use crate::ui;
use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::Arc;
use tug_apply::{Applier, ApplyOptions, Discovery};

#[derive(clap::Args)]
pub struct GitArgs {
    /// Name of the GitRepository.
    pub name: String,
    /// Repository URL (http, https, ssh, git or file).
    #[arg(long)]
    pub url: String,
    #[arg(long, group = "reference")]
    pub branch: Option<String>,
    #[arg(long, group = "reference")]
    pub tag: Option<String>,
    /// A semver range; the highest matching tag is used.
    #[arg(long, group = "reference")]
    pub tag_semver: Option<String>,
    /// A commit SHA (with --branch allowed: the commit must be on it).
    #[arg(long)]
    pub commit: Option<String>,
    #[arg(long, default_value = "1m", value_parser = duration_arg)]
    pub interval: String,
    /// Secret with the credentials (username/password, bearerToken, or identity/known_hosts).
    #[arg(long)]
    pub secret_ref: Option<String>,
    /// Ignore rules (.gitignore syntax) replacing the defaults.
    #[arg(long)]
    pub ignore_paths: Vec<String>,
    /// Print the object instead of writing it.
    #[arg(long)]
    pub export: bool,
}

#[derive(clap::Args)]
pub struct KustomizationArgs {
    /// Name of the Kustomization.
    pub name: String,
    /// The source: `[<kind>/]<name>[.<namespace>]`, e.g. `GitRepository/podinfo.flux-system`.
    #[arg(long)]
    pub source: String,
    /// Path in the source's artifact.
    #[arg(long, default_value = "./")]
    pub path: String,
    /// Delete objects that leave the source.
    #[arg(long)]
    pub prune: bool,
    #[arg(long, default_value = "1m", value_parser = duration_arg)]
    pub interval: String,
    #[arg(long, value_parser = duration_arg)]
    pub retry_interval: Option<String>,
    /// Kustomizations to wait for: `[<namespace>/]<name>`, repeatable or comma separated.
    #[arg(long, value_delimiter = ',')]
    pub depends_on: Vec<String>,
    #[arg(long)]
    pub target_namespace: Option<String>,
    /// Wait for every applied object to become ready.
    #[arg(long)]
    pub wait: bool,
    /// Objects to health-check: `<kind>/<name>.<namespace>`, repeatable.
    #[arg(long)]
    pub health_check: Vec<String>,
    /// Print the object instead of writing it.
    #[arg(long)]
    pub export: bool,
}

pub async fn git(cluster: &ClusterArgs, args: GitArgs) -> Result<ExitCode> {
    let mut reference = serde_json::Map::new();
    if let Some(b) = &args.branch {
        reference.insert("branch".into(), b.clone().into());
    }
    if let Some(t) = &args.tag {
        reference.insert("tag".into(), t.clone().into());
    }
    if let Some(s) = &args.tag_semver {
        reference.insert("semver".into(), s.clone().into());
    }
    if let Some(c) = &args.commit {
        reference.insert("commit".into(), c.clone().into());
    }
    if reference.is_empty() {
        bail!("a Git reference is required: --branch, --tag, --tag-semver or --commit");
    }
    let mut spec = json!({"url": args.url, "interval": args.interval, "ref": reference});
    if let Some(s) = &args.secret_ref {
        spec["secretRef"] = json!({"name": s});
    }
    if !args.ignore_paths.is_empty() {
        spec["ignore"] = args.ignore_paths.join("\n").into();
    }
    let obj = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": args.name, "namespace": cluster.namespace},
        "spec": spec
    });
    write(cluster, obj, args.export).await
}

pub async fn kustomization(cluster: &ClusterArgs, args: KustomizationArgs) -> Result<ExitCode> {
    let (kind, rest) = match args.source.split_once('/') {
        Some((k, r)) => (k.to_string(), r.to_string()),
        None => ("GitRepository".to_string(), args.source.clone()),
    };
    if !["GitRepository", "OCIRepository", "Bucket"].contains(&kind.as_str()) {
        bail!(
            "--source: unsupported kind {kind:?}; expected GitRepository, OCIRepository or Bucket"
        );
    }
    let (source_name, source_ns) = match rest.split_once('.') {
        Some((n, ns)) => (n.to_string(), Some(ns.to_string())),
        None => (rest, None),
    };
    let mut source_ref = json!({"kind": kind, "name": source_name});
    if let Some(ns) = source_ns {
        source_ref["namespace"] = ns.into();
    }
    let mut spec = json!({"interval": args.interval, "path": args.path, "prune": args.prune, "sourceRef": source_ref});
    if args.wait {
        spec["wait"] = true.into();
    }
    if let Some(t) = &args.target_namespace {
        spec["targetNamespace"] = t.clone().into();
    }
    if let Some(r) = &args.retry_interval {
        spec["retryInterval"] = r.clone().into();
    }
    if !args.depends_on.is_empty() {
        let deps: Vec<Value> = args
            .depends_on
            .iter()
            .map(|d| match d.split_once('/') {
                Some((ns, name)) => json!({"name": name, "namespace": ns}),
                None => json!({"name": d}),
            })
            .collect();
        spec["dependsOn"] = deps.into();
    }
    if !args.health_check.is_empty() {
        let mut checks = Vec::new();
        for h in &args.health_check {
            let Some((kind, rest)) = h.split_once('/') else {
                bail!("--health-check {h:?}: expected <kind>/<name>.<namespace>")
            };
            let Some((name, ns)) = rest.split_once('.') else {
                bail!("--health-check {h:?}: expected <kind>/<name>.<namespace>")
            };
            let api_version = match kind {
                "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => "apps/v1",
                "Job" | "CronJob" => "batch/v1",
                "HelmRelease" => "helm.toolkit.fluxcd.io/v2",
                "Kustomization" => "kustomize.toolkit.fluxcd.io/v1",
                _ => "v1",
            };
            checks.push(
                json!({"apiVersion": api_version, "kind": kind, "name": name, "namespace": ns}),
            );
        }
        spec["healthChecks"] = checks.into();
    }
    let obj = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": args.name, "namespace": cluster.namespace},
        "spec": spec
    });
    write(cluster, obj, args.export).await
}

pub(crate) async fn write(
    cluster: &ClusterArgs,
    obj: Value,
    export_only: bool,
) -> Result<ExitCode> {
    if export_only {
        return export(&[obj]);
    }
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let conn = cluster.connect().await?;
    conn.server_version().await?;
    ui::action(&format!(
        "applying {kind} {name} in {} namespace",
        cluster.namespace
    ));
    let applier = Applier::new(
        conn.client.clone(),
        Arc::new(Discovery::new(conn.client.clone())),
        ApplyOptions::default(),
    );
    let changes = applier.apply_all(vec![obj]).await?;
    for c in &changes.changes {
        ui::success(&format!("{} {}", c.id.id, c.action));
    }
    Ok(ExitCode::SUCCESS)
}
