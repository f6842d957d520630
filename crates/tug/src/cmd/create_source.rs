//! `tug create source oci|helm|chart`: write (or, with `--export`, print) the OCIRepository,
//! HelmRepository and HelmChart objects the flux CLI's commands of the same names write.

use crate::cluster::ClusterArgs;
use crate::cmd::create::write;
use crate::cmd::objects::duration_arg;
use anyhow::{bail, Result};
use serde_json::json;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct OciArgs {
    /// Name of the OCIRepository.
    pub name: String,
    /// The repository, `oci://<registry>/<repository>` (no tag).
    #[arg(long)]
    pub url: String,
    /// The tag to pull.
    #[arg(long, group = "reference")]
    pub tag: Option<String>,
    /// A semver range: the highest matching tag is pulled.
    #[arg(long, group = "reference")]
    pub tag_semver: Option<String>,
    /// A digest, `sha256:<hex>`.
    #[arg(long, group = "reference")]
    pub digest: Option<String>,
    /// A regular expression tags must match before --tag-semver is applied.
    #[arg(long, requires = "tag_semver")]
    pub semver_filter: Option<String>,
    #[arg(long, default_value = "1m", value_parser = duration_arg)]
    pub interval: String,
    /// A `kubernetes.io/dockerconfigjson` Secret with the registry credentials.
    #[arg(long)]
    pub secret_ref: Option<String>,
    /// A Secret with `ca.crt` and/or `tls.crt`/`tls.key`.
    #[arg(long)]
    pub cert_ref: Option<String>,
    /// Plain HTTP to the registry.
    #[arg(long)]
    pub insecure: bool,
    /// Ignore rules (.gitignore syntax) replacing the defaults.
    #[arg(long)]
    pub ignore_paths: Vec<String>,
    /// Print the object instead of writing it.
    #[arg(long)]
    pub export: bool,
}

#[derive(clap::Args)]
pub struct HelmArgs {
    /// Name of the HelmRepository.
    pub name: String,
    /// The repository: `https://...` for an index, `oci://...` for a registry.
    #[arg(long)]
    pub url: String,
    #[arg(long, default_value = "1m", value_parser = duration_arg)]
    pub interval: String,
    /// A Secret with `username` and `password` (or a dockerconfigjson for OCI).
    #[arg(long)]
    pub secret_ref: Option<String>,
    /// A Secret with `ca.crt` and/or `tls.crt`/`tls.key`.
    #[arg(long)]
    pub cert_ref: Option<String>,
    /// Send the credentials to other hosts too (charts served elsewhere than the index).
    #[arg(long)]
    pub pass_credentials: bool,
    /// Print the object instead of writing it.
    #[arg(long)]
    pub export: bool,
}

#[derive(clap::Args)]
pub struct ChartArgs {
    /// Name of the HelmChart.
    pub name: String,
    /// The source: `<kind>/<name>`, kind HelmRepository, GitRepository or Bucket.
    #[arg(long)]
    pub source: String,
    /// The chart's name in a HelmRepository, or its path in a GitRepository or Bucket.
    #[arg(long)]
    pub chart: String,
    /// A semver range (HelmRepository sources only).
    #[arg(long)]
    pub chart_version: Option<String>,
    #[arg(long, default_value = "1m", value_parser = duration_arg)]
    pub interval: String,
    /// `ChartVersion` or `Revision`.
    #[arg(long, value_parser = ["ChartVersion", "Revision"])]
    pub reconcile_strategy: Option<String>,
    /// Values files in the source, merged in order; repeatable or comma separated.
    #[arg(long, value_delimiter = ',')]
    pub values_files: Vec<String>,
    /// Print the object instead of writing it.
    #[arg(long)]
    pub export: bool,
}

pub async fn oci(cluster: &ClusterArgs, args: OciArgs) -> Result<ExitCode> {
    if !args.url.starts_with("oci://") {
        bail!(
            "--url {:?}: expected oci://<registry>/<repository>",
            args.url
        );
    }
    let mut reference = serde_json::Map::new();
    if let Some(t) = &args.tag {
        reference.insert("tag".into(), t.clone().into());
    }
    if let Some(s) = &args.tag_semver {
        reference.insert("semver".into(), s.clone().into());
    }
    if let Some(f) = &args.semver_filter {
        reference.insert("semverFilter".into(), f.clone().into());
    }
    if let Some(d) = &args.digest {
        reference.insert("digest".into(), d.clone().into());
    }
    let mut spec = json!({"url": args.url, "interval": args.interval});
    if !reference.is_empty() {
        spec["ref"] = reference.into();
    }
    if let Some(s) = &args.secret_ref {
        spec["secretRef"] = json!({"name": s});
    }
    if let Some(c) = &args.cert_ref {
        spec["certSecretRef"] = json!({"name": c});
    }
    if args.insecure {
        spec["insecure"] = true.into();
    }
    if !args.ignore_paths.is_empty() {
        spec["ignore"] = args.ignore_paths.join("\n").into();
    }
    write(
        cluster,
        source_object("OCIRepository", &args.name, cluster, spec),
        args.export,
    )
    .await
}

pub async fn helm(cluster: &ClusterArgs, args: HelmArgs) -> Result<ExitCode> {
    let mut spec = json!({"url": args.url, "interval": args.interval});
    if args.url.starts_with("oci://") {
        spec["type"] = "oci".into();
    } else if !(args.url.starts_with("http://") || args.url.starts_with("https://")) {
        bail!("--url {:?}: expected http(s):// or oci://", args.url);
    }
    if let Some(s) = &args.secret_ref {
        spec["secretRef"] = json!({"name": s});
    }
    if let Some(c) = &args.cert_ref {
        spec["certSecretRef"] = json!({"name": c});
    }
    if args.pass_credentials {
        spec["passCredentials"] = true.into();
    }
    write(
        cluster,
        source_object("HelmRepository", &args.name, cluster, spec),
        args.export,
    )
    .await
}

pub async fn chart(cluster: &ClusterArgs, args: ChartArgs) -> Result<ExitCode> {
    let Some((kind, name)) = args.source.split_once('/') else {
        bail!("--source {:?}: expected <kind>/<name>", args.source);
    };
    if !["HelmRepository", "GitRepository", "Bucket"].contains(&kind) {
        bail!(
            "--source: unsupported kind {kind:?}; expected HelmRepository, GitRepository or Bucket"
        );
    }
    let mut spec = json!({
        "chart": args.chart,
        "interval": args.interval,
        "sourceRef": {"kind": kind, "name": name},
    });
    if let Some(v) = &args.chart_version {
        spec["version"] = v.clone().into();
    }
    if let Some(r) = &args.reconcile_strategy {
        spec["reconcileStrategy"] = r.clone().into();
    }
    if !args.values_files.is_empty() {
        spec["valuesFiles"] = args.values_files.clone().into();
    }
    write(
        cluster,
        source_object("HelmChart", &args.name, cluster, spec),
        args.export,
    )
    .await
}

fn source_object(
    kind: &str,
    name: &str,
    cluster: &ClusterArgs,
    spec: serde_json::Value,
) -> serde_json::Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": kind,
        "metadata": {"name": name, "namespace": cluster.namespace},
        "spec": spec
    })
}
