//! Sprig's list functions. Each takes any Go slice through reflection and refuses other kinds
//! with `Cannot <verb> on type <kind>`; the non-`must` variants panic with the same text, which
//! text/template reports the same way, so both share one implementation here.

use std::rc::Rc;

use super::conv::{strval, to_int64, to_strings};
use super::defaults::is_empty;
use super::reflect::deep_equal;
use super::strings::check_len;
use super::{arg, arg_int, arg_str, fixed, int_list, slice_items, string_list, variadic};
use crate::func::{Func, FuncError, Ty};
use crate::value::{List, Value};

/// The longest list `until`, `untilStep` and `seq` build (one million items). Go has no limit
/// and allocates until the process dies (`until 10000000000` needs 80 GB).
pub(crate) const MAX_LIST_LEN: u64 = 1_000_000;

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    let mut out = vec![
        variadic("list", &[], Any, |a| Ok(Value::list(a))),
        variadic("tuple", &[], Any, |a| Ok(Value::list(a))),
        fixed("until", &[Int], |a| {
            let count = arg_int(&a, 0);
            until_step(0, count, if count < 0 { -1 } else { 1 }).map(int_list)
        }),
        fixed("untilStep", &[Int, Int, Int], |a| {
            until_step(arg_int(&a, 0), arg_int(&a, 1), arg_int(&a, 2)).map(int_list)
        }),
        variadic("seq", &[], Int, seq),
        fixed("join", &[String, Any], |a| {
            let joined = to_strings(&arg(&a, 1)).join(arg_str(&a, 0));
            check_len(joined.len())?;
            Ok(Value::from(joined))
        }),
        fixed("sortAlpha", &[Any], |a| {
            let v = arg(&a, 0);
            let mut items = match v {
                Value::List(_) | Value::Bytes(_) => to_strings(&v),
                other => vec![strval(&other)],
            };
            items.sort();
            Ok(string_list(items))
        }),
        variadic("concat", &[], Any, |a| {
            let mut out = Vec::new();
            for list in &a {
                match list {
                    Value::List(_) | Value::Bytes(_) => {
                        out.extend(slice_items(list, "Cannot concat type")?)
                    }
                    Value::Nil => return Err(FuncError::msg(super::NIL_DEREF)),
                    other => {
                        return Err(FuncError::msg(format!(
                            "Cannot concat type {} as list",
                            other.kind_name()
                        )))
                    }
                }
            }
            if out.is_empty() {
                // Nothing appended: Go's nil slice.
                return Ok(Value::Nil);
            }
            Ok(Value::list(out))
        }),
    ];
    for (plain, must) in [
        ("append", "mustAppend"),
        ("push", "mustPush"),
        ("prepend", "mustPrepend"),
        ("first", "mustFirst"),
        ("rest", "mustRest"),
        ("last", "mustLast"),
        ("initial", "mustInitial"),
        ("reverse", "mustReverse"),
        ("uniq", "mustUniq"),
        ("without", "mustWithout"),
        ("has", "mustHas"),
        ("slice", "mustSlice"),
        ("chunk", "mustChunk"),
        ("compact", "mustCompact"),
    ] {
        let func = list_func(plain);
        out.push(func);
        out.push(Func { name: must, ..func });
    }
    out
}

