//! `tug source pull`: a one-off fetch of a Git repository into an artifact, no cluster needed.
//!
//! It runs the same code as the GitRepository reconciler (tug-source), so it is the quickest
//! way to check a URL, a reference or credentials: it prints the revision and the artifact's
//! digest and leaves the artifact (`<sha256>.tar.gz`) in the output directory.

use crate::ui;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use tug_api::source::GitRepositoryRef;
use tug_source::{Auth, FetchOutcome, FetchRequest, Reference, SshAuth, Storage};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Fetch a Git repository at a reference and write its artifact into a directory.
    Pull(PullArgs),
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// The repository URL (http, https, ssh, git or file).
    pub url: String,
    /// Branch to check out (default: master, as Flux).
    #[arg(long)]
    pub branch: Option<String>,
    /// Tag to check out.
    #[arg(long, conflicts_with_all = ["tag_semver", "ref_name"])]
    pub tag: Option<String>,
    /// Semver range: the highest matching tag is checked out.
    #[arg(long, conflicts_with_all = ["ref_name"])]
    pub tag_semver: Option<String>,
    /// Any full reference, e.g. refs/pull/1/head.
    #[arg(long)]
    pub ref_name: Option<String>,
    /// Commit SHA to check out, alone or with --branch.
    #[arg(long, conflicts_with_all = ["tag", "tag_semver", "ref_name"])]
    pub commit: Option<String>,
    /// Basic auth user name (http/https).
    #[arg(long, requires = "password", conflicts_with = "private_key_file")]
    pub username: Option<String>,
    /// Basic auth password, or the passphrase of --private-key-file.
    #[arg(long, env = "TUG_GIT_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Bearer token (http/https).
    #[arg(long, env = "TUG_GIT_BEARER_TOKEN", hide_env_values = true, conflicts_with_all = ["username", "private_key_file"])]
    pub bearer_token: Option<String>,
    /// SSH private key file.
    #[arg(long, requires = "known_hosts_file")]
    pub private_key_file: Option<PathBuf>,
    /// known_hosts file listing the SSH server's host key (unknown hosts are refused).
    #[arg(long)]
    pub known_hosts_file: Option<PathBuf>,
    /// Ignore rules in .gitignore syntax, replacing Flux's defaults (as spec.ignore).
    #[arg(long)]
    pub ignore: Option<String>,
    /// Directory to write the artifact into (created if missing).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}

pub async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Pull(args) => tokio::task::spawn_blocking(move || pull(args))
            .await
            .context("fetch task failed")?,
    }
}

fn auth(args: &PullArgs) -> Result<Auth> {
    if let Some(key_file) = &args.private_key_file {
        let identity = std::fs::read(key_file)
            .with_context(|| format!("reading private key {}", key_file.display()))?;
        let known_hosts = match &args.known_hosts_file {
            Some(f) => {
                std::fs::read(f).with_context(|| format!("reading known_hosts {}", f.display()))?
            }
            None => Vec::new(),
        };
        return Ok(Auth::Ssh(SshAuth {
            identity,
            passphrase: args.password.clone(),
            known_hosts,
        }));
    }
    if let Some(token) = &args.bearer_token {
        return Ok(Auth::Bearer(token.clone()));
    }
    Ok(match (&args.username, &args.password) {
        (Some(username), Some(password)) => Auth::Basic {
            username: username.clone(),
            password: password.clone(),
        },
        _ => Auth::None,
    })
}

fn pull(args: PullArgs) -> Result<ExitCode> {
    let spec = GitRepositoryRef {
        branch: args.branch.clone(),
        tag: args.tag.clone(),
        semver: args.tag_semver.clone(),
        name: args.ref_name.clone(),
        commit: args.commit.clone(),
    };
    let reference = Reference::from_spec(Some(&spec))?;
    let auth = auth(&args)?;
    let storage = Storage::new(&args.output, "localhost")?;
    let outcome = tug_source::fetch(&FetchRequest {
        url: &args.url,
        reference: &reference,
        auth: &auth,
        last_revision: None,
    })?;
    let FetchOutcome::Fetched(checkout) = outcome else {
        anyhow::bail!("nothing fetched although no previous revision was given");
    };
    let artifact = checkout.archive(&storage, "", args.ignore.as_deref())?;
    let file = args.output.join(&artifact.path);
    ui::outln!("revision: {}", artifact.revision)?;
    ui::outln!(
        "digest:   {}",
        artifact.digest.as_deref().unwrap_or_default()
    )?;
    ui::outln!("size:     {} bytes", artifact.size.unwrap_or_default())?;
    ui::outln!("artifact: {}", file.display())?;
    Ok(ExitCode::SUCCESS)
}
