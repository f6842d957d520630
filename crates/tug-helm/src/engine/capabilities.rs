//! `.Capabilities`: the Kubernetes version and API group/versions templates are rendered for.
//!
//! Without a cluster Helm uses built-in defaults: Kubernetes `v1.36.0` (one major above the
//! client-go v0.36 it is compiled with) and the group/versions of client-go's scheme in its
//! priority order. `tug helm template --kube-version/--api-versions` and the controller override
//! them as Helm's do.

use std::any::Any;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::func::FuncError;
use crate::value::{Object, Value};

/// The group/versions Helm v4.2.3 knows offline, in client-go's scheme priority order.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// The Kubernetes version Helm v4.2.3 assumes without a cluster.
pub const DEFAULT_KUBE_VERSION: &str = "v1.36.0";

/// `.Capabilities.KubeVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    /// The version as given, with a `v` (`v1.33.4-gke.1245000`); `.Version` and `.GitVersion`.
    pub version: String,
    /// `v` and the numeric components only (`v1.33.4`): what `kubeVersion` constraints are
    /// checked against.
    pub normalized: String,
    pub major: String,
    pub minor: String,
}

/// Why `--kube-version` was refused; the text is Kubernetes' `ParseGeneric` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KubeVersionError(String);

impl KubeVersion {
    /// Parses a version as Helm's `ParseKubeVersion` does (Kubernetes' generic versions: at
    /// least two numeric components, an optional `v`, anything after the numbers ignored).
    pub fn parse(version: &str) -> Result<KubeVersion, KubeVersionError> {
        let s = version.trim_start_matches([' ', '\t', '\n', '\r', '\x0c']);
        let s = s.strip_prefix('v').unwrap_or(s);
        let numbers_end = numeric_prefix_len(s);
        if numbers_end == 0 {
            return Err(KubeVersionError(format!(
                "could not parse \"{version}\" as version"
            )));
        }
        let components: Vec<&str> = s[..numbers_end].split('.').collect();
        if components.len() < 2 {
            return Err(KubeVersionError(format!(
                "illegal version string \"{version}\""
            )));
        }
        let mut numbers = Vec::with_capacity(components.len());
        for (i, comp) in components.iter().enumerate() {
            if i == 0 && comp.starts_with('0') && *comp != "0" {
                return Err(KubeVersionError(format!(
                    "illegal zero-prefixed version component \"{comp}\" in \"{version}\""
                )));
            }
            let n: u64 = comp.parse().map_err(|_| {
                KubeVersionError(format!(
                    "illegal non-numeric version component \"{comp}\" in \"{version}\": value out of range"
                ))
            })?;
            numbers.push(n);
        }
        let joined: Vec<String> = numbers.iter().map(u64::to_string).collect();
        Ok(KubeVersion {
            version: if version.starts_with('v') {
                version.to_string()
            } else {
                format!("v{version}")
            },
            normalized: format!("v{}", joined.join(".")),
            major: numbers[0].to_string(),
            minor: numbers[1].to_string(),
        })
    }
}

/// The length of `[0-9]+(\.[0-9]+)*` at the start of `s`.
fn numeric_prefix_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut end = 0;
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return end;
        }
        end = i;
        if i < b.len() && b[i] == b'.' {
            i += 1;
        } else {
            return end;
        }
    }
}

/// `.Capabilities.HelmVersion`: Helm's build information. Helm used as a library (as Flux's
/// helm-controller and the oracle use it) reports `v4.2` without a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmVersion {
    pub version: String,
    pub git_commit: String,
    pub git_tree_state: String,
    pub go_version: String,
    pub kube_client_version: String,
}

impl Default for HelmVersion {
    fn default() -> Self {
        HelmVersion {
            version: "v4.2".into(),
            git_commit: String::new(),
            git_tree_state: String::new(),
            go_version: "go1.26.0".into(),
            kube_client_version: "v1.36".into(),
        }
    }
}

/// What templates see as `.Capabilities`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub kube_version: KubeVersion,
    pub api_versions: Vec<String>,
    pub helm_version: HelmVersion,
}

