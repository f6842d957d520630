//! Helm's dependency processing (`chartutil.ProcessDependencies`): which subcharts are
//! enabled (`condition`, `tags`), aliases, and `import-values`.

use std::collections::{BTreeMap, BTreeSet};

use super::coalesce::CoalesceError;
use super::coalesce::{coalesce_tables, coalesce_values, merge_values, path_value, table};
use crate::chart::semver::is_compatible_range;
use crate::chart::Chart;
use crate::value::Value;

/// Dependencies that cannot be processed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DependencyError {
    /// Helm's `CheckDependencies`: declared dependencies with no chart in `charts/`.
    #[error("found in Chart.yaml, but missing in charts/ directory: {}", .0.join(", "))]
    Missing(Vec<String>),
    #[error(transparent)]
    Coalesce(#[from] CoalesceError),
}

/// Helm's `CheckDependencies`, run before installing: every declared dependency must have a
/// chart of that name (aliases are not considered) among the loaded subcharts.
pub fn check_dependencies(chart: &Chart) -> Result<(), DependencyError> {
    let missing: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|d| !chart.dependencies.iter().any(|c| c.name() == d.name))
        .map(|d| d.name.clone())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DependencyError::Missing(missing))
    }
}

/// Helm's `ProcessDependencies`: drops disabled subcharts (recursively), applies aliases and
/// then imports values from children into parents. `values` are the user's values.
pub fn process_dependencies(chart: &mut Chart, values: &Value) -> Result<(), DependencyError> {
    process_enabled(chart, values, "")?;
    process_import_values(chart);
    Ok(())
}

/// The chart a declared dependency refers to, renamed to its alias.
fn alias_dependency(charts: &[Chart], name: &str, version: &str, alias: &str) -> Option<Chart> {
    let found = charts
        .iter()
        .find(|c| c.name() == name && is_compatible_range(version, &c.metadata.version))?;
    let mut out = found.clone();
    if !alias.is_empty() {
        out.metadata.name = alias.to_string();
    }
    Some(out)
}

fn process_enabled(chart: &mut Chart, values: &Value, path: &str) -> Result<(), DependencyError> {
    if chart.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let existing = std::mem::take(&mut chart.dependencies);
    // Subcharts no declaration refers to are kept as they are.
    let mut kept: Vec<Chart> =
        existing
            .iter()
            .filter(|c| {
                !chart.metadata.dependencies.iter().any(|d| {
                    c.name() == d.name && is_compatible_range(&d.version, &c.metadata.version)
                })
            })
            .cloned()
            .collect();
    for dep in &mut chart.metadata.dependencies {
        if let Some(c) = alias_dependency(&existing, &dep.name, &dep.version, &dep.alias) {
            kept.push(c);
        }
        if !dep.alias.is_empty() {
            dep.name = dep.alias.clone();
        }
    }
    chart.dependencies = kept;
    for dep in &mut chart.metadata.dependencies {
        dep.enabled = true;
    }
    let cvals = coalesce_values(chart, values)?;
    apply_tags(chart, &cvals);
    apply_conditions(chart, &cvals, path);
    let disabled: BTreeSet<String> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|d| !d.enabled)
        .map(|d| d.name.clone())
        .collect();
    chart.dependencies.retain(|c| !disabled.contains(c.name()));
    chart
        .metadata
        .dependencies
        .retain(|d| !disabled.contains(&d.name));
    for sub in &mut chart.dependencies {
        let sub_path = format!("{path}{}.", sub.name());
        process_enabled(sub, &cvals, &sub_path)?;
    }
    Ok(())
}

/// Tags: a dependency with a true tag is enabled, one with only false tags disabled.
fn apply_tags(chart: &mut Chart, cvals: &Value) {
    let Some(tags) = table(cvals, "tags") else {
        return;
    };
    let tags = tags.borrow();
    for dep in &mut chart.metadata.dependencies {
        let (mut has_true, mut has_false) = (false, false);
        for t in &dep.tags {
            match tags.get(t) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                _ => {}
            }
        }
        dep.enabled = has_true || !has_false;
    }
}

/// Conditions: the first comma-separated path that holds a bool decides; they are read from
/// the top of the values with the chart's path (`parent.sub.`) in front.
fn apply_conditions(chart: &mut Chart, cvals: &Value, path: &str) {
    for dep in &mut chart.metadata.dependencies {
        for cond in dep.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(cvals, &format!("{path}{cond}")) {
                dep.enabled = b;
                break;
            }
        }
    }
}

fn process_import_values(chart: &mut Chart) {
    for sub in &mut chart.dependencies {
        process_import_values(sub);
    }
    import_values(chart);
}

