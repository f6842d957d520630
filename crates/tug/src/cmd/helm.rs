//! `tug helm template RELEASE CHART`: renders a chart to the release manifest Helm would
//! install, byte for byte, without a cluster.

use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use tug_helm::engine::KubeVersion;
use tug_helm::install::{render_chart, RenderError, RenderOptions};
use tug_helm::release::write_source;
use tug_helm::values::ValueOptions;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Render a chart locally and print the release manifest.
    ///
    /// The release namespace is `-n/--namespace` when given, else `default` as in Helm (not
    /// the `flux-system` the flag's help shows for cluster commands).
    Template(TemplateArgs),
}

#[derive(clap::Args)]
pub struct TemplateArgs {
    /// The release name.
    pub release: String,
    /// The chart: a directory or a packaged `.tgz`.
    pub chart: PathBuf,
    /// A YAML file of values; repeat or separate with commas, later files win.
    #[arg(short = 'f', long = "values", value_delimiter = ',')]
    pub values: Vec<PathBuf>,
    /// Set values (`a.b=1,c=x`), after the values files.
    #[arg(long)]
    pub set: Vec<String>,
    /// Set values as strings, after `--set`.
    #[arg(long)]
    pub set_string: Vec<String>,
    /// Set JSON values (`a={"b":1}` or a JSON object), before `--set`.
    #[arg(long)]
    pub set_json: Vec<String>,
    /// Set values from files (`key=path`), after `--set-string`.
    #[arg(long)]
    pub set_file: Vec<String>,
    /// Set literal string values (`key=value`, no escaping), last.
    #[arg(long)]
    pub set_literal: Vec<String>,
    /// Print the `crds/` files before the manifest.
    #[arg(long)]
    pub include_crds: bool,
    /// Print the hooks after the manifest.
    #[arg(long)]
    pub show_hooks: bool,
    /// The Kubernetes version for `.Capabilities` and `kubeVersion` checks (default v1.36.0).
    #[arg(long)]
    pub kube_version: Option<String>,
    /// Extra group/versions for `.Capabilities.APIVersions`; repeat or separate with commas.
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    pub api_versions: Vec<String>,
    /// Render with `.Release.IsUpgrade` true.
    #[arg(long)]
    pub is_upgrade: bool,
}

/// Runs a `tug helm` command; `namespace` is the release namespace (Helm's default is
/// `default`).
pub fn run(command: Command, namespace: &str) -> Result<ExitCode> {
    let Command::Template(args) = command;
    let namespace = namespace.to_string();
    // Deeply nested includes need more stack than the main thread has.
    let rendered = std::thread::Builder::new()
        .stack_size(tug_helm::install::RENDER_STACK_SIZE)
        .spawn(move || template(&args, &namespace))?
        .join()
        .map_err(|_| anyhow::anyhow!("rendering panicked"))?;
    match rendered {
        Ok(out) => {
            std::io::stdout().lock().write_all(out.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("Error: {message}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn template(args: &TemplateArgs, namespace: &str) -> Result<String, String> {
    let kube_version = match &args.kube_version {
        Some(v) => {
            Some(KubeVersion::parse(v).map_err(|e| format!("invalid kube version '{v}': {e}"))?)
        }
        None => None,
    };
    let values = user_values(args)?;
    let chart = tug_helm::chart::load(&args.chart).map_err(|e| e.to_string())?;
    let mut opts = RenderOptions::new(&args.release, namespace);
    opts.values = values;
    opts.kube_version = kube_version;
    opts.api_versions = args.api_versions.clone();
    opts.is_upgrade = args.is_upgrade;
    opts.include_crds = args.include_crds;
    let release = render_chart(&chart, &opts).map_err(|e| match e {
        // Helm's template command points at --debug when the release was partly rendered.
        RenderError::Template(_) | RenderError::Manifest(_) | RenderError::KubeVersion { .. } => {
            format!("{e}\n\nUse --debug flag to render out invalid YAML")
        }
        other => other.to_string(),
    })?;
    let mut out = release.manifest;
    if args.show_hooks {
        for hook in &release.hooks {
            write_source(&mut out, &hook.path, &hook.manifest);
        }
    }
    Ok(out)
}

/// Helm's `values.Options.MergeValues`: values files deep-merged in order, then the `--set*`
/// flags.
fn user_values(args: &TemplateArgs) -> Result<tug_helm::Value, String> {
    let mut options = ValueOptions::default();
    for path in &args.values {
        let data = std::fs::read(path).map_err(|e| format!("open {}: {e}", path.display()))?;
        options.files.push((path.display().to_string(), data));
    }
    options.set_json = args.set_json.clone();
    options.set = args.set.clone();
    options.set_string = args.set_string.clone();
    options.set_file = args.set_file.clone();
    options.set_literal = args.set_literal.clone();
    options
        .merge(&|path| std::fs::read_to_string(path).map_err(|e| format!("open {path}: {e}")))
        .map_err(|e| e.to_string())
}
