//! The Go-template cases (025–060) of the Helm conformance corpus, rendered by the template
//! engine alone. The engine has no Sprig here, so the few Sprig functions these charts call are
//! written below, as small as these cases need; chart loading and the release manifest are
//! reduced to what these charts use (ConfigMaps only, one document per file, one subchart).
//! Every expected byte comes from real Helm (`expected.yaml` / `expected.error`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use tug_helm::template::Templates;
use tug_helm::{Func, FuncError, List, Sig, Ty, Value};

/// The corpus beside the repository (`../shared`, as CI lays it out), else the workplace's.
fn corpus() -> PathBuf {
    let beside =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/helm/cases");
    if beside.is_dir() {
        return beside;
    }
    PathBuf::from("/work/shared/conformance/helm/cases")
}

fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => tug_helm::template::fmt::sprintf("%v", std::slice::from_ref(other)),
    }
}

fn to_int(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => *f as i64,
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

fn quote(args: Vec<Value>) -> Result<Value, FuncError> {
    let parts: Vec<String> = args
        .iter()
        .filter(|a| !a.is_nil())
        .map(|a| tug_helm::template::fmt::go_quote(&strval(a)))
        .collect();
    Ok(Value::from(parts.join(" ")))
}

fn dict(args: Vec<Value>) -> Result<Value, FuncError> {
    let mut m = BTreeMap::new();
    for pair in args.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
        m.insert(strval(&pair[0]), v);
    }
    Ok(Value::map(m))
}

fn list(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::list(args))
}

fn upper(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::from(strval(&args[0]).to_uppercase()))
}

fn lower(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::from(strval(&args[0]).to_lowercase()))
}

fn int(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Int(to_int(&args[0])))
}

fn float64(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Float(match &args[0] {
        Value::Float(f) => *f,
        other => to_int(other) as f64,
    }))
}

fn add1(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Int64(to_int(&args[0]) + 1))
}

fn until(args: Vec<Value>) -> Result<Value, FuncError> {
    let n = to_int(&args[0]);
    let items: Vec<Value> = if n >= 0 {
        (0..n).map(Value::Int).collect()
    } else {
        (n + 1..=0).rev().map(Value::Int).collect()
    };
    Ok(Value::List(List {
        items: Rc::new(items),
        kind: tug_helm::value::ListKind::Interface,
    }))
}

fn empty(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Bool(!args[0].truthy()))
}

fn default(args: Vec<Value>) -> Result<Value, FuncError> {
    match args.get(1) {
        Some(v) if v.truthy() => Ok(v.clone()),
        _ => Ok(args[0].clone()),
    }
}

fn split_list(args: Vec<Value>) -> Result<Value, FuncError> {
    let (sep, s) = (strval(&args[0]), strval(&args[1]));
    Ok(Value::string_list(
        s.split(sep.as_str()).map(String::from).collect(),
    ))
}

fn indent(args: Vec<Value>) -> Result<Value, FuncError> {
    let pad = " ".repeat(to_int(&args[0]).max(0) as usize);
    let s = strval(&args[1]);
    Ok(Value::from(format!(
        "{pad}{}",
        s.replace('\n', &format!("\n{pad}"))
    )))
}

fn fail(args: Vec<Value>) -> Result<Value, FuncError> {
    Err(FuncError::msg(format!(
        "HELM_ERR_START{}HELM_ERR_END",
        strval(&args[0])
    )))
}

fn replace(args: Vec<Value>) -> Result<Value, FuncError> {
    let (old, new, src) = (strval(&args[0]), strval(&args[1]), strval(&args[2]));
    Ok(Value::from(src.replace(&old, &new)))
}

fn modulo(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Int64(to_int(&args[0]) % to_int(&args[1]).max(1)))
}

fn mul(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Int64(args.iter().map(to_int).product::<i64>()))
}

fn sub(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Int64(to_int(&args[0]) - to_int(&args[1])))
}

