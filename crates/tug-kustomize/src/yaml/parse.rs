//! Reads YAML text into [`Value`] documents: anchors and aliases are expanded, `<<` merge keys
//! applied, comments dropped, and scalars typed as go-yaml v3 types them.

use super::events::{Event, Parser, ScalarStyle};
use super::resolve::{resolve_plain, resolve_tagged, ResolveIssue};
use super::value::{Map, Value};
use std::collections::HashMap;

/// Why a YAML text could not be read; `line` is 1-based.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub line: usize,
    pub message: String,
}

/// What kind of input a [`ParseError`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Not YAML, or YAML that has no JSON form (a non-finite float, a mapping as a key, ...).
    Syntax,
    /// Collections nested deeper than [`MAX_DEPTH`] (aliases included).
    TooDeep,
    /// Aliases that expand past [`MAX_EXPANDED_NODES`] nodes ("billion laughs").
    TooManyAliases,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "yaml: line {}: {}", self.line, self.message)
    }
}

/// Guards against "billion laughs" alias bombs: expansion stops past this many nodes.
pub const MAX_EXPANDED_NODES: usize = 10_000_000;
/// The deepest nesting of collections read. Reading, building, printing and dropping a value
/// all recurse over its depth, so this bounds their stack use (a build at this depth fits the
/// 2 MiB stack of a tokio worker thread in release builds). go-yaml v3 allows 10,000, but no
/// Kubernetes object comes near 1,000.
pub const MAX_DEPTH: usize = 1_000;

struct Builder {
    parser: Parser,
    /// Anchored values with their node count and depth.
    anchors: HashMap<String, (Value, usize, usize)>,
    expanded: usize,
    depth: usize,
    /// Resolve YAML 1.1 booleans (go-yaml v2), for JSON 6902 patch bodies.
    yaml11: bool,
    /// A repeated mapping key replaces the earlier value, as go-yaml v2 decoding into a map
    /// does, instead of failing as go-yaml v3 does.
    last_duplicate_wins: bool,
}

/// A value's node count and depth (a scalar has depth 1). Recurses at most [`MAX_DEPTH`]
/// deep: only values read within the limit are measured.
fn measure(v: &Value) -> (usize, usize) {
    let children: Box<dyn Iterator<Item = &Value>> = match v {
        Value::Seq(s) => Box::new(s.iter()),
        Value::Map(m) => Box::new(m.iter().map(|(_, v)| v)),
        _ => return (1, 1),
    };
    children.fold((1, 1), |(cost, depth), c| {
        let (cc, cd) = measure(c);
        (cost + cc, depth.max(cd + 1))
    })
}

impl Builder {
    fn next(&mut self) -> Result<(Event, usize), ParseError> {
        self.parser.next_event().map_err(|e| ParseError {
            kind: ParseErrorKind::Syntax,
            line: e.line,
            message: match e.context {
                Some(c) => format!("{c} {}", e.problem),
                None => e.problem,
            },
        })
    }

    fn remember(&mut self, anchor: String, v: &Value) {
        let (cost, depth) = measure(v);
        self.anchors.insert(anchor, (v.clone(), cost, depth));
    }

