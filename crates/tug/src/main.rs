//! tug: a GitOps engine for Kubernetes, compatible with Flux's APIs.
//!
//! This binary is a thin layer: it parses flags, builds a client, and calls the library
//! crates. Each subcommand lives in its own module under `cmd/`.

mod cluster;
mod cmd;
mod ui;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tug",
    version,
    about = "GitOps for Kubernetes: Flux's APIs, one lean binary",
    propagate_version = true
)]
struct Cli {
    #[command(flatten)]
    cluster: cluster::ClusterArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the client version and, when reachable, the server's.
    Version(cmd::version::Args),
    /// Install tug's namespace, CRDs and RBAC (not the controller yet: run `tug controller`).
    Install(cmd::install::InstallArgs),
    /// Remove tug's CRDs and namespace from the cluster.
    Uninstall(cmd::install::UninstallArgs),
    /// Check that the cluster can run tug.
    Check(cmd::check::Args),
    /// Kustomize, natively: build a kustomization directory.
    #[command(subcommand)]
    Kustomize(cmd::kustomize::Command),
    #[command(subcommand)]
    Helm(cmd::helm::Command),
    /// Run one reconcile of an object from a local directory.
    #[command(subcommand)]
    Apply(ApplyCommand),
    /// Print what a reconcile would apply, from a local directory.
    #[command(subcommand)]
    Build(BuildCommand),
    /// Show what a reconcile from a local directory would change (exit 1 when something would).
    #[command(subcommand)]
    Diff(DiffCommand),
    /// Display objects and their status.
    #[command(subcommand)]
    Get(GetCommand),
    /// Create or update an object (or print it with --export).
    #[command(subcommand)]
    Create(CreateCommand),
    /// Ask the controller for a reconcile now, and wait for it.
    #[command(subcommand)]
    Reconcile(ReconcileCommand),
    /// Stop reconciling an object.
    #[command(subcommand)]
    Suspend(TargetCommand),
    /// Reconcile a suspended object again (and wait for that reconcile, as `flux resume`).
    Resume(ResumeArgs),
    /// Delete an object.
    #[command(subcommand)]
    Delete(TargetCommand),
    /// Work with sources without a cluster.
    #[command(subcommand)]
    Source(cmd::source::Command),
    /// Run the reconcilers (GitRepository, Kustomization) and the artifact server.
    Controller(cmd::controller::Args),
    /// Push an OCI artifact to a registry.
    #[command(subcommand)]
    Push(cmd::artifact::PushCommand),
    /// Pull an OCI artifact from a registry.
    #[command(subcommand)]
    Pull(cmd::artifact::PullCommand),
    /// Tag an OCI artifact.
    #[command(subcommand)]
    Tag(cmd::artifact::TagCommand),
    /// List OCI artifacts.
    #[command(subcommand)]
    List(cmd::artifact::ListCommand),
}

#[derive(Subcommand)]
enum ApplyCommand {
    /// Apply a local directory with a Kustomization's settings, inventory and prune.
    Kustomization(cmd::kustomization::ApplyArgs),
}

#[derive(Subcommand)]
enum BuildCommand {
    /// Render a local directory as a Kustomization would, with its owner labels.
    Kustomization(cmd::kustomization::BuildArgs),
}

#[derive(Subcommand)]
enum DiffCommand {
    /// Diff a local directory against the cluster with a Kustomization's settings.
    Kustomization(cmd::kustomization::DiffArgs),
}

#[derive(clap::Args)]
struct GetArgs {
    /// Only this object.
    name: Option<String>,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// After listing, print a row each time an object changes (until interrupted).
    #[arg(short = 'w', long)]
    watch: bool,
}

#[derive(Subcommand)]
enum GetCommand {
    /// Sources.
    #[command(subcommand, alias = "source")]
    Sources(GetSources),
    /// Kustomizations.
    #[command(aliases = ["kustomization", "ks"])]
    Kustomizations(GetArgs),
    /// Sources and Kustomizations.
    All(GetArgs),
}

#[derive(Subcommand)]
enum GetSources {
    /// GitRepositories.
    Git(GetArgs),
    /// OCIRepositories.
    Oci(GetArgs),
    /// HelmRepositories.
    Helm(GetArgs),
    /// HelmCharts.
    Chart(GetArgs),
    /// Every kind of source.
    All(GetArgs),
}

