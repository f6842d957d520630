//! Go's `encoding/json` for template values: `Marshal`/`MarshalIndent` output (sorted keys,
//! Go's float spelling, `[]byte` as base64, optional HTML escaping) and `Unmarshal` into
//! `interface{}` with Go's error messages, which `fromJson` puts into its result.

use std::collections::BTreeMap;

use base64::Engine;
use tug_kustomize::yaml::number::format_go_json;

use crate::value::Value;

/// How deep `Unmarshal` nests before giving up, as Go's scanner does.
const MAX_DEPTH: usize = 10_000;

/// `json.Marshal` (`indent` false) or `json.MarshalIndent(v, "", "  ")`; `escape_html` is
/// false for an encoder with `SetEscapeHTML(false)`. Errors are Go's messages.
pub(crate) fn encode(v: &Value, escape_html: bool, indent: bool) -> Result<String, String> {
    let mut out = String::new();
    let mut enc = Encoder {
        out: &mut out,
        escape_html,
        indent,
        depth: 0,
    };
    enc.value(v)?;
    Ok(out)
}

struct Encoder<'a> {
    out: &'a mut String,
    escape_html: bool,
    indent: bool,
    depth: usize,
}

impl Encoder<'_> {
    fn newline(&mut self) {
        if self.indent {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
        }
    }

    fn value(&mut self, v: &Value) -> Result<(), String> {
        if self.depth > MAX_DEPTH {
            return Err("json: unsupported value: encountered a cycle".into());
        }
        match v {
            Value::Nil => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => self.out.push_str(&i.to_string()),
            Value::Float(f) => {
                if !f.is_finite() {
                    let spelled = crate::value::format_float_v(*f);
                    return Err(format!("json: unsupported value: {spelled}"));
                }
                self.out.push_str(&format_go_json(*f));
            }
            Value::String(s) => self.string(s.as_bytes()),
            Value::Bytes(b) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(b);
                self.string(encoded.as_bytes());
            }
            Value::List(l) => {
                if l.nil {
                    self.out.push_str("null");
                    return Ok(());
                }
                if l.items.is_empty() {
                    self.out.push_str("[]");
                    return Ok(());
                }
                self.out.push('[');
                self.depth += 1;
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline();
                    self.value(item)?;
                }
                self.depth -= 1;
                self.newline();
                self.out.push(']');
            }
            Value::Map(m) => {
                let m = m.borrow();
                if m.is_empty() {
                    self.out.push_str("{}");
                    return Ok(());
                }
                self.out.push('{');
                self.depth += 1;
                for (i, (k, item)) in m.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline();
                    self.string(k.as_bytes());
                    self.out.push(':');
                    if self.indent {
                        self.out.push(' ');
                    }
                    self.value(item)?;
                }
                self.depth -= 1;
                self.newline();
                self.out.push('}');
            }
            Value::Object(o) => {
                let data = o.to_data();
                self.value(&data)?;
            }
        }
        Ok(())
    }

    fn string(&mut self, s: &[u8]) {
        let text = String::from_utf8_lossy(s);
        self.out.push('"');
        for c in text.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '\u{8}' => self.out.push_str("\\b"),
                '\u{c}' => self.out.push_str("\\f"),
                '<' | '>' | '&' if self.escape_html => {
                    self.out.push_str(&format!("\\u{:04x}", c as u32))
                }
                '\u{2028}' | '\u{2029}' => self.out.push_str(&format!("\\u{:04x}", c as u32)),
                c if (c as u32) < 0x20 => self.out.push_str(&format!("\\u{:04x}", c as u32)),
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

/// Go's `json.Unmarshal` into an `interface{}`: objects as maps, arrays as `[]interface{}`,
/// numbers as float64. Errors are Go's messages.
pub(crate) fn decode(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    if p.pos == p.s.len() {
        return Err("unexpected end of JSON input".into());
    }
    let v = p.value()?;
    p.skip_ws();
    if let Some(&c) = p.s.get(p.pos) {
        return Err(invalid(c, "after top-level value"));
    }
    Ok(v)
}

/// What a JSON value is called in Go's `cannot unmarshal X into Go value of type T`.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Nil => "null",
        _ => "number",
    }
}

/// Go's `invalid character 'c' <context>`, the character quoted as Go's `quoteChar` does.
fn invalid(c: u8, context: &str) -> String {
    let quoted = match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        c => {
            let q = super::strings::go_quote(&[c]);
            format!("'{}'", &q[1..q.len() - 1])
        }
    };
    format!("invalid character {quoted} {context}")
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

