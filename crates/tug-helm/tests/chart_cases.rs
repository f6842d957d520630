//! Loads the value-dump cases under tests/cases (recorded with real Helm v4.2.3, see
//! make_dump_cases.py) and checks that tug-helm computes, for every rendered chart, the
//! `.Values`, `.Chart` and `.Files` Helm printed, or fails where Helm failed.

use std::path::{Path, PathBuf};

use tug_helm::chart::{load, Chart};
use tug_helm::values::{prepare_values, subchart_values, PrepareError};
use tug_helm::Value;

fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) | Value::Int64(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::String(s) => J::String(s.to_string()),
        Value::Bytes(b) => J::String(tug_helm::chart::files::base64(b)),
        Value::List(l) => J::Array(l.items.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Value::Object(o) => to_json(&o.to_data()),
    }
}

/// JSON equality with numbers compared as float64 (Go decodes every number as one).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64(),
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// What one rendered chart's dump template shows.
struct Dump {
    values: serde_json::Value,
    chart: serde_json::Value,
    files: serde_json::Value,
}

/// The dumps of a recorded manifest, by chart full path (`root/charts/sub`).
fn expected_dumps(manifest: &str) -> Vec<(String, Dump)> {
    let mut out = Vec::new();
    for doc in manifest.split("---\n# Source: ").skip(1) {
        let (source, body) = doc.split_once('\n').expect("a source line");
        let Some(chart_path) = source.strip_suffix("/templates/zz-dump.yaml") else {
            continue;
        };
        let parsed = tug_kustomize::yaml::parse_documents(body).expect("manifest YAML");
        let data = parsed[0].get_path(&["data"]).expect("data");
        let field = |k: &str| -> serde_json::Value {
            let text = data
                .get_path(&[k])
                .and_then(|v| v.as_str())
                .expect("a JSON string");
            serde_json::from_str(text).expect("JSON")
        };
        out.push((
            chart_path.to_string(),
            Dump {
                values: field("values"),
                chart: field("chart"),
                files: field("files"),
            },
        ));
    }
    out
}

/// What tug-helm computes for each chart that renders templates, scoped as Helm's engine
/// scopes values: a subchart sees its parent's `.Values.<name>` when that is a map.
fn actual_dumps(
    chart: &Chart,
    values: &Value,
    parent: Option<&str>,
    out: &mut Vec<(String, Dump)>,
) {
    let path = chart.full_path(parent);
    for sub in &chart.dependencies {
        let sub_values = subchart_values(values, sub.name());
        actual_dumps(sub, &sub_values, Some(&path), out);
    }
    let has_dump = chart
        .templates
        .iter()
        .any(|t| t.name == "templates/zz-dump.yaml");
    if has_dump && !chart.metadata.is_library() {
        let files = Value::Object(std::rc::Rc::new(chart.files_object()));
        out.push((
            path,
            Dump {
                values: to_json(values),
                chart: to_json(&chart.chart_object(parent.is_none())),
                files: to_json(&files),
            },
        ));
    }
}

/// Whether tug-helm's error message says what Helm's says. Helm's may carry a prefix added by
/// its caller (the SDK says why it stopped), and lists schema failures in Go map order, so
/// those are compared as sets of lines.
fn same_message(helm: &str, ours: &str) -> bool {
    if helm.trim_end() == ours.trim_end() || helm.trim_end().ends_with(ours.trim_end()) {
        return true;
    }
    let lines = |m: &str| {
        let mut v: Vec<String> = m.trim_end().lines().map(str::to_string).collect();
        v.sort();
        v
    };
    lines(helm) == lines(ours)
}

/// The templates of every chart that produce a document in these cases: all but partials and
/// NOTES.txt, in charts that are not libraries.
fn rendered_templates(chart: &Chart, parent: Option<&str>, out: &mut Vec<String>) {
    let path = chart.full_path(parent);
    for t in &chart.templates {
        let base = t.name.rsplit('/').next().unwrap_or_default();
        if chart.renders_template(t) && !base.starts_with('_') && !t.name.ends_with("NOTES.txt") {
            out.push(chart.template_path(parent, t));
        }
    }
    for sub in &chart.dependencies {
        rendered_templates(sub, Some(&path), out);
    }
}