fn join(args: Vec<Value>) -> Result<Value, FuncError> {
    let items: Vec<String> = match &args[1] {
        Value::List(l) => l.items.iter().map(strval).collect(),
        other => vec![strval(other)],
    };
    Ok(Value::from(items.join(&strval(&args[0]))))
}

fn to_string(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::from(strval(&args[0])))
}

fn int64(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Int64(to_int(&args[0])))
}

fn type_of(args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::from(args[0].type_name()))
}

fn sprig_slice(args: Vec<Value>) -> Result<Value, FuncError> {
    let Value::List(l) = &args[0] else {
        return Err(FuncError::msg(format!(
            "list should be type of slice or array but {}",
            args[0].type_name()
        )));
    };
    let from = args.get(1).map(to_int).unwrap_or(0).max(0) as usize;
    let to = args
        .get(2)
        .map(to_int)
        .unwrap_or(l.items.len() as i64)
        .max(0) as usize;
    Ok(Value::list(
        l.items[from.min(to)..to.min(l.items.len())].to_vec(),
    ))
}

/// Helm's `.Files`: a map of file contents; a missing name is an empty `[]byte`.
#[derive(Debug)]
struct NoFiles;

impl tug_helm::Object for NoFiles {
    fn type_name(&self) -> String {
        "files.Files".into()
    }
    fn member(&self, _name: &str, _args: Vec<Value>) -> Option<Result<Value, FuncError>> {
        Some(Ok(Value::Bytes(Rc::from(Vec::new()))))
    }
    fn format_v(&self) -> String {
        "map[]".into()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn sprig_subset() -> Vec<Func> {
    const ANY: &[Ty] = &[Ty::Any];
    vec![
        Func {
            name: "quote",
            sig: Sig::variadic(&[], Ty::Any),
            imp: quote,
        },
        Func {
            name: "dict",
            sig: Sig::variadic(&[], Ty::Any),
            imp: dict,
        },
        Func {
            name: "list",
            sig: Sig::variadic(&[], Ty::Any),
            imp: list,
        },
        Func {
            name: "upper",
            sig: Sig::fixed(&[Ty::String]),
            imp: upper,
        },
        Func {
            name: "lower",
            sig: Sig::fixed(&[Ty::String]),
            imp: lower,
        },
        Func {
            name: "int",
            sig: Sig::fixed(ANY),
            imp: int,
        },
        Func {
            name: "float64",
            sig: Sig::fixed(ANY),
            imp: float64,
        },
        Func {
            name: "add1",
            sig: Sig::fixed(ANY),
            imp: add1,
        },
        Func {
            name: "until",
            sig: Sig::fixed(&[Ty::Int]),
            imp: until,
        },
        Func {
            name: "empty",
            sig: Sig::fixed(ANY),
            imp: empty,
        },
        Func {
            name: "default",
            sig: Sig::variadic(ANY, Ty::Any),
            imp: default,
        },
        Func {
            name: "splitList",
            sig: Sig::fixed(&[Ty::String, Ty::String]),
            imp: split_list,
        },
        Func {
            name: "indent",
            sig: Sig::fixed(&[Ty::Int, Ty::String]),
            imp: indent,
        },
        Func {
            name: "fail",
            sig: Sig::fixed(&[Ty::String]),
            imp: fail,
        },
        Func {
            name: "replace",
            sig: Sig::fixed(&[Ty::String, Ty::String, Ty::String]),
            imp: replace,
        },
        Func {
            name: "mod",
            sig: Sig::fixed(&[Ty::Any, Ty::Any]),
            imp: modulo,
        },
        Func {
            name: "mul",
            sig: Sig::variadic(ANY, Ty::Any),
            imp: mul,
        },
        Func {
            name: "sub",
            sig: Sig::fixed(&[Ty::Any, Ty::Any]),
            imp: sub,
        },
        Func {
            name: "join",
            sig: Sig::fixed(&[Ty::String, Ty::Any]),
            imp: join,
        },
        Func {
            name: "toString",
            sig: Sig::fixed(ANY),
            imp: to_string,
        },
        Func {
            name: "int64",
            sig: Sig::fixed(ANY),
            imp: int64,
        },
        Func {
            name: "typeOf",
            sig: Sig::fixed(ANY),
            imp: type_of,
        },
        Func {
            name: "slice",
            sig: Sig::variadic(ANY, Ty::Any),
            imp: sprig_slice,
        },
    ]
}

const YAML11_TRUE: &[&str] = &["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"];
const YAML11_FALSE: &[&str] = &["n", "N", "no", "No", "NO", "off", "Off", "OFF"];

fn from_yaml(y: &serde_yaml::Value) -> Value {
    match y {
        serde_yaml::Value::Null => Value::Nil,
        serde_yaml::Value::Bool(b) => Value::Bool(*b),
        serde_yaml::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        // YAML 1.1 booleans, as Helm's YAML reader takes them (serde_yaml reads YAML 1.2).
        serde_yaml::Value::String(s) if YAML11_TRUE.contains(&s.as_str()) => Value::Bool(true),
        serde_yaml::Value::String(s) if YAML11_FALSE.contains(&s.as_str()) => Value::Bool(false),
        serde_yaml::Value::String(s) => Value::str(s),
        serde_yaml::Value::Sequence(s) => Value::list(s.iter().map(from_yaml).collect()),
        serde_yaml::Value::Mapping(m) => Value::map(
            m.iter()
                .map(|(k, v)| (yaml_key(k), from_yaml(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
        serde_yaml::Value::Tagged(t) => from_yaml(&t.value),
    }
}

fn yaml_key(k: &serde_yaml::Value) -> String {
    match k {
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

fn read_yaml(path: &Path) -> Value {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => {
            from_yaml(&serde_yaml::from_str(&text).expect("values parse"))
        }
        _ => Value::empty_map(),
    }
}

/// Chart defaults under parent-provided values (nested maps merged, parent wins).
fn coalesce(defaults: &Value, over: &Value) -> Value {
    match (defaults, over) {
        (Value::Map(d), Value::Map(o)) => {
            let mut merged = d.borrow().clone();
            for (k, v) in o.borrow().iter() {
                let v = match merged.get(k) {
                    Some(dv) => coalesce(dv, v),
                    None => v.clone(),
                };
                merged.insert(k.clone(), v);
            }
            Value::map(merged)
        }
        (_, Value::Nil) => defaults.clone(),
        _ => over.clone(),
    }
}

struct ChartFile {
    name: String,
    text: String,
    chart: String,
    values: Value,
}

/// A chart's template files with their full names and values; subcharts under `charts/`.
fn load(dir: &Path, prefix: &str, parent_values: &Value, out: &mut Vec<ChartFile>) {
    let meta = read_yaml(&dir.join("Chart.yaml"));
    let chart_name = meta
        .as_map()
        .and_then(|m| {
            m.borrow()
                .get("name")
                .and_then(|n| n.as_str().map(String::from))
        })
        .expect("Chart.yaml has a name");
    let full = format!("{prefix}{chart_name}");
    let values = coalesce(&read_yaml(&dir.join("values.yaml")), parent_values);
    let mut stack = vec![dir.join("templates")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dir).expect("under the chart");
            out.push(ChartFile {
                name: format!("{full}/{}", rel.to_string_lossy()),
                text: std::fs::read_to_string(&p).expect("template reads"),
                chart: chart_name.clone(),
                values: values.clone(),
            });
        }
    }
    for entry in std::fs::read_dir(dir.join("charts"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let sub_meta = read_yaml(&entry.path().join("Chart.yaml"));
        let sub_name = sub_meta
            .as_map()
            .and_then(|m| {
                m.borrow()
                    .get("name")
                    .and_then(|n| n.as_str().map(String::from))
            })
            .unwrap_or_default();
        let sub_values = values
            .as_map()
            .and_then(|m| m.borrow().get(&sub_name).cloned())
            .unwrap_or(Value::Nil);
        load(&entry.path(), &format!("{full}/charts/"), &sub_values, out);
    }
}

/// Helm's parse order: most `/` first, then reverse byte order.
fn parse_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
    cb.cmp(&ca).then_with(|| b.cmp(a))
}

fn top_level(file: &ChartFile, release_name: &str, namespace: &str) -> Value {
    let mut release = BTreeMap::new();
    release.insert("Name".to_string(), Value::str(release_name));
    release.insert("Namespace".to_string(), Value::str(namespace));
    release.insert("Service".to_string(), Value::str("Helm"));
    release.insert("IsInstall".to_string(), Value::Bool(true));
    release.insert("IsUpgrade".to_string(), Value::Bool(false));
    release.insert("Revision".to_string(), Value::Int(1));
    let mut chart = BTreeMap::new();
    chart.insert("Name".to_string(), Value::str(&file.chart));
    let base = file.name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let mut template = BTreeMap::new();
    template.insert("Name".to_string(), Value::str(&file.name));
    template.insert("BasePath".to_string(), Value::str(base));
    let mut top = BTreeMap::new();
    top.insert("Values".to_string(), file.values.clone());
    top.insert("Release".to_string(), Value::map(release));
    top.insert("Chart".to_string(), Value::map(chart));
    top.insert("Template".to_string(), Value::map(template));
    top.insert("Files".to_string(), Value::Object(Rc::new(NoFiles)));
    Value::map(top)
}

/// Renders a case's chart to the release manifest, or Helm's error text.
fn render(case: &Path) -> Result<String, String> {
    let args = std::fs::read_to_string(case.join("args")).unwrap_or_default();
    let mut args = args.split_whitespace();
    let (release, namespace) = (
        args.next().unwrap_or("rel"),
        args.next().unwrap_or("default"),
    );
    let mut files = Vec::new();
    load(&case.join("chart"), "", &Value::empty_map(), &mut files);
    files.sort_by(|a, b| parse_order(&a.name, &b.name));
    let mut set = Templates::new(sprig_subset());
    for f in &files {
        set.parse(&f.name, &f.text)
            .map_err(|e| e.helm_message(&f.name))?;
    }
    let mut rendered = Vec::new();
    for f in &files {
        let base = f.name.rsplit('/').next().unwrap_or("");
        if base.starts_with('_') || f.name.ends_with("NOTES.txt") {
            continue;
        }
        let out = set
            .execute(&f.name, &top_level(f, release, namespace))
            .map_err(|e| e.helm_message(&f.name))?;
        rendered.push((f.name.clone(), out.replace("<no value>", "")));
    }
    rendered.sort();
    let mut manifest = String::new();
    for (name, text) in rendered {
        let doc = text.trim_start();
        if doc.trim().is_empty() {
            continue;
        }
        manifest.push_str(&format!("---\n# Source: {name}\n{doc}\n"));
    }
    Ok(manifest)
}

#[test]
fn go_template_cases_of_the_conformance_corpus() {
    let root = corpus();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("the corpus is at {}: {e}", root.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            matches!(
                n.get(..3).and_then(|x| x.parse::<u32>().ok()),
                Some(25..=60)
            )
        })
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 36, "cases 025-060 are present");
    let mut failures = Vec::new();
    for dir in &dirs {
        let got = render(dir);
        let expected_yaml = std::fs::read_to_string(dir.join("expected.yaml")).ok();
        let expected_err = std::fs::read_to_string(dir.join("expected.error")).ok();
        let ok = match (&got, &expected_yaml, &expected_err) {
            (Ok(m), Some(want), _) => m == want,
            (Err(e), _, Some(want)) => {
                let keyword = want.lines().next().unwrap_or("").to_lowercase();
                e.to_lowercase().contains(&keyword)
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}:\n--- got\n{}\n--- want\n{}",
                dir.display(),
                match &got {
                    Ok(m) => m.clone(),
                    Err(e) => format!("ERROR {e}"),
                },
                expected_yaml.or(expected_err).unwrap_or_default()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
