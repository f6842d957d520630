//! A resource being built, plus the bookkeeping kustomize keeps beside it: the names it had
//! before prefixes, suffixes, namespaces and hashes changed it (so references can follow), and
//! the prefixes/suffixes applied (to pick the right target when one base is used twice).

use crate::yaml::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Gvk {
            group,
            version,
            kind: kind.to_string(),
        }
    }
    /// kustomize's `Gvk.String()`: `Kind.version.group` with `[noVer]`/`[noGrp]` fillers.
    pub fn display(&self) -> String {
        format!(
            "{}.{}.{}",
            if self.kind.is_empty() {
                "[noKind]"
            } else {
                &self.kind
            },
            if self.version.is_empty() {
                "[noVer]"
            } else {
                &self.version
            },
            if self.group.is_empty() {
                "[noGrp]"
            } else {
                &self.group
            }
        )
    }
    /// Empty selector fields are wildcards.
    pub fn is_selected_by(&self, sel: &Gvk) -> bool {
        (sel.group.is_empty() || sel.group == self.group)
            && (sel.version.is_empty() || sel.version == self.version)
            && (sel.kind.is_empty() || sel.kind == self.kind)
    }
    pub fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped(&self.group, &self.kind)
    }
}

/// Kinds the built-in OpenAPI data marks as cluster scoped, with their API group. kustomize
/// looks scope up by group and kind, so a custom `example.com` kind named `Namespace` is
/// namespaced.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "PersistentVolume"),
    ("", "Node"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("scheduling.k8s.io", "PriorityClass"),
    ("networking.k8s.io", "IngressClass"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("extensions", "PodSecurityPolicy"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("authentication.k8s.io", "TokenReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
];

/// Whether kustomize's built-in schema marks this group and kind as cluster scoped.
pub fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    CLUSTER_SCOPED
        .iter()
        .any(|(g, k)| *k == kind && *g == group)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    /// kustomize's `ResId.String()`, used in error messages.
    pub fn display(&self) -> String {
        format!(
            "{}/{}.{}",
            self.gvk.display(),
            self.name,
            if self.namespace.is_empty() {
                "[noNs]"
            } else {
                &self.namespace
            }
        )
    }
    /// Namespaces compare with "" and "default" equal.
    pub fn ns_equals(&self, other: &ResId) -> bool {
        let a = if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        };
        let b = if other.namespace.is_empty() {
            "default"
        } else {
            &other.namespace
        };
        a == b
    }
}

/// How a generated resource combines with one of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    Create,
    Merge,
    Replace,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub obj: Value,
    /// Ids this resource had before renames, oldest first.
    pub prev_ids: Vec<ResId>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// Set for generator output that still needs its content-hash name suffix.
    pub needs_hash: bool,
    pub behavior: Option<Behavior>,
    /// Ids of resources that reference this one (kustomize records them when fixing refs).
    pub ref_by: Vec<ResId>,
    /// Names of legacy vars whose `objref` names this resource.
    pub ref_vars: Vec<String>,
    /// Where it came from, tracked only when `buildMetadata` is set.
    pub origin: Option<crate::origin::Origin>,
    /// Transformers that ran over it, tracked only when `buildMetadata` is set.
    pub transformations: Vec<crate::origin::Origin>,
}

impl Resource {
    pub fn new(obj: Value) -> Resource {
        Resource {
            obj,
            prev_ids: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            needs_hash: false,
            behavior: None,
            ref_by: Vec::new(),
            ref_vars: Vec::new(),
            origin: None,
            transformations: Vec::new(),
        }
    }
    pub fn map(&self) -> Option<&Map> {
        self.obj.as_map()
    }
    fn str_at(&self, path: &[&str]) -> String {
        self.obj
            .get_path(path)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    }
    fn str_ref(&self, path: &[&str]) -> &str {
        self.obj
            .get_path(path)
            .and_then(|v| v.as_str())
            .unwrap_or("")
    }
    /// A hashable form of the current id (kustomize's `ResId.Equals`: "" and
    /// "default" namespaces are one, cluster-scoped kinds have none).
    pub fn id_key(&self) -> (String, String, String, String) {
        let kind = self.str_ref(&["kind"]);
        let api_version = self.str_ref(&["apiVersion"]);
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let ns = if is_cluster_scoped(group, kind) {
            ""
        } else {
            match self.str_ref(&["metadata", "namespace"]) {
                "" => "default",
                n => n,
            }
        };
        (
            api_version.to_string(),
            kind.to_string(),
            self.str_ref(&["metadata", "name"]).to_string(),
            ns.to_string(),
        )
    }
    pub fn kind(&self) -> String {
        self.str_at(&["kind"])
    }
    pub fn name(&self) -> String {
        self.str_at(&["metadata", "name"])
    }
    pub fn namespace(&self) -> String {
        self.str_at(&["metadata", "namespace"])
    }
    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(&self.str_at(&["apiVersion"]), &self.kind())
    }
    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name(),
            namespace: self.namespace(),
        }
    }
    /// The id the resource had when first loaded.
    pub fn org_id(&self) -> ResId {
        self.prev_ids
            .first()
            .cloned()
            .unwrap_or_else(|| self.cur_id())
    }
    /// Every id the resource has had, including the current one.
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut v = self.prev_ids.clone();
        v.push(self.cur_id());
        v
    }
    pub fn store_prev_id(&mut self) {
        let id = self.cur_id();
        self.prev_ids.push(id);
    }
    pub fn metadata_mut(&mut self) -> &mut Map {
        if !matches!(self.obj, Value::Map(_)) {
            self.obj = Value::Map(Map::new());
        }
        match &mut self.obj {
            Value::Map(m) => m.entry_map("metadata"),
            _ => unreachable!("obj was made a map above"),
        }
    }
    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name", Value::Str(name.to_string()));
    }
    pub fn set_namespace(&mut self, ns: &str) {
        self.metadata_mut()
            .insert("namespace", Value::Str(ns.to_string()));
    }
    pub fn labels(&self) -> Vec<(String, String)> {
        self.string_map(&["metadata", "labels"])
    }
    pub fn annotations(&self) -> Vec<(String, String)> {
        self.string_map(&["metadata", "annotations"])
    }
    fn string_map(&self, path: &[&str]) -> Vec<(String, String)> {
        match self.obj.get_path(path) {
            Some(Value::Map(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_default()))
                .collect(),
            _ => Vec::new(),
        }
    }
    /// kustomize's PrefixesSuffixesEquals.
    pub fn prefix_suffix_equals(&self, other: &Resource, allow_empty: bool) -> bool {
        fn same_ending(a: &[String], b: &[String]) -> bool {
            let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
            long.ends_with(short)
        }
        if allow_empty {
            let pe = self.prefixes.is_empty() || other.prefixes.is_empty();
            let se = self.suffixes.is_empty() || other.suffixes.is_empty();
            (pe || same_ending(&self.prefixes, &other.prefixes))
                && (se || same_ending(&self.suffixes, &other.suffixes))
        } else {
            same_ending(&self.prefixes, &other.prefixes)
                && same_ending(&self.suffixes, &other.suffixes)
        }
    }
}
