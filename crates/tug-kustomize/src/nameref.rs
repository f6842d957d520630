//! Name-reference fix-ups, run once after the whole tree is accumulated and hashed: a field
//! that names another object of the build (a Deployment's `configMapRef`, a RoleBinding's
//! `subjects`, an Ingress backend's service) follows that object's renames.
//!
//! The candidate rules follow kustomize's `nameref` filter exactly, because which object a
//! reference resolves to decides the output: only objects that were renamed (have previous
//! ids) can be referral targets; they are sieved by previous name, by the target kind, by a
//! `roleRef`'s kind, by namespace, then by matching prefix/suffix history.

use crate::build::Config;
use crate::error::{msg, Result};
use crate::fieldspec::FieldSpec;
use crate::resource::{Gvk, ResId, Resource};
use crate::yaml::Value;
use std::collections::HashMap;

/// What the sieve needs to know about a possible referral target, captured once so that
/// referrers can be edited while the candidates are consulted.
struct Target {
    prev_ids: Vec<ResId>,
    cur: ResId,
    org_ns: String,
    kind: String,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

/// kustomize's `EffectiveNamespace`: cluster-scoped objects have none, "" means "default".
fn effective_ns(id: &ResId) -> &str {
    if id.gvk.is_cluster_scoped() {
        "_non_namespaceable_"
    } else if id.namespace.is_empty() {
        "default"
    } else {
        &id.namespace
    }
}

/// Rewrites references to follow renamed resources.
pub fn fix_name_references(res: &mut [Resource], config: &Config) -> Result<()> {
    let targets: Vec<Target> = res
        .iter()
        .map(|r| {
            let org = r.org_id();
            Target {
                prev_ids: r.prev_ids.clone(),
                cur: r.cur_id(),
                org_ns: effective_ns(&org).to_string(),
                kind: r.kind(),
                prefixes: r.prefixes.clone(),
                suffixes: r.suffixes.clone(),
            }
        })
        .collect();
    // Only renamed objects can be referral targets; without any, nothing can change.
    if targets.iter().all(|t| t.prev_ids.is_empty()) {
        return Ok(());
    }
    // Targets by every name they have had: a reference names a previous name.
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, t) in targets.iter().enumerate() {
        for id in &t.prev_ids {
            let v = by_name.entry(id.name.as_str()).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        }
    }
    for r in res.iter_mut() {
        let org_gvk = r.org_id().gvk;
        let specs: Vec<(&FieldSpec, &Gvk)> = config
            .name_refs
            .iter()
            .flat_map(|nr| {
                nr.referrers
                    .iter()
                    .filter(|f| org_gvk.is_selected_by(&f.gvk))
                    .map(move |f| (f, &nr.target))
            })
            .collect();
        if specs.is_empty() {
            continue;
        }
        let scope = could_be_referenced(r);
        let referrer = Referrer {
            id: r.cur_id(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        };
        for (spec, target_gvk) in specs {
            let role_ref = role_ref_gvk(spec, r);
            let sieve = Sieve {
                referrer: &referrer,
                target: target_gvk,
                role_ref: role_ref.as_ref(),
                targets: &targets,
                by_name: &by_name,
            };
            let mut err = None;
            spec.apply(&mut r.obj, None, &mut |v| {
                if let Err(e) = set_node(v, &sieve, &scope) {
                    err.get_or_insert(e);
                }
                Ok(())
            })?;
            if let Some(e) = err {
                return Err(msg(format!(
                    "updating name reference in '{}' field of '{}': {e}",
                    spec.path.join("/"),
                    referrer.id.display()
                )));
            }
        }
    }
    Ok(())
}

struct Referrer {
    id: ResId,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

struct Sieve<'a> {
    referrer: &'a Referrer,
    target: &'a Gvk,
    role_ref: Option<&'a Gvk>,
    targets: &'a [Target],
    by_name: &'a HashMap<&'a str, Vec<usize>>,
}

/// A `roleRef/name` reference only resolves to the kind its `roleRef` names.
fn role_ref_gvk(spec: &FieldSpec, r: &Resource) -> Option<Gvk> {
    let n = spec.path.len();
    if n < 2 || spec.path[n - 1] != "name" || spec.path[n - 2] != "roleRef" {
        return None;
    }
    let m = r.obj.get_path(&["roleRef"])?.as_map()?;
    Some(Gvk {
        group: m.get("apiGroup")?.scalar_text()?,
        version: String::new(),
        kind: m.get("kind")?.scalar_text()?,
    })
}

/// kustomize's `SubsetThatCouldBeReferencedByResource`: same namespace, cluster-scoped, or a
/// namespace a RoleBinding's ServiceAccount subjects name. Checked per target on demand.
struct Scope {
    referrer: ResId,
    sa_namespaces: Vec<String>,
}

impl Scope {
    fn admits(&self, t: &Target) -> bool {
        self.referrer.gvk.is_cluster_scoped()
            || t.cur.gvk.is_cluster_scoped()
            || t.cur.ns_equals(&self.referrer)
            || self.sa_namespaces.contains(&t.cur.namespace)
    }
}

fn could_be_referenced(referrer: &Resource) -> Scope {
    let rid = referrer.cur_id();
    let mut sa_namespaces: Vec<String> = Vec::new();
    if rid.gvk.kind == "RoleBinding" {
        if let Some(Value::Seq(subjects)) = referrer.obj.get_path(&["subjects"]) {
            for s in subjects.iter().filter_map(Value::as_map) {
                if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount") {
                    if let Some(ns) = s.get("namespace").and_then(Value::scalar_text) {
                        sa_namespaces.push(ns);
                    }
                }
            }
        }
    }
    Scope {
        referrer: rid,
        sa_namespaces,
    }
}

