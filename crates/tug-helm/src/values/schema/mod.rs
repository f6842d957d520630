//! values.schema.json: validating the coalesced values of a chart and its subcharts as Helm
//! does, with Helm's report.

mod format;
mod keywords;
mod number;
pub mod validate;

use crate::chart::Chart;
use crate::value::Value;
use validate::Validator;

/// Values that do not meet the charts' schemas (or a schema that cannot be used). The text
/// lists each failing chart by name with its failures, as Helm prints them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("values don't meet the specifications of the schema(s) in the following chart(s):\n{0}")]
pub struct SchemaError(pub String);

/// Validates `values` (a chart's coalesced values) against the chart's schema and, for each
/// subchart that has values, those values against its schema, recursively.
pub fn validate_schema(chart: &Chart, values: &Value) -> Result<(), SchemaError> {
    let report = report(chart, values);
    if report.is_empty() {
        Ok(())
    } else {
        Err(SchemaError(report))
    }
}

/// One chart's schema failures as Helm words them, empty when the values are valid.
fn single(schema: &[u8], values: &Value) -> String {
    let parsed = match parse_json(schema) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let validator = match Validator::new(parsed) {
        Ok(v) => v,
        Err(e) => return e.to_string(),
    };
    let values = match values {
        Value::Map(_) => values.clone(),
        _ => Value::empty_map(),
    };
    match validator.validate(&values) {
        Ok(()) => String::new(),
        Err(failures) => {
            let mut out = String::new();
            for f in &failures {
                f.display(&mut out, 1);
            }
            // The list starts with a newline per item; Helm's text starts at the first item.
            format!("{}\n", out.trim_start_matches('\n'))
        }
    }
}

/// Reads the schema document as Helm's validator does (the first JSON value; anything after
/// it is an error), with Go's messages for the common failures.
fn parse_json(data: &[u8]) -> Result<serde_json::Value, String> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err("EOF".into());
    }
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<serde_json::Value>();
    let first = match values.next() {
        Some(Ok(v)) => v,
        Some(Err(e)) if e.is_eof() => return Err("unexpected EOF".into()),
        Some(Err(e)) => {
            let text = String::from_utf8_lossy(data);
            let bad = text
                .lines()
                .nth(e.line().saturating_sub(1))
                .and_then(|l| l.chars().nth(e.column().saturating_sub(1)))
                .unwrap_or(' ');
            return Err(format!(
                "invalid character {} looking for beginning of value",
                crate::values::quote::go_quote_rune(bad)
            ));
        }
        None => return Err("EOF".into()),
    };
    match values.next() {
        None => Ok(first),
        Some(_) => Err("invalid character after top-level value".into()),
    }
}

fn report(chart: &Chart, values: &Value) -> String {
    let mut out = String::new();
    if let Some(schema) = &chart.schema {
        let errors = single(schema, values);
        if !errors.is_empty() {
            out.push_str(&format!("{}:\n{errors}", chart.name()));
        }
    }
    for sub in &chart.dependencies {
        let raw = values
            .as_map()
            .and_then(|m| m.borrow().get(sub.name()).cloned());
        match raw {
            None | Some(Value::Nil) => {}
            Some(v @ Value::Map(_)) => out.push_str(&report(sub, &v)),
            Some(other) => out.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                other.type_name()
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::yaml::load_values;

    fn check(schema: &str, values: &str) -> String {
        let v = load_values(values.as_bytes()).unwrap();
        single(schema.as_bytes(), &v)
    }

    #[test]
    fn reports_like_helm() {
        let schema = r##"{"$schema": "http://json-schema.org/draft-07/schema#",
            "required": ["zz", "aa"],
            "properties": {
              "big": {"type": "number", "minimum": 5000},
              "any": {"anyOf": [{"type": "string"}, {"type": "boolean"}]},
              "ref": {"$ref": "#/definitions/port"},
              "ip": {"format": "ipv4"}},
            "definitions": {"port": {"type": "integer", "maximum": 65535}}}"##;
        assert_eq!(
            check(schema, "big: 1234.5\nany: 3\nref: 70000\nip: 1.2.3.04\n"),
            "- at '': missing properties 'zz', 'aa'\n\
             - at '/any': 'anyOf' failed\n  \
               - at '/any': got number, want string\n  \
               - at '/any': got number, want boolean\n\
             - at '/big': minimum: got 1,234.5, want 5,000\n\
             - at '/ip': '1.2.3.04' is not valid ipv4: leading zeros\n\
             - at '/ref': maximum: got 70,000, want 65,535\n"
        );
    }

    #[test]
    fn references_resolve_locally_and_remote_ones_are_accepted() {
        let broken = r##"{"properties": {"a": {"$ref": "#/definitions/missing"}}}"##;
        // Helm compiles the schema before validating: the values do not matter.
        assert_eq!(
            check(broken, "other: 1\n"),
            "json-pointer in \"file:///values.schema.json#/definitions/missing\" not found"
        );
        let remote = r#"{"properties": {"a": {"$ref": "https://example.org/s.json"}}}"#;
        assert_eq!(check(remote, "a: 1\n"), "");
        let anchored = r##"{"properties": {"a": {"$ref": "#port"}},
            "$defs": {"p": {"$anchor": "port", "type": "integer"}}}"##;
        assert_eq!(
            check(anchored, "a: x\n"),
            "- at '/a': got string, want integer\n"
        );
    }

    #[test]
    fn item_keywords_follow_the_draft() {
        // Expected messages recorded with Helm v4.2.3 (note the index of `/a/0`: item 1).
        let d7 = r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {
            "t": {"items": [{"type": "string"}], "additionalItems": false},
            "f": {"items": false},
            "a": {"items": [true], "additionalItems": {"type": "string"}}}}"#;
        assert_eq!(
            check(d7, "t: [a, 1, 2]\nf: [1]\na: [1, 2, x]\n"),
            "- at '/a/0': got number, want string\n\
             - at '/f/0': false schema\n\
             - at '/t': last 2 additionalItem(s) not allowed\n"
        );
        let d2020 =
            r#"{"properties": {"p": {"prefixItems": [{"type": "number"}], "items": false}}}"#;
        assert_eq!(check(d2020, "p: [1, x]\n"), "- at '/p/0': false schema\n");
    }

    #[test]
    fn whole_floats_are_integers_and_formats_wait_for_2019() {
        let schema = r#"{"properties": {"num": {"type": "integer"}, "ip": {"format": "ipv4"}}}"#;
        assert_eq!(check(schema, "num: 2.0\nip: nonsense\n"), "");
        assert_eq!(
            check(schema, "num: 1.5\n"),
            "- at '/num': got number, want integer\n"
        );
    }
}
