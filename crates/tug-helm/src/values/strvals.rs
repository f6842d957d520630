//! `--set`, `--set-string`, `--set-json` and `--set-file` as Helm's `strvals` parses them
//! (`a.b=c`, `a={x,y}`, `a[0].b=c`, `\,` and `\.` escapes).
//!
//! Typing of `--set` values: `true`/`false` (any case) are booleans, `null` is nil, and
//! decimal integers without a leading zero (and `0`) are int64; everything else, `1.5`
//! included, is a string. `--set-string` keeps every value a string, `--set-json` reads each
//! value as JSON (numbers are float64) and `--set-file` reads the named file.

use crate::value::{Map, Value};

/// The largest list index `a[i]=x` may set, as in Helm.
pub const MAX_INDEX: i64 = 65536;
/// The deepest `a.b.c...` nesting, as in Helm.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;

/// A `--set` expression that cannot be parsed; the text is Helm's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SetError(pub String);

/// How values are read from an expression.
#[derive(Clone, Copy)]
pub enum Mode<'a> {
    /// `--set`: booleans, nil and int64 recognised.
    Typed,
    /// `--set-string`
    Strings,
    /// `--set-json`
    Json,
    /// `--set-file`: each value names a file; the reader returns its text or an error message.
    File(&'a dyn Fn(&str) -> Result<String, String>),
}

/// Parses one `--set` (`strings` false) or `--set-string` expression into `dest`.
pub fn parse_into(expr: &str, dest: &Map, strings: bool) -> Result<(), SetError> {
    parse_mode_into(
        expr,
        dest,
        if strings { Mode::Strings } else { Mode::Typed },
    )
}

/// Parses one expression into `dest`, reading values as `mode` says.
pub fn parse_mode_into(expr: &str, dest: &Map, mode: Mode) -> Result<(), SetError> {
    let mut p = Parser {
        chars: expr.chars().collect(),
        pos: 0,
        mode,
    };
    loop {
        match p.key(dest, 0) {
            Ok(()) => continue,
            Err(Stop::Eof) => return Ok(()),
            Err(Stop::Error(e)) => return Err(SetError(e)),
        }
    }
}

/// Parses `--set` expressions into a new map.
pub fn parse(expr: &str, strings: bool) -> Result<Value, SetError> {
    let v = Value::empty_map();
    if let Value::Map(m) = &v {
        parse_into(expr, m, strings)?;
    }
    Ok(v)
}

enum Stop {
    /// The end of the input (Go's `io.EOF`).
    Eof,
    Error(String),
}

fn err<T>(msg: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Error(msg.into()))
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    mode: Mode<'a>,
}

/// Go's `%q` of a string.
fn q(s: &str) -> String {
    super::quote::go_quote(s)
}

/// The name Go's interface-conversion panic gives a value's dynamic type.
fn go_type(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        other => other.type_name(),
    }
}

