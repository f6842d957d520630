//! Flux objects as a user writes them, built fluently:
//! `Kustomization::new("app").source("app").path("./deploy").prune(true)`, and what a user
//! reads back from them (conditions, revisions, inventory).

use kube::api::{ApiResource, DynamicObject};
use serde_json::{json, Value};

/// A kind the tests create or read, by its API coordinates.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
}

pub const KUSTOMIZATION: Kind = Kind {
    group: "kustomize.toolkit.fluxcd.io",
    version: "v1",
    kind: "Kustomization",
    plural: "kustomizations",
};

pub const GIT_REPOSITORY: Kind = Kind {
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    kind: "GitRepository",
    plural: "gitrepositories",
};

pub const OCI_REPOSITORY: Kind = Kind {
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    kind: "OCIRepository",
    plural: "ocirepositories",
};

impl Kind {
    /// A kind made by a test at run time (a CRD named after the test's namespace). Its
    /// strings are leaked: a few bytes per test process.
    pub fn custom(group: &str, version: &str, kind: &str, plural: &str) -> Kind {
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        Kind {
            group: leak(group),
            version: leak(version),
            kind: leak(kind),
            plural: leak(plural),
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.into(),
            version: self.version.into(),
            api_version: self.api_version(),
            kind: self.kind.into(),
            plural: self.plural.into(),
        }
    }
}

/// An object to create: its kind and its document. Without a namespace it goes into the
/// test's namespace.
#[derive(Clone, Debug)]
pub struct Object {
    pub kind: Kind,
    pub doc: Value,
}

impl Object {
    pub fn new(kind: Kind, name: &str) -> Self {
        Object {
            kind,
            doc: json!({
                "apiVersion": kind.api_version(), "kind": kind.kind,
                "metadata": {"name": name}, "spec": {}
            }),
        }
    }

