//! Helm's coalescing of chart defaults with user values (`chartutil.CoalesceValues` and
//! `MergeValues`).
//!
//! The rules users see: maps merge, anything else replaces; a user `null` deletes a chart
//! default (also nested) but stays when there is no default; `null`s in chart defaults are
//! dropped except inside lists; each subchart's values live under its name in the parent's,
//! get the parent's `global` merged into their own, and always have a `global` map.
//!
//! Maps are shared by reference as in Go, and the algorithm writes into the maps it is given
//! in the same places Helm's does, so which maps end up shared (the parent's `.Values.sub` is
//! the subchart's `.Values`) is Helm's.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::new_map;
use crate::chart::Chart;
use crate::value::{Map, Value};

/// The key of values shared with every subchart.
pub const GLOBAL_KEY: &str = "global";

/// Values that cannot be coalesced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoalesceError {
    /// The parent's values for a subchart are not a map (`%t` of the value, as Helm prints it).
    #[error("type mismatch on {name}: {shown}")]
    TypeMismatch { name: String, shown: String },
}

/// `CoalesceValues`: the chart's defaults (and its subcharts') under a copy of `user`.
pub fn coalesce_values(chart: &Chart, user: &Value) -> Result<Value, CoalesceError> {
    run(chart, user, false)
}

/// `MergeValues`: like [`coalesce_values`] but every `null` is kept.
pub fn merge_values(chart: &Chart, user: &Value) -> Result<Value, CoalesceError> {
    run(chart, user, true)
}

fn run(chart: &Chart, user: &Value, merge: bool) -> Result<Value, CoalesceError> {
    let dest = match user.deep_clone() {
        Value::Map(m) => m,
        _ => new_map(),
    };
    coalesce(chart, &dest, "", merge)?;
    Ok(Value::Map(dest))
}

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn coalesce(chart: &Chart, dest: &Map, prefix: &str, merge: bool) -> Result<(), CoalesceError> {
    coalesce_chart_values(chart, dest, prefix, merge);
    coalesce_dependencies(chart, dest, prefix, merge)
}

fn coalesce_dependencies(
    chart: &Chart,
    dest: &Map,
    prefix: &str,
    merge: bool,
) -> Result<(), CoalesceError> {
    for sub in &chart.dependencies {
        let existing = dest.borrow().get(sub.name()).cloned();
        let sub_map = match existing {
            None => {
                let m = new_map();
                let entry = Value::Map(m.clone());
                dest.borrow_mut().insert(sub.name().to_string(), entry);
                m
            }
            Some(Value::Map(m)) => m,
            Some(other) => {
                return Err(CoalesceError::TypeMismatch {
                    name: sub.name().to_string(),
                    shown: go_percent_t(&other),
                })
            }
        };
        let sub_prefix = concat_prefix(prefix, chart.name());
        coalesce_globals(&sub_map, dest, &sub_prefix);
        coalesce(sub, &sub_map, &sub_prefix, merge)?;
    }
    Ok(())
}

/// Merges the globals of `src` (the parent's values) into those of `dest` (a subchart's).
fn coalesce_globals(dest: &Map, src: &Map, prefix: &str) {
    let globals = |values: &Map| -> Option<Map> {
        match values.borrow().get(GLOBAL_KEY) {
            None => Some(new_map()),
            Some(Value::Map(m)) => Some(m.clone()),
            // Helm warns and leaves globals alone.
            Some(_) => None,
        }
    };
    let (Some(dg), Some(sg)) = (globals(dest), globals(src)) else {
        return;
    };
    let src_entries: Vec<(String, Value)> = sg
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in src_entries {
        let existing = dg.borrow().get(&key).cloned();
        match &val {
            Value::Map(table) => {
                let copy = Rc::new(RefCell::new(table.borrow().clone()));
                match existing {
                    None => {
                        dg.borrow_mut().insert(key, Value::Map(copy));
                    }
                    Some(Value::Map(dest_table)) => {
                        // Parent globals win; the subchart's own fill in what they lack.
                        coalesce_tables(&copy, &dest_table, &concat_prefix(prefix, &key), true);
                        dg.borrow_mut().insert(key, Value::Map(copy));
                    }
                    Some(_) => {}
                }
            }
            _ => {
                if !matches!(existing, Some(Value::Map(_))) {
                    dg.borrow_mut().insert(key, val);
                }
            }
        }
    }
    dest.borrow_mut()
        .insert(GLOBAL_KEY.to_string(), Value::Map(dg));
}

/// Fills `v` (user values at this chart's level) from a copy of the chart's defaults.
fn coalesce_chart_values(chart: &Chart, v: &Map, prefix: &str, merge: bool) {
    let sub_prefix = concat_prefix(prefix, chart.name());
    let defaults = chart.values.deep_clone();
    let Some(defaults) = defaults.as_map() else {
        return;
    };
    let entries: Vec<(String, Value)> = defaults
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, default) in entries {
        let user = v.borrow().get(&key).cloned();
        match user {
            Some(Value::Nil) if !merge => {
                v.borrow_mut().remove(&key);
            }
            Some(Value::Map(dest)) => {
                if let Value::Map(src) = &default {
                    let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                    if !merge {
                        clean_nil_values(src);
                    }
                    coalesce_tables(&dest, src, &concat_prefix(&sub_prefix, &key), merge);
                }
            }
            Some(_) => {}
            None => {
                if !merge {
                    if default.is_nil() {
                        continue;
                    }
                    if let Value::Map(m) = &default {
                        clean_nil_values(m);
                    }
                }
                v.borrow_mut().insert(key, default);
            }
        }
    }
}

