//! The assertions of each value type and the combining keywords (`allOf`, `anyOf`, `oneOf`,
//! `not`, `if`), in the order Helm's validator applies them.

use std::collections::BTreeMap;

use serde_json::Value as J;

use super::number::{format_english, is_multiple_of};
use super::validate::{values_equal, Failure, Kind, Validator};
use crate::value::Value;
use crate::values::quote::quote;

impl Validator {
    fn count(s: &serde_json::Map<String, J>, key: &str) -> Option<usize> {
        s.get(key).and_then(J::as_f64).map(|f| f.max(0.0) as usize)
    }

    pub(super) fn object(
        &self,
        s: &serde_json::Map<String, J>,
        obj: &BTreeMap<String, Value>,
        loc: &mut Vec<String>,
        depth: &mut usize,
        errors: &mut Vec<Failure>,
    ) {
        if let Some(min) = Self::count(s, "minProperties") {
            if obj.len() < min {
                errors.push(Self::fail(
                    loc,
                    format!("minProperties: got {}, want {min}", obj.len()),
                ));
            }
        }
        if let Some(max) = Self::count(s, "maxProperties") {
            if obj.len() > max {
                errors.push(Self::fail(
                    loc,
                    format!("maxProperties: got {}, want {max}", obj.len()),
                ));
            }
        }
        let missing = |names: &J| -> Vec<String> {
            names
                .as_array()
                .map(|a| a.iter().filter_map(J::as_str))
                .into_iter()
                .flatten()
                .filter(|n| !obj.contains_key(*n))
                .map(str::to_string)
                .collect()
        };
        if let Some(req) = s.get("required") {
            let m = missing(req);
            if m.len() == 1 {
                errors.push(Self::fail(
                    loc,
                    format!("missing property {}", quote(&m[0])),
                ));
            } else if !m.is_empty() {
                let q: Vec<String> = m.iter().map(|n| quote(n)).collect();
                errors.push(Self::fail(
                    loc,
                    format!("missing properties {}", q.join(", ")),
                ));
            }
        }
        let dependents =
            |key: &str, errors: &mut Vec<Failure>, loc: &mut Vec<String>, depth: &mut usize| {
                if let Some(J::Object(deps)) = s.get(key) {
                    for (name, dep) in deps {
                        if !obj.contains_key(name) {
                            continue;
                        }
                        match dep {
                            J::Array(_) => {
                                let m = missing(dep);
                                if !m.is_empty() {
                                    let q: Vec<String> = m.iter().map(|n| quote(n)).collect();
                                    errors.push(Self::fail(
                                        loc,
                                        format!(
                                            "properties {} required, if {} exists",
                                            q.join(", "),
                                            quote(name)
                                        ),
                                    ));
                                }
                            }
                            schema => {
                                if let Err(f) =
                                    self.node(schema, &Value::map(obj.clone()), loc, depth)
                                {
                                    errors.push(f);
                                }
                            }
                        }
                    }
                }
            };
        if self.draft < 2019 {
            dependents("dependencies", errors, loc, depth);
        }
        let properties = s.get("properties").and_then(J::as_object);
        let patterns: Vec<(regex::Regex, &J)> = s
            .get("patternProperties")
            .and_then(J::as_object)
            .map(|p| {
                p.iter()
                    .filter_map(|(re, sch)| regex::Regex::new(re).ok().map(|r| (r, sch)))
                    .collect()
            })
            .unwrap_or_default();
        let mut additional = Vec::new();
        for (name, value) in obj {
            let mut evaluated = false;
            if let Some(sch) = properties.and_then(|p| p.get(name)) {
                evaluated = true;
                errors.extend(self.child(sch, value, loc, name.clone(), depth));
            }
            for (re, sch) in &patterns {
                if re.is_match(name) {
                    evaluated = true;
                    errors.extend(self.child(sch, value, loc, name.clone(), depth));
                }
            }
            if !evaluated {
                match s.get("additionalProperties") {
                    Some(J::Bool(false)) => additional.push(name.clone()),
                    Some(sch @ J::Object(_)) => {
                        errors.extend(self.child(sch, value, loc, name.clone(), depth))
                    }
                    _ => {}
                }
            }
        }
        if !additional.is_empty() {
            let q: Vec<String> = additional.iter().map(|n| quote(n)).collect();
            errors.push(Self::fail(
                loc,
                format!("additional properties {} not allowed", q.join(", ")),
            ));
        }
        if self.draft == 4 {
            return;
        }
        if let Some(names) = s.get("propertyNames") {
            for name in obj.keys() {
                let mut root = Vec::new();
                if let Err(f) = self.node(names, &Value::from(name.as_str()), &mut root, depth) {
                    errors.push(Failure {
                        location: Vec::new(),
                        kind: Kind::Message(format!("invalid propertyName {}", quote(name))),
                        causes: if f.kind == Kind::Group {
                            f.causes
                        } else {
                            vec![f]
                        },
                    });
                }
            }
        }
        if self.draft < 2019 {
            return;
        }
        dependents("dependentSchemas", errors, loc, depth);
        dependents("dependentRequired", errors, loc, depth);
    }

