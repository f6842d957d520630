//! `tug source pull`: a one-off fetch of a Git repository into an artifact, no cluster needed.

use anyhow::Result;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Fetch a Git repository at a reference and write its artifact into a directory.
    Pull(PullArgs),
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// The repository URL (http, https, ssh, git or file).
    pub url: String,
}

pub async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Pull(_args) => anyhow::bail!("tug source pull is not implemented yet"),
    }
}
