//! The verbs the flux CLI offers on its objects: `get`, `suspend`, `resume`, `delete` and
//! `reconcile`, for sources (`source git|oci|helm|chart`) and Kustomizations.

use crate::cluster::{describe_kube_error, ClusterArgs, Connection};
use crate::ui;
use anyhow::{anyhow, bail, Result};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::ResourceExt;
use serde_json::{json, Value};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// A kind the verbs work on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    GitRepository,
    OCIRepository,
    HelmRepository,
    HelmChart,
    Kustomization,
}

/// Every source kind, in the order `tug get sources all` lists them.
pub const SOURCE_KINDS: &[Kind] = &[
    Kind::GitRepository,
    Kind::OCIRepository,
    Kind::HelmRepository,
    Kind::HelmChart,
];

impl Kind {
    pub fn resource(self) -> ApiResource {
        let (group, kind, plural) = match self {
            Kind::GitRepository => (
                "source.toolkit.fluxcd.io",
                "GitRepository",
                "gitrepositories",
            ),
            Kind::OCIRepository => (
                "source.toolkit.fluxcd.io",
                "OCIRepository",
                "ocirepositories",
            ),
            Kind::HelmRepository => (
                "source.toolkit.fluxcd.io",
                "HelmRepository",
                "helmrepositories",
            ),
            Kind::HelmChart => ("source.toolkit.fluxcd.io", "HelmChart", "helmcharts"),
            Kind::Kustomization => (
                "kustomize.toolkit.fluxcd.io",
                "Kustomization",
                "kustomizations",
            ),
        };
        ApiResource {
            group: group.into(),
            version: "v1".into(),
            api_version: format!("{group}/v1"),
            kind: kind.into(),
            plural: plural.into(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::GitRepository => "GitRepository",
            Kind::OCIRepository => "OCIRepository",
            Kind::HelmRepository => "HelmRepository",
            Kind::HelmChart => "HelmChart",
            Kind::Kustomization => "Kustomization",
        }
    }

    /// The revision a `get` shows: the artifact's for sources, the last applied for appliers.
    fn revision(self, obj: &DynamicObject) -> String {
        let status = &obj.data["status"];
        let value = match self {
            Kind::GitRepository | Kind::OCIRepository | Kind::HelmRepository | Kind::HelmChart => {
                &status["artifact"]["revision"]
            }
            Kind::Kustomization => &status["lastAppliedRevision"],
        };
        value.as_str().unwrap_or("").to_string()
    }

    /// The status field that moves when a requested reconcile has been handled.
    fn handled_revision(self, obj: &DynamicObject) -> String {
        self.revision(obj)
    }
}

fn api(conn: &Connection, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(conn.client.clone(), ns, &kind.resource()),
        None => Api::all_with(conn.client.clone(), &kind.resource()),
    }
}

/// The reason of the Ready condition, if any.
fn ready_reason(obj: &DynamicObject) -> Option<&str> {
    obj.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?["reason"]
        .as_str()
}

fn ready(obj: &DynamicObject) -> (String, String) {
    let conditions = obj.data["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match conditions.iter().find(|c| c["type"] == "Ready") {
        Some(c) => (
            c["status"].as_str().unwrap_or("Unknown").to_string(),
            c["message"].as_str().unwrap_or("").to_string(),
        ),
        None => (
            "Unknown".to_string(),
            "waiting to be reconciled".to_string(),
        ),
    }
}

fn not_installed(conn: &Connection, kind: Kind, e: kube::Error) -> anyhow::Error {
    match &e {
        kube::Error::Api(s) if s.code == 404 && s.message.contains("page not found") => {
            anyhow!(
                "the {} kind is not installed in {} (run `tug install`)",
                kind.name(),
                conn.server
            )
        }
        _ => anyhow!("{}: {}", kind.name(), describe_kube_error(&e)),
    }
}

