//! Sprig's reflection functions: Go type and kind names, and `reflect.DeepEqual`.

use std::rc::Rc;

use super::{arg, arg_str, fixed};
use crate::func::{Func, Ty};
use crate::value::Value;

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        fixed("typeOf", &[Any], |a| {
            Ok(Value::from(arg(&a, 0).type_name()))
        }),
        fixed("typeIs", &[String, Any], |a| {
            Ok(Value::Bool(arg_str(&a, 0) == arg(&a, 1).type_name()))
        }),
        fixed("typeIsLike", &[String, Any], |a| {
            let (want, got) = (arg_str(&a, 0), arg(&a, 1).type_name());
            Ok(Value::Bool(want == got || format!("*{want}") == got))
        }),
        fixed("kindOf", &[Any], |a| {
            Ok(Value::from(arg(&a, 0).kind_name()))
        }),
        fixed("kindIs", &[String, Any], |a| {
            Ok(Value::Bool(arg_str(&a, 0) == arg(&a, 1).kind_name()))
        }),
        fixed("deepEqual", &[Any, Any], |a| {
            Ok(Value::Bool(deep_equal(&arg(&a, 0), &arg(&a, 1))))
        }),
    ]
}

/// Go's `reflect.DeepEqual` on template values: types must match exactly (`1` is not `1.0`,
/// `[]string` is not `[]interface {}`), then contents are compared deeply.
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.kind == y.kind
                && (Rc::ptr_eq(&x.items, &y.items)
                    || (x.items.len() == y.items.len()
                        && x.items
                            .iter()
                            .zip(y.items.iter())
                            .all(|(p, q)| deep_equal(p, q))))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.type_name() == y.type_name() && x.format_v() == y.format_v()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_equal_is_type_strict() {
        assert!(!deep_equal(&Value::Int(1), &Value::Float(1.0)));
        assert!(!deep_equal(&Value::Int(1), &Value::Int64(1)));
        assert!(deep_equal(
            &Value::list(vec![Value::from("a")]),
            &Value::list(vec![Value::from("a")])
        ));
        assert!(!deep_equal(
            &Value::list(vec![Value::from("a")]),
            &Value::string_list(vec!["a".into()])
        ));
    }
}