    pub fn name(&self) -> &str {
        self.doc["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// The whole spec, for kinds without a builder of their own.
    pub fn with_spec(mut self, spec: Value) -> Self {
        self.doc["spec"] = spec;
        self
    }

    pub fn namespace(&self) -> Option<&str> {
        self.doc["metadata"]["namespace"].as_str()
    }
}

/// Fluent setters every kind shares.
pub trait Build: Sized + Into<Object> {
    fn object(&mut self) -> &mut Object;

    /// Into another namespace than the test's.
    fn in_namespace(mut self, namespace: &str) -> Self {
        self.object().doc["metadata"]["namespace"] = json!(namespace);
        self
    }

    fn label(mut self, key: &str, value: &str) -> Self {
        self.object().doc["metadata"]["labels"][key] = json!(value);
        self
    }

    /// Any spec field without a setter of its own (`field` is its JSON name).
    fn spec(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.object().doc["spec"][field] = value.into();
        self
    }

    fn interval(self, interval: &str) -> Self {
        self.spec("interval", interval)
    }

    fn suspend(self, suspend: bool) -> Self {
        self.spec("suspend", suspend)
    }
}

/// A `source.toolkit.fluxcd.io/v1` GitRepository; by default it follows `main` every 10 minutes.
pub struct GitRepository(Object);

impl GitRepository {
    pub fn new(name: &str) -> Self {
        GitRepository(Object::new(GIT_REPOSITORY, name))
            .interval("10m")
            .branch("main")
    }

    pub fn url(self, url: impl Into<String>) -> Self {
        self.spec("url", url.into())
    }

    pub fn branch(self, branch: &str) -> Self {
        self.spec("ref", json!({ "branch": branch }))
    }
}

/// A `source.toolkit.fluxcd.io/v1` OCIRepository; by default it pulls `latest` every 10
/// minutes.
pub struct OCIRepository(Object);

impl OCIRepository {
    pub fn new(name: &str) -> Self {
        OCIRepository(Object::new(OCI_REPOSITORY, name)).interval("10m")
    }

    pub fn url(self, url: impl Into<String>) -> Self {
        self.spec("url", url.into())
    }

    pub fn tag(self, tag: &str) -> Self {
        self.spec("ref", json!({ "tag": tag }))
    }

    pub fn semver(self, range: &str) -> Self {
        self.spec("ref", json!({ "semver": range }))
    }

    /// Plain HTTP to the registry.
    pub fn insecure(self, insecure: bool) -> Self {
        self.spec("insecure", insecure)
    }
}

/// A `kustomize.toolkit.fluxcd.io/v1` Kustomization; by default every 10 minutes, without
/// prune.
pub struct Kustomization(Object);

impl Kustomization {
    pub fn new(name: &str) -> Self {
        Kustomization(Object::new(KUSTOMIZATION, name))
            .interval("10m")
            .prune(false)
    }

    /// The GitRepository `name` in the Kustomization's namespace.
    pub fn source(self, name: &str) -> Self {
        self.spec("sourceRef", json!({"kind": "GitRepository", "name": name}))
    }

    /// The GitRepository `name` in `namespace`.
    pub fn source_in(self, namespace: &str, name: &str) -> Self {
        self.spec(
            "sourceRef",
            json!({"kind": "GitRepository", "name": name, "namespace": namespace}),
        )
    }

    /// The source `kind`/`name` in the Kustomization's namespace.
    pub fn source_of_kind(self, kind: &str, name: &str) -> Self {
        self.spec("sourceRef", json!({"kind": kind, "name": name}))
    }

    pub fn path(self, path: &str) -> Self {
        self.spec("path", path)
    }

    pub fn prune(self, prune: bool) -> Self {
        self.spec("prune", prune)
    }

    pub fn force(self, force: bool) -> Self {
        self.spec("force", force)
    }

    pub fn wait(self, wait: bool) -> Self {
        self.spec("wait", wait)
    }

    pub fn timeout(self, timeout: &str) -> Self {
        self.spec("timeout", timeout)
    }

    pub fn retry_interval(self, interval: &str) -> Self {
        self.spec("retryInterval", interval)
    }

    pub fn target_namespace(self, namespace: &str) -> Self {
        self.spec("targetNamespace", namespace)
    }

    /// Adds a dependency on the Kustomization `name` of the same namespace.
    pub fn depends_on(mut self, name: &str) -> Self {
        push(
            &mut self.0.doc["spec"]["dependsOn"],
            json!({ "name": name }),
        );
        self
    }

    /// Adds a dependency on the Kustomization `namespace/name`.
    pub fn depends_on_in(mut self, namespace: &str, name: &str) -> Self {
        push(
            &mut self.0.doc["spec"]["dependsOn"],
            json!({"name": name, "namespace": namespace}),
        );
        self
    }
}

fn push(list: &mut Value, item: Value) {
    match list.as_array_mut() {
        Some(items) => items.push(item),
        None => *list = json!([item]),
    }
}

macro_rules! builder {
    ($($t:ident),*) => {$(
        impl Build for $t {
            fn object(&mut self) -> &mut Object {
                &mut self.0
            }
        }
        impl From<$t> for Object {
            fn from(b: $t) -> Object {
                b.0
            }
        }
    )*};
}
builder!(GitRepository, OCIRepository, Kustomization);

/// What a user reads from a Flux object's status.
pub trait Status {
    fn condition(&self, type_: &str) -> Option<Value>;

    /// The Ready condition.
    fn ready(&self) -> Option<Value> {
        self.condition("Ready")
    }

    /// Ready=True.
    fn is_ready(&self) -> bool {
        self.ready().is_some_and(|c| c["status"] == "True")
    }

    /// The reason of the Ready condition.
    fn ready_reason(&self) -> Option<String> {
        self.ready()?["reason"].as_str().map(str::to_string)
    }

    /// The message of the Ready condition.
    fn ready_message(&self) -> String {
        self.ready()
            .and_then(|c| c["message"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    fn applied_revision(&self) -> Option<&str>;

    /// The revision of a GitRepository's artifact.
    fn artifact_revision(&self) -> Option<&str>;

    /// How many objects a Kustomization's inventory lists.
    fn inventory_len(&self) -> usize;
}

impl Status for DynamicObject {
    fn condition(&self, type_: &str) -> Option<Value> {
        self.data["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == type_)
            .cloned()
    }

    fn applied_revision(&self) -> Option<&str> {
        self.data["status"]["lastAppliedRevision"].as_str()
    }

    fn artifact_revision(&self) -> Option<&str> {
        self.data["status"]["artifact"]["revision"].as_str()
    }

    fn inventory_len(&self) -> usize {
        self.data["status"]["inventory"]["entries"]
            .as_array()
            .map_or(0, Vec::len)
    }
}

/// Manifests as they are written in a Git repository.
pub mod yaml {
    /// A ConfigMap `name` with `key: value`.
    pub fn configmap(name: &str, value: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  key: {value}\n"
        )
    }

    /// A ConfigMap `name` in `namespace`, with `key: value`.
    pub fn configmap_in(namespace: &str, name: &str, value: &str) -> String {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\ndata:\n  key: {value}\n")
    }

    /// A Deployment whose rollout kube-controller-manager gives up on after `deadline`
    /// seconds without progress.
    pub fn deployment_with_deadline(name: &str, replicas: u32, deadline: u32) -> String {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: {replicas}\n  progressDeadlineSeconds: {deadline}\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n"
        )
    }

    /// A Deployment whose rollout fails one second after it stops progressing.
    pub fn deployment(name: &str, replicas: u32) -> String {
        deployment_with_deadline(name, replicas, 1)
    }
}