const EOF: &str = "unexpected end of JSON input";

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while matches!(self.s.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Result<u8, String> {
        self.s.get(self.pos).copied().ok_or_else(|| EOF.to_string())
    }

    fn value(&mut self) -> Result<Value, String> {
        let c = self.peek()?;
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => {
                self.pos += 1;
                Ok(Value::from(self.string()?))
            }
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Nil),
            b'-' | b'0'..=b'9' => self.number(),
            c => Err(invalid(c, "looking for beginning of value")),
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("exceeded max depth".into());
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value, String> {
        self.enter()?;
        self.pos += 1;
        let mut out = BTreeMap::new();
        self.skip_ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::map(out));
        }
        loop {
            self.skip_ws();
            let c = self.peek()?;
            if c != b'"' {
                return Err(invalid(c, "looking for beginning of object key string"));
            }
            self.pos += 1;
            let key = self.string()?;
            self.skip_ws();
            let c = self.peek()?;
            if c != b':' {
                return Err(invalid(c, "after object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value()?;
            out.insert(key, v);
            self.skip_ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::map(out));
                }
                c => return Err(invalid(c, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, String> {
        self.enter()?;
        self.pos += 1;
        let mut out = Vec::new();
        self.skip_ws();
        if self.peek()? == b']' {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::list(out));
        }
        loop {
            self.skip_ws();
            out.push(self.value()?);
            self.skip_ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::list(out));
                }
                c => return Err(invalid(c, "after array element")),
            }
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        for (i, want) in word.bytes().enumerate() {
            let c = self.peek()?;
            if c != want {
                let context = format!("in literal {word} (expecting '{}')", want as char);
                return Err(if i == 0 {
                    invalid(c, "looking for beginning of value")
                } else {
                    invalid(c, &context)
                });
            }
            self.pos += 1;
        }
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.s.get(self.pos), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        if self.s[self.pos] == b'-' {
            self.pos += 1;
            let c = self.peek()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in numeric literal"));
            }
        }
        if self.peek()? == b'0' {
            self.pos += 1;
        } else {
            self.digits();
        }
        if self.s.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            let c = self.peek()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "after decimal point in numeric literal"));
            }
            self.digits();
        }
        if matches!(self.s.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.s.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let c = self.peek()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(format!(
                "json: cannot unmarshal number {text} into Go value of type float64"
            )),
        }
    }

    /// A string body after its opening quote.
    fn string(&mut self) -> Result<String, String> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek()?;
            self.pos += 1;
            match c {
                b'"' => return Ok(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let e = self.peek()?;
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        e => return Err(invalid(e, "in string escape code")),
                    }
                }
                c if c < 0x20 => return Err(invalid(c, "in string literal")),
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut n = 0;
        for _ in 0..4 {
            let c = self.peek()?;
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| invalid(c, "in \\u hexadecimal character escape"))?;
            n = n * 16 + d;
            self.pos += 1;
        }
        Ok(n)
    }

    /// `\uXXXX` after the `u`, joining surrogate pairs; lone surrogates become U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) && self.s[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(first).unwrap_or('\u{FFFD}'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_go() {
        let v = decode(r#"{"b":[1,2.5,"<a&b>"],"a":null,"c":{}}"#).unwrap();
        assert_eq!(
            encode(&v, true, false).unwrap(),
            r#"{"a":null,"b":[1,2.5,"\u003ca\u0026b\u003e"],"c":{}}"#
        );
        assert_eq!(
            encode(&v, false, false).unwrap(),
            r#"{"a":null,"b":[1,2.5,"<a&b>"],"c":{}}"#
        );
        assert_eq!(
            encode(&v, true, true).unwrap(),
            "{\n  \"a\": null,\n  \"b\": [\n    1,\n    2.5,\n    \"\\u003ca\\u0026b\\u003e\"\n  ],\n  \"c\": {}\n}"
        );
        assert_eq!(
            encode(&Value::Float(f64::NAN), true, false).unwrap_err(),
            "json: unsupported value: NaN"
        );
        assert_eq!(encode(&Value::Float(1e21), true, false).unwrap(), "1e+21");
    }

    #[test]
    fn decode_errors_are_gos() {
        assert_eq!(
            decode("{oops").unwrap_err(),
            "invalid character 'o' looking for beginning of object key string"
        );
        assert_eq!(decode("[1,").unwrap_err(), "unexpected end of JSON input");
        assert_eq!(decode("").unwrap_err(), "unexpected end of JSON input");
        assert_eq!(
            decode("{} x").unwrap_err(),
            "invalid character 'x' after top-level value"
        );
        assert_eq!(
            decode("tru!").unwrap_err(),
            "invalid character '!' in literal true (expecting 'e')"
        );
        assert_eq!(
            decode("\"a\nb\"").unwrap_err(),
            "invalid character '\\n' in string literal"
        );
        assert_eq!(
            decode("12345678901234567890").unwrap().format_v(),
            "1.2345678901234567e+19"
        );
    }
}