/// Builds `{a: {b: data}}` for the path `a.b`; `.` is the data itself.
fn path_to_map(path: &str, data: Value) -> Value {
    if path == "." {
        return data;
    }
    path.split('.').rev().fold(data, |inner, key| {
        Value::map(BTreeMap::from([(key.to_string(), inner)]))
    })
}

/// Imports values named by `import-values` from the children into this chart's values; the
/// chart's own values win. Afterwards the chart's values hold its subcharts' merged values,
/// and each declaration's `import-values` is rewritten to `{child, parent}` maps.
fn import_values(chart: &mut Chart) {
    if chart.metadata.dependencies.is_empty() {
        return;
    }
    let cvals = match merge_values(chart, &Value::Nil) {
        Ok(v) => v,
        Err(_) => return,
    };
    let b = &super::new_map();
    for dep in &mut chart.metadata.dependencies {
        let mut rewritten = Vec::new();
        for iv in &dep.import_values {
            let (child, parent) = match iv {
                Value::Map(m) => {
                    let m = m.borrow();
                    let show = |k: &str| m.get(k).map_or("<nil>".to_string(), Value::format_v);
                    (show("child"), show("parent"))
                }
                Value::String(s) => (format!("exports.{s}"), ".".to_string()),
                _ => continue,
            };
            rewritten.push(Value::map(BTreeMap::from([
                ("child".to_string(), Value::from(child.as_str())),
                ("parent".to_string(), Value::from(parent.as_str())),
            ])));
            let Some(found) = table(&cvals, &format!("{}.{child}", dep.name)) else {
                continue;
            };
            let src = path_to_map(&parent, Value::Map(found));
            if let Value::Map(src) = &src {
                coalesce_tables(b, src, "", true);
            }
        }
        dep.import_values = rewritten;
    }
    let own = cvals.deep_clone();
    if let Value::Map(own_map) = &own {
        coalesce_tables(own_map, b, "", true);
    }
    chart.values = own;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::yaml::load_values;

    fn chart(files: &[(&str, &str)]) -> Chart {
        crate::chart::test_chart(files)
    }

    const SUB: &str = "apiVersion: v2\nname: worker\nversion: 0.1.0\n";

    #[test]
    fn conditions_tags_and_aliases_pick_the_subcharts() {
        let mut c = chart(&[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: p\nversion: 0.1.0\ndependencies:\n\
                 - {name: worker, version: 0.1.0, alias: a, condition: a.enabled}\n\
                 - {name: worker, version: 0.1.0, alias: b, tags: [t]}\n\
                 - {name: worker, version: 0.1.0, alias: c, condition: 'c.maybe,c.enabled', tags: [t]}\n",
            ),
            (
                "values.yaml",
                "a: {enabled: false}\nc: {maybe: perhaps, enabled: true}\ntags: {t: false}\n",
            ),
            ("charts/worker/Chart.yaml", SUB),
        ]);
        process_dependencies(&mut c, &load_values(b"{}").unwrap()).unwrap();
        let names: Vec<&str> = c.dependencies.iter().map(Chart::name).collect();
        assert_eq!(
            names,
            ["c"],
            "a is off, b's only tag is false, c's condition beats its tag"
        );
    }

    #[test]
    fn missing_dependencies_are_named_as_helm_names_them() {
        let c = chart(&[(
            "Chart.yaml",
            "apiVersion: v2\nname: p\nversion: 0.1.0\ndependencies:\n- {name: db}\n- {name: cache}\n",
        )]);
        assert_eq!(
            check_dependencies(&c).unwrap_err().to_string(),
            "found in Chart.yaml, but missing in charts/ directory: db, cache"
        );
    }

    #[test]
    fn import_values_fill_the_parent_under_its_own_values() {
        let mut c = chart(&[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: p\nversion: 0.1.0\ndependencies:\n\
                 - {name: worker, version: 0.1.0, import-values: [data, {child: cfg, parent: x.y}]}\n",
            ),
            ("values.yaml", "port: 1\n"),
            ("charts/worker/Chart.yaml", SUB),
            ("charts/worker/values.yaml", "exports: {data: {port: 2, proto: tcp}}\ncfg: {k: v}\n"),
        ]);
        process_dependencies(&mut c, &Value::empty_map()).unwrap();
        let v = c.values.format_v();
        assert!(v.starts_with("map[port:1 proto:tcp worker:map["), "{v}");
        assert!(v.ends_with(" x:map[y:map[k:v]]]"), "{v}");
        let rewritten = c.metadata.dependencies[0].import_values.clone();
        assert_eq!(
            Value::list(rewritten).format_v(),
            "[map[child:exports.data parent:.] map[child:cfg parent:x.y]]"
        );
    }
}
