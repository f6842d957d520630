//! What the end-to-end tests of `tug controller` share, as a small language for user
//! stories (in the spirit of ripgrep's `Dir`/`rgtest!`):
//!
//! - [`Scene`]: the test's namespace, the objects it applies, the controllers it starts, and
//!   the one wait, [`Scene::eventually`], that prints all of them when it fails;
//! - [`Kustomization`], [`GitRepository`]: objects built fluently ([`Build`]), read back
//!   with [`Status`];
//! - [`Git`]: a repository served by a real Git server, to push to;
//! - [`ControllerProcess`]: the real `tug controller`, ports bound by itself, readiness
//!   waited for;
//! - [`AuditLog`]: the API server's record of writes.
//!
//! `use common::prelude::*;` brings all of it. The free functions below ([`wait_for`],
//! [`create`], ...) predate the scene and stay for tests written against them.
#![allow(dead_code)] // each test binary uses a part of it

pub mod audit;
pub mod controller;
pub mod git;
pub mod objects;
pub mod scene;

#[allow(unused_imports)]
pub use controller::{ControllerProcess, Launch, FAST_LEASES};

/// Everything a story needs.
#[allow(unused_imports)]
pub mod prelude {
    pub use super::audit::AuditLog;
    pub use super::controller::{ControllerProcess, Launch, FAST_LEASES};
    pub use super::git::Git;
    pub use super::objects::yaml::*;
    pub use super::objects::{
        Build, GitRepository, Kind, Kustomization, OCIRepository, Object, Status, GIT_REPOSITORY,
        KUSTOMIZATION, OCI_REPOSITORY,
    };
    pub use super::scene::{secs, Scene};
    pub use super::tug;
}

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use tug_testsupport::{cluster, TestNamespace};

/// Runs the `tug` binary against the test cluster, as a user would.
pub fn tug(args: &[&str]) -> std::process::Output {
    tug_with(cluster().kubeconfig(), args)
}

/// Runs the `tug` binary with the given kubeconfig (another cluster, or none at all).
pub fn tug_with(kubeconfig: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tug"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("running tug")
}

/// What a command printed, stdout then stderr, as a terminal shows it.
pub fn printed(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn install() {
    let out = tug(&["install"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The status of a GitRepository or Kustomization, as a user reads it.
pub fn condition(obj: &DynamicObject, type_: &str) -> Option<Value> {
    obj.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
}

pub fn resource(group: &str, kind: &str, plural: &str) -> kube::api::ApiResource {
    kube::api::ApiResource {
        group: group.into(),
        version: "v1".into(),
        api_version: format!("{group}/v1"),
        kind: kind.into(),
        plural: plural.into(),
    }
}

pub fn kustomizations(ns: &TestNamespace) -> Api<DynamicObject> {
    Api::namespaced_with(
        ns.client.clone(),
        &ns.name,
        &resource(
            "kustomize.toolkit.fluxcd.io",
            "Kustomization",
            "kustomizations",
        ),
    )
}

pub fn gitrepositories(ns: &TestNamespace) -> Api<DynamicObject> {
    Api::namespaced_with(
        ns.client.clone(),
        &ns.name,
        &resource(
            "source.toolkit.fluxcd.io",
            "GitRepository",
            "gitrepositories",
        ),
    )
}

/// Creates (or updates) `obj` by server-side apply, as a user's `kubectl apply` would.
pub async fn create(api: &Api<DynamicObject>, obj: Value) {
    let name = obj["metadata"]["name"].as_str().unwrap().to_string();
    api.patch(
        &name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap();
}

/// Polls the object until `done` holds; panics with its status and the controller's
/// log after `timeout`.
pub async fn wait_for(
    api: &Api<DynamicObject>,
    name: &str,
    ctrl: &ControllerProcess,
    timeout: Duration,
    what: &str,
    done: impl Fn(&DynamicObject) -> bool,
) -> DynamicObject {
    let deadline = Instant::now() + timeout;
    loop {
        let obj = api.get(name).await.unwrap();
        if done(&obj) {
            return obj;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; status: {}\n--- controller log ---\n{}",
                serde_json::to_string_pretty(&obj.data["status"]).unwrap(),
                ctrl.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
