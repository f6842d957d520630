//! The built-in transformers, run in kustomize's order: patchesStrategicMerge, patches,
//! namespace, prefix, suffix, labels, annotations, patchesJson6902, replicas, images,
//! replacements; plus the final steps (hash suffixes, name references, sort order).

use crate::build::{Accumulated, Builder, Config, Selector};
use crate::error::{msg, Result};
use crate::fieldspec::FieldSpec;
use crate::kustomization::Kustomization;
use crate::patch;
use crate::resource::{Gvk, Resource};
use crate::yaml::{parse_documents, Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

pub fn run_transformers(
    b: &Builder,
    k: &Kustomization,
    dir: &Path,
    acc: &mut Accumulated,
) -> Result<()> {
    let res = &mut acc.resources;
    // With buildMetadata, each configured transformer is noted on the resources it ran over.
    let tracked = b.origin.as_ref().map(|o| crate::origin::join(o, &k.file));
    let note = |res: &mut [Resource], kind: &str, times: usize| {
        if let Some(file) = &tracked {
            let o = crate::origin::Origin::builtin(file.clone(), kind);
            for _ in 0..times {
                crate::origin::note_transformer(res, &o);
            }
        }
    };
    // patchesStrategicMerge
    for p in k.list("patchesStrategicMerge") {
        let Some(text) = p.as_str() else { continue };
        let body = if text.contains('\n')
            || text.contains(':') && !text.ends_with(".yaml") && !text.ends_with(".yml")
        {
            text.to_string()
        } else {
            b.read_text(dir, text)?.1
        };
        for doc in b
            .parse_yaml(&body)
            .map_err(|e| msg(format!("patch '{text}': {e}")))?
        {
            if doc.is_null() {
                continue;
            }
            apply_smp_by_id(res, &doc, &acc.config)?;
        }
    }
    note(
        res,
        "PatchStrategicMergeTransformer",
        usize::from(!k.list("patchesStrategicMerge").is_empty()),
    );
    // patches
    for p in k.list("patches") {
        let Some(pm) = p.as_map() else { continue };
        let body = match (
            pm.get("patch").and_then(Value::as_str),
            pm.get("path").and_then(Value::as_str),
        ) {
            (Some(t), _) => t.to_string(),
            (None, Some(path)) => b.read_text(dir, path)?.1,
            _ => return Err(msg("patch entry needs 'patch' or 'path'")),
        };
        let target = pm.get("target").map(Selector::from_value);
        let mut docs = b
            .parse_yaml(&body)
            .map_err(|e| msg(format!("patch: {e}")))?;
        let is_json = docs.first().is_some_and(|d| d.as_seq().is_some());
        if is_json {
            docs = b
                .parse_yaml11(&body)
                .map_err(|e| msg(format!("patch: {e}")))?;
        }
        let opts = pm
            .get("options")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        let allow_name = matches!(opts.get("allowNameChange"), Some(Value::Bool(true)));
        let allow_kind = matches!(opts.get("allowKindChange"), Some(Value::Bool(true)));
        if is_json {
            let Some(target) = target else {
                return Err(msg("json patch requires a target"));
            };
            for r in res.iter_mut() {
                if target.matches(r) {
                    patch::apply_json6902(&mut r.obj, &docs[0])?;
                }
            }
            continue;
        }
        for doc in docs {
            if doc.is_null() {
                continue;
            }
            match &target {
                Some(t) => {
                    let mut i = 0;
                    while i < res.len() {
                        if t.matches(&res[i]) {
                            let r = &mut res[i];
                            // kustomize's ApplySmPatch: a patch allowed to rename records the
                            // old id (so references follow); otherwise the target keeps its
                            // name and kind, and always its namespace.
                            let (name, ns, kind) = (r.name(), r.namespace(), r.kind());
                            if allow_name || allow_kind {
                                r.store_prev_id();
                            }
                            let schema = merge_schema(&acc.config, &r.gvk());
                            if !patch::strategic_merge(&mut r.obj, &doc, &schema) {
                                res.remove(i);
                                continue;
                            }
                            if !allow_kind {
                                if let Some(m) = r.obj.as_map_mut() {
                                    m.insert("kind", Value::Str(kind));
                                }
                            }
                            if !allow_name {
                                r.set_name(&name);
                            }
                            if ns.is_empty() {
                                if let Some(m) = r
                                    .obj
                                    .get_path_mut(&["metadata"])
                                    .and_then(Value::as_map_mut)
                                {
                                    m.remove("namespace");
                                }
                            } else {
                                r.set_namespace(&ns);
                            }
                        }
                        i += 1;
                    }
                }
                None => apply_smp_by_id(res, &doc, &acc.config)?,
            }
        }
    }
    note(res, "PatchTransformer", k.list("patches").len());
    // namespace
    let ns = k.str_field("namespace");
    if !ns.is_empty() {
        for r in res.iter_mut() {
            set_namespace(r, &ns, &acc.config.namespace)?;
        }
        note(res, "NamespaceTransformer", 1);
    }
    // prefix / suffix
    let prefix = k.str_field("namePrefix");
    let suffix = k.str_field("nameSuffix");
    if !prefix.is_empty() {
        add_affix(res, &prefix, true, &acc.config.name_prefix)?;
        note(res, "PrefixTransformer", 1);
    }
    if !suffix.is_empty() {
        add_affix(res, &suffix, false, &acc.config.name_suffix)?;
        note(res, "SuffixTransformer", 1);
    }
    // labels
    for l in k.list("labels") {
        let Some(lm) = l.as_map() else { continue };
        let pairs: Vec<(String, String)> = lm
            .get("pairs")
            .and_then(Value::as_map)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let mut specs: Vec<FieldSpec> = match lm.get("fields") {
            Some(Value::Seq(s)) => s.iter().filter_map(FieldSpec::from_value).collect(),
            _ => Vec::new(),
        };
        if matches!(lm.get("includeSelectors"), Some(Value::Bool(true))) {
            specs.extend(acc.config.common_labels.clone());
        } else {
            if matches!(lm.get("includeTemplates"), Some(Value::Bool(true))) {
                specs.extend(acc.config.template_labels.clone());
            }
            specs.push(FieldSpec::new("", "", "", "metadata/labels", true));
        }
        apply_map_pairs(res, &pairs, &specs)?;
    }
    let common = k.string_map("commonLabels");
    if !common.is_empty() {
        apply_map_pairs(res, &common, &acc.config.common_labels)?;
    }
    // kustomize configures one label transformer per `labels` entry plus one for
    // `commonLabels`, even an empty one, whenever either field is set.
    let label_entries = k.list("labels").len();
    if label_entries > 0 || !common.is_empty() {
        note(res, "LabelTransformer", label_entries + 1);
    }
    let ann = k.string_map("commonAnnotations");
    if !ann.is_empty() {
        apply_map_pairs(res, &ann, &acc.config.common_annotations)?;
        note(res, "AnnotationsTransformer", 1);
    }
    // patchesJson6902
    for p in k.list("patchesJson6902") {
        let Some(pm) = p.as_map() else { continue };
        let body = match (
            pm.get("patch").and_then(Value::as_str),
            pm.get("path").and_then(Value::as_str),
        ) {
            (Some(t), _) => t.to_string(),
            (None, Some(path)) => b.read_text(dir, path)?.1,
            _ => return Err(msg("patchesJson6902 entry needs 'patch' or 'path'")),
        };
        let ops = b
            .parse_yaml11(&body)
            .map_err(|e| msg(format!("json patch: {e}")))?;
        let ops = ops.into_iter().next().unwrap_or(Value::Null);
        let target = pm
            .get("target")
            .map(Selector::from_value)
            .ok_or_else(|| msg("patchesJson6902 needs a target"))?;
        for r in res.iter_mut() {
            if target.matches(r) {
                patch::apply_json6902(&mut r.obj, &ops)?;
            }
        }
    }
    note(
        res,
        "PatchJson6902Transformer",
        k.list("patchesJson6902").len(),
    );
    // replicas
    for rep in k.list("replicas") {
        let Some(rm) = rep.as_map() else { continue };
        let name = rm
            .get("name")
            .and_then(Value::scalar_text)
            .unwrap_or_default();
        let count = rm.get("count").cloned().unwrap_or(Value::Int(0));
        let mut found = false;
        for r in res.iter_mut() {
            if r.all_ids().iter().any(|id| id.name == name) {
                let gvk = r.gvk();
                for f in acc.config.replicas.iter().filter(|f| f.applies_to(&gvk)) {
                    found = true;
                    let c = count.clone();
                    f.apply(&mut r.obj, Some(&|| Value::Int(0)), &mut |v| {
                        *v = c.clone();
                        Ok(())
                    })?;
                }
            }
        }
        if !found {
            return Err(msg(format!(
                "resource with name {name} does not match a config with the following GVK [Deployment.[noVer].[noGrp] StatefulSet.[noVer].[noGrp] ReplicaSet.[noVer].[noGrp] ReplicationController.[noVer].[noGrp]]"
            )));
        }
    }
    note(res, "ReplicaCountTransformer", k.list("replicas").len());
    // images
    for img in k.list("images") {
        let Some(im) = img.as_map() else { continue };
        let rule = crate::images::Rule::new(im);
        for r in res.iter_mut() {
            crate::images::apply(&mut r.obj, &rule, &acc.config.images)?;
        }
    }
    note(res, "ImageTagTransformer", k.list("images").len());
    // replacements
    let reps = k.list("replacements");
    if !reps.is_empty() {
        crate::replacements::apply(b, dir, &reps, res)?;
        note(res, "ReplacementTransformer", 1);
    }
    Ok(())
}

fn apply_smp_by_id(res: &mut Vec<Resource>, doc: &Value, config: &Config) -> Result<()> {
    let probe = Resource::new(doc.clone());
    let id = probe.cur_id();
    let idx = res.iter().position(|r| {
        r.all_ids().iter().any(|rid| {
            rid.gvk.is_selected_by(&Gvk {
                group: id.gvk.group.clone(),
                version: String::new(),
                kind: id.gvk.kind.clone(),
            }) && rid.name == id.name
                && (id.namespace.is_empty() || rid.namespace == id.namespace)
        })
    });
    let Some(i) = idx else {
        return Err(msg(format!(
            "no resource matches strategic merge patch \"{}\": no matches for Id {}; failed to find unique target for patch {}",
            id.display(),
            id.display(),
            id.display()
        )));
    };
    let mut d = doc.clone();
    if let Some(dm) = d.as_map_mut() {
        dm.entry_map("metadata")
            .insert("name", Value::Str(res[i].name()));
        if !res[i].namespace().is_empty() {
            dm.entry_map("metadata")
                .insert("namespace", Value::Str(res[i].namespace()));
        }
    }
    let schema = merge_schema(config, &res[i].gvk());
    if !patch::strategic_merge(&mut res[i].obj, &d, &schema) {
        res.remove(i);
    }
    Ok(())
}

/// The list merge keys for a resource: Kubernetes' own for built-in groups, plus any from
/// `openapi:` schemas for its kind.
fn merge_schema(config: &Config, gvk: &Gvk) -> patch::MergeSchema {
    patch::MergeSchema {
        builtin: patch::is_builtin_group(&gvk.group),
        custom: config
            .openapi
            .iter()
            .filter(|(g, _)| g.kind == gvk.kind && g.group == gvk.group)
            .flat_map(|(_, lists)| lists.iter().cloned())
            .collect(),
    }
}

fn set_namespace(r: &mut Resource, ns: &str, extra: &[FieldSpec]) -> Result<()> {
    let gvk = r.gvk();
    r.store_prev_id();
    if !gvk.is_cluster_scoped() {
        r.set_namespace(ns);
    }
    // Only the core `v1` Namespace is renamed; other kinds called Namespace are left alone.
    if gvk.kind == "Namespace" && gvk.group.is_empty() && gvk.version == "v1" {
        r.set_name(ns);
    }
    for f in extra.iter().filter(|f| f.applies_to(&gvk)) {
        f.apply(&mut r.obj, None, &mut |v| {
            *v = Value::Str(ns.to_string());
            Ok(())
        })?;
    }
    // kustomize's default `setRoleBindingSubjects: defaultOnly`: only subjects named
    // "default" get the namespace here; subjects naming a ServiceAccount of the build follow
    // it later through the name-reference step.
    if gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding" {
        if let Some(Value::Seq(subjects)) = r.obj.get_path_mut(&["subjects"]) {
            for s in subjects.iter_mut() {
                if let Some(sm) = s.as_map_mut() {
                    if sm.get("name").and_then(Value::as_str) == Some("default") {
                        sm.insert("namespace", Value::Str(ns.to_string()));
                    }
                }
            }
        }
    }
    Ok(())
}

