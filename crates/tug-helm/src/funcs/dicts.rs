//! Sprig's dictionary functions. Maps are shared: `set`, `unset`, `merge` and
//! `mergeOverwrite` write into the map they are given and return it.
//!
//! Go iterates maps in random order, so `keys` and `values` come out shuffled in Helm; here they
//! come out in key order, one of the orders Helm can print.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::conv::strval;
use super::defaults::is_empty;
use super::{arg, arg_str, fixed, string_list, variadic};
use crate::func::{Func, FuncError, Ty};
use crate::value::{Map, Value};

/// How deep `merge` follows nested maps; deeper levels are left as they are (mergo has no
/// limit, but a map that contains itself would recurse forever).
const MAX_MERGE_DEPTH: usize = 1000;

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        variadic("dict", &[], Any, |a| {
            let mut out = BTreeMap::new();
            for pair in a.chunks(2) {
                let value = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
                out.insert(strval(&pair[0]), value);
            }
            Ok(Value::map(out))
        }),
        fixed("get", &[Map, String], |a| {
            let found = arg(&a, 0)
                .as_map()
                .and_then(|m| m.borrow().get(arg_str(&a, 1)).cloned());
            Ok(found.unwrap_or_else(|| Value::from("")))
        }),
        fixed("set", &[Map, String, Any], |a| {
            let Some(m) = arg(&a, 0).as_map().cloned() else {
                return Err(FuncError::msg("assignment to entry in nil map"));
            };
            m.borrow_mut()
                .insert(arg_str(&a, 1).to_string(), arg(&a, 2));
            Ok(Value::Map(m))
        }),
        fixed("unset", &[Map, String], |a| {
            let map = arg(&a, 0);
            if let Some(m) = map.as_map() {
                m.borrow_mut().remove(arg_str(&a, 1));
            }
            Ok(map)
        }),
        fixed("hasKey", &[Map, String], |a| {
            let has = arg(&a, 0)
                .as_map()
                .is_some_and(|m| m.borrow().contains_key(arg_str(&a, 1)));
            Ok(Value::Bool(has))
        }),
        variadic("pluck", &[String], Map, |a| {
            let key = arg_str(&a, 0);
            let found = a[1.min(a.len())..]
                .iter()
                .filter_map(|d| d.as_map().and_then(|m| m.borrow().get(key).cloned()))
                .collect();
            Ok(Value::list(found))
        }),
        variadic("keys", &[], Map, |a| {
            let keys = a
                .iter()
                .filter_map(Value::as_map)
                .flat_map(|m| m.borrow().keys().cloned().collect::<Vec<_>>())
                .collect();
            Ok(string_list(keys))
        }),
        variadic("pick", &[Map], String, |a| {
            let mut out = BTreeMap::new();
            if let Some(m) = arg(&a, 0).as_map() {
                let m = m.borrow();
                for key in a.iter().skip(1).filter_map(Value::as_str) {
                    if let Some(v) = m.get(key) {
                        out.insert(key.to_string(), v.clone());
                    }
                }
            }
            Ok(Value::map(out))
        }),
        variadic("omit", &[Map], String, |a| {
            let omitted: Vec<&str> = a.iter().skip(1).filter_map(Value::as_str).collect();
            let out = arg(&a, 0).as_map().map_or_else(BTreeMap::new, |m| {
                m.borrow()
                    .iter()
                    .filter(|(k, _)| !omitted.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            });
            Ok(Value::map(out))
        }),
        fixed("values", &[Map], |a| {
            let values = arg(&a, 0)
                .as_map()
                .map_or_else(Vec::new, |m| m.borrow().values().cloned().collect());
            Ok(Value::list(values))
        }),
        variadic("merge", &[Map], Map, |a| Ok(merge(a, false))),
        variadic("mustMerge", &[Map], Map, |a| Ok(merge(a, false))),
        variadic("mergeOverwrite", &[Map], Map, |a| Ok(merge(a, true))),
        variadic("mustMergeOverwrite", &[Map], Map, |a| Ok(merge(a, true))),
        fixed("deepCopy", &[Any], |a| Ok(arg(&a, 0).deep_clone())),
        fixed("mustDeepCopy", &[Any], |a| Ok(arg(&a, 0).deep_clone())),
        variadic("dig", &[], Any, dig),
    ]
}