    pub(super) fn array(
        &self,
        s: &serde_json::Map<String, J>,
        arr: &[Value],
        loc: &mut Vec<String>,
        depth: &mut usize,
        errors: &mut Vec<Failure>,
    ) {
        if let Some(min) = Self::count(s, "minItems") {
            if arr.len() < min {
                errors.push(Self::fail(
                    loc,
                    format!("minItems: got {}, want {min}", arr.len()),
                ));
            }
        }
        if let Some(max) = Self::count(s, "maxItems") {
            if arr.len() > max {
                errors.push(Self::fail(
                    loc,
                    format!("maxItems: got {}, want {max}", arr.len()),
                ));
            }
        }
        if s.get("uniqueItems") == Some(&J::Bool(true)) {
            'outer: for i in 1..arr.len() {
                for j in 0..i {
                    if values_equal(&arr[i], &arr[j]) {
                        errors.push(Self::fail(loc, format!("items at {j} and {i} are equal")));
                        break 'outer;
                    }
                }
            }
        }
        // Later items are validated at their index counted from the first unevaluated item,
        // as Helm's validator does.
        let rest = |sch: &J,
                    from: usize,
                    errors: &mut Vec<Failure>,
                    loc: &mut Vec<String>,
                    depth: &mut usize| {
            for (i, item) in arr[from..].iter().enumerate() {
                errors.extend(self.child(sch, item, loc, i.to_string(), depth));
            }
        };
        if self.draft < 2020 {
            let mut evaluated = 0;
            match s.get("items") {
                Some(J::Array(schemas)) => {
                    evaluated = schemas.len().min(arr.len());
                    for (i, item) in arr[..evaluated].iter().enumerate() {
                        errors.extend(self.child(&schemas[i], item, loc, i.to_string(), depth));
                    }
                }
                Some(sch) => {
                    rest(sch, 0, errors, loc, depth);
                    evaluated = arr.len();
                }
                None => {}
            }
            match s.get("additionalItems") {
                Some(J::Bool(false)) if evaluated != arr.len() => errors.push(Self::fail(
                    loc,
                    format!(
                        "last {} additionalItem(s) not allowed",
                        arr.len() - evaluated
                    ),
                )),
                Some(sch @ J::Object(_)) => rest(sch, evaluated, errors, loc, depth),
                _ => {}
            }
        } else {
            let prefix = s.get("prefixItems").and_then(J::as_array);
            let evaluated = prefix.map_or(0, |p| p.len().min(arr.len()));
            for (i, item) in arr[..evaluated].iter().enumerate() {
                let sch = &prefix.expect("evaluated > 0 only with prefixItems")[i];
                errors.extend(self.child(sch, item, loc, i.to_string(), depth));
            }
            if let Some(sch) = s.get("items") {
                rest(sch, evaluated, errors, loc, depth);
            }
        }
        if let Some(contains) = s.get("contains") {
            let mut failures = Vec::new();
            let mut matched = Vec::new();
            for (i, item) in arr.iter().enumerate() {
                match self.child(contains, item, loc, i.to_string(), depth) {
                    Some(f) => failures.push(f),
                    None => matched.push(i),
                }
            }
            let list = |m: &[usize]| m.iter().map(usize::to_string).collect::<Vec<_>>().join(" ");
            if let Some(min) = Self::count(s, "minContains").filter(|_| self.draft >= 2019) {
                if matched.len() < min {
                    let msg = if matched.is_empty() {
                        format!(
                            "min {min} items required to match contains schema, but none matched"
                        )
                    } else {
                        format!(
                            "min {min} items required to match contains schema, but matched {} items at {}",
                            matched.len(),
                            list(&matched)
                        )
                    };
                    errors.push(Failure {
                        location: loc.clone(),
                        kind: Kind::Message(msg),
                        causes: failures,
                    });
                }
            } else if matched.is_empty() {
                errors.push(Failure {
                    location: loc.clone(),
                    kind: Kind::Message("no items match contains schema".into()),
                    causes: failures,
                });
            }
            if let Some(max) = Self::count(s, "maxContains").filter(|_| self.draft >= 2019) {
                if matched.len() > max {
                    errors.push(Self::fail(
                        loc,
                        format!(
                            "max {max} items required to match contains schema, but matched {} items at {}",
                            matched.len(),
                            list(&matched)
                        ),
                    ));
                }
            }
        }
    }

    pub(super) fn string(
        &self,
        s: &serde_json::Map<String, J>,
        text: &str,
        loc: &[String],
        errors: &mut Vec<Failure>,
    ) {
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

    pub(super) fn number(
        &self,
        s: &serde_json::Map<String, J>,
        n: f64,
        loc: &[String],
        errors: &mut Vec<Failure>,
    ) {
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
        s: &serde_json::Map<String, J>,
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