impl Default for Capabilities {
    /// Helm's client-only defaults.
    fn default() -> Self {
        Capabilities {
            kube_version: KubeVersion::parse(DEFAULT_KUBE_VERSION)
                .expect("the default Kubernetes version parses"),
            api_versions: DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect(),
            helm_version: HelmVersion::default(),
        }
    }
}

impl Capabilities {
    /// The template object.
    pub fn to_value(&self) -> Value {
        Value::Object(Rc::new(CapabilitiesObject(self.clone())))
    }
}

#[derive(Debug)]
struct CapabilitiesObject(Capabilities);

#[derive(Debug)]
struct KubeVersionObject(KubeVersion);

#[derive(Debug)]
struct VersionSetObject(Vec<String>);

#[derive(Debug)]
struct HelmVersionObject(HelmVersion);

fn no_args(name: &str, args: &[Value]) -> Result<(), FuncError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(FuncError::msg(format!(
            "{name} has arguments but cannot be invoked as function"
        )))
    }
}

fn field(name: &str, args: Vec<Value>, v: Value) -> Option<Result<Value, FuncError>> {
    Some(no_args(name, &args).map(|()| v))
}

fn string_map(entries: &[(&str, &str)]) -> Value {
    Value::map(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), Value::str(v)))
            .collect::<BTreeMap<_, _>>(),
    )
}

impl Object for CapabilitiesObject {
    fn type_name(&self) -> String {
        "*common.Capabilities".into()
    }

    fn member(&self, name: &str, args: Vec<Value>) -> Option<Result<Value, FuncError>> {
        let c = &self.0;
        let v = match name {
            "KubeVersion" => Value::Object(Rc::new(KubeVersionObject(c.kube_version.clone()))),
            "APIVersions" => Value::Object(Rc::new(VersionSetObject(c.api_versions.clone()))),
            "HelmVersion" => Value::Object(Rc::new(HelmVersionObject(c.helm_version.clone()))),
            _ => return None,
        };
        field(name, args, v)
    }

    fn format_v(&self) -> String {
        let c = &self.0;
        format!(
            "&{{{} {} {}}}",
            KubeVersionObject(c.kube_version.clone()).format_v(),
            VersionSetObject(c.api_versions.clone()).format_v(),
            HelmVersionObject(c.helm_version.clone()).format_v()
        )
    }

