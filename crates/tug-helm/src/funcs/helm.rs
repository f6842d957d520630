//! Helm's own functions from pkg/engine: YAML conversion (sigs.k8s.io/yaml: JSON marshalling,
//! then go-yaml v2 printing), `required`, `fail`, and the offline `getHostByName`.

use std::collections::BTreeMap;

use tug_kustomize::yaml as ky;

use super::encoding::error_map;
use super::{arg, arg_str, fixed};
use crate::func::{Func, FuncError, Ty};
use crate::value::Value;

/// Helm wraps the messages of `required` and `fail` in these markers; its engine finds them
/// in the template error and reports `execution error at (<location>): <message>`.
pub const HELM_ERR_START: &str = "HELM_ERR_START";
pub const HELM_ERR_END: &str = "HELM_ERR_END";

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        fixed("toYaml", &[Any], |a| {
            Ok(Value::from(to_yaml(&arg(&a, 0), false).unwrap_or_default()))
        }),
        fixed("mustToYaml", &[Any], |a| {
            to_yaml(&arg(&a, 0), false)
                .map(Value::from)
                .map_err(|e| FuncError::msg(format!("error marshaling into JSON: {e}")))
        }),
        fixed("toYamlPretty", &[Any], |a| {
            Ok(Value::from(to_yaml(&arg(&a, 0), true).unwrap_or_default()))
        }),
        fixed("fromYaml", &[String], |a| {
            let result = from_yaml(arg_str(&a, 0)).and_then(|v| match v {
                Value::Map(_) => Ok(v),
                Value::Nil => Ok(Value::empty_map()),
                other => Err(unmarshal_error(&other, "map[string]interface {}")),
            });
            Ok(result.unwrap_or_else(error_map))
        }),
        fixed("fromYamlArray", &[String], |a| {
            let result = from_yaml(arg_str(&a, 0)).and_then(|v| match v {
                Value::List(_) => Ok(v),
                Value::Nil => Ok(Value::list(Vec::new())),
                other => Err(unmarshal_error(&other, "[]interface {}")),
            });
            Ok(result.unwrap_or_else(|e| Value::list(vec![Value::from(e)])))
        }),
        fixed("required", &[String, Any], |a| {
            let val = arg(&a, 1);
            let missing = match &val {
                Value::Nil => true,
                Value::String(s) => s.is_empty(),
                _ => false,
            };
            if missing {
                return Err(wrapped(arg_str(&a, 0)));
            }
            Ok(val)
        }),
        fixed("fail", &[String], |a| Err(wrapped(arg_str(&a, 0)))),
        // Helm replaces Sprig's DNS lookup with this unless DNS is explicitly enabled.
        fixed("getHostByName", &[String], |_| Ok(Value::from(""))),
    ]
}

fn wrapped(message: &str) -> FuncError {
    FuncError::msg(format!("{HELM_ERR_START}{message}{HELM_ERR_END}"))
}

fn unmarshal_error(v: &Value, target: &str) -> String {
    format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type {target}",
        super::gojson::json_kind(v)
    )
}

