//! `tug kustomize build DIR`: prints what `kubectl kustomize DIR` prints, byte for byte.

use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use tug_kustomize::{build_dir, fs::RealFs, to_yaml, LoadRestrictor};

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
        Command::Build(args) => {
            let restrictor = match args.load_restrictor.as_str() {
                "LoadRestrictionsRootOnly" => LoadRestrictor::RootOnly,
                "LoadRestrictionsNone" => LoadRestrictor::None,
                other => anyhow::bail!(
                    "unknown --load-restrictor '{other}' (LoadRestrictionsRootOnly or LoadRestrictionsNone)"
                ),
            };
            let dir = std::path::absolute(&args.dir)?;
            match build_dir(&RealFs, &dir, restrictor) {
                Ok(resources) => {
                    let out = to_yaml(&resources);
                    std::io::stdout().lock().write_all(out.as_bytes())?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    crate::ui::note(&format!("Error: {e}"));
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
