//! `tug check --pre`: can this cluster run tug, and is tug installed?

use crate::cluster::{describe_kube_error, ClusterArgs};
use crate::ui;
use anyhow::Result;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use std::process::ExitCode;

/// The oldest Kubernetes tug is tested against.
const MIN_MINOR: u32 = 20;

#[derive(clap::Args)]
pub struct Args {
    /// Only run the pre-installation checks.
    #[arg(long)]
    pub pre: bool,
}

pub async fn run(cluster: &ClusterArgs, _args: Args) -> Result<ExitCode> {
    ui::action("checking prerequisites");
    let conn = cluster.connect().await?;
    let info = conn.server_version().await?;
    let minor: u32 = info.minor.trim_end_matches('+').parse().unwrap_or(0);
    let mut ok = true;
    if info.major == "1" && minor >= MIN_MINOR {
        ui::success(&format!(
            "Kubernetes {} >=1.{MIN_MINOR}.0 ({})",
            info.git_version.trim_start_matches('v'),
            conn.server
        ));
    } else {
        ui::failure(&format!(
            "Kubernetes {} is older than 1.{MIN_MINOR}.0",
            info.git_version
        ));
        ok = false;
    }
    ui::action("checking CRDs");
    let crds: Api<CustomResourceDefinition> = Api::all(conn.client.clone());
    for name in tug_api::crds::names() {
        match crds.get_opt(&name).await {
            Ok(Some(crd)) => {
                let established = crd
                    .status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True");
                if established {
                    ui::success(&format!("{name}: installed, established"));
                } else {
                    ui::failure(&format!("{name}: installed, not established"));
                    ok = false;
                }
            }
            Ok(None) => ui::note(&format!("  {name}: not installed (run `tug install`)")),
            Err(e) => anyhow::bail!(
                "reading CRD {name} from {}: {}",
                conn.server,
                describe_kube_error(&e)
            ),
        }
    }
    if ok {
        ui::success("prerequisites checks passed");
        Ok(ExitCode::SUCCESS)
    } else {
        ui::failure("prerequisites checks failed");
        Ok(ExitCode::FAILURE)
    }
}