impl Parser<'_> {
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Reads up to a stop character (consumed and returned), honouring `\` escapes.
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            match self.next() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some('\\') => match self.next() {
                    None => return (v, None),
                    Some(n) => v.push(n),
                },
                Some(c) => v.push(c),
            }
        }
    }

    /// A value as the mode reads it.
    fn read(&self, s: &str) -> Result<Value, Stop> {
        match self.mode {
            Mode::Strings => Ok(Value::from(s)),
            Mode::File(reader) => reader(s).map(Value::from).map_err(Stop::Error),
            Mode::Typed | Mode::Json => Ok(typed(s)),
        }
    }

    /// `--set-json`: after `=`, nothing (nil) or one JSON value, then an optional `,`.
    fn json_value(&mut self) -> Result<Value, Stop> {
        if self.empty_value() {
            return Ok(Value::Nil);
        }
        let rest: String = self.chars[self.pos..].iter().collect();
        // Go's decoder takes the first complete value and leaves what follows, even with no
        // delimiter after a number or literal (`1b=2` is 1, then the key `b`).
        let scalar = json_scalar_prefix(&rest);
        let (value, used) = match scalar {
            Some(len) => match serde_json::from_str::<serde_json::Value>(&rest[..len]) {
                Ok(v) => (v, len),
                Err(e) => return err(e.to_string()),
            },
            None => {
                let mut stream =
                    serde_json::Deserializer::from_str(&rest).into_iter::<serde_json::Value>();
                match stream.next() {
                    Some(Ok(v)) => (v, stream.byte_offset()),
                    Some(Err(e)) => return err(e.to_string()),
                    None => return err("unexpected EOF"),
                }
            }
        };
        self.pos += rest[..used].chars().count();
        self.empty_value();
        Ok(from_json(value))
    }

    /// Skips whitespace; true at the end or after a `,` (consumed).
    fn empty_value(&mut self) -> bool {
        loop {
            match self.next() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.pos -= 1;
                    return false;
                }
            }
        }
    }
}

/// The length of the JSON number or literal (`true`, `false`, `null`) `s` starts with, when it
/// starts with one.
fn json_scalar_prefix(s: &str) -> Option<usize> {
    for literal in ["true", "false", "null"] {
        if s.starts_with(literal) {
            return Some(literal.len());
        }
    }
    let b = s.as_bytes();
    if !matches!(b.first(), Some(b'-' | b'0'..=b'9')) {
        return None;
    }
    let digits = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut end = digits(usize::from(b[0] == b'-'));
    if b.get(end) == Some(&b'.') {
        end = digits(end + 1);
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        end = digits(end + 1 + sign);
    }
    Some(end)
}

/// A JSON value as Go decodes it into `interface{}`.
pub(crate) fn from_json(v: serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        J::String(s) => Value::from(s),
        J::Array(a) => Value::list(a.into_iter().map(from_json).collect()),
        J::Object(o) => Value::map(o.into_iter().map(|(k, v)| (k, from_json(v))).collect()),
    }
}

/// `--set` typing of a value.
fn typed(s: &str) -> Value {
    if s.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if s.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if s.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if s == "0" {
        return Value::Int64(0);
    }
    if !s.is_empty() && !s.starts_with('0') {
        if let Some(i) = parse_go_int64(s) {
            return Value::Int64(i);
        }
    }
    Value::from(s)
}

impl Parser<'_> {
    fn key(&mut self, data: &Map, level: usize) -> Result<(), Stop> {
        let (k, last) = self.until(&['=', '[', ',', '.']);
        match last {
            None if k.is_empty() => Err(Stop::Eof),
            None => err(format!("key {} has no value", q(&k))),
            Some('[') => {
                let i = self.index()?;
                let list = match data.borrow().get(&k) {
                    None => Vec::new(),
                    Some(Value::List(l)) => l.items.to_vec(),
                    Some(other) => {
                        return err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type(other)
                        ))
                    }
                };
                let (list, result) = match self.list_item(list, i, level) {
                    Ok(l) => (l, Ok(())),
                    Err((l, e)) => (l, Err(e)),
                };
                set(data, &k, Value::list(list));
                result
            }
            Some('=') if matches!(self.mode, Mode::Json) => {
                let v = self.json_value()?;
                set(data, &k, v);
                Ok(())
            }
            Some('=') => match self.value_list() {
                Ok(list) => {
                    set(data, &k, Value::list(list));
                    Ok(())
                }
                Err(ListStop::Eof) => {
                    set(data, &k, Value::from(""));
                    Err(Stop::Eof)
                }
                Err(ListStop::NotList) => {
                    let (rs, _) = self.until(&[',']);
                    // Helm sets the key (to nil) even when the reader fails.
                    match self.read(&rs) {
                        Ok(v) => {
                            set(data, &k, v);
                            Ok(())
                        }
                        Err(e) => {
                            set(data, &k, Value::Nil);
                            Err(e)
                        }
                    }
                }
                Err(ListStop::Error(e)) => err(e),
            },
            Some(',') => {
                set(data, &k, Value::from(""));
                err(format!("key {} has no value (cannot end with ,)", q(&k)))
            }
            _ => {
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    ));
                }
                let inner = match data.borrow().get(&k) {
                    None => super::new_map(),
                    Some(Value::Map(m)) => m.clone(),
                    Some(other) => {
                        return err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            go_type(other)
                        ))
                    }
                };
                let e = self.key(&inner, level);
                let empty = inner.borrow().is_empty();
                if e.is_ok() && empty {
                    return err(format!("key map {} has no value", q(&k)));
                }
                if !empty {
                    set(data, &k, Value::Map(inner));
                }
                e
            }
        }
    }

    fn index(&mut self) -> Result<i64, Stop> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Err(Stop::Eof);
        }
        parse_go_int64(&v).ok_or_else(|| {
            Stop::Error(format!(
                "error parsing index: strconv.Atoi: parsing {}: invalid syntax",
                q(&v)
            ))
        })
    }

    /// Go's `listItem`: sets `list[i]` from what follows; on failure the list as it was then.
    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: i64,
        level: usize,
    ) -> Result<Vec<Value>, (Vec<Value>, Stop)> {
        if i < 0 {
            return Err((list, Stop::Error(format!("negative {i} index not allowed"))));
        }
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return Err((
                list,
                Stop::Error(format!(
                    "unexpected data at end of array index: [{}]",
                    k.chars()
                        .map(super::quote::go_quote_rune)
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
            ));
        }
        match last {
            None => Err((list, Stop::Eof)),
            Some('=') if matches!(self.mode, Mode::Json) => match self.json_value() {
                Ok(v) => set_index(list, i, v),
                Err(e) => Err((list, e)),
            },
            Some('=') => {
                let v = match self.value_list() {
                    Ok(vl) => Value::list(vl),
                    Err(ListStop::Eof) => Value::from(""),
                    Err(ListStop::NotList) => {
                        let (rs, _) = self.until(&[',']);
                        match self.read(&rs) {
                            Ok(v) => v,
                            Err(e) => return Err((list, e)),
                        }
                    }
                    Err(ListStop::Error(e)) => return Err((list, Stop::Error(e))),
                };
                set_index(list, i, v)
            }
            Some('[') => {
                let next = match self.index() {
                    Ok(n) => n,
                    Err(e) => return Err((list, e)),
                };
                let current = match list.get(i as usize) {
                    None | Some(Value::Nil) => Vec::new(),
                    Some(Value::List(l)) => l.items.to_vec(),
                    Some(other) => {
                        let msg = format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type(other)
                        );
                        return Err((list, Stop::Error(msg)));
                    }
                };
                match self.list_item(current, next, level) {
                    Ok(inner) => set_index(list, i, Value::list(inner)),
                    Err((_, e)) => Err((list, e)),
                }
            }
            _ => {
                let inner = match list.get(i as usize) {
                    Some(Value::Map(m)) => m.clone(),
                    Some(_) => {
                        let m = super::new_map();
                        list[i as usize] = Value::Map(m.clone());
                        m
                    }
                    None => super::new_map(),
                };
                if let Err(e) = self.key(&inner, level) {
                    return Err((list, e));
                }
                set_index(list, i, Value::Map(inner))
            }
        }
    }

    /// A `{a,b}` list, or why there is none.
    fn value_list(&mut self) -> Result<Vec<Value>, ListStop> {
        match self.next() {
            None => return Err(ListStop::Eof),
            Some('{') => {}
            Some(_) => {
                self.pos -= 1;
                return Err(ListStop::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.until(&[',', '}']);
            match last {
                None => return Err(ListStop::Error("list must terminate with '}'".into())),
                Some('}') => {
                    if let Some(c) = self.next() {
                        if c != ',' {
                            self.pos -= 1;
                        }
                    }
                    list.push(self.read(&rs).map_err(ListStop::from)?);
                    return Ok(list);
                }
                _ => list.push(self.read(&rs).map_err(ListStop::from)?),
            }
        }
    }
}

enum ListStop {
    Eof,
    NotList,
    Error(String),
}

impl From<Stop> for ListStop {
    fn from(s: Stop) -> ListStop {
        match s {
            Stop::Eof => ListStop::Eof,
            Stop::Error(e) => ListStop::Error(e),
        }
    }
}

fn set(data: &Map, key: &str, v: Value) {
    if !key.is_empty() {
        data.borrow_mut().insert(key.to_string(), v);
    }
}

fn set_index(mut list: Vec<Value>, i: i64, v: Value) -> Result<Vec<Value>, (Vec<Value>, Stop)> {
    if i < 0 {
        return Err((list, Stop::Error(format!("negative {i} index not allowed"))));
    }
    if i > MAX_INDEX {
        return Err((
            list,
            Stop::Error(format!(
                "index of {i} is greater than maximum supported index of {MAX_INDEX}"
            )),
        ));
    }
    let i = i as usize;
    if list.len() <= i {
        list.resize(i + 1, Value::Nil);
    }
    list[i] = v;
    Ok(list)
}

/// Go's `strconv.ParseInt(s, 10, 64)` (an optional sign, decimal digits).
fn parse_go_int64(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_v(expr: &str) -> String {
        match parse(expr, false) {
            Ok(v) => v.format_v(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn helms_parser_cases() {
        // Expectations from Helm's own strvals tests.
        assert_eq!(
            set_v("name1=value1,name2=value2"),
            "map[name1:value1 name2:value2]"
        );
        assert_eq!(set_v("leading_zeros=00009"), "map[leading_zeros:00009]");
        assert_eq!(
            set_v("zero_int=0,long_int=1234567890"),
            "map[long_int:1234567890 zero_int:0]"
        );
        assert_eq!(
            set_v("boolean=TRUE,nul=null,f=1.5"),
            "map[boolean:true f:1.5 nul:<nil>]"
        );
        assert_eq!(
            set_v("name1=one\\,two,name2=three\\,four"),
            "map[name1:one,two name2:three,four]"
        );
        assert_eq!(set_v("outer.inner=value"), "map[outer:map[inner:value]]");
        assert_eq!(
            set_v("outer.middle.inner=value"),
            "map[outer:map[middle:map[inner:value]]]"
        );
        assert_eq!(
            set_v("name1.name2=foo,name1.name3=bar"),
            "map[name1:map[name2:foo name3:bar]]"
        );
        assert_eq!(set_v("name1={value1,value2}"), "map[name1:[value1 value2]]");
        assert_eq!(
            set_v("list[0]=foo,list[2]=bar"),
            "map[list:[foo <nil> bar]]"
        );
        assert_eq!(
            set_v("list[0].foo=bar,list[0].hello=world"),
            "map[list:[map[foo:bar hello:world]]]"
        );
        assert_eq!(set_v("nested[0][1]=1"), "map[nested:[[<nil> 1]]]");
        assert_eq!(set_v("key\\.dot=x"), "map[key.dot:x]");
        assert_eq!(set_v("name1="), "map[name1:]");
        assert_eq!(set_v("name1=,name2=x"), "map[name1: name2:x]");
        assert_eq!(set_v("name1"), "error: key \"name1\" has no value");
        assert_eq!(
            set_v("name1,name2="),
            "error: key \"name1\" has no value (cannot end with ,)"
        );
        assert_eq!(set_v("a.="), "map[]", "an empty inner key sets nothing");
        assert_eq!(set_v("a.[0]=x"), "error: key map \"a\" has no value");
        assert_eq!(
            set_v("a.,b=1"),
            "error: key \"\" has no value (cannot end with ,)"
        );
        assert_eq!(set_v("list[-1]=x"), "error: negative -1 index not allowed");
        assert_eq!(
            set_v("list[65537]=x"),
            "error: index of 65537 is greater than maximum supported index of 65536"
        );
        assert_eq!(set_v("a={x,y"), "error: list must terminate with '}'");
        let typed = parse("n=3", false).unwrap();
        assert_eq!(typed.as_map().unwrap().borrow()["n"].type_name(), "int64");
        let s = parse("n=3,b=true", true).unwrap();
        assert_eq!(s.format_v(), "map[b:true n:3]");
        assert_eq!(s.as_map().unwrap().borrow()["n"].type_name(), "string");
    }
}
