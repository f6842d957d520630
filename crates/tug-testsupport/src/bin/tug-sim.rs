//! `tug-sim`: the node and pod simulator of the tests, as a process of its own, for a local
//! control plane without a kubelet (`scripts/demo` runs it). It registers one Ready node and
//! reports the pods scheduled there Running; no container ever runs.
//!
//!     tug-sim [--kubeconfig PATH]     (default: $KUBECONFIG, then ~/.kube/config)
//!
//! It logs each pod it binds and reports on stderr, and runs until it is killed.

use anyhow::{bail, Context, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::PathBuf;

const USAGE: &str = "usage: tug-sim [--kubeconfig PATH]\n\n\
Simulates a Ready node and reports its pods Running (a cluster without a kubelet).";

fn kubeconfig_flag() -> Result<Option<PathBuf>> {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--kubeconfig" => path = Some(PathBuf::from(args.next().context(USAGE)?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => match other.strip_prefix("--kubeconfig=") {
                Some(p) => path = Some(PathBuf::from(p)),
                None => bail!("unknown argument {other:?}\n{USAGE}"),
            },
        }
    }
    Ok(path)
}

async fn client(kubeconfig: Option<PathBuf>) -> Result<Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?
        }
        None => Config::infer().await.context("finding a kubeconfig")?,
    };
    Ok(Client::try_from(config)?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Plain text when logging to a file (scripts/demo), colours on a terminal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let client = client(kubeconfig_flag()?).await?;
    tracing::info!(
        "simulating node {} (pods are reported Running; no container runs)",
        tug_testsupport::simulator::NODE_NAME
    );
    tug_testsupport::simulator::run(client).await
}
