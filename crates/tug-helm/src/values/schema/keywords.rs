//! The assertions of each value type and the combining keywords (`allOf`, `anyOf`, `oneOf`,
//! `not`, `if`), in the order Helm's validator applies them.

use std::collections::BTreeMap;

use serde_json::Value as J;

use super::number::{format_english, is_multiple_of};
use super::validate::{values_equal, Failure, Kind, Validator};
use crate::value::Value;
use crate::values::quote::quote;

/// A schema object.
type Schema = serde_json::Map<String, J>;

/// The names listed in `names` that `obj` lacks, in their order.
fn missing(obj: &BTreeMap<String, Value>, names: &J) -> Vec<String> {
    names
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(J::as_str)
        .filter(|n| !obj.contains_key(*n))
        .map(str::to_string)
        .collect()
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| quote(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A failure's causes when it only groups them, else the failure itself.
fn ungroup(f: Failure) -> Vec<Failure> {
    if f.kind == Kind::Group {
        f.causes
    } else {
        vec![f]
    }
}

impl Validator {
    fn count(s: &Schema, key: &str) -> Option<usize> {
        s.get(key).and_then(J::as_f64).map(|f| f.max(0.0) as usize)
    }

    /// `minProperties`, `maxProperties`, `required`, the dependency keywords, properties
    /// and `propertyNames`, in the validator's order.
    pub(super) fn object(
        &self,
        s: &Schema,
        obj: &BTreeMap<String, Value>,
        loc: &mut Vec<String>,
        depth: &mut usize,
        errors: &mut Vec<Failure>,
    ) {
        let len = obj.len();
        if let Some(min) = Self::count(s, "minProperties").filter(|min| len < *min) {
            errors.push(Self::fail(
                loc,
                format!("minProperties: got {len}, want {min}"),
            ));
        }
        if let Some(max) = Self::count(s, "maxProperties").filter(|max| len > *max) {
            errors.push(Self::fail(
                loc,
                format!("maxProperties: got {len}, want {max}"),
            ));
        }
        if let Some(req) = s.get("required") {
            let m = missing(obj, req);
            if m.len() == 1 {
                errors.push(Self::fail(
                    loc,
                    format!("missing property {}", quote(&m[0])),
                ));
            } else if !m.is_empty() {
                errors.push(Self::fail(
                    loc,
                    format!("missing properties {}", quoted(&m)),
                ));
            }
        }
        if self.draft < 2019 {
            self.dependents(s.get("dependencies"), obj, loc, depth, errors);
        }
        self.properties(s, obj, loc, depth, errors);
        if self.draft == 4 {
            return;
        }
        if let Some(names) = s.get("propertyNames") {
            for name in obj.keys() {
                // The name is validated as a document of its own, at the root.
                let mut root = Vec::new();
                if let Err(f) = self.node(names, &Value::from(name.as_str()), &mut root, depth) {
                    let msg = format!("invalid propertyName {}", quote(name));
                    errors.push(Self::grouped(&[], &msg, ungroup(f)));
                }
            }
        }
        if self.draft < 2019 {
            return;
        }
        self.dependents(s.get("dependentSchemas"), obj, loc, depth, errors);
        self.dependents(s.get("dependentRequired"), obj, loc, depth, errors);
    }

    /// `dependencies`, `dependentSchemas` and `dependentRequired`: when a property is present,
    /// others must be, or the object must meet a schema.
    fn dependents(
        &self,
        deps: Option<&J>,
        obj: &BTreeMap<String, Value>,
        loc: &mut Vec<String>,
        depth: &mut usize,
        errors: &mut Vec<Failure>,
    ) {
        let Some(J::Object(deps)) = deps else {
            return;
        };
        for (name, dep) in deps.iter().filter(|(name, _)| obj.contains_key(*name)) {
            if let J::Array(_) = dep {
                let m = missing(obj, dep);
                if !m.is_empty() {
                    let msg = format!(
                        "properties {} required, if {} exists",
                        quoted(&m),
                        quote(name)
                    );
                    errors.push(Self::fail(loc, msg));
                }
            } else if let Err(f) = self.node(dep, &Value::map(obj.clone()), loc, depth) {
                errors.push(f);
            }
        }
    }

    /// `properties`, `patternProperties` and `additionalProperties`, property by property.
    fn properties(
        &self,
        s: &Schema,
        obj: &BTreeMap<String, Value>,
        loc: &mut Vec<String>,
        depth: &mut usize,
        errors: &mut Vec<Failure>,
    ) {
        let properties = s.get("properties").and_then(J::as_object);
        let patterns: Vec<(regex::Regex, &J)> = s
            .get("patternProperties")
            .and_then(J::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(re, sch)| regex::Regex::new(re).ok().map(|r| (r, sch)))
            .collect();
        let mut additional = Vec::new();
        for (name, value) in obj {
            let mut evaluated = false;
            if let Some(sch) = properties.and_then(|p| p.get(name)) {
                evaluated = true;
                errors.extend(self.child(sch, value, loc, name.clone(), depth));
            }
            for (_, sch) in patterns.iter().filter(|(re, _)| re.is_match(name)) {
                evaluated = true;
                errors.extend(self.child(sch, value, loc, name.clone(), depth));
            }
            match s.get("additionalProperties") {
                _ if evaluated => {}
                Some(J::Bool(false)) => additional.push(name.clone()),
                Some(sch @ J::Object(_)) => {
                    errors.extend(self.child(sch, value, loc, name.clone(), depth))
                }
                _ => {}
            }
        }
        if !additional.is_empty() {
            let msg = format!("additional properties {} not allowed", quoted(&additional));
            errors.push(Self::fail(loc, msg));
        }
    }

    /// `minItems`, `maxItems`, `uniqueItems`, the item keywords of the draft, and `contains`.
    pub(super) fn array(
        &self,
        s: &Schema,
        arr: &[Value],
        loc: &mut Vec<String>,
        depth: &mut usize,
        errors: &mut Vec<Failure>,
    ) {
        let len = arr.len();
        if let Some(min) = Self::count(s, "minItems").filter(|min| len < *min) {
            errors.push(Self::fail(loc, format!("minItems: got {len}, want {min}")));
        }
        if let Some(max) = Self::count(s, "maxItems").filter(|max| len > *max) {
            errors.push(Self::fail(loc, format!("maxItems: got {len}, want {max}")));
        }
        if s.get("uniqueItems") == Some(&J::Bool(true)) {
            let duplicate = (1..len).find_map(|i| {
                (0..i)
                    .find(|&j| values_equal(&arr[i], &arr[j]))
                    .map(|j| (j, i))
            });
            if let Some((j, i)) = duplicate {
                errors.push(Self::fail(loc, format!("items at {j} and {i} are equal")));
            }
        }
        self.items(s, arr, loc, depth, errors);
        if let Some(contains) = s.get("contains") {
            self.contains(s, contains, arr, loc, depth, errors);
        }
    }

    /// `items` and `additionalItems` (before 2020-12) or `prefixItems` and `items`. Items after
    /// the first ones are validated at their index counted from the first unevaluated item,
    /// as Helm's validator does.
    fn items(
        &self,
        s: &Schema,
        arr: &[Value],
        loc: &mut Vec<String>,
        depth: &mut usize,
        errors: &mut Vec<Failure>,
    ) {
        // The schema for the items after the prefix, and whether it is `additionalItems`
        // (whose `false` is reported as one failure rather than per item).
        let (prefix, rest, additional) = if self.draft < 2020 {
            match s.get("items") {
                Some(J::Array(schemas)) => (Some(schemas), s.get("additionalItems"), true),
                Some(sch) => (None, Some(sch), false),
                None => (None, s.get("additionalItems"), true),
            }
        } else {
            (
                s.get("prefixItems").and_then(J::as_array),
                s.get("items"),
                false,
            )
        };
        let evaluated = prefix.map_or(0, |p| p.len().min(arr.len()));
        for (i, (item, sch)) in arr.iter().zip(prefix.into_iter().flatten()).enumerate() {
            errors.extend(self.child(sch, item, loc, i.to_string(), depth));
        }
        match rest {
            // With nothing left over, the arm below validates no items either.
            Some(J::Bool(false)) if additional && evaluated != arr.len() => {
                let msg = format!(
                    "last {} additionalItem(s) not allowed",
                    arr.len() - evaluated
                );
                errors.push(Self::fail(loc, msg));
            }
            Some(sch) => {
                for (i, item) in arr[evaluated..].iter().enumerate() {
                    errors.extend(self.child(sch, item, loc, i.to_string(), depth));
                }
            }
            None => {}
        }
    }

    /// `contains` with `minContains` and `maxContains` (2019-09 on).
    fn contains(
        &self,
        s: &Schema,
        contains: &J,
        arr: &[Value],
        loc: &mut Vec<String>,
        depth: &mut usize,
        errors: &mut Vec<Failure>,
    ) {
        let mut failures = Vec::new();
        let mut matched = Vec::new();
        for (i, item) in arr.iter().enumerate() {
            match self.child(contains, item, loc, i.to_string(), depth) {
                Some(f) => failures.push(f),
                None => matched.push(i),
            }
        }
        let at = matched
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        let n = matched.len();
        if let Some(min) = Self::count(s, "minContains").filter(|_| self.draft >= 2019) {
            if n < min {
                let msg = if n == 0 {
                    format!("min {min} items required to match contains schema, but none matched")
                } else {
                    format!("min {min} items required to match contains schema, but matched {n} items at {at}")
                };
                errors.push(Self::grouped(loc, &msg, failures));
            }
        } else if n == 0 {
            errors.push(Self::grouped(
                loc,
                "no items match contains schema",
                failures,
            ));
        }
        if let Some(max) = Self::count(s, "maxContains").filter(|_| self.draft >= 2019) {
            if n > max {
                let msg = format!("max {max} items required to match contains schema, but matched {n} items at {at}");
                errors.push(Self::fail(loc, msg));
            }
        }
    }

    pub(super) fn string(&self, s: &Schema, text: &str, loc: &[String], errors: &mut Vec<Failure>) {
        let len = text.chars().count();
        if let Some(min) = Self::count(s, "minLength") {
            if len < min {
                errors.push(Self::fail(loc, format!("minLength: got {len}, want {min}")));
            }
        }
        if let Some(max) = Self::count(s, "maxLength") {
            if len > max {
                errors.push(Self::fail(loc, format!("maxLength: got {len}, want {max}")));
            }
        }
        if let Some(J::String(p)) = s.get("pattern") {
            match regex::Regex::new(p) {
                Ok(re) if re.is_match(text) => {}
                Ok(_) => errors.push(Self::fail(
                    loc,
                    format!("{} does not match pattern {}", quote(text), quote(p)),
                )),
                Err(e) => errors.push(Self::fail(
                    loc,
                    format!("invalid pattern {}: {e}", quote(p)),
                )),
            }
        }
    }

    pub(super) fn number(&self, s: &Schema, n: f64, loc: &[String], errors: &mut Vec<Failure>) {
        let get = |k: &str| s.get(k).and_then(J::as_f64);
        let (mut minimum, mut maximum) = (get("minimum"), get("maximum"));
        let (mut ex_min, mut ex_max) = (None, None);
        if self.draft == 4 {
            if s.get("exclusiveMinimum") == Some(&J::Bool(true)) {
                ex_min = minimum.take();
            }
            if s.get("exclusiveMaximum") == Some(&J::Bool(true)) {
                ex_max = maximum.take();
            }
        } else {
            ex_min = get("exclusiveMinimum");
            ex_max = get("exclusiveMaximum");
        }
        let mut check = |name: &str, bound: Option<f64>, bad: fn(f64, f64) -> bool| {
            if let Some(b) = bound {
                if bad(n, b) {
                    errors.push(Self::fail(
                        loc,
                        format!(
                            "{name}: got {}, want {}",
                            format_english(n),
                            format_english(b)
                        ),
                    ));
                }
            }
        };
        check("minimum", minimum, |n, b| n < b);
        check("maximum", maximum, |n, b| n > b);
        check("exclusiveMinimum", ex_min, |n, b| n <= b);
        check("exclusiveMaximum", ex_max, |n, b| n >= b);
        if let Some(m) = get("multipleOf") {
            if !is_multiple_of(n, m) {
                errors.push(Self::fail(
                    loc,
                    format!(
                        "multipleOf: got {}, want {}",
                        format_english(n),
                        format_english(m)
                    ),
                ));
            }
        }
    }

    pub(super) fn conditionals(
        &self,
        s: &Schema,
        v: &Value,
        loc: &mut Vec<String>,
        depth: &mut usize,
        errors: &mut Vec<Failure>,
    ) {
        if let Some(not) = s.get("not") {
            if self.node(not, v, loc, depth).is_ok() {
                errors.push(Self::grouped(loc, "'not' failed", Vec::new()));
            }
        }
        if let Some(J::Array(all)) = s.get("allOf") {
            let failures: Vec<Failure> = all
                .iter()
                .filter_map(|sch| self.node(sch, v, loc, depth).err())
                .collect();
            if !failures.is_empty() {
                errors.push(Self::grouped(loc, "'allOf' failed", failures));
            }
        }
        if let Some(J::Array(any)) = s.get("anyOf") {
            let mut failures = Vec::new();
            let mut matched = false;
            for sch in any {
                match self.node(sch, v, loc, depth) {
                    Ok(()) => {
                        matched = true;
                        break;
                    }
                    Err(f) => failures.push(f),
                }
            }
            if !matched {
                errors.push(Self::grouped(loc, "'anyOf' failed", failures));
            }
        }
        if let Some(J::Array(one)) = s.get("oneOf") {
            let mut failures = Vec::new();
            let mut matched: Option<usize> = None;
            for (i, sch) in one.iter().enumerate() {
                match self.node(sch, v, loc, depth) {
                    Err(f) => {
                        if matched.is_none() {
                            failures.push(f);
                        }
                    }
                    Ok(()) => match matched {
                        None => matched = Some(i),
                        Some(first) => {
                            errors.push(Self::grouped(
                                loc,
                                &format!("'oneOf' failed, subschemas {first}, {i} matched"),
                                Vec::new(),
                            ));
                            break;
                        }
                    },
                }
            }
            if matched.is_none() {
                errors.push(Self::grouped(loc, "'oneOf' failed, none matched", failures));
            }
        }
        if self.draft >= 7 {
            if let Some(cond) = s.get("if") {
                let branch = if self.node(cond, v, loc, depth).is_ok() {
                    "then"
                } else {
                    "else"
                };
                if let Some(sch) = s.get(branch) {
                    errors.extend(self.node(sch, v, loc, depth).err());
                }
            }
        }
    }
}
