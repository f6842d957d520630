//! Helm's `toToml`, `mustToToml` and `fromToml` over BurntSushi/toml: the encoder's layout
//! (plain keys first, then `[tables]` indented by depth, floats always with a decimal point)
//! is reproduced here; decoding uses the `toml` crate, so only the wording of parse errors
//! differs from Helm's.

use std::collections::BTreeMap;

use super::dates::time_value;
use super::encoding::error_map;
use super::gotime::{local_zone, parse_in_location};
use super::{arg, arg_str, fixed};
use crate::func::{Func, FuncError, Ty};
use crate::value::Value;

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        fixed("toToml", &[Any], |a| {
            Ok(Value::from(encode(&arg(&a, 0)).unwrap_or_else(|e| e)))
        }),
        fixed("mustToToml", &[Any], |a| {
            encode(&arg(&a, 0)).map(Value::from).map_err(FuncError::msg)
        }),
        fixed("fromToml", &[String], |a| {
            Ok(decode(arg_str(&a, 0)).unwrap_or_else(error_map))
        }),
    ]
}

const INDENT: &str = "  ";

/// BurntSushi's `Encoder.Encode` of a map.
fn encode(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    if !matches!(v, Value::Map(_)) {
        // BurntSushi writes other top-level values as they would appear after `key = `.
        write_value(&mut out, v)?;
        return Ok(out);
    }
    write_table(&mut out, &[], v)?;
    Ok(out)
}

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(_))
}

fn is_table_array(v: &Value) -> bool {
    matches!(v, Value::List(l) if !l.items.is_empty() && l.items.iter().all(|i| is_table(i) || i.is_nil()))
}

fn newline(out: &mut String) {
    if !out.is_empty() {
        out.push('\n');
    }
}

fn indent_for(key: &[String]) -> String {
    INDENT.repeat(key.len().saturating_sub(1))
}

fn key_text(key: &[String]) -> String {
    key.iter()
        .map(|k| quote_key(k))
        .collect::<Vec<_>>()
        .join(".")
}

fn quote_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        k.to_string()
    } else {
        quote_string(k)
    }
}

/// The body of a table: plain keys, then sub-tables and arrays of tables, each sorted.
fn write_table(out: &mut String, key: &[String], v: &Value) -> Result<(), String> {
    let Value::Map(m) = v else { return Ok(()) };
    let entries: Vec<(String, Value)> = m
        .borrow()
        .iter()
        .filter(|(_, v)| !v.is_nil())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let (subs, direct): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|(_, v)| is_table(v) || is_table_array(v));
    for (k, item) in &direct {
        let mut path = key.to_vec();
        path.push(k.clone());
        out.push_str(&indent_for(&path));
        out.push_str(&quote_key(k));
        out.push_str(" = ");
        write_value(out, item)?;
        newline(out);
    }
    for (k, item) in &subs {
        let mut path = key.to_vec();
        path.push(k.clone());
        if is_table(item) {
            if path.len() == 1 {
                newline(out);
            }
            out.push_str(&format!("{}[{}]", indent_for(&path), key_text(&path)));
            newline(out);
            write_table(out, &path, item)?;
        } else if let Value::List(l) = item {
            for t in l.items.iter().filter(|t| !t.is_nil()) {
                newline(out);
                out.push_str(&format!("{}[[{}]]", indent_for(&path), key_text(&path)));
                newline(out);
                write_table(out, &path, t)?;
            }
        }
    }
    Ok(())
}

fn write_value(out: &mut String, v: &Value) -> Result<(), String> {
    match v {
        Value::Nil => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float(*f)),
        Value::String(s) => out.push_str(&quote_string(s)),
        Value::Bytes(b) => {
            let items: Vec<String> = b.iter().map(u8::to_string).collect();
            out.push_str(&format!("[{}]", items.join(", ")));
        }
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, item)) in m.borrow().iter().filter(|(_, v)| !v.is_nil()).enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                out.push_str(&quote_key(k));
                out.push_str(" = ");
                write_value(out, item)?;
            }
            out.push_str(" }");
        }
        Value::Object(o) => {
            if let Some(t) = o.as_any().downcast_ref::<super::dates::TimeObject>() {
                out.push_str(&t.0.format("2006-01-02T15:04:05.999999999Z07:00"));
            } else {
                write_value(out, &o.to_data())?;
            }
        }
    }
    Ok(())
}