/// sigs.k8s.io/yaml `Marshal` (or, `pretty`, go-yaml v3 with indented sequences), without the
/// final newline. Errors are `json.Marshal`'s.
fn to_yaml(v: &Value, pretty: bool) -> Result<String, String> {
    // toYaml goes through json.Marshal, which refuses NaN and infinities; go-yaml v3 does not.
    let data = to_yaml_value(v, 0, !pretty)?;
    let text = if pretty {
        ky::to_yaml_indented_sequences(&data)
    } else {
        ky::to_yaml(&data)
    };
    Ok(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

/// A template value as the JSON document `json.Marshal` would produce for it.
fn to_yaml_value(v: &Value, depth: usize, json: bool) -> Result<ky::Value, String> {
    if depth > 10_000 {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    Ok(match v {
        Value::Nil => ky::Value::Null,
        Value::Bool(b) => ky::Value::Bool(*b),
        Value::Int(i) | Value::Int64(i) => ky::Value::Int(*i),
        Value::Float(f) => {
            if json && !f.is_finite() {
                let spelled = crate::value::format_float_v(*f);
                return Err(format!("json: unsupported value: {spelled}"));
            }
            ky::Value::Float(*f)
        }
        Value::String(s) => ky::Value::Str(s.to_string()),
        Value::Bytes(b) => {
            use base64::Engine;
            ky::Value::Str(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::List(l) if l.nil => ky::Value::Null,
        Value::List(l) => ky::Value::Seq(
            l.items
                .iter()
                .map(|i| to_yaml_value(i, depth + 1, json))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let mut out = ky::Map::new();
            for (k, item) in m.borrow().iter() {
                out.insert(k.clone(), to_yaml_value(item, depth + 1, json)?);
            }
            ky::Value::Map(out)
        }
        Value::Object(o) => to_yaml_value(&o.to_data(), depth + 1, json)?,
    })
}

/// sigs.k8s.io/yaml `Unmarshal` into `interface{}`: the first YAML 1.1 document, with every
/// number a float64 (it goes through JSON).
fn from_yaml(text: &str) -> Result<Value, String> {
    let docs = ky::parse_documents_go_yaml_v2(text)
        .map_err(|e| format!("error converting YAML to JSON: {}", go_yaml_error(&e)))?;
    Ok(docs.first().map_or(Value::Nil, from_yaml_value))
}

/// libyaml's error contexts, which go-yaml leaves out of its messages.
const YAML_CONTEXTS: &[&str] = &[
    "while scanning a directive",
    "while scanning a %YAML directive",
    "while scanning a %TAG directive",
    "while scanning an anchor",
    "while scanning an alias",
    "while scanning a tag",
    "while scanning a block scalar",
    "while scanning a quoted scalar",
    "while scanning a plain scalar",
    "while scanning a simple key",
    "while scanning for the next token",
    "while parsing a block collection",
    "while parsing a block mapping",
    "while parsing a flow sequence",
    "while parsing a flow mapping",
    "while parsing a block node",
    "while parsing a flow node",
    "while parsing a node",
];

/// Scanner problems libyaml reports without a context.
const SCANNER_PROBLEMS: &[&str] = &[
    "mapping values are not allowed in this context",
    "block sequence entries are not allowed in this context",
    "could not find expected ':'",
];

/// A parse error as go-yaml v2 words it: the problem without libyaml's context, and the line
/// as go-yaml counts it (the 0-based mark for parser errors, 1-based for scanner errors).
fn go_yaml_error(e: &ky::ParseError) -> String {
    if e.kind != ky::ParseErrorKind::Syntax {
        return e.to_string();
    }
    if let Some(rest) = e.message.strip_prefix("json: unsupported value: ") {
        // sigs.k8s.io/yaml fails in json.Marshal, which spells the value as Go's %v does.
        let spelled = match rest.split(' ').next().unwrap_or("") {
            ".inf" | "+.inf" => "+Inf",
            "-.inf" => "-Inf",
            _ => "NaN",
        };
        return format!("json: unsupported value: {spelled}");
    }
    let mut problem = e.message.as_str();
    let mut scanner = SCANNER_PROBLEMS.contains(&problem);
    for context in YAML_CONTEXTS {
        if let Some(rest) = problem.strip_prefix(context) {
            scanner = context.starts_with("while scanning");
            problem = rest.trim_start();
            break;
        }
    }
    let line = if scanner {
        e.line
    } else {
        e.line.saturating_sub(1)
    };
    if line == 0 {
        format!("yaml: {problem}")
    } else {
        format!("yaml: line {line}: {problem}")
    }
}

pub(crate) fn from_yaml_value(v: &ky::Value) -> Value {
    match v {
        ky::Value::Null => Value::Nil,
        ky::Value::Bool(b) => Value::Bool(*b),
        ky::Value::Int(i) => Value::Float(*i as f64),
        ky::Value::UInt(u) => Value::Float(*u as f64),
        ky::Value::Float(f) => Value::Float(*f),
        ky::Value::Str(s) => Value::from(s.as_str()),
        ky::Value::Seq(items) => Value::list(items.iter().map(from_yaml_value).collect()),
        ky::Value::Map(m) => {
            let entries: BTreeMap<String, Value> = m
                .iter()
                .map(|(k, v)| (k.clone(), from_yaml_value(v)))
                .collect();
            Value::map(entries)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let f = funcs().into_iter().find(|f| f.name == name).expect(name);
        (f.imp)(args)
    }

    #[test]
    fn yaml_round_trip() {
        let v = call("fromYaml", vec!["b: [1, x]\na: {on: yes}\n".into()]).unwrap();
        assert_eq!(v.format_v(), "map[a:map[true:true] b:[1 x]]");
        let y = call("toYaml", vec![v.clone()]).unwrap();
        assert_eq!(y.format_v(), "a:\n  \"true\": true\nb:\n- 1\n- x");
        let p = call("toYamlPretty", vec![v]).unwrap();
        assert_eq!(p.format_v(), "a:\n  \"true\": true\nb:\n  - 1\n  - x");
        let wide = super::super::helm_test_value(
            "big: 12345678901234567890\nlong: The quick brown fox jumps over the lazy dog and keeps running far beyond eighty characters wide\n",
        );
        let p = call("toYamlPretty", vec![wide.clone()]).unwrap().format_v();
        assert_eq!(p, "big: 1.2345678901234567e+19\nlong: The quick brown fox jumps over the lazy dog and keeps running far beyond eighty characters wide");
        let y = call("toYaml", vec![wide]).unwrap().format_v();
        assert!(
            y.starts_with("big: 12345678901234567000\nlong: The quick"),
            "{y}"
        );
        assert!(y.contains("eighty\n  characters wide"), "{y}");
        let dup = call("fromYaml", vec!["a: 1\na: 2\nyes: 3\non: 4".into()]).unwrap();
        assert_eq!(dup.format_v(), "map[a:2 true:4]");
        let inf = call("fromYaml", vec!["d: .inf".into()]).unwrap();
        assert_eq!(
            inf.format_v(),
            "map[Error:error converting YAML to JSON: json: unsupported value: +Inf]"
        );
        let err = call("fromYaml", vec!["- a".into()]).unwrap();
        assert!(
            err.format_v().contains("cannot unmarshal array"),
            "{}",
            err.format_v()
        );
    }

    #[test]
    fn required_and_fail_are_wrapped_for_the_engine() {
        let err = call("required", vec!["need x".into(), "".into()]).unwrap_err();
        assert_eq!(err.to_string(), "HELM_ERR_STARTneed xHELM_ERR_END");
        assert_eq!(
            call("required", vec!["m".into(), Value::Int(0)])
                .unwrap()
                .format_v(),
            "0"
        );
        assert!(call("fail", vec!["boom".into()]).is_err());
    }
}