/// Prints a table like `flux get`: NAME REVISION SUSPENDED READY MESSAGE (NAMESPACE first with -A).
pub async fn get(
    cluster: &ClusterArgs,
    kinds: &[Kind],
    all_namespaces: bool,
    name: Option<&str>,
) -> Result<ExitCode> {
    let conn = cluster.connect().await?;
    conn.server_version().await?;
    let mut out = std::io::stdout().lock();
    let scope = if all_namespaces {
        "any namespace".to_string()
    } else {
        format!("{} namespace", cluster.namespace)
    };
    let mut tables = 0;
    for &kind in kinds {
        let api = api(
            &conn,
            kind,
            (!all_namespaces).then_some(cluster.namespace.as_str()),
        );
        let mut items = api
            .list(&ListParams::default())
            .await
            .map_err(|e| not_installed(&conn, kind, e))?
            .items;
        if let Some(name) = name {
            items.retain(|o| o.name_any() == name);
            if items.is_empty() {
                bail!("{} {}/{name} not found", kind.name(), cluster.namespace);
            }
        }
        items.sort_by_key(|o| (o.namespace(), o.name_any()));
        let mut rows = vec![header(all_namespaces)];
        for obj in &items {
            rows.push(row(kind, obj, all_namespaces, kinds.len() > 1));
        }
        if items.is_empty() {
            // Listing several kinds, as `flux get all`, shows only those that have objects.
            if kinds.len() == 1 {
                ui::failure(&format!("no {} objects found in {scope}", kind.name()));
            }
            continue;
        }
        if tables > 0 {
            writeln!(out)?;
        }
        write_table(&mut out, &rows)?;
        tables += 1;
    }
    if tables == 0 && kinds.len() > 1 {
        ui::failure(&format!("no objects found in {scope}"));
    }
    Ok(ExitCode::SUCCESS)
}

/// One line of `tug get`: NAME REVISION SUSPENDED READY MESSAGE (NAMESPACE first with -A).
fn row(kind: Kind, obj: &DynamicObject, all_namespaces: bool, prefixed: bool) -> Vec<String> {
    let (ready, message) = ready(obj);
    let suspended = if obj.data["spec"]["suspend"].as_bool().unwrap_or(false) {
        "True"
    } else {
        "False"
    };
    let name = if prefixed {
        format!("{}/{}", kind.name().to_lowercase(), obj.name_any())
    } else {
        obj.name_any()
    };
    let mut row = vec![
        name,
        kind.revision(obj),
        suspended.to_string(),
        ready,
        message,
    ];
    if all_namespaces {
        row.insert(0, obj.namespace().unwrap_or_default());
    }
    row
}