    fn to_data(&self) -> Value {
        let c = &self.0;
        let mut m = BTreeMap::new();
        m.insert(
            "KubeVersion".to_string(),
            KubeVersionObject(c.kube_version.clone()).to_data(),
        );
        m.insert(
            "APIVersions".to_string(),
            VersionSetObject(c.api_versions.clone()).to_data(),
        );
        m.insert(
            "HelmVersion".to_string(),
            HelmVersionObject(c.helm_version.clone()).to_data(),
        );
        Value::map(m)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Object for KubeVersionObject {
    fn type_name(&self) -> String {
        "common.KubeVersion".into()
    }

    fn member(&self, name: &str, args: Vec<Value>) -> Option<Result<Value, FuncError>> {
        let k = &self.0;
        let v = match name {
            "Version" | "GitVersion" => &k.version,
            "Major" => &k.major,
            "Minor" => &k.minor,
            "String" => &k.normalized,
            _ => return None,
        };
        field(name, args, Value::str(v))
    }

    /// `String()`, on the pointer: the normalized version.
    fn action_string(&self) -> Option<String> {
        Some(self.0.normalized.clone())
    }

    /// Go prints the struct with its unexported normalized version: `{v1.36.0 v1.36.0 1 36}`.
    fn format_v(&self) -> String {
        let k = &self.0;
        format!("{{{} {} {} {}}}", k.version, k.normalized, k.major, k.minor)
    }

    fn to_data(&self) -> Value {
        let k = &self.0;
        string_map(&[
            ("Version", &k.version),
            ("Major", &k.major),
            ("Minor", &k.minor),
        ])
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Object for VersionSetObject {
    fn type_name(&self) -> String {
        "common.VersionSet".into()
    }

    fn member(&self, name: &str, args: Vec<Value>) -> Option<Result<Value, FuncError>> {
        if name != "Has" {
            return None;
        }
        Some(match args.as_slice() {
            [Value::String(s)] => Ok(Value::Bool(self.0.iter().any(|v| **v == **s))),
            [other] => Err(FuncError::msg(format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            ))),
            _ => Err(FuncError::msg(format!(
                "wrong number of args for Has: want 1 got {}",
                args.len()
            ))),
        })
    }

    fn format_v(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }

    /// A `[]string` underneath: what serializers see.
    fn to_data(&self) -> Value {
        Value::string_list(self.0.clone())
    }

    /// `Has(apiVersion string) bool`: the engine checks arguments as Go does.
    fn method_sig(&self, name: &str) -> Option<crate::func::Sig> {
        (name == "Has").then_some(crate::func::Sig::fixed(&[crate::func::Ty::String]))
    }

    /// What `range`, `len` and `index` see.
    fn elements(&self) -> Option<Value> {
        Some(Value::string_list(self.0.clone()))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Object for HelmVersionObject {
    fn type_name(&self) -> String {
        "version.BuildInfo".into()
    }

    fn member(&self, name: &str, args: Vec<Value>) -> Option<Result<Value, FuncError>> {
        let h = &self.0;
        let v = match name {
            "Version" => &h.version,
            "GitCommit" => &h.git_commit,
            "GitTreeState" => &h.git_tree_state,
            "GoVersion" => &h.go_version,
            "KubeClientVersion" => &h.kube_client_version,
            _ => return None,
        };
        field(name, args, Value::str(v))
    }

    fn format_v(&self) -> String {
        let h = &self.0;
        format!(
            "{{{} {} {} {} {}}}",
            h.version, h.git_commit, h.git_tree_state, h.go_version, h.kube_client_version
        )
    }

    /// Go's JSON of BuildInfo: tagged names, empty strings omitted except the client version.
    fn to_data(&self) -> Value {
        let h = &self.0;
        let mut m = BTreeMap::new();
        for (k, v) in [
            ("version", &h.version),
            ("git_commit", &h.git_commit),
            ("git_tree_state", &h.git_tree_state),
            ("go_version", &h.go_version),
        ] {
            if !v.is_empty() {
                m.insert(k.to_string(), Value::str(v));
            }
        }
        m.insert(
            "kube_client_version".to_string(),
            Value::str(&h.kube_client_version),
        );
        Value::map(m)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_kube_version_prints_as_go_does() {
        let caps = Capabilities::default().to_value();
        let Value::Object(o) = caps else { panic!() };
        let kv = o.member("KubeVersion", vec![]).unwrap().unwrap();
        assert_eq!(kv.format_v(), "{v1.36.0 v1.36.0 1 36}");
        let Value::Object(kv) = kv else { panic!() };
        let minor = kv.member("Minor", vec![]).unwrap().unwrap();
        assert_eq!(minor.as_str(), Some("36"));
    }

    #[test]
    fn api_versions_has_exact_group_versions_only() {
        let caps = Capabilities::default();
        assert_eq!(caps.api_versions.len(), 55);
        let set = VersionSetObject(caps.api_versions);
        let has = |s: &str| {
            set.member("Has", vec![Value::str(s)])
                .unwrap()
                .unwrap()
                .truthy()
        };
        assert!(has("apps/v1"));
        assert!(!has("apps/v1/Deployment"));
        assert!(!has(""));
    }

    #[test]
    fn kube_version_parse_normalizes_like_kubernetes() {
        let kv = KubeVersion::parse("1.33.4-gke.1245000").unwrap();
        assert_eq!(kv.version, "v1.33.4-gke.1245000");
        assert_eq!(kv.normalized, "v1.33.4");
        assert_eq!((kv.major.as_str(), kv.minor.as_str()), ("1", "33"));
        assert_eq!(KubeVersion::parse("v1.30").unwrap().normalized, "v1.30");
        assert!(KubeVersion::parse("1").is_err());
        assert!(KubeVersion::parse("x1.2").is_err());
        assert!(KubeVersion::parse("01.2").is_err());
    }
}