fn list_func(name: &'static str) -> Func {
    use Ty::*;
    match name {
        "append" | "push" => fixed(name, &[Any, Any], |a| {
            let mut items = slice_items(&arg(&a, 0), "Cannot push on type")?;
            items.push(arg(&a, 1));
            Ok(Value::list(items))
        }),
        "prepend" => fixed(name, &[Any, Any], |a| {
            let mut items = vec![arg(&a, 1)];
            items.extend(slice_items(&arg(&a, 0), "Cannot prepend on type")?);
            Ok(Value::list(items))
        }),
        "first" => fixed(name, &[Any], |a| {
            let items = slice_items(&arg(&a, 0), "Cannot find first on type")?;
            Ok(items.into_iter().next().unwrap_or(Value::Nil))
        }),
        "last" => fixed(name, &[Any], |a| {
            let items = slice_items(&arg(&a, 0), "Cannot find last on type")?;
            Ok(items.into_iter().next_back().unwrap_or(Value::Nil))
        }),
        "rest" => fixed(name, &[Any], |a| {
            let items = slice_items(&arg(&a, 0), "Cannot find rest on type")?;
            if items.is_empty() {
                // Go returns a nil slice: `[]` to fmt, `null` to JSON.
                return Ok(Value::nil_list());
            }
            Ok(Value::list(items.into_iter().skip(1).collect()))
        }),
        "initial" => fixed(name, &[Any], |a| {
            let mut items = slice_items(&arg(&a, 0), "Cannot find initial on type")?;
            if items.pop().is_none() {
                return Ok(Value::nil_list());
            }
            Ok(Value::list(items))
        }),
        "reverse" => fixed(name, &[Any], |a| {
            let mut items = slice_items(&arg(&a, 0), "Cannot find reverse on type")?;
            items.reverse();
            Ok(Value::list(items))
        }),
        "uniq" => fixed(name, &[Any], |a| {
            let items = slice_items(&arg(&a, 0), "Cannot find uniq on type")?;
            let mut out: Vec<Value> = Vec::new();
            for item in items {
                if !out.iter().any(|seen| deep_equal(&item, seen)) {
                    out.push(item);
                }
            }
            Ok(Value::list(out))
        }),
        "without" => variadic(name, &[Any], Any, |a| {
            let items = slice_items(&arg(&a, 0), "Cannot find without on type")?;
            let omit = &a[1.min(a.len())..];
            let kept = items
                .into_iter()
                .filter(|item| !omit.iter().any(|o| deep_equal(item, o)))
                .collect();
            Ok(Value::list(kept))
        }),
        "has" => fixed(name, &[Any, Any], |a| {
            let haystack = arg(&a, 1);
            if haystack.is_nil() {
                return Ok(Value::Bool(false));
            }
            let needle = arg(&a, 0);
            let items = slice_items(&haystack, "Cannot find has on type")?;
            Ok(Value::Bool(items.iter().any(|i| deep_equal(&needle, i))))
        }),
        "slice" => variadic(name, &[Any], Any, slice),
        "chunk" => fixed(name, &[Int, Any], |a| {
            let size = arg_int(&a, 0);
            let items = slice_items(&arg(&a, 1), "Cannot chunk type")?;
            chunk(size, items)
        }),
        _ => fixed(name, &[Any], |a| {
            let items = slice_items(&arg(&a, 0), "Cannot compact on type")?;
            Ok(Value::list(
                items.into_iter().filter(|i| !is_empty(i)).collect(),
            ))
        }),
    }
}

/// Sprig's `slice`: Go's slice expression through reflection, keeping the slice's type.
fn slice(a: Vec<Value>) -> Result<Value, FuncError> {
    let list = arg(&a, 0);
    let kind = match &list {
        Value::List(l) => l.kind,
        Value::Nil => return Err(FuncError::msg(super::NIL_DEREF)),
        other => {
            return Err(FuncError::msg(format!(
                "list should be type of slice or array but {}",
                other.kind_name()
            )))
        }
    };
    let items = slice_items(&list, "")?;
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map_or(0, to_int64);
    let end = a.get(2).map_or(items.len() as i64, to_int64);
    if start < 0 || end < start || end > items.len() as i64 {
        return Err(FuncError::msg(
            "reflect.Value.Slice: slice index out of bounds",
        ));
    }
    Ok(Value::List(List {
        items: Rc::new(items[start as usize..end as usize].to_vec()),
        kind,
        nil: false,
    }))
}

fn chunk(size: i64, items: Vec<Value>) -> Result<Value, FuncError> {
    let len = items.len() as i64;
    let count = ((len - 1) as f64 / size as f64).floor() + 1.0;
    if !(0.0..=len as f64 + 1.0).contains(&count) {
        return Err(FuncError::msg("runtime error: makeslice: len out of range"));
    }
    if size <= 0 {
        return Err(FuncError::msg("runtime error: integer divide by zero"));
    }
    let chunks = items
        .chunks(size as usize)
        .map(|c| Value::list(c.to_vec()))
        .collect();
    Ok(Value::list(chunks))
}

