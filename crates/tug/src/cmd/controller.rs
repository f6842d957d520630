//! `tug controller`: one process running the artifact server and the GitRepository and
//! Kustomization reconcilers, with Flux's flags. Out of cluster it uses the kubeconfig (as the
//! other commands); in cluster the service account.

use crate::cluster::ClusterArgs;
use anyhow::{anyhow, Context, Result};
use futures::StreamExt;
use kube::api::Api;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tug_api::{GitRepository, HelmChart, HelmRepository, Kustomization, OCIRepository};
use tug_controller::endpoints::{self, State};
use tug_controller::leader::{self, Elector, LeaseTiming};
use tug_controller::metrics::{self, Metrics};
use tug_controller::watch::WatchOptions;
use tug_controller::{gitrepository, helmchart, helmrepository, kustomization, ocirepository};
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
    /// Reconcile only objects matching this label selector (Flux's sharding, e.g.
    /// `sharding.fluxcd.io/key=shard1`).
    #[arg(long)]
    pub watch_label_selector: Option<String>,
    /// Address of the Prometheus endpoint (`/metrics`); empty or `0` disables it.
    #[arg(long, default_value = ":8080")]
    pub metrics_addr: String,
    /// Address of the probe endpoints (`/healthz`, `/readyz`); empty or `0` disables them.
    #[arg(long, default_value = ":9440")]
    pub health_addr: String,
    /// Hold a Lease in the namespace of `-n` so that only one replica reconciles at a time.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub enable_leader_election: bool,
    /// How long a lease is valid without renewal before a standby may take it.
    #[arg(long, default_value = "35s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub leader_election_renew_deadline: Duration,
    /// How often candidates try to acquire, and the leader renews, the lease.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub leader_election_retry_period: Duration,
    /// How long a Kustomization waits before checking again for dependencies that are not
    /// ready, or for a source without an artifact (Flux's `--requeue-dependency`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub requeue_dependency: Duration,
    /// How long reconciles in flight may take to finish after SIGTERM; past it they are
    /// abandoned (safe: applies are idempotent, and the next leader redoes the work).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub graceful_shutdown_timeout: Duration,
    /// Feature gates, as Flux's: `StrictPostBuildSubstitutions=true` makes a `${var}`
    /// without a value (and without a default) a build error.
    #[arg(long, value_delimiter = ',')]
    pub feature_gates: Vec<String>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    tug_api::duration::parse_duration(s).map_err(|e| e.to_string())
}

/// `Name=true|false` gates; an unknown gate is an error, as Flux's.
fn strict_substitutions(gates: &[String]) -> Result<bool> {
    let mut strict = false;
    for gate in gates.iter().filter(|g| !g.is_empty()) {
        let (name, value) = gate.split_once('=').unwrap_or((gate.as_str(), "true"));
        let on = value
            .parse::<bool>()
            .map_err(|_| anyhow!("--feature-gates: '{gate}': the value must be true or false"))?;
        match name {
            "StrictPostBuildSubstitutions" => strict = on,
            other => return Err(anyhow!("--feature-gates: unknown feature gate '{other}'")),
        }
    }
    Ok(strict)
}

/// `:8080` means every interface; empty or `0` means off.
fn bind_address(addr: &str) -> Option<String> {
    match addr {
        "" | "0" => None,
        a if a.starts_with(':') => Some(format!("0.0.0.0{a}")),
        a => Some(a.to_string()),
    }
}

async fn listen(what: &str, addr: &str) -> Result<Option<tokio::net::TcpListener>> {
    let Some(bind) = bind_address(addr) else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("binding the {what} endpoint to {bind}"))?;
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or(bind), "{what} endpoint listening");
    Ok(Some(listener))
}