/// `CoalesceTables` (merge false) / `MergeTables` (merge true): `src` fills in `dst`, which
/// wins. Both maps may be written to, as in Helm.
pub fn coalesce_tables(dst: &Map, src: &Map, prefix: &str, merge: bool) {
    let src_non_nil: Vec<String> = src
        .borrow()
        .iter()
        .filter(|(_, v)| !v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    let dst_nils: Vec<String> = dst
        .borrow()
        .iter()
        .filter(|(_, v)| v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    for key in dst_nils {
        src.borrow_mut().insert(key, Value::Nil);
    }
    let src_entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in src_entries {
        let dv = dst.borrow().get(&key).cloned();
        match dv {
            Some(Value::Nil) if !merge && src_non_nil.contains(&key) => {
                dst.borrow_mut().remove(&key);
            }
            None => {
                dst.borrow_mut().insert(key, val);
            }
            Some(Value::Map(dt)) => {
                if let Value::Map(st) = &val {
                    coalesce_tables(&dt, st, &concat_prefix(prefix, &key), merge);
                }
            }
            Some(_) => {}
        }
    }
}

/// Removes `null`s from a map and the maps inside it (not inside lists).
fn clean_nil_values(m: &Map) {
    m.borrow_mut().retain(|_, v| !v.is_nil());
    let children: Vec<Value> = m.borrow().values().cloned().collect();
    for c in children {
        if let Value::Map(inner) = &c {
            clean_nil_values(inner);
        }
    }
}

/// A copy of `v` without `null`s in maps, recursively (Helm's `trimNilValues`).
pub fn trim_nil_values(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::map(
            m.borrow()
                .iter()
                .filter(|(_, v)| !v.is_nil())
                .map(|(k, v)| (k.clone(), trim_nil_values(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
        other => other.deep_clone(),
    }
}

/// Go's `fmt` `%t` of a value: booleans print, everything else is a bad verb.
pub fn go_percent_t(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Nil => "%!t(<nil>)".into(),
        Value::List(l) => {
            let items: Vec<String> = l.items.iter().map(go_percent_t).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Map(m) => {
            let items: Vec<String> = m
                .borrow()
                .iter()
                .map(|(k, v)| format!("%!t(string={k}):{}", go_percent_t(v)))
                .collect();
            format!("map[{}]", items.join(" "))
        }
        other => format!("%!t({}={})", other.type_name(), other.format_v()),
    }
}

/// A table inside `values` by a dotted path (`Values.Table`): every step must be a map.
pub fn table(values: &Value, path: &str) -> Option<Map> {
    let mut cur = values.as_map()?.clone();
    for part in path.split('.') {
        let next = cur.borrow().get(part)?.as_map()?.clone();
        cur = next;
    }
    Some(cur)
}

/// `Values.PathValue`: the value at a dotted path, which must exist and not be a map.
pub fn path_value(values: &Value, path: &str) -> Option<Value> {
    if path.is_empty() {
        return None;
    }
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (table(values, p)?, k),
        None => (values.as_map()?.clone(), path),
    };
    let v = parent.borrow().get(key).cloned()?;
    (!matches!(v, Value::Map(_))).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::yaml::load_values;

    fn chart(files: &[(&str, &str)]) -> Chart {
        crate::chart::test_chart(files)
    }

    #[test]
    fn user_nulls_delete_defaults() {
        // Helm v4.2.3's result for these values (corpus case 122).
        let c = chart(&[
            ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
            (
                "values.yaml",
                "keepMe: kept\ndropMe: default\nnested:\n  keep: k\n  drop: d\n  deeper:\n    drop: dd\n    keep: kk\nwholeMap:\n  a: 1\n",
            ),
        ]);
        let user = load_values(
            b"dropMe: null\nnested:\n  drop: null\n  deeper:\n    drop: ~\nwholeMap: null\n",
        )
        .unwrap();
        let v = coalesce_values(&c, &user).unwrap();
        assert_eq!(
            v.format_v(),
            "map[keepMe:kept nested:map[deeper:map[keep:kk] keep:k]]"
        );
        assert!(
            user.format_v().contains("dropMe:<nil>"),
            "the user's values are not changed"
        );
    }

    #[test]
    fn subcharts_get_globals_and_a_type_mismatch_is_helms_error() {
        let c = chart(&[
            ("Chart.yaml", "apiVersion: v2\nname: p\nversion: 0.1.0\n"),
            ("values.yaml", "global: {region: us}\n"),
            (
                "charts/sub/Chart.yaml",
                "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
            ),
            (
                "charts/sub/values.yaml",
                "global: {region: eu, own: x}\nport: 1\n",
            ),
        ]);
        let v = coalesce_values(&c, &Value::empty_map()).unwrap();
        assert_eq!(
            v.format_v(),
            "map[global:map[region:us] sub:map[global:map[own:x region:us] port:1]]"
        );
        let bad = load_values(b"sub: 5\n").unwrap();
        assert_eq!(
            coalesce_values(&c, &bad).unwrap_err().to_string(),
            "type mismatch on sub: %!t(float64=5)"
        );
    }
}