/// `tug get ... --watch`: the current rows, then a row whenever one changes, as
/// `flux get --watch`. Later rows cannot move the columns of lines already printed, so the
/// columns are sized for the listed rows and for a full revision (`main@sha1:<40 hex>`),
/// and widen only when a longer cell comes.
pub async fn watch(
    cluster: &ClusterArgs,
    kind: Kind,
    all_namespaces: bool,
    name: Option<&str>,
) -> Result<ExitCode> {
    use futures::TryStreamExt;
    use kube::runtime::{watcher, WatchStreamExt};
    let conn = cluster.connect().await?;
    conn.server_version().await?;
    let api = api(
        &conn,
        kind,
        (!all_namespaces).then_some(cluster.namespace.as_str()),
    );
    let mut config = watcher::Config::default();
    if let Some(name) = name {
        config = config.fields(&format!("metadata.name={name}"));
    }
    let mut listed = api
        .list(&ListParams {
            field_selector: config.field_selector.clone(),
            ..Default::default()
        })
        .await
        .map_err(|e| not_installed(&conn, kind, e))?
        .items;
    listed.sort_by_key(|o| (o.namespace(), o.name_any()));
    let mut printed: std::collections::HashMap<(String, String), Vec<String>> =
        std::collections::HashMap::new();
    let mut rows = vec![header(all_namespaces)];
    for obj in &listed {
        let line = row(kind, obj, all_namespaces, false);
        printed.insert(
            (obj.namespace().unwrap_or_default(), obj.name_any()),
            line.clone(),
        );
        rows.push(line);
    }
    let mut widths = column_widths(&rows);
    let revision_column = usize::from(all_namespaces) + 1;
    widths[revision_column] = widths[revision_column].max(REVISION_WIDTH);
    let mut out = std::io::stdout().lock();
    for line in &rows {
        writeln!(out, "{}", format_row(line, &widths))?;
    }
    out.flush()?;
    drop(out);
    let stream = watcher(api, config).default_backoff().applied_objects();
    futures::pin_mut!(stream);
    while let Some(obj) = stream
        .try_next()
        .await
        .map_err(|e| anyhow!("watching {}: {e}", kind.name()))?
    {
        let line = row(kind, &obj, all_namespaces, false);
        let key = (obj.namespace().unwrap_or_default(), obj.name_any());
        if printed.get(&key) != Some(&line) {
            for (width, cell) in widths.iter_mut().zip(&line) {
                *width = (*width).max(cell.chars().count());
            }
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", format_row(&line, &widths))?;
            out.flush()?;
            printed.insert(key, line);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The width a revision usually takes: `main@sha1:` and 40 hex digits.
const REVISION_WIDTH: usize = 50;
/// Spaces between columns, as kubectl and flux print them.
pub(crate) const COLUMN_GAP: &str = "   ";

fn header(all_namespaces: bool) -> Vec<String> {
    let mut header = vec!["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"];
    if all_namespaces {
        header.insert(0, "NAMESPACE");
    }
    header.into_iter().map(String::from).collect()
}

/// The widest cell of each column.
pub(crate) fn column_widths(rows: &[Vec<String>]) -> Vec<usize> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// One line of a table: cells padded with spaces to their column's width (tabs would
/// look ragged in a terminal), the last cell as is, no trailing spaces.
pub(crate) fn format_row(row: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (c, cell) in row.iter().enumerate() {
        if c + 1 == row.len() {
            line.push_str(cell);
        } else {
            let width = widths.get(c).copied().unwrap_or(0);
            line.push_str(&format!("{cell:<width$}{COLUMN_GAP}"));
        }
    }
    line.trim_end().to_string()
}

fn write_table(out: &mut impl Write, rows: &[Vec<String>]) -> std::io::Result<()> {
    let widths = column_widths(rows);
    for row in rows {
        writeln!(out, "{}", format_row(row, &widths))?;
    }
    Ok(())
}

/// Sets `spec.suspend`.
pub async fn set_suspend(
    cluster: &ClusterArgs,
    kind: Kind,
    name: &str,
    suspend: bool,
) -> Result<ExitCode> {
    let conn = cluster.connect().await?;
    let api = api(&conn, kind, Some(&cluster.namespace));
    let verb = if suspend { "suspending" } else { "resuming" };
    ui::action(&format!(
        "{verb} {} {name} in {} namespace",
        kind.name(),
        cluster.namespace
    ));
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": suspend}})),
    )
    .await
    .map_err(|e| match &e {
        kube::Error::Api(s) if s.code == 404 => {
            anyhow!("{} {}/{name} not found", kind.name(), cluster.namespace)
        }
        _ => anyhow!(
            "{} {}/{name}: {}",
            kind.name(),
            cluster.namespace,
            describe_kube_error(&e)
        ),
    })?;
    ui::success(&format!(
        "{} {}",
        kind.name(),
        if suspend { "suspended" } else { "resumed" }
    ));
    Ok(ExitCode::SUCCESS)
}

/// Resumes a suspended object and asks for a reconcile at once, as `flux resume` does;
/// with `wait`, waits until it is Ready and prints the revision (a Kustomization waiting
/// for its dependencies is waited for, as `flux resume` does, until the timeout).
pub async fn resume(cluster: &ClusterArgs, kind: Kind, name: &str, wait: bool) -> Result<ExitCode> {
    set_suspend(cluster, kind, name, false).await?;
    let conn = cluster.connect().await?;
    let api = api(&conn, kind, Some(&cluster.namespace));
    let requested = k8s_openapi::jiff::Timestamp::now().to_string();
    let patch =
        json!({"metadata": {"annotations": {tug_api::RECONCILE_REQUEST_ANNOTATION: requested}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| anyhow!("{}: {}", kind.name(), describe_kube_error(&e)))?;
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    wait_handled(cluster, &api, kind, name, &requested, Dependencies::WaitFor).await
}

/// Deletes the object (its finalizer, when the controller runs, prunes what it applied).
pub async fn delete(cluster: &ClusterArgs, kind: Kind, name: &str) -> Result<ExitCode> {
    let conn = cluster.connect().await?;
    let api = api(&conn, kind, Some(&cluster.namespace));
    ui::action(&format!(
        "deleting {} {name} in {} namespace",
        kind.name(),
        cluster.namespace
    ));
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {
            ui::success(&format!("{} deleted", kind.name()));
            Ok(ExitCode::SUCCESS)
        }
        Err(kube::Error::Api(s)) if s.code == 404 => {
            bail!("{} {}/{name} not found", kind.name(), cluster.namespace)
        }
        Err(e) => bail!(
            "{} {}/{name}: {}",
            kind.name(),
            cluster.namespace,
            describe_kube_error(&e)
        ),
    }
}

/// Asks the controller for a reconcile now (the `reconcile.fluxcd.io/requestedAt`
/// annotation) and waits until it was handled, printing the revision.
pub async fn reconcile(
    cluster: &ClusterArgs,
    kind: Kind,
    name: &str,
    with_source: bool,
) -> Result<ExitCode> {
    let conn = cluster.connect().await?;
    let api = api(&conn, kind, Some(&cluster.namespace));
    let obj = api
        .get_opt(name)
        .await
        .map_err(|e| not_installed(&conn, kind, e))?
        .ok_or_else(|| anyhow!("{} {}/{name} not found", kind.name(), cluster.namespace))?;
    if obj.data["spec"]["suspend"].as_bool().unwrap_or(false) {
        bail!(
            "{} {}/{name} is suspended; run `tug resume` first",
            kind.name(),
            cluster.namespace
        );
    }
    if with_source && kind == Kind::Kustomization {
        let source = &obj.data["spec"]["sourceRef"];
        let source_kind = match source["kind"].as_str() {
            Some("GitRepository") => Some(Kind::GitRepository),
            Some("OCIRepository") => Some(Kind::OCIRepository),
            _ => None,
        };
        if let Some(source_kind) = source_kind {
            let source_name = source["name"].as_str().unwrap_or_default().to_string();
            let mut source_cluster = cluster.clone();
            if let Some(ns) = source["namespace"].as_str() {
                source_cluster.namespace = ns.to_string();
            }
            Box::pin(reconcile(&source_cluster, source_kind, &source_name, false)).await?;
        }
    }
    let requested = k8s_openapi::jiff::Timestamp::now().to_string();
    ui::action(&format!(
        "annotating {} {name} in {} namespace",
        kind.name(),
        cluster.namespace
    ));
    let patch =
        json!({"metadata": {"annotations": {tug_api::RECONCILE_REQUEST_ANNOTATION: requested}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| anyhow!("{}: {}", kind.name(), describe_kube_error(&e)))?;
    ui::success(&format!("{} annotated", kind.name()));
    wait_handled(cluster, &api, kind, name, &requested, Dependencies::Fail).await
}

/// What waiting on a reconcile does when the object says its dependencies are not ready.
#[derive(Clone, Copy, PartialEq)]
enum Dependencies {
    /// Keep waiting: the controller reconciles it again once they are.
    WaitFor,
    /// Report it as the reconcile's failure.
    Fail,
}

/// Waits until the controller handled the reconcile requested at `requested`; prints the
/// revision it fetched or applied, or fails with its Ready message.
async fn wait_handled(
    cluster: &ClusterArgs,
    api: &Api<DynamicObject>,
    kind: Kind,
    name: &str,
    requested: &str,
    dependencies: Dependencies,
) -> Result<ExitCode> {
    let mut spinner = ui::Spinner::start(&format!("waiting for {} reconciliation", kind.name()));
    let deadline = Instant::now() + cluster.timeout;
    loop {
        spinner.tick();
        let obj = api
            .get(name)
            .await
            .map_err(|e| anyhow!("{}: {}", kind.name(), describe_kube_error(&e)))?;
        let handled = obj.data["status"]["lastHandledReconcileAt"].as_str() == Some(requested);
        if handled {
            let (ready, message) = ready(&obj);
            if ready == "True" {
                drop(spinner);
                ui::success(&format!("{} reconciliation completed", kind.name()));
                let revision = kind.handled_revision(&obj);
                match kind {
                    Kind::Kustomization => ui::success(&format!("applied revision {revision}")),
                    Kind::HelmChart => ui::success(&format!("pulled chart version {revision}")),
                    _ if revision.is_empty() => {}
                    _ => ui::success(&format!("fetched revision {revision}")),
                }
                return Ok(ExitCode::SUCCESS);
            }
            let waits_for_dependencies =
                ready_reason(&obj) == Some(tug_api::conditions::reason::DEPENDENCY_NOT_READY);
            if ready == "False"
                && !(waits_for_dependencies && dependencies == Dependencies::WaitFor)
            {
                bail!("{} reconciliation failed: {message}", kind.name());
            }
        }
        if Instant::now() > deadline {
            let (_, message) = ready(&obj);
            if handled {
                bail!(
                    "timed out after {:?} waiting for {} {}/{name} to be ready: {message}",
                    cluster.timeout,
                    kind.name(),
                    cluster.namespace
                );
            }
            bail!("timed out after {:?} waiting for {} {}/{name} to be reconciled (is `tug controller` running?)", cluster.timeout, kind.name(), cluster.namespace);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether a value is a Flux duration, for flag parsing.
pub fn duration_arg(s: &str) -> Result<String, String> {
    tug_api::duration::parse_duration(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// Prints `objects` as YAML documents (for `--export`).
pub fn export(objects: &[Value]) -> Result<ExitCode> {
    for obj in objects {
        ui::out!("---\n{}", serde_yaml::to_string(obj)?)?;
    }
    Ok(ExitCode::SUCCESS)
}