/// Logs go to stderr; a controller logs at `info` unless told otherwise.
pub fn init_logging(args: &Args) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&args.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: log files and `kubectl logs` get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if args.log_encoding == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub async fn run(cluster: &ClusterArgs, args: Args) -> Result<ExitCode> {
    let strict = strict_substitutions(&args.feature_gates)?;
    let conn = cluster.connect().await?;
    conn.server_version().await?;
    let client = conn.client;

    // Probes and metrics first, so a kubelet sees the process alive while it waits to lead.
    let metrics = Metrics::new();
    let state = State::new(metrics.clone());
    let mut servers = Vec::new();
    if let Some(l) = listen("metrics", &args.metrics_addr).await? {
        servers.push(tokio::spawn(endpoints::serve(
            l,
            state.clone(),
            true,
            false,
        )));
    }
    if let Some(l) = listen("health", &args.health_addr).await? {
        servers.push(tokio::spawn(endpoints::serve(
            l,
            state.clone(),
            false,
            true,
        )));
    }

    // The artifact server, bound before the controllers start so artifact URLs work at once.
    let bind = bind_address(&args.storage_addr).unwrap_or_else(|| args.storage_addr.clone());
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("binding the artifact server to {bind}"))?;
    // Port 0 picks a free port: artifact URLs advertise the one picked.
    let storage_addr = match (listener.local_addr(), args.storage_addr.rsplit_once(':')) {
        (Ok(local), Some((host, "0"))) => format!("{host}:{}", local.port()),
        _ => args.storage_addr.clone(),
    };
    let advertised =
        tug_source::server::advertised_address(&storage_addr, args.storage_adv_addr.as_deref())
            .map_err(|e| anyhow!(e))?;
    let storage = Storage::new(&args.storage_path, advertised.clone())
        .with_context(|| format!("opening storage {}", args.storage_path.display()))?;
    tracing::info!(
        addr = %bind,
        advertised = %advertised,
        path = %args.storage_path.display(),
        "artifact server listening"
    );
    let root = storage.root().to_path_buf();
    servers.push(tokio::spawn(async move {
        if let Err(e) = tug_source::server::serve_on(listener, root).await {
            tracing::error!(error = %e, "artifact server stopped");
        }
    }));

    // Graceful shutdown: on SIGTERM or Ctrl-C the controllers stop taking new work and
    // finish the reconciles in flight; a standby simply leaves.
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
    state.ready.store(true, Ordering::Relaxed);

    let mut elector = args.enable_leader_election.then(|| {
        Elector::new(
            client.clone(),
            &cluster.namespace,
            leader::identity(),
            LeaseTiming {
                lease_duration: args.leader_election_lease_duration,
                renew_deadline: args.leader_election_renew_deadline,
                retry_period: args.leader_election_retry_period,
            },
        )
    });
    if let Some(elector) = elector.as_mut() {
        tracing::info!(
            identity = elector.identity(),
            lease = %format!("{}/{}", cluster.namespace, leader::LEASE_NAME),
            "leader election: waiting for the lease"
        );
        tokio::select! {
            _ = elector.acquire() => {}
            _ = stopped() => {
                tracing::info!("stopped before leading");
                return Ok(ExitCode::SUCCESS);
            }
        }
        metrics.set_leader(true);
    }

    let scoped = |client: &kube::Client| {
        if args.watch_all_namespaces {
            (
                Api::all(client.clone()),
                Api::all(client.clone()),
                Api::all(client.clone()),
            )
        } else {
            (
                Api::namespaced(client.clone(), &cluster.namespace),
                Api::namespaced(client.clone(), &cluster.namespace),
                Api::namespaced(client.clone(), &cluster.namespace),
            )
        }
    };
    let scoped_api = |client: &kube::Client| -> Api<HelmRepository> {
        if args.watch_all_namespaces {
            Api::all(client.clone())
        } else {
            Api::namespaced(client.clone(), &cluster.namespace)
        }
    };
    let (sources, oci_sources, kustomizations): (
        Api<GitRepository>,
        Api<OCIRepository>,
        Api<Kustomization>,
    ) = scoped(&client);
    let watch = WatchOptions {
        label_selector: args.watch_label_selector.clone(),
    };

    let git_ctx = Arc::new(gitrepository::Context::new(client.clone(), storage.clone()));
    let git = tug_controller::watch::controller(sources.clone(), &watch, args.concurrent)
        .graceful_shutdown_on(stopped())
        .run(
            metrics::instrument(
                metrics.clone(),
                "source-controller",
                "GitRepository",
                gitrepository::reconcile,
            ),
            gitrepository::error_policy,
            git_ctx,
        )
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "GitRepository controller");
            }
        });
    let oci_ctx = Arc::new(ocirepository::Context::new(client.clone(), storage.clone()));
    let oci = tug_controller::watch::controller(oci_sources.clone(), &watch, args.concurrent)
        .graceful_shutdown_on(stopped())
        .run(
            metrics::instrument(
                metrics.clone(),
                "source-controller",
                "OCIRepository",
                ocirepository::reconcile,
            ),
            ocirepository::error_policy,
            oci_ctx,
        )
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "OCIRepository controller");
            }
        });
    let helm_repositories: Api<HelmRepository> = scoped_api(&client);
    let helm_ctx = Arc::new(helmrepository::Context::new(
        client.clone(),
        storage.clone(),
    ));
    let helm = tug_controller::watch::controller(helm_repositories, &watch, args.concurrent)
        .graceful_shutdown_on(stopped())
        .run(
            metrics::instrument(
                metrics.clone(),
                "source-controller",
                "HelmRepository",
                helmrepository::reconcile,
            ),
            helmrepository::error_policy,
            helm_ctx,
        )
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "HelmRepository controller");
            }
        });
    let helm_charts: Api<HelmChart> = if args.watch_all_namespaces {
        Api::all(client.clone())
    } else {
        Api::namespaced(client.clone(), &cluster.namespace)
    };
    let chart_ctx = Arc::new(helmchart::Context::new(client.clone(), storage.clone()));
    let charts = tug_controller::watch::controller(helm_charts, &watch, args.concurrent)
        .graceful_shutdown_on(stopped())
        .run(
            metrics::instrument(
                metrics.clone(),
                "source-controller",
                "HelmChart",
                helmchart::reconcile,
            ),
            helmchart::error_policy,
            chart_ctx,
        )
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "HelmChart controller");
            }
        });
    let mut ks_ctx =
        kustomization::Context::new(client.clone(), Some(storage), args.field_manager.clone());
    ks_ctx.strict_substitutions = strict;
    ks_ctx.requeue_dependency = args.requeue_dependency;
    ks_ctx.metrics = Some(metrics.clone());
    let ks_sources = kustomization::Sources {
        git: sources,
        oci: oci_sources,
    };
    let ks = kustomization::controller(kustomizations, ks_sources, &watch, args.concurrent)
        .graceful_shutdown_on(stopped())
        .run(
            metrics::instrument(
                metrics.clone(),
                kustomization::CONTROLLER_NAME,
                "Kustomization",
                kustomization::reconcile,
            ),
            kustomization::error_policy,
            Arc::new(ks_ctx),
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
        selector = args.watch_label_selector.as_deref().unwrap_or(""),
        concurrent = args.concurrent,
        "controllers started"
    );
    let controllers = futures::future::join5(git, oci, helm, charts, ks);
    let grace = args.graceful_shutdown_timeout;
    let stop_deadline = stopped();
    let controllers = async move {
        tokio::select! {
            _ = controllers => {}
            _ = async move {
                stop_deadline.await;
                tokio::time::sleep(grace).await;
            } => tracing::warn!(after = ?grace, "abandoning the reconciles still in flight"),
        }
    };
    let result = match elector.as_mut() {
        Some(elector) => {
            let outcome = tokio::select! {
                _ = controllers => None,
                lost = elector.hold() => Some(lost),
            };
            match outcome {
                None => {
                    elector.release().await;
                    Ok(ExitCode::SUCCESS)
                }
                // Reconciles in flight are dropped: another replica leads now.
                Some(lost) => Err(anyhow!(lost)),
            }
        }
        None => {
            controllers.await;
            Ok(ExitCode::SUCCESS)
        }
    };
    for server in servers {
        server.abort();
    }
    tracing::info!("stopped");
    result
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
