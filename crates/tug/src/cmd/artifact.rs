//! `tug push artifact`, `tug pull artifact`, `tug tag artifact` and `tug list artifacts`:
//! Flux's OCI artifacts in a registry, as the flux CLI's verbs of the same names (flags and
//! messages alike). No cluster is needed.

use crate::ui::{self, outln};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use tug_source::ignore::{EXCLUDE_EXT, EXCLUDE_VCS};
use tug_source::oci::{self, Client, ClientOptions, Credentials, OciUrl};

#[derive(clap::Subcommand)]
pub enum PushCommand {
    /// Build a tarball of a directory (or a file) and push it as an OCI artifact.
    Artifact(PushArgs),
}

#[derive(clap::Subcommand)]
pub enum PullCommand {
    /// Download an OCI artifact and extract its content into a directory.
    Artifact(PullArgs),
}

#[derive(clap::Subcommand)]
pub enum TagCommand {
    /// Add tags to an OCI artifact.
    Artifact(TagArgs),
}

#[derive(clap::Subcommand)]
pub enum ListCommand {
    /// List the tags of an OCI repository with their digests and sources.
    Artifacts(ListArgs),
}

/// How to reach the registry, shared by the four verbs.
#[derive(clap::Args)]
pub struct RegistryArgs {
    /// Credentials for the registry: <username>[:<password>].
    #[arg(long, env = "TUG_OCI_CREDS", hide_env_values = true)]
    pub creds: Option<String>,
    /// Talk to the registry over plain HTTP, without TLS.
    #[arg(long)]
    pub insecure_registry: bool,
}