/// Sprig's `untilStep`: from `start` towards `stop` (exclusive) by `step`; empty when `step`
/// points the other way.
pub(crate) fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let span = i128::from(stop) - i128::from(start);
    let count = if (span > 0 && step > 0) || (span < 0 && step < 0) {
        let step = i128::from(step);
        ((span + step - step.signum()) / step) as u128
    } else {
        0
    };
    if count > u128::from(MAX_LIST_LEN) {
        return Err(FuncError::msg(format!(
            "a sequence of {count} numbers exceeds the limit of {MAX_LIST_LEN}"
        )));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut i = start;
    for _ in 0..count {
        out.push(i);
        i = i.wrapping_add(step);
    }
    Ok(out)
}

fn seq(a: Vec<Value>) -> Result<Value, FuncError> {
    let p: Vec<i64> = (0..a.len()).map(|i| arg_int(&a, i)).collect();
    let numbers = match p.as_slice() {
        [end] => {
            let inc = if *end < 1 { -1 } else { 1 };
            until_step(1, end.saturating_add(inc), inc)?
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step(*start, end.saturating_add(step), step)?
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if *step > 0 {
                    return Ok(Value::from(""));
                }
            }
            until_step(*start, end.saturating_add(inc), *step)?
        }
        _ => Vec::new(),
    };
    let text: Vec<String> = numbers.iter().map(i64::to_string).collect();
    Ok(Value::from(text.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let f = funcs().into_iter().find(|f| f.name == name).expect(name);
        (f.imp)(args)
    }

    #[test]
    fn sequences() {
        assert_eq!(until_step(0, 5, 2).unwrap(), vec![0, 2, 4]);
        assert_eq!(until_step(0, -3, -1).unwrap(), vec![0, -1, -2]);
        assert_eq!(until_step(0, 3, -1).unwrap(), Vec::<i64>::new());
        let s = |v: Vec<i64>| {
            call("seq", v.into_iter().map(Value::Int).collect())
                .unwrap()
                .format_v()
        };
        assert_eq!(s(vec![3]), "1 2 3");
        assert_eq!(s(vec![0]), "1 0");
        assert_eq!(s(vec![2, 4]), "2 3 4");
        assert_eq!(s(vec![5, -2, 0]), "5 3 1");
        assert_eq!(s(vec![5, 2, 0]), "");
        let until = call("until", vec![Value::Int(-3)]).unwrap();
        assert_eq!(until.format_v(), "[0 -1 -2]");
        assert_eq!(until.type_name(), "[]int");
    }

    #[test]
    fn huge_sequences_are_refused() {
        let err = call("until", vec![Value::Int(1 << 40)]).unwrap_err();
        assert!(err.to_string().contains("exceeds the limit"), "{err}");
        assert!(call("seq", vec![Value::Int(i64::MAX)]).is_err());
        assert!(call(
            "untilStep",
            vec![Value::Int(i64::MIN), Value::Int(i64::MAX), Value::Int(1)]
        )
        .is_err());
    }

    #[test]
    fn type_strict_membership() {
        let floats = Value::list(vec![Value::Float(1.0), Value::Float(2.0)]);
        assert!(!call("has", vec![Value::Int(1), floats.clone()])
            .unwrap()
            .truthy());
        assert!(call("has", vec![Value::Float(1.0), floats])
            .unwrap()
            .truthy());
        let err = call("first", vec!["abc".into()]).unwrap_err();
        assert_eq!(err.to_string(), "Cannot find first on type string");
    }

    #[test]
    fn chunks_and_slices() {
        let l = Value::list((1..=5).map(Value::Int).collect());
        assert_eq!(
            call("chunk", vec![Value::Int(2), l.clone()])
                .unwrap()
                .format_v(),
            "[[1 2] [3 4] [5]]"
        );
        assert_eq!(
            call("slice", vec![l.clone(), Value::Int(1), Value::Int(3)])
                .unwrap()
                .format_v(),
            "[2 3]"
        );
        assert!(call("slice", vec![l, Value::Int(3), Value::Int(9)]).is_err());
    }
}
