//! A test's world: its namespace on the shared control plane, the objects it created, the
//! controllers it started, and the one way to wait — [`Scene::eventually`] — which, when the
//! wait fails, prints every object of the scene and the tail of every controller's log.

use super::controller::{ControllerProcess, Launch};
use super::git::Git;
use super::objects::{GitRepository, Kind, Kustomization, Object, GIT_REPOSITORY, KUSTOMIZATION};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tug_testsupport::{cluster, TestNamespace};

/// Shorthand for deadlines: `secs(30)`.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// What a check of [`Scene::eventually`] returns: done (with a value) or not yet (with what
/// it saw, for the failure message).
pub trait Outcome {
    type Value;
    fn settled(self) -> Result<Self::Value, String>;
}

impl Outcome for bool {
    type Value = ();
    fn settled(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("not yet".into())
        }
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn settled(self) -> Result<T, String> {
        self.ok_or_else(|| "not yet".into())
    }
}

impl<T, E: std::fmt::Display> Outcome for Result<T, E> {
    type Value = T;
    fn settled(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// The test's namespace and what the test put on the cluster.
pub struct Scene {
    pub ns: TestNamespace,
    test: String,
    /// (kind, namespace, name) of every object applied through the scene.
    objects: RefCell<Vec<(Kind, String, String)>>,
    /// (label, log file) of every controller started through the scene.
    logs: RefCell<Vec<(String, PathBuf)>>,
}

impl Scene {
    /// A fresh namespace named after `test`, on a control plane with tug's CRDs installed.
    pub async fn new(test: &str) -> Scene {
        install_once();
        Scene {
            ns: cluster().namespace(test).await.unwrap(),
            test: test.to_string(),
            objects: RefCell::default(),
            logs: RefCell::default(),
        }
    }

    /// The test's namespace.
    pub fn name(&self) -> &str {
        &self.ns.name
    }

    /// One more namespace for this test, named after it with `suffix`.
    pub async fn namespace(&self, suffix: &str) -> String {
        let test = format!("{}-{suffix}", self.test);
        cluster().namespace(&test).await.unwrap().name
    }

    /// A controller watching only this namespace (with `args`), ready.
    pub fn controller(&self, args: &[&str]) -> ControllerProcess {
        let ctrl = self.launch(&Launch::namespaced(self.name()).args(args));
        ctrl.wait_ready();
        ctrl
    }

    /// Starts a controller without waiting for it to be ready; its log joins the scene's.
    pub fn launch(&self, launch: &Launch) -> ControllerProcess {
        let ctrl = ControllerProcess::launch(launch);
        let mut logs = self.logs.borrow_mut();
        let label = format!("controller #{} (pid {})", logs.len() + 1, ctrl.child.id());
        logs.push((label, ctrl.log_path().to_path_buf()));
        ctrl
    }

    /// Creates or updates `obj` by server-side apply, as `kubectl apply --server-side` does.
    pub async fn apply(&self, obj: impl Into<Object>) -> DynamicObject {
        let mut obj: Object = obj.into();
        let namespace = obj.namespace().unwrap_or(self.name()).to_string();
        obj.doc["metadata"]["namespace"] = json!(namespace);
        let name = obj.name().to_string();
        let key = (obj.kind, namespace.clone(), name.clone());
        {
            let mut objects = self.objects.borrow_mut();
            if !objects
                .iter()
                .any(|(k, ns, n)| k.kind == key.0.kind && *ns == key.1 && *n == key.2)
            {
                objects.push(key);
            }
        }
        self.api_in(obj.kind, &namespace)
            .patch(
                &name,
                &PatchParams::apply("test").force(),
                &Patch::Apply(&obj.doc),
            )
            .await
            .unwrap()
    }

    /// The usual pair: the GitRepository `app` on `git`, and a pruning Kustomization `app`
    /// of `./deploy` into this namespace that retries every 2 s.
    pub async fn app(&self, git: &Git) {
        self.apply(GitRepository::new("app").url(git.url())).await;
        self.apply(
            Kustomization::new("app")
                .source("app")
                .path("./deploy")
                .prune(true)
                .retry_interval("2s")
                .target_namespace(self.name()),
        )
        .await;
    }

    pub fn api(&self, kind: Kind) -> Api<DynamicObject> {
        self.api_in(kind, self.name())
    }

    pub fn api_in(&self, kind: Kind, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.ns.client.clone(), namespace, &kind.resource())
    }

    pub fn kustomizations(&self) -> Api<DynamicObject> {
        self.api(KUSTOMIZATION)
    }

    pub fn gitrepositories(&self) -> Api<DynamicObject> {
        self.api(GIT_REPOSITORY)
    }

    /// The object `kind` `namespace/name`, if it exists.
    pub async fn get_in(&self, kind: Kind, namespace: &str, name: &str) -> Option<DynamicObject> {
        self.api_in(kind, namespace).get_opt(name).await.unwrap()
    }

    /// The Kustomization `name` of this namespace.
    pub async fn ks(&self, name: &str) -> DynamicObject {
        self.kustomizations().get(name).await.unwrap()
    }

    /// The GitRepository `name` of this namespace.
    pub async fn source(&self, name: &str) -> DynamicObject {
        self.gitrepositories().get(name).await.unwrap()
    }

    /// A JSON merge patch of `kind` `name`, as `kubectl patch --type merge` does.
    pub async fn merge(&self, kind: Kind, name: &str, patch: Value) {
        self.api(kind)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    /// Sets `reconcile.fluxcd.io/requestedAt`, as `tug reconcile` and `flux reconcile` do.
    pub async fn request_reconcile(&self, kind: Kind, name: &str) {
        let at = format!("{:?}", std::time::SystemTime::now());
        let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": at}}});
        self.merge(kind, name, patch).await;
    }

    /// The `key` of the ConfigMap `name` in this namespace, if it exists.
    pub async fn configmap(&self, name: &str) -> Option<String> {
        let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = self.ns.api();
        cms.get_opt(name)
            .await
            .unwrap()
            .and_then(|c| c.data)
            .and_then(|d| d.get("key").cloned())
    }

    /// Runs `tug args` (in this namespace unless `-n` is given) and requires success;
    /// returns its stderr, where the CLI reports progress.
    pub async fn tug(&self, args: &[&str]) -> String {
        let mut full: Vec<&str> = args.to_vec();
        if !args.iter().any(|a| *a == "-n" || *a == "--namespace") {
            full.extend(["-n", self.name()]);
        }
        let out = super::tug(&full);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if !out.status.success() {
            let message = format!(
                "`tug {}` failed ({}):\n{stderr}",
                full.join(" "),
                out.status
            );
            panic!("{}", self.report(&message).await);
        }
        stderr
    }

    /// Polls `check` until it settles and returns its value; after `within`, panics with
    /// `what`, the last thing the check saw, every object of the scene and the tail of each
    /// controller's log.
    pub async fn eventually<O, F, Fut>(
        &self,
        what: &str,
        within: Duration,
        mut check: F,
    ) -> O::Value
    where
        O: Outcome,
        F: FnMut() -> Fut,
        Fut: Future<Output = O>,
    {
        let deadline = Instant::now() + within;
        loop {
            match check().await.settled() {
                Ok(value) => return value,
                Err(seen) if Instant::now() >= deadline => {
                    let message = format!(
                        "eventually: {what} did not happen within {within:?}; last seen: {seen}"
                    );
                    panic!("{}", self.report(&message).await);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(150)).await,
            }
        }
    }

    /// Waits until the Kustomization `name` satisfies `done`; returns it.
    pub async fn ks_until(
        &self,
        name: &str,
        what: &str,
        within: Duration,
        done: impl Fn(&DynamicObject) -> bool,
    ) -> DynamicObject {
        self.until(KUSTOMIZATION, name, what, within, done).await
    }

    /// Waits until the object `kind` `name` of this namespace satisfies `done`; returns it.
    pub async fn until(
        &self,
        kind: Kind,
        name: &str,
        what: &str,
        within: Duration,
        done: impl Fn(&DynamicObject) -> bool,
    ) -> DynamicObject {
        let api = self.api(kind);
        let what = format!("{} {name}: {what}", kind.kind);
        self.eventually(&what, within, || async {
            match api.get_opt(name).await {
                Ok(Some(o)) if done(&o) => Ok(o),
                Ok(Some(o)) => Err(format!("status {}", o.data["status"])),
                Ok(None) => Err("absent".to_string()),
                Err(e) => Err(e.to_string()),
            }
        })
        .await
    }

    /// Deletes every object applied through the scene, finalizers removed first, so that no
    /// controller is needed to let them go (for binaries whose controllers watch the whole
    /// cluster: the next test's controller would otherwise pick them up).
    pub async fn clear(&self) {
        let objects = self.objects.borrow().clone();
        for (kind, namespace, name) in objects.into_iter().rev() {
            let api = self.api_in(kind, &namespace);
            let unfinalized = json!({"metadata": {"finalizers": null}});
            let _ = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&unfinalized))
                .await;
            let _ = api.delete(&name, &Default::default()).await;
        }
    }