#[derive(Subcommand)]
enum CreateCommand {
    /// Create a source.
    #[command(subcommand)]
    Source(CreateSource),
    /// Create a Kustomization.
    #[command(alias = "ks")]
    Kustomization(cmd::create::KustomizationArgs),
}

#[derive(Subcommand)]
enum CreateSource {
    /// Create a GitRepository.
    Git(cmd::create::GitArgs),
    /// Create an OCIRepository.
    Oci(cmd::create_source::OciArgs),
    /// Create a HelmRepository.
    Helm(cmd::create_source::HelmArgs),
    /// Create a HelmChart.
    Chart(cmd::create_source::ChartArgs),
}

#[derive(clap::Args)]
struct NameArg {
    /// The object's name.
    name: String,
}

#[derive(clap::Args)]
struct ReconcileKustomizationArgs {
    /// The Kustomization's name.
    name: String,
    /// Reconcile its source first.
    #[arg(long)]
    with_source: bool,
}

#[derive(clap::Args)]
struct ResumeArgs {
    #[command(subcommand)]
    target: TargetCommand,
    /// Wait until the controller reconciled the object after the resume.
    #[arg(long, global = true, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    wait: bool,
}

#[derive(Subcommand)]
enum TargetCommand {
    /// A source.
    #[command(subcommand)]
    Source(SourceTarget),
    /// A Kustomization.
    #[command(alias = "ks")]
    Kustomization(NameArg),
}

#[derive(Subcommand)]
enum SourceTarget {
    /// A GitRepository.
    Git(NameArg),
    /// An OCIRepository.
    Oci(NameArg),
    /// A HelmRepository.
    Helm(NameArg),
    /// A HelmChart.
    Chart(NameArg),
}

impl SourceTarget {
    fn kind_and_name(self) -> (cmd::objects::Kind, String) {
        use cmd::objects::Kind;
        match self {
            SourceTarget::Git(a) => (Kind::GitRepository, a.name),
            SourceTarget::Oci(a) => (Kind::OCIRepository, a.name),
            SourceTarget::Helm(a) => (Kind::HelmRepository, a.name),
            SourceTarget::Chart(a) => (Kind::HelmChart, a.name),
        }
    }
}

#[derive(Subcommand)]
enum ReconcileCommand {
    /// A source.
    #[command(subcommand)]
    Source(SourceTarget),
    /// A Kustomization.
    #[command(alias = "ks")]
    Kustomization(ReconcileKustomizationArgs),
}

fn target(command: TargetCommand) -> (cmd::objects::Kind, String) {
    match command {
        TargetCommand::Source(source) => source.kind_and_name(),
        TargetCommand::Kustomization(a) => (cmd::objects::Kind::Kustomization, a.name),
    }
}

async fn run_get(cluster: &cluster::ClusterArgs, command: GetCommand) -> anyhow::Result<ExitCode> {
    use cmd::objects::{get, Kind};
    let all: Vec<Kind> = cmd::objects::SOURCE_KINDS
        .iter()
        .copied()
        .chain([Kind::Kustomization])
        .collect();
    let (kinds, args): (&[Kind], GetArgs) = match command {
        GetCommand::Sources(GetSources::Git(a)) => (&[Kind::GitRepository], a),
        GetCommand::Sources(GetSources::Oci(a)) => (&[Kind::OCIRepository], a),
        GetCommand::Sources(GetSources::Helm(a)) => (&[Kind::HelmRepository], a),
        GetCommand::Sources(GetSources::Chart(a)) => (&[Kind::HelmChart], a),
        GetCommand::Sources(GetSources::All(a)) => (cmd::objects::SOURCE_KINDS, a),
        GetCommand::Kustomizations(a) => (&[Kind::Kustomization], a),
        GetCommand::All(a) => (&all[..], a),
    };
    if args.watch {
        let [kind] = kinds else {
            anyhow::bail!(
                "--watch works on one kind: use `get sources git` or `get kustomizations`"
            );
        };
        return cmd::objects::watch(cluster, *kind, args.all_namespaces, args.name.as_deref())
            .await;
    }
    get(cluster, kinds, args.all_namespaces, args.name.as_deref()).await
}