    fn node(&mut self, ev: Event, line: usize) -> Result<Value, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError {
                kind: ParseErrorKind::TooDeep,
                line,
                message: format!("exceeded max depth of {MAX_DEPTH}"),
            });
        }
        let out = self.node_inner(ev, line);
        self.depth -= 1;
        out
    }

    fn node_inner(&mut self, ev: Event, line: usize) -> Result<Value, ParseError> {
        match ev {
            Event::Alias(name) => {
                let Some((v, cost, depth)) = self.anchors.get(&name) else {
                    return Err(ParseError {
                        kind: ParseErrorKind::Syntax,
                        line,
                        message: format!("unknown anchor '{name}' referenced"),
                    });
                };
                self.expanded += cost;
                if self.expanded > MAX_EXPANDED_NODES {
                    return Err(ParseError {
                        kind: ParseErrorKind::TooManyAliases,
                        line,
                        message: "document contains excessive aliasing".into(),
                    });
                }
                // The alias stands at `self.depth`; its value's levels go on below it.
                if self.depth + depth - 1 > MAX_DEPTH {
                    return Err(ParseError {
                        kind: ParseErrorKind::TooDeep,
                        line,
                        message: format!("exceeded max depth of {MAX_DEPTH}"),
                    });
                }
                Ok(v.clone())
            }
            Event::Scalar {
                anchor,
                tag,
                value,
                style,
            } => {
                let resolved = match (&tag, style) {
                    (Some(t), _) if self.yaml11 && t != "!" => resolve_tagged_yaml11(t, value),
                    (Some(t), _) if t != "!" => resolve_tagged(t, &value),
                    (None, ScalarStyle::Plain) if self.yaml11 && is_yaml11_bool(&value) => {
                        Ok(Value::Bool(matches!(
                            value.as_str(),
                            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON"
                        )))
                    }
                    // go-yaml v2 decodes a timestamp into `interface{}` as its text.
                    (None, ScalarStyle::Plain)
                        if self.yaml11 && super::resolve::parse_timestamp(&value).is_some() =>
                    {
                        Ok(Value::Str(value))
                    }
                    (None, ScalarStyle::Plain) => resolve_plain(&value),
                    _ => Ok(Value::Str(value)),
                };
                let v = resolved.map_err(|ResolveIssue::NonFiniteFloat(s)| ParseError {
                    kind: ParseErrorKind::Syntax,
                    line,
                    message: format!(
                        "json: unsupported value: {s} (infinity and NaN cannot be rendered)"
                    ),
                })?;
                if let Some(a) = anchor {
                    self.remember(a, &v);
                }
                Ok(v)
            }
            Event::SequenceStart { anchor } => {
                let mut items = Vec::new();
                loop {
                    let (ev, l) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, l)?);
                }
                let v = Value::Seq(items);
                if let Some(a) = anchor {
                    self.remember(a, &v);
                }
                Ok(v)
            }
            Event::MappingStart { anchor } => {
                let mut map = Map::new();
                let mut merges: Vec<Value> = Vec::new();
                loop {
                    let (ev, kline) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let is_merge = matches!(&ev, Event::Scalar { value, style: ScalarStyle::Plain, tag: None, .. } if value == "<<");
                    let key = self.node(ev, kline)?;
                    let (vev, vline) = self.next()?;
                    let val = self.node(vev, vline)?;
                    if is_merge {
                        merges.push(val);
                        continue;
                    }
                    let key = match key {
                        Value::Str(s) => s,
                        Value::Null => "null".to_string(),
                        other => match other.scalar_text() {
                            Some(text) => text,
                            None => {
                                return Err(ParseError {
                                    kind: ParseErrorKind::Syntax,
                                    line: kline,
                                    message: format!("invalid map key: {}", go_syntax(&other)),
                                })
                            }
                        },
                    };
                    // go-yaml v2 lets a repeated key replace the earlier value.
                    if map.contains_key(&key) && !(self.yaml11 || self.last_duplicate_wins) {
                        return Err(ParseError {
                            kind: ParseErrorKind::Syntax,
                            line: kline,
                            message: format!("mapping key \"{key}\" already defined"),
                        });
                    }
                    map.insert(key, val);
                }
                for m in merges {
                    let sources = match m {
                        Value::Map(mm) => vec![mm],
                        Value::Seq(s) => s
                            .into_iter()
                            .filter_map(|x| match x {
                                Value::Map(mm) => Some(mm),
                                _ => None,
                            })
                            .collect(),
                        _ => {
                            return Err(ParseError {
                                kind: ParseErrorKind::Syntax,
                                line,
                                message: "map merge requires map or sequence of maps as the value"
                                    .into(),
                            })
                        }
                    };
                    for src in sources {
                        for (k, v) in src.iter() {
                            if !map.contains_key(k) {
                                map.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
                let v = Value::Map(map);
                if let Some(a) = anchor {
                    self.remember(a, &v);
                }
                Ok(v)
            }
            _ => Err(ParseError {
                kind: ParseErrorKind::Syntax,
                line,
                message: "unexpected event".into(),
            }),
        }
    }
}

/// A tagged scalar as go-yaml v2 decodes it into `interface{}`: `!!bool` knows the YAML 1.1
/// booleans and `!!binary` is decoded to its text.
fn resolve_tagged_yaml11(tag: &str, value: String) -> Result<Value, ResolveIssue> {
    let short = tag.strip_prefix("tag:yaml.org,2002:").map_or(tag, |t| t);
    let short = short.strip_prefix("!!").unwrap_or(short);
    match short {
        "bool" if is_yaml11_bool(&value) => Ok(Value::Bool(matches!(
            value.as_str(),
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON"
        ))),
        "binary" => match decode_base64(&value) {
            Some(bytes) => Ok(Value::Str(String::from_utf8_lossy(&bytes).into_owned())),
            None => Ok(Value::Str(value)),
        },
        _ => resolve_tagged(tag, &value),
    }
}

/// Standard base64 as Go's `StdEncoding.DecodeString` reads it (line breaks ignored).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| *b != b'\n' && *b != b'\r').collect();
    if !digits.len().is_multiple_of(4) {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(digits.len() / 4 * 3);
    for (i, chunk) in digits.chunks(4).enumerate() {
        let last = i == digits.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// The YAML 1.1 booleans go-yaml v2 knows besides true/false.
fn is_yaml11_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// Parses every document in `text`. Empty documents are returned as `Value::Null`.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, ParseError> {
    parse_with(text, false)
}

/// Parses as kustomize reads JSON 6902 patches (through go-yaml v2's YAML-to-JSON): plain
/// `yes`/`no`/`on`/`off`/`y`/`n` are booleans there.
pub fn parse_documents_yaml11(text: &str) -> Result<Vec<Value>, ParseError> {
    parse_with(text, true)
}

/// Parses as go-yaml v2 decodes into generic maps (Helm's `fromYaml` and values files, through
/// sigs.k8s.io/yaml): YAML 1.1 booleans, and a repeated key keeps its last value.
pub fn parse_documents_go_yaml_v2(text: &str) -> Result<Vec<Value>, ParseError> {
    parse_with_options(text, true, true)
}

fn parse_with(text: &str, yaml11: bool) -> Result<Vec<Value>, ParseError> {
    parse_with_options(text, yaml11, false)
}

fn parse_with_options(
    text: &str,
    yaml11: bool,
    last_duplicate_wins: bool,
) -> Result<Vec<Value>, ParseError> {
    let mut b = Builder {
        yaml11,
        last_duplicate_wins,
        parser: Parser::new(text.as_bytes()),
        anchors: HashMap::new(),
        expanded: 0,
        depth: 0,
    };
    let mut docs = Vec::new();
    loop {
        let (ev, line) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd => {}
            Event::StreamEnd => break,
            Event::DocumentStart => {
                b.anchors.clear();
                let (ev, l) = b.next()?;
                if matches!(ev, Event::DocumentEnd) {
                    docs.push(Value::Null);
                    continue;
                }
                docs.push(b.node(ev, l)?);
            }
            other => {
                return Err(ParseError {
                    kind: ParseErrorKind::Syntax,
                    line,
                    message: format!("unexpected event {other:?}"),
                })
            }
        }
    }
    Ok(docs)
}

/// Go's `%#v` of a decoded YAML value, as go-yaml names a key it cannot use
/// (`[]interface {}{"a"}`).
fn go_syntax(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => format!("0x{u:x}"),
        Value::Float(f) => super::number::format_go_g(*f),
        Value::Str(s) => format!("{s:?}"),
        Value::Seq(items) => {
            let items: Vec<String> = items.iter().map(go_syntax).collect();
            format!("[]interface {{}}{{{}}}", items.join(", "))
        }
        Value::Map(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k:?}:{}", go_syntax(v)))
                .collect();
            format!(
                "map[interface {{}}]interface {{}}{{{}}}",
                entries.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_and_merges() {
        let docs = parse_documents("a: &x {k: 1}\nb: *x\nc:\n  <<: *x\n  j: 2\n").unwrap();
        let m = docs[0].as_map().unwrap();
        assert_eq!(m.get("b"), m.get("a"));
        let c = m.get("c").unwrap().as_map().unwrap();
        assert_eq!(c.get("k"), Some(&Value::Int(1)));
    }

    #[test]
    fn syntax_error_has_line() {
        let e = parse_documents("a: b\nc: [d\n").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
    }

    #[test]
    fn multi_docs() {
        let d = parse_documents("---\na: 1\n---\n# only a comment\n---\nb: 2\n").unwrap();
        assert_eq!(d.len(), 3);
        assert!(d[1].is_null());
    }
}