    /// `message`, then the scene's objects and its controllers' log tails: what a failing
    /// test prints.
    pub async fn report(&self, message: &str) -> String {
        let mut report = format!("{message}\n--- objects of the scene ---\n");
        let objects = self.objects.borrow().clone();
        for (kind, namespace, name) in objects {
            let line = match self.api_in(kind, &namespace).get_opt(&name).await {
                Ok(Some(o)) => format!(
                    "generation {:?}, finalizers {:?}, deleting {}, status {}",
                    o.metadata.generation,
                    o.metadata.finalizers.unwrap_or_default(),
                    o.metadata.deletion_timestamp.is_some(),
                    serde_json::to_string_pretty(&o.data["status"]).unwrap_or_default()
                ),
                Ok(None) => "absent".into(),
                Err(e) => format!("unreadable: {e}"),
            };
            report.push_str(&format!("{} {namespace}/{name}: {line}\n", kind.kind));
        }
        for (label, path) in self.logs.borrow().iter() {
            let log = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            report.push_str(&format!(
                "--- {label}, last 60 log lines ({}) ---\n{}\n",
                path.display(),
                lines[lines.len().saturating_sub(60)..].join("\n")
            ));
        }
        report
    }
}

/// `tug install` (namespace, CRDs, RBAC) once per test binary.
fn install_once() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(super::install);
}
