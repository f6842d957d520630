//! `--set`, `--set-string`, `--set-json`, `--set-literal` and `--set-file` parsing against
//! real Helm's results (recorded by record_strvals.py into strvals_cases.json).

use std::path::PathBuf;

use tug_helm::values::literal::parse_literal_into;
use tug_helm::values::strvals::{parse_mode_into, Mode};
use tug_helm::Value;

fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) | Value::Int64(i) => J::from(*i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => J::from(*f as i64),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::String(s) => J::String(s.to_string()),
        Value::List(l) => J::Array(l.items.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        other => J::String(other.format_v()),
    }
}

fn outcome(result: Result<Value, String>) -> serde_json::Value {
    match result {
        Ok(v) => serde_json::json!({ "json": to_json(&v) }),
        Err(e) => serde_json::json!({ "error": e }),
    }
}

fn run(expr: &str, mode: &str) -> serde_json::Value {
    let dest = Value::empty_map();
    let Value::Map(m) = &dest else { unreachable!() };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let read = |path: &str| {
        std::fs::read_to_string(dir.join(path))
            .map_err(|_| format!("open {path}: no such file or directory"))
    };
    let result = match mode {
        "set" => parse_mode_into(expr, m, Mode::Typed),
        "set_string" => parse_mode_into(expr, m, Mode::Strings),
        "set_json" => parse_mode_into(expr, m, Mode::Json),
        "set_file" => parse_mode_into(expr, m, Mode::File(&read)),
        _ => parse_literal_into(expr, m),
    };
    outcome(result.map(|()| dest.clone()).map_err(|e| e.to_string()))
}

#[test]
fn set_expressions_parse_as_in_helm() {
    let text = include_str!("strvals_cases.json");
    let cases: Vec<serde_json::Value> = serde_json::from_str(text).expect("cases");
    let mut failures = Vec::new();
    for case in &cases {
        let expr = case["expr"].as_str().expect("expr");
        for mode in ["set", "set_string", "set_json", "set_literal", "set_file"] {
            let Some(want) = case.get(mode) else { continue };
            let got = run(expr, mode);
            // Helm reports --set-json errors without the decoder's detail, so only the
            // failure itself has to match there.
            let same = if mode == "set_json" && want.get("error").is_some() {
                got.get("error").is_some()
            } else {
                &got == want
            };
            if !same {
                failures.push(format!("{mode} {expr:?}: Helm {want}, tug-helm {got}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
