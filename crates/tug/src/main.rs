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
    /// Install tug's CRDs and namespace into the cluster.
    Install(cmd::install::InstallArgs),
    /// Remove tug's CRDs and namespace from the cluster.
    Uninstall(cmd::install::UninstallArgs),
    /// Check that the cluster can run tug.
    Check(cmd::check::Args),
    /// Kustomize, natively: build a kustomization directory.
    #[command(subcommand)]
    Kustomize(cmd::kustomize::Command),
    /// Run one reconcile of an object from a local directory.
    #[command(subcommand)]
    Apply(ApplyCommand),
    /// Print what a reconcile would apply, from a local directory.
    #[command(subcommand)]
    Build(BuildCommand),
    /// Show what a reconcile from a local directory would change (exit 1 when something would).
    #[command(subcommand)]
    Diff(DiffCommand),
    /// Work with sources without a cluster.
    #[command(subcommand)]
    Source(cmd::source::Command),
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

fn main() -> ExitCode {
    // Behave like other Unix tools when stdout is closed early (`tug ... | head`).
    // SAFETY: called first in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    ui::init_logging();
    let cli = Cli::parse();
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
            Command::Apply(ApplyCommand::Kustomization(args)) => {
                cmd::kustomization::apply(&cli.cluster, args).await
            }
            Command::Build(BuildCommand::Kustomization(args)) => {
                cmd::kustomization::build(&cli.cluster, args).await
            }
            Command::Diff(DiffCommand::Kustomization(args)) => {
                cmd::kustomization::diff(&cli.cluster, args).await
            }
            Command::Source(command) => cmd::source::run(command).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            ui::failure(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}