#[derive(clap::Args)]
pub struct PushArgs {
    /// oci://HOST/REPOSITORY:TAG
    pub url: String,
    /// The directory (or single file) to push.
    #[arg(long, short = 'f')]
    pub path: PathBuf,
    /// The source address, e.g. the Git URL.
    #[arg(long)]
    pub source: String,
    /// The source revision, as '<branch|tag>@sha1:<commit-sha>'.
    #[arg(long)]
    pub revision: String,
    /// An OCI annotation, as '<key>=<value>' (repeatable).
    #[arg(long = "annotations", short = 'a')]
    pub annotations: Vec<String>,
    /// Paths to leave out, in .gitignore format (default: VCS files and common binaries).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Option<Vec<String>>,
    /// More paths to leave out, added to --ignore-paths.
    #[arg(long, value_delimiter = ',')]
    pub add_ignore_paths: Vec<String>,
    /// Set the created timestamp to 1970-01-01T00:00:00Z, for reproducible digests.
    #[arg(long)]
    pub reproducible: bool,
    /// Print the result as json or yaml instead of a message.
    #[arg(long, short = 'o', value_parser = ["json", "yaml"])]
    pub output: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// oci://HOST/REPOSITORY:TAG or oci://HOST/REPOSITORY@sha256:DIGEST
    pub url: String,
    /// The existing directory to extract the artifact's content into.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(clap::Args)]
pub struct TagArgs {
    /// oci://HOST/REPOSITORY:TAG of the artifact to tag.
    pub url: String,
    /// The new tag (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    pub tag: Vec<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// oci://HOST/REPOSITORY
    pub url: String,
    /// Only tags matching this semver range.
    #[arg(long)]
    pub filter_semver: Option<String>,
    /// Only tags matching this regular expression.
    #[arg(long)]
    pub filter_regex: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub async fn push(command: PushCommand) -> Result<ExitCode> {
    let PushCommand::Artifact(args) = command;
    blocking(move || run_push(args)).await
}

pub async fn pull(command: PullCommand) -> Result<ExitCode> {
    let PullCommand::Artifact(args) = command;
    blocking(move || run_pull(args)).await
}

pub async fn tag(command: TagCommand) -> Result<ExitCode> {
    let TagCommand::Artifact(args) = command;
    blocking(move || run_tag(args)).await
}

pub async fn list(command: ListCommand) -> Result<ExitCode> {
    let ListCommand::Artifacts(args) = command;
    blocking(move || run_list(args)).await
}

async fn blocking(f: impl FnOnce() -> Result<ExitCode> + Send + 'static) -> Result<ExitCode> {
    tokio::task::spawn_blocking(f)
        .await
        .context("registry task failed")?
}

fn client(args: &RegistryArgs) -> Result<Client> {
    let credentials = match &args.creds {
        Some(creds) => {
            ui::action("logging in to registry with credentials");
            Some(
                Credentials::parse_user_password(creds)
                    .context("could not login with credentials")?,
            )
        }
        None => None,
    };
    Ok(Client::new(ClientOptions {
        plain_http: args.insecure_registry,
        credentials,
        ..Default::default()
    })?)
}

/// A registry error, with a hint when a TLS connection failed and the registry may be
/// serving plain HTTP.
fn hint(e: oci::Error, args: &RegistryArgs) -> anyhow::Error {
    let tls_failed =
        matches!(&e, oci::Error::Transport { cause, .. } if !cause.contains("tcp connect error"));
    if tls_failed && !args.insecure_registry {
        anyhow::anyhow!("{e} (a registry served over plain HTTP needs --insecure-registry)")
    } else {
        anyhow::Error::new(e)
    }
}

fn run_push(args: PushArgs) -> Result<ExitCode> {
    let url = OciUrl::parse(&args.url)?;
    if args.source.is_empty() {
        bail!("--source is required");
    }
    if args.revision.is_empty() {
        bail!("--revision is required");
    }
    if !args.path.exists() {
        bail!(
            "invalid path '{}', must point to an existing directory or file",
            args.path.display()
        );
    }
    let mut annotations = BTreeMap::new();
    for annotation in &args.annotations {
        match annotation.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.contains('=') => {
                annotations.insert(k.to_string(), v.to_string());
            }
            _ => bail!("invalid annotation {annotation}, must be in the format key=value"),
        }
    }
    let mut ignore: Vec<String> = match &args.ignore_paths {
        Some(paths) => paths.clone(),
        None => EXCLUDE_VCS
            .iter()
            .chain(EXCLUDE_EXT)
            .map(|s| s.to_string())
            .collect(),
    };
    ignore.extend(args.add_ignore_paths.iter().cloned());
    let meta = oci::PushMeta {
        source: args.source.clone(),
        revision: args.revision.clone(),
        annotations,
        created: args
            .reproducible
            .then(|| "1970-01-01T00:00:00Z".to_string()),
    };
    let client = client(&args.registry)?;
    if args.output.is_none() {
        ui::action(&format!("pushing artifact to {url}"));
    }
    let digest = oci::push_artifact(&client, &url, &args.path, &ignore, &meta)
        .map_err(|e| hint(e, &args.registry))
        .context("pushing artifact failed")?;
    let digest_url = format!("{}@{digest}", url.repository_name());
    let info = serde_json::json!({
        "url": format!("oci://{digest_url}"),
        "repository": url.repository_name(),
        "tag": url.tag.as_deref().unwrap_or("latest"),
        "digest": digest,
    });
    match args.output.as_deref() {
        Some("json") => outln!("{}", serde_json::to_string_pretty(&info)?)?,
        Some(_) => ui::out!("{}", serde_yaml::to_string(&info)?)?,
        None => ui::success(&format!("artifact successfully pushed to {digest_url}")),
    }
    Ok(ExitCode::SUCCESS)
}

fn run_pull(args: PullArgs) -> Result<ExitCode> {
    if !args.output.is_dir() {
        bail!(
            "invalid output path {:?}: not an existing directory",
            args.output.display().to_string()
        );
    }
    let url = OciUrl::parse(&args.url)?;
    let client = client(&args.registry)?;
    ui::action(&format!("pulling artifact from {url}"));
    let pulled = oci::pull_artifact(&client, &url, None, None, &args.output, Default::default())
        .map_err(|e| hint(e, &args.registry))?;
    if let Some(source) = pulled.source().filter(|s| !s.is_empty()) {
        ui::success(&format!("source {source}"));
    }
    if let Some(revision) = pulled.source_revision().filter(|s| !s.is_empty()) {
        ui::success(&format!("revision {revision}"));
    }
    ui::success(&format!(
        "digest {}@{}",
        url.repository_name(),
        pulled.digest
    ));
    ui::success(&format!(
        "artifact content extracted to {}",
        args.output.display()
    ));
    Ok(ExitCode::SUCCESS)
}

fn run_tag(args: TagArgs) -> Result<ExitCode> {
    let url = OciUrl::parse(&args.url)?;
    let client = client(&args.registry)?;
    ui::action("tagging artifact");
    let descriptor = client
        .resolve(&url, url.reference())
        .map_err(|e| hint(e, &args.registry))?;
    for tag in &args.tag {
        client
            .tag(&url, &descriptor.digest, tag)
            .map_err(|e| hint(e, &args.registry))
            .context("tagging artifact failed")?;
        ui::success(&format!("artifact tagged as {}", url.with_tag(tag)));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_list(args: ListArgs) -> Result<ExitCode> {
    let url = OciUrl::parse(&args.url)?;
    if url.tag.is_some() || url.digest.is_some() {
        bail!(
            "{} names a tag or digest: give the repository only",
            args.url
        );
    }
    let range: Option<tug_source::semver_range::Range> = match &args.filter_semver {
        Some(r) => Some(
            r.parse()
                .map_err(|e: tug_source::semver_range::RangeError| {
                    anyhow::anyhow!("semver '{r}' parse error: {}", e.0)
                })?,
        ),
        None => None,
    };
    let regex = match &args.filter_regex {
        Some(r) => Some(regex::Regex::new(r).with_context(|| format!("regex '{r}' parse error"))?),
        None => None,
    };
    let client = client(&args.registry)?;
    let mut tags = client
        .list_tags(&url, None)
        .map_err(|e| hint(e, &args.registry))
        .context("listing tags failed")?;
    tags.sort_by(|a, b| b.cmp(a));
    let mut rows = vec![["ARTIFACT", "DIGEST", "SOURCE", "REVISION"]
        .map(String::from)
        .to_vec()];
    for tag in tags {
        // Cosign's signatures, attestations and SBOMs are not artifacts (as flux).
        if [".sig", ".att", ".sbom"].iter().any(|s| tag.ends_with(s)) {
            continue;
        }
        if let Some(range) = &range {
            match tug_source::semver_range::parse_version(&tag) {
                Some(v) if range.matches(&v) => {}
                _ => continue,
            }
        }
        if regex.as_ref().is_some_and(|re| !re.is_match(&tag)) {
            continue;
        }
        let descriptor = client.resolve(&url, &tag)?;
        let manifest = client.manifest(&url, &descriptor.digest)?;
        let annotations = manifest.image().map(|m| m.annotations).unwrap_or_default();
        let get = |k: &str| annotations.get(k).cloned().unwrap_or_default();
        rows.push(vec![
            url.with_tag(&tag).to_string(),
            descriptor.digest,
            get(oci::SOURCE_ANNOTATION),
            get(oci::REVISION_ANNOTATION),
        ]);
    }
    let widths = super::objects::column_widths(&rows);
    for row in &rows {
        outln!("{}", super::objects::format_row(row, &widths))?;
    }
    Ok(ExitCode::SUCCESS)
}