/// Sprig's `merge`/`mergeOverwrite` over mergo: every source is merged into the first map in
/// turn. A nil first map is replaced by a new one.
fn merge(args: Vec<Value>, overwrite: bool) -> Value {
    let dst: Map = match args.first() {
        Some(Value::Map(m)) => m.clone(),
        _ => Rc::new(std::cell::RefCell::new(BTreeMap::new())),
    };
    for src in args.iter().skip(1).filter_map(Value::as_map) {
        merge_into(&dst, src, overwrite, 0);
    }
    Value::Map(dst)
}

/// mergo's map merge: a key is taken from `src` when `dst` lacks it or holds an empty value
/// (always, with `overwrite`); nested maps are merged in place; a nil in `src` is taken only
/// with `overwrite`. Values taken are shared, not copied.
fn merge_into(dst: &Map, src: &Map, overwrite: bool, depth: usize) {
    if Rc::ptr_eq(dst, src) {
        return;
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, src_value) in entries {
        if src_value.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(key, Value::Nil);
            }
            continue;
        }
        let dst_value = dst.borrow().get(&key).cloned();
        if let (Some(Value::Map(d)), Value::Map(s)) = (&dst_value, &src_value) {
            if depth < MAX_MERGE_DEPTH {
                merge_into(d, s, overwrite, depth + 1);
            }
            if !d.borrow().is_empty() {
                continue;
            }
        }
        if let Some(d) = &dst_value {
            if !is_empty(d) && matches!(src_value, Value::List(_) | Value::Bytes(_)) && !overwrite {
                continue;
            }
        }
        if overwrite || dst_value.as_ref().is_none_or(is_empty) {
            dst.borrow_mut().insert(key, src_value);
        }
    }
}

/// Go's message for a failed `x.(map[string]interface{})` or `x.(string)`.
fn interface_conversion(v: &Value, want: &str) -> FuncError {
    let got = match v {
        Value::Nil => "nil".to_string(),
        other => other.type_name(),
    };
    FuncError::msg(format!(
        "interface conversion: interface {{}} is {got}, not {want}"
    ))
}

fn dig(a: Vec<Value>) -> Result<Value, FuncError> {
    if a.len() < 3 {
        return Err(FuncError::msg("dig needs at least three arguments"));
    }
    let (keys, rest) = a.split_at(a.len() - 2);
    let (default, dict) = (&rest[0], &rest[1]);
    let mut current = match dict {
        Value::Map(m) => m.clone(),
        other => return Err(interface_conversion(other, "map[string]interface {}")),
    };
    let keys: Vec<&str> = keys
        .iter()
        .map(|k| k.as_str().ok_or_else(|| interface_conversion(k, "string")))
        .collect::<Result<_, _>>()?;
    for (i, key) in keys.iter().enumerate() {
        let Some(step) = current.borrow().get(*key).cloned() else {
            return Ok(default.clone());
        };
        if i + 1 == keys.len() {
            return Ok(step);
        }
        current = match step {
            Value::Map(m) => m,
            other => return Err(interface_conversion(&other, "map[string]interface {}")),
        };
    }
    Ok(default.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn merge_writes_into_its_first_argument() {
        let nested = map(&[("x", Value::Float(1.0))]);
        let dst = map(&[
            ("a", Value::from("")),
            ("keep", Value::from("dst")),
            ("n", nested),
        ]);
        let src = map(&[
            ("a", Value::from("filled")),
            ("keep", Value::from("src")),
            (
                "n",
                map(&[("x", Value::Float(2.0)), ("y", Value::Bool(true))]),
            ),
            ("z", Value::Nil),
        ]);
        let out = merge(vec![dst.clone(), src.clone()], false);
        assert_eq!(dst.format_v(), "map[a:filled keep:dst n:map[x:1 y:true]]");
        assert!(Rc::ptr_eq(out.as_map().unwrap(), dst.as_map().unwrap()));
        merge(vec![dst.clone(), src], true);
        assert_eq!(
            dst.format_v(),
            "map[a:filled keep:src n:map[x:2 y:true] z:<nil>]"
        );
    }

    #[test]
    fn dig_walks_nested_maps() {
        let d = map(&[("a", map(&[("b", Value::from("found"))]))]);
        let found = dig(vec!["a".into(), "b".into(), "dflt".into(), d.clone()]).unwrap();
        assert_eq!(found.format_v(), "found");
        let missing = dig(vec!["a".into(), "c".into(), "dflt".into(), d]).unwrap();
        assert_eq!(missing.format_v(), "dflt");
    }
}