fn set_node(v: &mut Value, s: &Sieve, cands: &Scope) -> Result<()> {
    match v {
        Value::Null => Ok(()),
        Value::Map(_) => set_mapping(v, s, cands),
        Value::Seq(items) => {
            for it in items.iter_mut() {
                match it {
                    Value::Map(_) => set_mapping(it, s, cands)?,
                    Value::Seq(_) | Value::Null => {}
                    _ => set_scalar(it, s, cands)?,
                }
            }
            Ok(())
        }
        _ => set_scalar(v, s, cands),
    }
}

fn set_scalar(v: &mut Value, s: &Sieve, cands: &Scope) -> Result<()> {
    let Some(old) = v.scalar_text() else {
        return Ok(());
    };
    let Some(t) = select(s, &old, cands, None, false)? else {
        return Ok(());
    };
    if t.cur.name != old {
        *v = Value::Str(t.cur.name.clone());
    }
    Ok(())
}

/// A reference held as a map with `name` (and maybe `namespace`): both come from the target.
fn set_mapping(v: &mut Value, s: &Sieve, cands: &Scope) -> Result<()> {
    let Value::Map(m) = v else { return Ok(()) };
    let Some(old) = m.get("name").and_then(Value::scalar_text) else {
        return Err(msg("path config error; no 'name' field in node"));
    };
    // With a namespace field, only candidates originally (else currently) in it count.
    let by_ns: Option<Vec<usize>> = m.get("namespace").map(|nsv| {
        let ns = nsv.scalar_text().unwrap_or_default();
        let in_scope = (0..s.targets.len()).filter(|&i| cands.admits(&s.targets[i]));
        let org: Vec<usize> = in_scope
            .clone()
            .filter(|&i| s.targets[i].org_ns == ns)
            .collect();
        if org.is_empty() {
            in_scope
                .filter(|&i| {
                    let c = &s.targets[i].cur;
                    !c.gvk.is_cluster_scoped() && effective_ns(c) == ns
                })
                .collect()
        } else {
            org
        }
    });
    let Some(t) = select(s, &old, cands, by_ns.as_deref(), true)? else {
        return Ok(());
    };
    if t.cur.name == old && t.cur.namespace.is_empty() {
        return Ok(());
    }
    m.insert("name", Value::Str(t.cur.name.clone()));
    // An empty namespace is a wildcard here and must not replace "default".
    if !t.cur.namespace.is_empty() {
        m.insert("namespace", Value::Str(t.cur.namespace.clone()));
    }
    Ok(())
}

fn prefix_suffix_equals(t: &Target, r: &Referrer, allow_empty: bool) -> bool {
    fn same_ending(a: &[String], b: &[String]) -> bool {
        let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        long.ends_with(short)
    }
    if allow_empty {
        let pe = t.prefixes.is_empty() || r.prefixes.is_empty();
        let se = t.suffixes.is_empty() || r.suffixes.is_empty();
        (pe || same_ending(&t.prefixes, &r.prefixes))
            && (se || same_ending(&t.suffixes, &r.suffixes))
    } else {
        same_ending(&t.prefixes, &r.prefixes) && same_ending(&t.suffixes, &r.suffixes)
    }
}

/// kustomize's `selectReferral`.
fn select<'a>(
    s: &Sieve<'a>,
    old: &str,
    scope: &Scope,
    restrict: Option<&[usize]>,
    with_ns: bool,
) -> Result<Option<&'a Target>> {
    let rid = &s.referrer.id;
    let Some(named) = s.by_name.get(old) else {
        return Ok(None);
    };
    let mut c: Vec<&Target> = named
        .iter()
        .filter(|&&i| restrict.is_none_or(|r| r.binary_search(&i).is_ok()))
        .map(|&i| &s.targets[i])
        .filter(|t| scope.admits(t))
        .filter(|t| prev_selected_by(t, s.target))
        .filter(|t| s.role_ref.is_none_or(|g| prev_selected_by(t, g)))
        .filter(|t| {
            rid.gvk.is_cluster_scoped()
                || t.cur.gvk.is_cluster_scoped()
                || t.kind == "ServiceAccount"
                || rid.ns_equals(&t.cur)
        })
        .collect();
    if c.len() == 1 {
        return Ok(Some(c[0]));
    }
    c.retain(|t| prefix_suffix_equals(t, s.referrer, true));
    if c.len() > 1 {
        c.retain(|t| prefix_suffix_equals(t, s.referrer, false));
    }
    match c.len() {
        0 => return Ok(None),
        1 => return Ok(Some(c[0])),
        _ => {}
    }
    let first = c[0];
    let identical = c.iter().all(|t| {
        t.cur.name == first.cur.name && (!with_ns || t.cur.namespace == first.cur.namespace)
    });
    if identical {
        return Ok(Some(first));
    }
    let ids: Vec<String> = c.iter().map(|t| t.cur.display()).collect();
    Err(msg(format!(
        "found multiple possible referrals: {}",
        ids.join(", ")
    )))
}

/// kustomize checks previous ids with the current group/version and the previous kind.
fn prev_selected_by(t: &Target, sel: &Gvk) -> bool {
    t.prev_ids.iter().any(|id| {
        let g = Gvk {
            group: t.cur.gvk.group.clone(),
            version: t.cur.gvk.version.clone(),
            kind: id.gvk.kind.clone(),
        };
        g.is_selected_by(sel)
    })
}