/// `strconv.FormatFloat(f, 'f', -1, 64)` with `.0` added to whole numbers.
fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let mut s = format!("{f}");
    if !s.contains('.') {
        s.push_str(".0");
    }
    s
}

fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `toml.Unmarshal` into a map: integers as int64, floats as float64, offset date-times as
/// `time.Time`, local dates and times as their text.
fn decode(text: &str) -> Result<Value, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| decode_error(text, &e))?;
    Ok(from_toml(&toml::Value::Table(table)))
}

/// A parse error in BurntSushi/toml's form, `toml: line N (last key "k"): message`: the line,
/// and the last key read before the error (with its table's path), which is where users look.
/// Where the input ends in the middle of a key/value pair the message is BurntSushi's; other
/// messages are the `toml` crate's.
fn decode_error(text: &str, e: &toml::de::Error) -> String {
    let at = e.span().map_or(text.len(), |s| s.start.min(text.len()));
    let line = text[..at].matches('\n').count() + 1;
    let read = &text[..at];
    let ends_in_assignment = read.trim_end().ends_with('=') && text[at..].trim().is_empty();
    let message = if ends_in_assignment {
        "unexpected EOF; expected value".to_string()
    } else {
        e.message().trim().to_string()
    };
    match last_key(read) {
        Some(key) => format!("toml: line {line} (last key \"{key}\"): {message}"),
        None => format!("toml: line {line}: {message}"),
    }
}

/// The dotted path of the last key assigned (or table opened) in `read`.
fn last_key(read: &str) -> Option<String> {
    let mut table = String::new();
    let mut last = None;
    for line in read.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            table = header
                .trim_matches(|c| c == '[' || c == ']' || c == ' ')
                .to_string();
            last = Some(table.clone());
        } else if let Some((key, _)) = line.split_once('=') {
            let key = key.trim().trim_matches('"');
            if !key.is_empty() && !key.starts_with('#') {
                last = Some(if table.is_empty() {
                    key.to_string()
                } else {
                    format!("{table}.{key}")
                });
            }
        }
    }
    last
}

fn from_toml(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s.as_str()),
        toml::Value::Integer(i) => Value::Int64(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => {
            let text = d.to_string();
            if d.offset.is_some() {
                let layout = "2006-01-02T15:04:05.999999999Z07:00";
                let normalized = text.replacen(' ', "T", 1);
                if let Ok(t) = parse_in_location(layout, &normalized, &local_zone()) {
                    return time_value(t);
                }
            }
            Value::from(text)
        }
        toml::Value::Array(items) => Value::list(items.iter().map(from_toml).collect()),
        toml::Value::Table(t) => {
            let entries: BTreeMap<String, Value> =
                t.iter().map(|(k, v)| (k.clone(), from_toml(v))).collect();
            Value::map(entries)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_burntsushi() {
        let v = super::super::helm_test_value(
            "title: example\nport: 8080\ntags: [a, b]\nowner: {name: someone}\nservers: {alpha: {ip: 10.0.0.1}}\n",
        );
        assert_eq!(
            encode(&v).unwrap(),
            "port = 8080.0\ntags = [\"a\", \"b\"]\ntitle = \"example\"\n\n[owner]\n  name = \"someone\"\n\n[servers]\n  [servers.alpha]\n    ip = \"10.0.0.1\"\n"
        );
        assert_eq!(encode(&Value::list(vec![Value::Int(1)])).unwrap(), "[1]");
    }

    #[test]
    fn decodes_integers_as_int64() {
        let v = decode("a = 1\n[t]\nb = \"x\"").unwrap();
        assert_eq!(v.format_v(), "map[a:1 t:map[b:x]]");
        assert_eq!(
            decode("a = ").unwrap_err(),
            "toml: line 1 (last key \"a\"): unexpected EOF; expected value"
        );
        assert_eq!(
            decode("[t]\nb = ").unwrap_err(),
            "toml: line 2 (last key \"t.b\"): unexpected EOF; expected value"
        );
    }
}
