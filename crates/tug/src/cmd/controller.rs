//! `tug controller`: one process running the artifact server and the GitRepository and
//! Kustomization reconcilers, with Flux's flags. Out of cluster it uses the kubeconfig (as the
//! other commands); in cluster the service account.

use crate::cluster::ClusterArgs;
use anyhow::{anyhow, Context, Result};
use futures::StreamExt;
use kube::api::Api;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tug_api::{GitRepository, Kustomization};
use tug_controller::{gitrepository, kustomization};
use tug_source::Storage;

#[derive(clap::Args)]
pub struct Args {
    /// Directory where artifacts are stored.
    #[arg(long, default_value = "/tmp/tug-storage")]
    pub storage_path: PathBuf,
    /// Address the artifact server listens on.
    #[arg(long, default_value = ":9090")]
    pub storage_addr: String,
    /// Address advertised in artifact URLs (default: derived from --storage-addr).
    #[arg(long)]
    pub storage_adv_addr: Option<String>,
    /// Objects reconciled at once, per kind.
    #[arg(long, default_value_t = 4)]
    pub concurrent: u16,
    /// Watch all namespaces; with `false`, only the namespace of `-n`.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub watch_all_namespaces: bool,
    /// Field manager for server-side apply.
    #[arg(long, default_value = tug_api::DEFAULT_FIELD_MANAGER)]
    pub field_manager: String,
    /// Log format: text or json.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_encoding: String,
    /// Log level (an env-filter directive; RUST_LOG overrides it).
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

/// Logs go to stderr; a controller logs at `info` unless told otherwise.
pub fn init_logging(args: &Args) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&args.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if args.log_encoding == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub async fn run(cluster: &ClusterArgs, args: Args) -> Result<ExitCode> {
    let conn = cluster.connect().await?;
    conn.server_version().await?;
    let client = conn.client;

    // The artifact server, bound before the controllers start so artifact URLs work at once.
    let advertised = tug_source::server::advertised_address(
        &args.storage_addr,
        args.storage_adv_addr.as_deref(),
    )
    .map_err(|e| anyhow!(e))?;
    let storage = Storage::new(&args.storage_path, advertised.clone())
        .with_context(|| format!("opening storage {}", args.storage_path.display()))?;
    let bind = if args.storage_addr.starts_with(':') {
        format!("0.0.0.0{}", args.storage_addr)
    } else {
        args.storage_addr.clone()
    };
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("binding the artifact server to {bind}"))?;
    tracing::info!(
        addr = %bind,
        advertised = %advertised,
        path = %args.storage_path.display(),
        "artifact server listening"
    );
    let server = tokio::spawn(tug_source::server::serve_on(
        listener,
        storage.root().to_path_buf(),
    ));

    let (sources, kustomizations): (Api<GitRepository>, Api<Kustomization>) =
        if args.watch_all_namespaces {
            (Api::all(client.clone()), Api::all(client.clone()))
        } else {
            (
                Api::namespaced(client.clone(), &cluster.namespace),
                Api::namespaced(client.clone(), &cluster.namespace),
            )
        };

    // Graceful shutdown: on SIGTERM or Ctrl-C both controllers stop taking new work and
    // finish the reconciles in flight.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing reconciles in flight");
        let _ = stop_tx.send(true);
    });
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|v| *v).await;
        }
    };

    let git_ctx = Arc::new(gitrepository::Context::new(client.clone(), storage.clone()));
    let git = gitrepository::controller(sources.clone(), args.concurrent)
        .graceful_shutdown_on(stopped())
        .run(
            gitrepository::reconcile,
            gitrepository::error_policy,
            git_ctx,
        )
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "GitRepository controller");
            }
        });
    let ks_ctx = Arc::new(kustomization::Context::new(
        client.clone(),
        Some(storage),
        args.field_manager.clone(),
    ));
    let ks = kustomization::controller(kustomizations, sources, args.concurrent)
        .graceful_shutdown_on(stopped())
        .run(
            kustomization::reconcile,
            kustomization::error_policy,
            ks_ctx,
        )
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "Kustomization controller");
            }
        });
    tracing::info!(
        namespaces = if args.watch_all_namespaces {
            "all"
        } else {
            cluster.namespace.as_str()
        },
        concurrent = args.concurrent,
        "controllers started"
    );
    futures::future::join(git, ks).await;
    server.abort();
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
