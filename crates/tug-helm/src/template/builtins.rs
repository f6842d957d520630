//! Go's predefined template functions: `and`, `or`, `not`, `len`, `index`, `slice`, `print`,
//! `printf`, `println`, `html`, `js`, `urlquery`, `call`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`.

use super::escape;
use super::exec::{Op, PTy};
use super::fmt;
use crate::func::Ty;
use crate::value::{List, ListKind, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Call,
    Html,
    Js,
    Urlquery,
    Print,
    Printf,
    Println,
    Index,
    Slice,
    Len,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

pub(crate) const BUILTINS: &[(&str, Builtin)] = &[
    ("and", Builtin::And),
    ("or", Builtin::Or),
    ("not", Builtin::Not),
    ("call", Builtin::Call),
    ("html", Builtin::Html),
    ("js", Builtin::Js),
    ("urlquery", Builtin::Urlquery),
    ("print", Builtin::Print),
    ("printf", Builtin::Printf),
    ("println", Builtin::Println),
    ("index", Builtin::Index),
    ("slice", Builtin::Slice),
    ("len", Builtin::Len),
    ("eq", Builtin::Eq),
    ("ne", Builtin::Ne),
    ("lt", Builtin::Lt),
    ("le", Builtin::Le),
    ("gt", Builtin::Gt),
    ("ge", Builtin::Ge),
];

/// The Go signature: fixed parameters and the variadic one.
pub(crate) fn signature(b: Builtin) -> (&'static [PTy], Option<PTy>) {
    use Builtin::*;
    const R: PTy = PTy::Reflect;
    const ANY: PTy = PTy::Go(Ty::Any);
    match b {
        And | Or | Call | Index | Slice | Eq => (&[R], Some(R)),
        Not | Len => (&[R], None),
        Html | Js | Urlquery | Print | Println => (&[], Some(ANY)),
        Printf => (&[PTy::Go(Ty::String)], Some(ANY)),
        Ne | Lt | Le | Gt | Ge => (&[R, R], None),
    }
}

fn values(args: Vec<Op>) -> Vec<Value> {
    args.into_iter().map(|o| o.v).collect()
}

/// Runs a builtin on checked arguments; `Err` is the message Go wraps in `error calling`.
pub(crate) fn run(b: Builtin, args: Vec<Op>) -> Result<Op, String> {
    use Builtin::*;
    let plain = |v: Value| Ok(Op::plain(v));
    match b {
        // Short-circuiting happens in the executor; this is `and`/`or` over evaluated values.
        And => Ok(args
            .into_iter()
            .find(|a| !a.v.truthy())
            .unwrap_or_else(|| Op::plain(Value::Nil))),
        Or => Ok(args
            .into_iter()
            .find(|a| a.v.truthy())
            .unwrap_or_else(|| Op::plain(Value::Nil))),
        Not => plain(Value::Bool(!args[0].v.truthy())),
        Call => call("", &args),
        Html => plain(Value::from(escape::html(&eval_args(&values(args))))),
        Js => plain(Value::from(escape::js(&eval_args(&values(args))))),
        Urlquery => plain(Value::from(escape::query(&eval_args(&values(args))))),
        Print => plain(Value::from(fmt::sprint(&values(args)))),
        Println => plain(Value::from(fmt::sprintln(&values(args)))),
        Printf => {
            let mut vals = values(args);
            let format = match vals.remove(0) {
                Value::String(s) => s,
                _ => "".into(),
            };
            plain(Value::from(fmt::sprintf(&format, &vals)))
        }
        Index => index(&args[0], &args[1..]),
        Slice => slice(&args[0].v, &args[1..]).map(Op::plain),
        Len => length(&args[0]).map(|n| Op::plain(Value::Int(n as i64))),
        Eq => eq(&args[0].v, &args[1..]).map(|b| Op::plain(Value::Bool(b))),
        Ne => eq(&args[0].v, &args[1..2]).map(|b| Op::plain(Value::Bool(!b))),
        Lt => lt(&args[0].v, &args[1].v).map(|b| Op::plain(Value::Bool(b))),
        Le => le(&args[0].v, &args[1].v).map(|b| Op::plain(Value::Bool(b))),
        Gt => le(&args[0].v, &args[1].v).map(|b| Op::plain(Value::Bool(!b))),
        Ge => lt(&args[0].v, &args[1].v).map(|b| Op::plain(Value::Bool(!b))),
    }
}

/// Go's `call`: template values are never functions here.
pub(crate) fn call(callee: &str, args: &[Op]) -> Result<Op, String> {
    match args.first().map(|a| &a.v) {
        None | Some(Value::Nil) => Err("call of nil".into()),
        Some(v) => Err(format!("non-function {callee} of type {}", v.type_name())),
    }
}

/// Go's `evalArgs` for `html`/`js`/`urlquery`: one string as is, else `fmt.Sprint` with a
/// missing value printed as `<no value>`.
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil => Value::str("<no value>"),
            other => other.clone(),
        })
        .collect();
    fmt::sprint(&printable)
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ))
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

