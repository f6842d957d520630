//! `tug kustomize build DIR`: prints what `kubectl kustomize DIR` prints, byte for byte.

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Build a kustomization directory and print the resources as YAML.
    Build(BuildArgs),
}

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The kustomization directory (default: the current directory).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// `LoadRestrictionsRootOnly` (default) or `LoadRestrictionsNone`.
    #[arg(long, default_value = "LoadRestrictionsRootOnly")]
    pub load_restrictor: String,
}

pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Build(_args) => anyhow::bail!("tug kustomize build is not implemented yet"),
    }
}