fn main() -> ExitCode {
    // SIGPIPE stays ignored (Rust's default) for every command: the controller writes to
    // sockets that peers reset (an apiserver restarting), and a signal would kill it without
    // a word. A CLI command that finds its stdout closed (`tug get all | head -1`) gets an
    // ordinary EPIPE error instead, and `main` ends it quietly (see `exit_on_error`).
    // SAFETY: called first in main, before any other thread exists.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        // glibc gives every thread that allocates its own memory pool (arena); a controller
        // with blocking threads for renders and fetches would keep many mostly-empty pools.
        // Two are enough for tug's allocation rate and keep the resident set small.
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // Helm's namespace defaults to `default`, not tug's `flux-system`.
    let helm_namespace = match matches.value_source("namespace") {
        Some(clap::parser::ValueSource::CommandLine) => cli.cluster.namespace.clone(),
        _ => "default".to_string(),
    };
    match &cli.command {
        Command::Controller(args) => cmd::controller::init_logging(args),
        _ => ui::init_logging(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ui::failure(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Version(args) => cmd::version::run(&cli.cluster, args).await,
            Command::Install(args) => cmd::install::install(&cli.cluster, args).await,
            Command::Uninstall(args) => cmd::install::uninstall(&cli.cluster, args).await,
            Command::Check(args) => cmd::check::run(&cli.cluster, args).await,
            Command::Kustomize(command) => cmd::kustomize::run(command),
            Command::Helm(command) => cmd::helm::run(command, &helm_namespace),
            Command::Apply(ApplyCommand::Kustomization(args)) => {
                cmd::kustomization::apply(&cli.cluster, args).await
            }
            Command::Build(BuildCommand::Kustomization(args)) => {
                cmd::kustomization::build(&cli.cluster, args).await
            }
            Command::Diff(DiffCommand::Kustomization(args)) => {
                cmd::kustomization::diff(&cli.cluster, args).await
            }
            Command::Get(command) => run_get(&cli.cluster, command).await,
            Command::Create(CreateCommand::Source(CreateSource::Git(args))) => {
                cmd::create::git(&cli.cluster, args).await
            }
            Command::Create(CreateCommand::Source(CreateSource::Oci(args))) => {
                cmd::create_source::oci(&cli.cluster, args).await
            }
            Command::Create(CreateCommand::Source(CreateSource::Helm(args))) => {
                cmd::create_source::helm(&cli.cluster, args).await
            }
            Command::Create(CreateCommand::Source(CreateSource::Chart(args))) => {
                cmd::create_source::chart(&cli.cluster, args).await
            }
            Command::Create(CreateCommand::Kustomization(args)) => {
                cmd::create::kustomization(&cli.cluster, args).await
            }
            Command::Reconcile(ReconcileCommand::Source(source)) => {
                let (kind, name) = source.kind_and_name();
                cmd::objects::reconcile(&cli.cluster, kind, &name, false).await
            }
            Command::Reconcile(ReconcileCommand::Kustomization(a)) => {
                cmd::objects::reconcile(
                    &cli.cluster,
                    cmd::objects::Kind::Kustomization,
                    &a.name,
                    a.with_source,
                )
                .await
            }
            Command::Suspend(t) => {
                let (kind, name) = target(t);
                cmd::objects::set_suspend(&cli.cluster, kind, &name, true).await
            }
            Command::Resume(r) => {
                let (kind, name) = target(r.target);
                cmd::objects::resume(&cli.cluster, kind, &name, r.wait).await
            }
            Command::Delete(t) => {
                let (kind, name) = target(t);
                cmd::objects::delete(&cli.cluster, kind, &name).await
            }
            Command::Source(command) => cmd::source::run(command).await,
            Command::Controller(args) => cmd::controller::run(&cli.cluster, args).await,
            Command::Push(command) => cmd::artifact::push(command).await,
            Command::Pull(command) => cmd::artifact::pull(command).await,
            Command::Tag(command) => cmd::artifact::tag(command).await,
            Command::List(command) => cmd::artifact::list(command).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => exit_on_error(&e),
    }
}

/// Reports a command's error, each cause once, and picks the exit status. A closed stdout
/// (the reader of a pipe went away) is not worth a message: the process ends as Unix tools
/// do in that case, by the default action of SIGPIPE, so `set -o pipefail` scripts see 141.
fn exit_on_error(e: &anyhow::Error) -> ExitCode {
    let broken_pipe = e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        // SAFETY: restoring the default action and raising the signal in this process only.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::raise(libc::SIGPIPE);
        }
        return ExitCode::from(128 + libc::SIGPIPE as u8);
    }
    ui::failure(&ui::error_chain(e));
    ExitCode::FAILURE
}
