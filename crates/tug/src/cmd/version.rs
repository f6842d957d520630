//! `tug version`: the client's version and, unless `--client`, the server's.

use crate::cluster::ClusterArgs;
use crate::ui;
use anyhow::Result;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Print only the client version; do not contact the cluster.
    #[arg(long)]
    pub client: bool,
}

pub async fn run(cluster: &ClusterArgs, args: Args) -> Result<ExitCode> {
    ui::outln!("tug: v{}", env!("CARGO_PKG_VERSION"))?;
    if args.client {
        return Ok(ExitCode::SUCCESS);
    }
    let conn = cluster.connect().await?;
    let info = conn.server_version().await?;
    ui::outln!("kubernetes: {}", info.git_version)?;
    Ok(ExitCode::SUCCESS)
}