/// Go's `index`.
fn index(item: &Op, indexes: &[Op]) -> Result<Op, String> {
    let mut item = with_elements(item.clone());
    if item.v.is_nil() {
        return Err("index of untyped nil".into());
    }
    for idx in indexes {
        if item.v.is_nil() {
            return Err("index of nil pointer".into());
        }
        item = with_elements(item);
        item = match &item.v {
            Value::List(l) => {
                let x = index_arg(&idx.v, l.items.len())?;
                let v = l
                    .items
                    .get(x)
                    .cloned()
                    .ok_or("reflect: slice index out of range")?;
                Op {
                    v,
                    boxed: l.kind == ListKind::Interface,
                }
            }
            Value::Bytes(b) => {
                let x = index_arg(&idx.v, b.len())?;
                let v = b.get(x).ok_or("reflect: slice index out of range")?;
                Op::plain(Value::Int(*v as i64))
            }
            Value::String(s) => {
                let x = index_arg(&idx.v, s.len())?;
                let v = s
                    .as_bytes()
                    .get(x)
                    .ok_or("reflect: string index out of range")?;
                Op::plain(Value::Int(*v as i64))
            }
            Value::Map(m) => {
                let key = match &idx.v {
                    Value::String(k) => k.clone(),
                    Value::Nil => return Err("value is nil; should be of type string".into()),
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ))
                    }
                };
                let v = m.borrow().get(&*key).cloned().unwrap_or(Value::Nil);
                Op { v, boxed: true }
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

/// An object that is a Go slice or map underneath, as that slice or map.
fn with_elements(op: Op) -> Op {
    match &op.v {
        Value::Object(o) => match o.elements() {
            Some(v) => Op::plain(v),
            None => op,
        },
        _ => op,
    }
}

/// Go's `slice` (Helm replaces it with Sprig's, for lists only).
fn slice(item: &Value, indexes: &[Op]) -> Result<Value, String> {
    if item.is_nil() {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.items.len(),
        Value::Bytes(b) => b.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0usize, len, len];
    for (i, x) in indexes.iter().enumerate() {
        idx[i] = index_arg(&x.v, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::String(s) => {
            let bytes = &s.as_bytes()[idx[0]..idx[1]];
            Value::from(String::from_utf8_lossy(bytes).into_owned())
        }
        Value::List(l) => Value::List(List {
            items: std::rc::Rc::new(l.items[idx[0]..idx[1]].to_vec()),
            kind: l.kind,
            nil: false,
        }),
        Value::Bytes(b) => Value::Bytes(b[idx[0]..idx[1]].into()),
        _ => Value::Nil,
    })
}

/// Go's `len`: bytes of a string, elements of a list or map.
fn length(item: &Op) -> Result<usize, String> {
    let item = with_elements(item.clone());
    match &item.v {
        Value::Nil if item.boxed => Err("len of nil pointer".into()),
        Value::Nil => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::String(s) => Ok(s.len()),
        Value::Bytes(b) => Ok(b.len()),
        Value::List(l) => Ok(l.items.len()),
        Value::Map(m) => Ok(m.borrow().len()),
        other => Err(format!("len of type {}", other.type_name())),
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

fn incompatible(a: &Value, b: &Value) -> String {
    format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    )
}

/// Go's `eq`: true when the first operand equals any of the others.
fn eq(a: &Value, others: &[Op]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a);
    for o in others {
        let b = &o.v;
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            if !a.is_nil() && !b.is_nil() {
                return Err(incompatible(a, b));
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                _ if k1 == Kind::Int => a.as_int() == b.as_int(),
                (Value::Nil, _) | (_, Value::Nil) => a.is_nil() && b.is_nil(),
                _ => {
                    if a.type_name() != b.type_name() {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            fmt::sprintf("%s", std::slice::from_ref(a)),
                            a.type_name(),
                            b.type_name(),
                            b.format_v()
                        ));
                    }
                    match (a, b) {
                        (Value::Object(x), Value::Object(y)) => std::rc::Rc::ptr_eq(x, y),
                        _ => {
                            return Err(format!(
                                "non-comparable type {}: {}",
                                fmt::sprintf("%s", std::slice::from_ref(b)),
                                b.type_name()
                            ))
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`: basic kinds only, both of the same kind.
fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let k1 = basic_kind(a);
    let k2 = basic_kind(b);
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err(incompatible(a, b));
    }
    Ok(match (a, b) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        (Value::Bool(_), _) => return Err("invalid type for comparison".into()),
        _ => a.as_int() < b.as_int(),
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, String> {
    let less = lt(a, b)?;
    if less {
        return Ok(true);
    }
    eq(a, &[Op::plain(b.clone())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_keep_go_kinds_apart() {
        assert_eq!(
            eq(&Value::Float(3.0), &[Op::plain(Value::Int(3))]),
            Err("incompatible types for comparison: float64 and int".into())
        );
        assert_eq!(eq(&Value::Int(3), &[Op::plain(Value::Int64(3))]), Ok(true));
        assert_eq!(eq(&Value::Nil, &[Op::plain(Value::str("a"))]), Ok(false));
        assert_eq!(eq(&Value::Nil, &[Op::plain(Value::Nil)]), Ok(true));
        assert_eq!(lt(&Value::str("a"), &Value::str("b")), Ok(true));
        assert_eq!(
            lt(&Value::Nil, &Value::Int(1)),
            Err("invalid type for comparison".into())
        );
    }

    #[test]
    fn index_reports_go_errors() {
        let list = Op::plain(Value::list(vec![Value::str("a"), Value::str("b")]));
        assert_eq!(
            index(&list, &[Op::plain(Value::Int(2))]).unwrap_err(),
            "reflect: slice index out of range"
        );
        assert_eq!(
            index(&list, &[Op::plain(Value::Int(3))]).unwrap_err(),
            "index out of range: 3"
        );
        assert_eq!(
            index(&list, &[Op::plain(Value::Int(1))])
                .unwrap()
                .v
                .format_v(),
            "b"
        );
    }
}
