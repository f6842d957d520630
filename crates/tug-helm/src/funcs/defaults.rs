//! Sprig's emptiness-based functions: `default`, `empty`, `coalesce`, `all`, `any`, `ternary`.

use super::{arg, fixed, variadic};
use crate::func::{Func, Ty};
use crate::value::Value;

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        variadic("default", &[Any], Any, |a| {
            let given = a.get(1).filter(|g| !is_empty(g));
            Ok(given.cloned().unwrap_or_else(|| arg(&a, 0)))
        }),
        fixed("empty", &[Any], |a| Ok(Value::Bool(is_empty(&arg(&a, 0))))),
        variadic("coalesce", &[], Any, |a| {
            Ok(a.into_iter().find(|v| !is_empty(v)).unwrap_or(Value::Nil))
        }),
        variadic("all", &[], Any, |a| {
            Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
        }),
        variadic("any", &[], Any, |a| {
            Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
        }),
        fixed("ternary", &[Any, Any, Bool], |a| {
            let pick = if matches!(a.get(2), Some(Value::Bool(true))) {
                0
            } else {
                1
            };
            Ok(arg(&a, pick))
        }),
    ]
}

/// Sprig's `empty`: nil, false, zero numbers, and empty strings, slices and maps; structs and
/// non-nil pointers never are.
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.items.is_empty(),
        Value::Map(m) => m.borrow().is_empty(),
        Value::Object(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Value {
        let f = funcs().into_iter().find(|f| f.name == name).expect(name);
        (f.imp)(args).expect(name)
    }

    #[test]
    fn defaults_follow_emptiness() {
        assert_eq!(call("default", vec!["d".into()]).format_v(), "d");
        assert_eq!(
            call("default", vec!["d".into(), Value::Float(0.0)]).format_v(),
            "d"
        );
        assert_eq!(
            call("default", vec!["d".into(), "x".into()]).format_v(),
            "x"
        );
        assert_eq!(
            call("coalesce", vec![Value::Nil, "".into(), "y".into()]).format_v(),
            "y"
        );
        assert!(call("coalesce", vec![Value::Nil]).is_nil());
        assert!(!call("all", vec![Value::Int(1), Value::empty_map()]).truthy());
        assert!(call("any", vec![Value::Int(0), "x".into()]).truthy());
        assert_eq!(
            call("ternary", vec!["a".into(), "b".into(), false.into()]).format_v(),
            "b"
        );
    }
}