/// kustomize's prefix/suffix transformers. Resources are chosen by their original id;
/// CRDs, APIServices and Namespaces keep their names. The `metadata/name` spec also records
/// the affix and the previous id, which later steer name references.
fn add_affix(
    res: &mut [Resource],
    affix: &str,
    is_prefix: bool,
    specs: &[FieldSpec],
) -> Result<()> {
    for r in res.iter_mut() {
        let org = r.org_id().gvk;
        let skip = org.kind == "CustomResourceDefinition"
            || org.kind == "Namespace"
            || (org.kind == "APIService" && org.group == "apiregistration.k8s.io");
        if skip {
            continue;
        }
        for f in specs.iter().filter(|f| org.is_selected_by(&f.gvk)) {
            if f.path.len() == 2 && f.path[0] == "metadata" && f.path[1] == "name" {
                if is_prefix {
                    r.prefixes.push(affix.to_string());
                } else {
                    r.suffixes.push(affix.to_string());
                }
                r.store_prev_id();
            }
            f.apply(&mut r.obj, None, &mut |v| {
                if let Value::Str(n) = v {
                    *n = if is_prefix {
                        format!("{affix}{n}")
                    } else {
                        format!("{n}{affix}")
                    };
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn apply_map_pairs(
    res: &mut [Resource],
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<()> {
    for r in res.iter_mut() {
        let gvk = r.gvk();
        for f in specs.iter().filter(|f| f.applies_to(&gvk)) {
            f.apply(&mut r.obj, Some(&|| Value::Map(Map::new())), &mut |v| {
                if v.is_null() {
                    *v = Value::Map(Map::new());
                }
                if let Value::Map(m) = v {
                    for (k, val) in pairs {
                        m.insert(k.clone(), Value::Str(val.clone()));
                    }
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn encode_hash(hex: &str) -> String {
    hex.chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Appends the content hash to generated names, as kustomize does last.
pub fn add_hashes(res: &mut [Resource]) -> Result<()> {
    for r in res.iter_mut() {
        if !r.needs_hash {
            continue;
        }
        let obj = r.obj.as_map().cloned().unwrap_or_default();
        let get = |k: &str| obj.get(k).cloned().unwrap_or(Value::Str(String::new()));
        let mut m = Map::new();
        let kind = r.kind();
        m.insert("kind", Value::Str(kind.clone()));
        // kustomize looks `metadata/name` up as one literal key, which never exists, so the
        // name always hashes as an empty string.
        m.insert("name", Value::Str(String::new()));
        m.insert("data", get("data"));
        if kind == "Secret" {
            m.insert("type", get("type"));
            if let Some(Value::Map(sd)) = obj.get("stringData") {
                m.insert("stringData", Value::Map(sd.clone()));
            }
        } else if let Some(Value::Map(bd)) = obj.get("binaryData") {
            m.insert("binaryData", Value::Map(bd.clone()));
        }
        let json = crate::yaml::json::to_json(&Value::Map(m));
        let digest = Sha256::digest(json.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("{}-{}", r.name(), encode_hash(&hex));
        r.store_prev_id();
        r.set_name(&name);
        r.needs_hash = false;
    }
    Ok(())
}

const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

fn gvk_sort_string(g: &Gvk) -> String {
    format!(
        "{}_{}_{}",
        if g.group.is_empty() { "~G" } else { &g.group },
        if g.version.is_empty() {
            "~V"
        } else {
            &g.version
        },
        if g.kind.is_empty() { "~K" } else { &g.kind }
    )
}

/// Orders the output: legacy kind order by default, or input order with `sortOptions: fifo`.
pub fn sort(mut res: Vec<Resource>, k: &Kustomization) -> Result<Vec<Resource>> {
    let so = k
        .raw
        .get("sortOptions")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    let order = so.get("order").and_then(Value::as_str).unwrap_or("legacy");
    if order == "fifo" {
        return Ok(res);
    }
    let lo = so.get("legacySortOptions").and_then(Value::as_map).cloned();
    let first: Vec<String> = lo
        .as_ref()
        .and_then(|m| m.get("orderFirst"))
        .and_then(Value::as_seq)
        .map(|s| s.iter().filter_map(Value::scalar_text).collect())
        .unwrap_or_else(|| ORDER_FIRST.iter().map(|s| s.to_string()).collect());
    let last: Vec<String> = lo
        .as_ref()
        .and_then(|m| m.get("orderLast"))
        .and_then(Value::as_seq)
        .map(|s| s.iter().filter_map(Value::scalar_text).collect())
        .unwrap_or_else(|| ORDER_LAST.iter().map(|s| s.to_string()).collect());
    let idx = |kind: &str| -> i64 {
        if let Some(i) = first.iter().position(|k| k == kind) {
            return i as i64 - first.len() as i64;
        }
        if let Some(i) = last.iter().position(|k| k == kind) {
            return 1 + i as i64;
        }
        0
    };
    // kustomize's order is not total (Namespaces in several groups compare in reverse), so
    // it goes through a sort that tolerates that instead of `sort_by`, which may panic.
    let order = |a: &Resource, b: &Resource| -> std::cmp::Ordering {
        let (ia, ib) = (a.cur_id(), b.cur_id());
        if ia.gvk != ib.gvk {
            let (x, y) = (idx(&ia.gvk.kind), idx(&ib.gvk.kind));
            if x != y {
                return x.cmp(&y);
            }
            if ia.gvk.kind == "Namespace"
                && ib.gvk.kind == "Namespace"
                && (ia.gvk.group.is_empty() || ib.gvk.group.is_empty())
            {
                return gvk_sort_string(&ib.gvk).cmp(&gvk_sort_string(&ia.gvk));
            }
            return gvk_sort_string(&ia.gvk).cmp(&gvk_sort_string(&ib.gvk));
        }
        let key = |id: &crate::resource::ResId| {
            format!(
                "{}|{}|{}",
                id.gvk.display(),
                if id.namespace.is_empty() {
                    "~X"
                } else {
                    &id.namespace
                },
                if id.name.is_empty() { "~N" } else { &id.name }
            )
        };
        key(&ia).cmp(&key(&ib))
    };
    crate::yaml::sort::sort_by_less(&mut res, |a, b| order(a, b).is_lt());
    Ok(res)
}

/// kustomize's `BuildAnnotations` plus the origin/transformation notes it removes when
/// `buildMetadata` does not ask for them. Any other annotation, even in these domains, is
/// the user's and is kept.
const BUILD_ANNOTATIONS: &[&str] = &[
    "internal.config.kubernetes.io/previousKinds",
    "internal.config.kubernetes.io/previousNames",
    "internal.config.kubernetes.io/prefixes",
    "internal.config.kubernetes.io/suffixes",
    "internal.config.kubernetes.io/previousNamespaces",
    "internal.config.kubernetes.io/allowNameChange",
    "internal.config.kubernetes.io/allowKindChange",
    "internal.config.kubernetes.io/refBy",
    "internal.config.kubernetes.io/generatorBehavior",
    "internal.config.kubernetes.io/needsHashSuffix",
    "internal.config.kubernetes.io/path",
    "internal.config.kubernetes.io/index",
    "internal.config.kubernetes.io/seqindent",
    "internal.config.kubernetes.io/id",
    "internal.config.kubernetes.io/annotations-migration-resource-id",
    "config.kubernetes.io/path",
    "config.kubernetes.io/index",
    "config.k8s.io/id",
    "internal.config.kubernetes.io/helm-generated",
    "config.kubernetes.io/origin",
    "alpha.config.kubernetes.io/transformations",
];

/// Removes annotations kustomize uses internally and never prints.
pub fn strip_internal(r: &mut Resource) {
    if let Some(Value::Map(a)) = r.obj.get_path_mut(&["metadata", "annotations"]) {
        a.retain(|k, _| !BUILD_ANNOTATIONS.contains(&k));
        if a.is_empty() {
            if let Some(m) = r
                .obj
                .get_path_mut(&["metadata"])
                .and_then(Value::as_map_mut)
            {
                m.remove("annotations");
            }
        }
    }
}

/// Merges a `configurations:` file (fieldSpec lists per transformer) into the config.
pub fn merge_config_file(config: &mut Config, text: &str, file: &str) -> Result<()> {
    let docs = parse_documents(text).map_err(|e| msg(format!("{file}: {e}")))?;
    let Some(Value::Map(m)) = docs.into_iter().next() else {
        return Ok(());
    };
    let specs = |key: &str| -> Vec<FieldSpec> {
        m.get(key)
            .and_then(Value::as_seq)
            .map(|s| s.iter().filter_map(FieldSpec::from_value).collect())
            .unwrap_or_default()
    };
    config.common_labels.extend(specs("commonLabels"));
    config.common_annotations.extend(specs("commonAnnotations"));
    config.name_prefix.extend(specs("namePrefix"));
    config.name_suffix.extend(specs("nameSuffix"));
    config.namespace.extend(specs("namespace"));
    config.images.extend(specs("images"));
    config.replicas.extend(specs("replicas"));
    config.var_references.extend(specs("varReference"));
    if let Some(Value::Seq(nrs)) = m.get("nameReference") {
        for nr in nrs {
            let Some(nm) = nr.as_map() else { continue };
            let g = |k: &str| nm.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let target = Gvk {
                group: g("group"),
                version: g("version"),
                kind: g("kind"),
            };
            let refs: Vec<FieldSpec> = nm
                .get("fieldSpecs")
                .and_then(Value::as_seq)
                .map(|s| s.iter().filter_map(FieldSpec::from_value).collect())
                .unwrap_or_default();
            if let Some(existing) = config.name_refs.iter_mut().find(|n| n.target == target) {
                existing.referrers.extend(refs);
            } else {
                config.name_refs.push(crate::defaults::NameRef {
                    target,
                    referrers: refs,
                });
            }
        }
    }
    Ok(())
}

/// Reads a `crds:` file: OpenAPI definitions (JSON or YAML, keyed by type name). Every
/// definition that looks like a Kubernetes type (has `kind`, `apiVersion`, `metadata`) adds
/// field specs from its properties' `x-kubernetes-*` extensions, following `$ref`s: object
/// references become name references, annotation/label-selector/identity markers extend the
/// annotation, label and prefix specs. The kind is the type name after its last `.`.
pub fn merge_crd_file(config: &mut Config, text: &str, file: &str) -> Result<()> {
    let docs = parse_documents(text).map_err(|e| msg(format!("{file}: {e}")))?;
    let Some(Value::Map(defs)) = docs.into_iter().next() else {
        return Err(msg(format!(
            "unable to parse open API definition from '{file}'"
        )));
    };
    for (name, def) in defs.iter() {
        let Some(props) = crd_properties(def) else {
            continue;
        };
        if !(props.contains_key("kind")
            && props.contains_key("apiVersion")
            && props.contains_key("metadata"))
        {
            continue;
        }
        let kind = name.rsplit('.').next().unwrap_or(name).to_string();
        let mut seen = Vec::new();
        crd_walk(config, &kind, &defs, name, &mut Vec::new(), &mut seen);
    }
    Ok(())
}

fn crd_properties(def: &Value) -> Option<&Map> {
    def.get_path(&["Schema", "properties"])?.as_map()
}

fn crd_walk(
    config: &mut Config,
    kind: &str,
    defs: &Map,
    type_name: &str,
    path: &mut Vec<String>,
    seen: &mut Vec<String>,
) {
    // Recursive schemas would loop forever; kustomize has no guard, but never needs one for
    // the definitions it accepts.
    if seen.iter().any(|s| s == type_name) {
        return;
    }
    let Some(props) = defs.get(type_name).and_then(crd_properties) else {
        return;
    };
    seen.push(type_name.to_string());
    for (prop, schema) in props.iter() {
        let Some(sm) = schema.as_map() else { continue };
        path.push(prop.clone());
        let spec = |extra: Option<&str>| {
            let mut p = path.join("/");
            if let Some(e) = extra {
                p.push('/');
                p.push_str(e);
            }
            FieldSpec::new(kind, "", "", &p, false)
        };
        let ext = |k: &str| sm.get(k).and_then(Value::scalar_text);
        if ext("x-kubernetes-annotation").is_some() {
            config.common_annotations.push(spec(None));
        }
        if ext("x-kubernetes-label-selector").is_some() {
            config.common_labels.push(spec(None));
        }
        if ext("x-kubernetes-identity").is_some() {
            config.name_prefix.push(spec(None));
        }
        if let (Some(version), Some(target_kind)) = (
            ext("x-kubernetes-object-ref-api-version"),
            ext("x-kubernetes-object-ref-kind"),
        ) {
            let key = ext("x-kubernetes-object-ref-name-key").unwrap_or_else(|| "name".into());
            let target = Gvk {
                group: String::new(),
                version,
                kind: target_kind,
            };
            let fs = spec(Some(&key));
            match config.name_refs.iter_mut().find(|n| n.target == target) {
                Some(existing) => existing.referrers.push(fs),
                None => config.name_refs.push(crate::defaults::NameRef {
                    target,
                    referrers: vec![fs],
                }),
            }
        }
        if let Some(r) = sm.get("$ref").and_then(Value::as_str) {
            crd_walk(config, kind, defs, r, path, seen);
        }
        path.pop();
    }
    seen.pop();
}