fn run_case(dir: &Path) -> Result<(), String> {
    let user = match std::fs::read(dir.join("values.yaml")) {
        Ok(bytes) => tug_helm::values::load_values(&bytes).map_err(|e| e.to_string())?,
        Err(_) => Value::empty_map(),
    };
    let result = load(&dir.join("chart"))
        .map_err(|e| e.to_string())
        .and_then(|mut chart| {
            let values =
                prepare_values(&mut chart, &user).map_err(|e: PrepareError| e.to_string())?;
            Ok((chart, values))
        });
    if let Ok(err) = std::fs::read_to_string(dir.join("expected.error")) {
        let keyword = err.lines().next().unwrap_or_default().to_lowercase();
        let helm: Vec<&str> = err
            .lines()
            .skip(1)
            .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
            .collect();
        let helm = helm.join("\n");
        return match result {
            Ok(_) => Err(format!("Helm fails with '{keyword}', tug-helm succeeded")),
            Err(msg) if !msg.to_lowercase().contains(&keyword) => {
                Err(format!("expected an error with '{keyword}', got: {msg}"))
            }
            Err(msg) if same_message(&helm, &msg) => Ok(()),
            Err(msg) => Err(format!(
                "messages differ:\n  Helm:     {helm:?}\n  tug-helm: {msg:?}"
            )),
        };
    }
    let (chart, values) = result?;
    let manifest = std::fs::read_to_string(dir.join("expected.yaml")).map_err(|e| e.to_string())?;
    let mut sources: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("# Source: ").map(str::to_string))
        .collect();
    sources.sort();
    sources.dedup();
    let mut templates = Vec::new();
    rendered_templates(&chart, None, &mut templates);
    templates.sort();
    if sources != templates {
        return Err(format!(
            "rendered templates: Helm {sources:?}, tug-helm {templates:?}"
        ));
    }
    let mut expected = expected_dumps(&manifest);
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let mut actual = Vec::new();
    actual_dumps(&chart, &values, None, &mut actual);
    actual.sort_by(|a, b| a.0.cmp(&b.0));
    let names = |d: &[(String, Dump)]| d.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(&expected) != names(&actual) {
        return Err(format!(
            "rendered charts: Helm {:?}, tug-helm {:?}",
            names(&expected),
            names(&actual)
        ));
    }
    for ((name, e), (_, a)) in expected.iter().zip(&actual) {
        for (what, ev, av) in [
            ("values", &e.values, &a.values),
            ("chart", &e.chart, &a.chart),
            ("files", &e.files, &a.files),
        ] {
            if !same(ev, av) {
                return Err(format!(
                    "{name} .{what}:\n  Helm:     {ev}\n  tug-helm: {av}"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn chart_cases_match_helm() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/cases")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("chart-"))
        })
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| run_case(d).err().map(|e| format!("{}: {e}", d.display())))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

/// Over the whole shared corpus: every chart Helm rendered loads and gets its values here too,
/// and every template Helm rendered a document from is one of the chart's rendered templates.
#[test]
fn corpus_charts_load_and_keep_their_templates() {
    // The corpus lives in shared/, beside the repository (CI) or at /work/shared (worktrees).
    let beside =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/helm/cases");
    let corpus = [beside, PathBuf::from("/work/shared/conformance/helm/cases")]
        .into_iter()
        .find(|p| p.is_dir())
        .expect("the Helm conformance corpus (shared/conformance/helm/cases)");
    let entries = std::fs::read_dir(&corpus).expect("corpus directory");
    let mut dirs: Vec<PathBuf> = entries.map(|e| e.expect("entry").path()).collect();
    dirs.sort();
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in dirs.iter().filter(|d| d.join("expected.yaml").exists()) {
        let user = match std::fs::read(dir.join("values.yaml")) {
            Ok(bytes) => tug_helm::values::load_values(&bytes).expect("user values"),
            Err(_) => Value::empty_map(),
        };
        let loaded = load(&dir.join("chart"))
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                prepare_values(&mut c, &user).map_err(|e| e.to_string())?;
                Ok(c)
            });
        let chart = match loaded {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        let manifest = std::fs::read_to_string(dir.join("expected.yaml")).expect("manifest");
        let mut templates = Vec::new();
        rendered_templates(&chart, None, &mut templates);
        for source in manifest
            .lines()
            .filter_map(|l| l.strip_prefix("# Source: "))
        {
            if !templates.iter().any(|t| t == source) {
                failures.push(format!(
                    "{}: Helm rendered {source}, not a template here",
                    dir.display()
                ));
            }
        }
        checked += 1;
    }
    // Where Helm fails, a failure here must be Helm's (many fail later, while rendering).
    for dir in dirs.iter().filter(|d| d.join("expected.error").exists()) {
        let user = std::fs::read(dir.join("values.yaml"))
            .map(|b| tug_helm::values::load_values(&b).expect("user values"))
            .unwrap_or_else(|_| Value::empty_map());
        let result = load(&dir.join("chart"))
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                prepare_values(&mut c, &user)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
        let expected = std::fs::read_to_string(dir.join("expected.error")).expect("expected.error");
        let keyword = expected.lines().next().unwrap_or_default().to_lowercase();
        if let Err(e) = result {
            if !e.to_lowercase().contains(&keyword) {
                failures.push(format!(
                    "{}: Helm fails with '{keyword}', here: {e}",
                    dir.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 100, "only {checked} corpus cases checked");
}
