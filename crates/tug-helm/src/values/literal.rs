//! `--set-literal` as Helm's `strvals` parses it: the value after `=` is the rest of the
//! expression, verbatim (commas and backslashes included); keys still nest with `.` and `[i]`.

use super::strvals::{SetError, MAX_INDEX, MAX_NESTED_NAME_LEVEL};
use crate::value::{Map, Value};

/// Parses one `--set-literal` expression into `dest`.
pub fn parse_literal_into(expr: &str, dest: &Map) -> Result<(), SetError> {
    let mut p = Literal {
        chars: expr.chars().collect(),
        pos: 0,
    };
    while !p.at_end() {
        p.key(dest, 0)?;
    }
    Ok(())
}

struct Literal {
    chars: Vec<char>,
    pos: usize,
}

fn fail<T>(msg: String) -> Result<T, SetError> {
    Err(SetError(msg))
}

fn type_of(v: &Value) -> String {
    if v.is_nil() {
        "nil".into()
    } else {
        v.type_name()
    }
}

impl Literal {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    /// Reads up to a stop character (consumed and returned); no escapes.
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            if stop.contains(&c) {
                return (v, Some(c));
            }
            v.push(c);
        }
        (v, None)
    }

    fn rest(&mut self) -> String {
        let v: String = self.chars[self.pos..].iter().collect();
        self.pos = self.chars.len();
        v
    }

    fn key(&mut self, data: &Map, level: usize) -> Result<(), SetError> {
        let (k, last) = self.until(&['=', '[', '.']);
        match last {
            None => fail(format!("key {} has no value", super::quote::go_quote(&k))),
            Some('=') => {
                let v = self.rest();
                set(data, &k, Value::from(v));
                Ok(())
            }
            Some('.') => {
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return fail(format!("value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"));
                }
                let inner = match data.borrow().get(&k) {
                    None => super::new_map(),
                    Some(Value::Map(m)) => m.clone(),
                    Some(other) => return fail(format!("unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}", type_of(other))),
                };
                let result = self.key(&inner, level);
                let empty = inner.borrow().is_empty();
                if result.is_ok() && empty {
                    return fail(format!(
                        "key map {} has no value",
                        super::quote::go_quote(&k)
                    ));
                }
                if !empty {
                    set(data, &k, Value::Map(inner));
                }
                result
            }
            _ => {
                let Some(i) = self.index()? else {
                    return Ok(());
                };
                let list = match data.borrow().get(&k) {
                    None => Vec::new(),
                    Some(Value::List(l)) => l.items.to_vec(),
                    Some(other) => return fail(format!("unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}", type_of(other))),
                };
                let (list, result) = match self.list_item(list, i, level) {
                    Ok(l) => (l, Ok(())),
                    Err((l, e)) => (l, Err(e)),
                };
                set(data, &k, Value::list(list));
                result
            }
        }
    }

    /// The index up to `]`; `None` when the expression ends first, which ends parsing without
    /// an error (Helm's parser sees its wrapped end-of-input).
    fn index(&mut self) -> Result<Option<i64>, SetError> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Ok(None);
        }
        v.parse::<i64>().map(Some).or_else(|_| {
            fail(format!(
                "error parsing index: strconv.Atoi: parsing {}: invalid syntax",
                super::quote::go_quote(&v)
            ))
        })
    }

    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: i64,
        level: usize,
    ) -> Result<Vec<Value>, (Vec<Value>, SetError)> {
        if i < 0 {
            return Err((list, SetError(format!("negative {i} index not allowed"))));
        }
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            let runes: Vec<String> = k.chars().map(super::quote::go_quote_rune).collect();
            return Err((
                list,
                SetError(format!(
                    "unexpected data at end of array index: [{}]",
                    runes.join(" ")
                )),
            ));
        }
        match last {
            None => Ok(list),
            Some('=') => {
                let v = Value::from(self.rest());
                set_index(list, i, v)
            }
            Some('.') => {
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
            _ => {
                let next = match self.index() {
                    Ok(Some(n)) => n,
                    Ok(None) => return Ok(list),
                    Err(e) => return Err((list, e)),
                };
                let current = match list.get(i as usize) {
                    None | Some(Value::Nil) => Vec::new(),
                    Some(Value::List(l)) => l.items.to_vec(),
                    Some(other) => {
                        let msg = format!("unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}", type_of(other));
                        return Err((list, SetError(msg)));
                    }
                };
                match self.list_item(current, next, level) {
                    Ok(inner) => set_index(list, i, Value::list(inner)),
                    Err((_, e)) => Err((list, e)),
                }
            }
        }
    }
}

fn set(data: &Map, key: &str, v: Value) {
    if !key.is_empty() {
        data.borrow_mut().insert(key.to_string(), v);
    }
}

fn set_index(mut list: Vec<Value>, i: i64, v: Value) -> Result<Vec<Value>, (Vec<Value>, SetError)> {
    if i > MAX_INDEX {
        let msg = format!("index of {i} is greater than maximum supported index of {MAX_INDEX}");
        return Err((list, SetError(msg)));
    }
    let i = i as usize;
    if list.len() <= i {
        list.resize(i + 1, Value::Nil);
    }
    list[i] = v;
    Ok(list)
}
