//! Cluster connection flags, resolved as kubectl resolves them: `--kubeconfig`, then
//! `KUBECONFIG`, then `~/.kube/config`, then the in-cluster service account.

use anyhow::{Context, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::PathBuf;
use std::time::Duration;

/// The namespace tug installs into and defaults to, as Flux does.
pub const DEFAULT_NAMESPACE: &str = "flux-system";

#[derive(clap::Args, Clone, Debug)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The namespace scope for this operation.
    #[arg(short = 'n', long, global = true, default_value = DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Timeout for operations against the cluster.
    #[arg(long, global = true, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    tug_api::duration::parse_duration(s).map_err(|e| e.to_string())
}

/// A client, and the server URL it talks to (for error messages).
pub struct Connection {
    pub client: Client,
    pub server: String,
}

impl ClusterArgs {
    /// Builds a client. Connection attempts time out quickly so that an unreachable server is
    /// reported within seconds rather than hanging.
    pub async fn connect(&self) -> Result<Connection> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        // An empty KUBECONFIG means "unset", as kubectl treats it.
        let from_env = std::env::var_os("KUBECONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let mut config = match self.kubeconfig.as_ref().or(from_env.as_ref()) {
            // KUBECONFIG may list several files separated by ':' as kubectl allows.
            Some(paths) => {
                let mut merged: Option<Kubeconfig> = None;
                for path in std::env::split_paths(paths) {
                    if !path.exists() && merged.is_some() {
                        continue;
                    }
                    let kc = Kubeconfig::read_from(&path).with_context(|| format!("reading kubeconfig {}", path.display()))?;
                    merged = Some(match merged {
                        Some(m) => m.merge(kc).with_context(|| format!("merging kubeconfig {}", path.display()))?,
                        None => kc,
                    });
                }
                let kc = merged.context("no kubeconfig file given")?;
                Config::from_custom_kubeconfig(kc, &options).await.context("loading kubeconfig")?
            }
            None if self.context.is_some() => Config::from_kubeconfig(&options).await.context("loading kubeconfig")?,
            None => Config::infer().await.context("finding cluster configuration (no --kubeconfig, KUBECONFIG, ~/.kube/config or in-cluster service account)")?,
        };
        config.connect_timeout = Some(Duration::from_secs(5));
        config.read_timeout = Some(Duration::from_secs(30));
        let server = config.cluster_url.to_string();
        let client =
            Client::try_from(config).with_context(|| format!("creating a client for {server}"))?;
        Ok(Connection { client, server })
    }
}

impl Connection {
    /// The server version; the first request of most commands, so its error names the server.
    pub async fn server_version(&self) -> Result<k8s_openapi::apimachinery::pkg::version::Info> {
        tokio::time::timeout(Duration::from_secs(10), self.client.apiserver_version())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "cannot reach the cluster at {}: no answer within 10s",
                    self.server
                )
            })?
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot reach the cluster at {}: {}",
                    self.server,
                    describe_kube_error(&e)
                )
            })
    }
}

/// A one-line cause for a kube error, with the chain of sources (connect refused, TLS, 401...).
pub fn describe_kube_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) if status.code == 401 => {
            format!("unauthorized (HTTP 401): {}", status.message)
        }
        kube::Error::Api(status) if status.code == 403 => {
            format!("forbidden (HTTP 403): {}", status.message)
        }
        _ => tug_apply::describe(e),
    }
}
