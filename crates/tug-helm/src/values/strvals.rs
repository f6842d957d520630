//! `--set` and `--set-string` as Helm's `strvals` parses them (`a.b=c`, `a={x,y}`, `a[0].b=c`,
//! `\,` and `\.` escapes), and the merging of values files and `--set` flags in Helm's order
//! (`values.Options.MergeValues`).
//!
//! Typing of `--set` values: `true`/`false` (any case) are booleans, `null` is nil, and
//! decimal integers without a leading zero (and `0`) are int64; everything else, `1.5`
//! included, is a string. `--set-string` keeps every value a string.

use super::yaml::{load_values, merge_maps, ValuesError};
use crate::value::{Map, Value};

/// The largest list index `a[i]=x` may set, as in Helm.
pub const MAX_INDEX: i64 = 65536;
/// The deepest `a.b.c...` nesting, as in Helm.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;

/// A `--set` expression that cannot be parsed; the text is Helm's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SetError(pub String);

/// Why user values could not be merged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UserValuesError {
    #[error("failed to parse {name}: {source}")]
    File {
        name: String,
        #[source]
        source: ValuesError,
    },
    #[error("failed parsing --set data: {0}")]
    Set(SetError),
    #[error("failed parsing --set-string data: {0}")]
    SetString(SetError),
}

/// Merges user values as `helm -f ... --set ... --set-string ...` does: each file (name and
/// content) merged over the previous ones, then each `--set`, then each `--set-string`.
pub fn merge_user_values(
    files: &[(String, Vec<u8>)],
    sets: &[String],
    set_strings: &[String],
) -> Result<Value, UserValuesError> {
    let mut base = Value::empty_map();
    for (name, data) in files {
        let current = load_values(data).map_err(|source| UserValuesError::File {
            name: name.clone(),
            source,
        })?;
        base = merge_maps(&base, &current);
    }
    let dest = match &base {
        Value::Map(m) => m.clone(),
        _ => super::new_map(),
    };
    for s in sets {
        parse_into(s, &dest, false).map_err(UserValuesError::Set)?;
    }
    for s in set_strings {
        parse_into(s, &dest, true).map_err(UserValuesError::SetString)?;
    }
    Ok(Value::Map(dest))
}

/// Parses one `--set` (`strings` false) or `--set-string` expression into `dest`.
pub fn parse_into(expr: &str, dest: &Map, strings: bool) -> Result<(), SetError> {
    let mut p = Parser {
        chars: expr.chars().collect(),
        pos: 0,
        strings,
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

struct Parser {
    chars: Vec<char>,
    pos: usize,
    strings: bool,
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

impl Parser {
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

    fn typed(&self, s: &str) -> Value {
        if self.strings {
            return Value::from(s);
        }
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
                    set(data, &k, self.typed(&rs));
                    Ok(())
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
            Some('=') => {
                let v = match self.value_list() {
                    Ok(vl) => Value::list(vl),
                    Err(ListStop::Eof) => Value::from(""),
                    Err(ListStop::NotList) => {
                        let (rs, _) = self.until(&[',']);
                        self.typed(&rs)
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
                    list.push(self.typed(&rs));
                    return Ok(list);
                }
                _ => list.push(self.typed(&rs)),
            }
        }
    }
}

enum ListStop {
    Eof,
    NotList,
    Error(String),
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

    #[test]
    fn files_then_sets_then_set_strings() {
        let files = vec![
            (
                "a.yaml".to_string(),
                b"x: {p: 1, r: 2}\nlist: [1]\n".to_vec(),
            ),
            ("b.yaml".to_string(), b"x: {r: 3}\n".to_vec()),
        ];
        let v = merge_user_values(&files, &["x.p=5,list[1]=b".into()], &["x.r=7".into()]).unwrap();
        assert_eq!(v.format_v(), "map[list:[1 b] x:map[p:5 r:7]]");
        let err = merge_user_values(&[], &["a.b".into()], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed parsing --set data: key \"b\" has no value"
        );
    }
}
