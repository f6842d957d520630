//! `--set`/`--set-string` parsing against real Helm's results (recorded by
//! record_strvals.py into strvals_cases.json).

use tug_helm::values::strvals::parse;
use tug_helm::Value;

fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) | Value::Int64(i) => J::from(*i),
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

#[test]
fn set_expressions_parse_as_in_helm() {
    let text = include_str!("strvals_cases.json");
    let cases: Vec<serde_json::Value> = serde_json::from_str(text).expect("cases");
    let mut failures = Vec::new();
    for case in &cases {
        let expr = case["expr"].as_str().expect("expr");
        for (key, strings) in [("set", false), ("set_string", true)] {
            let want = &case[key];
            let got = match parse(expr, strings) {
                Ok(v) => serde_json::json!({ "json": to_json(&v) }),
                Err(e) => serde_json::json!({ "error": e.to_string() }),
            };
            if &got != want {
                failures.push(format!("{key} {expr:?}: Helm {want}, tug-helm {got}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
