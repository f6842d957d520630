//! What the end-to-end tests of `tug controller` share: the controller process itself,
//! `tug install`, the API of each kind, creating objects, and waiting on and reading conditions.
#![allow(dead_code)] // each test binary uses a part of it

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tug_testsupport::git::free_port;
use tug_testsupport::{cluster, TestNamespace};

/// The controller process; killed when the test ends, panics included.
pub struct ControllerProcess {
    pub child: Child,
    log: PathBuf,
    dir: PathBuf,
    pub metrics_port: u16,
    pub health_port: u16,
}

impl ControllerProcess {
    /// A controller watching `namespace`; `instance` tells apart several in one test.
    pub fn start_with(namespace: &str, instance: &str, extra: &[&str]) -> Self {
        let storage = std::env::temp_dir().join(format!("tug-ctrl-{namespace}{instance}"));
        std::fs::create_dir_all(&storage).unwrap();
        let log = storage.join("controller.log");
        let port = free_port().unwrap();
        let metrics_port = free_port().unwrap();
        let health_port = free_port().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tug"))
            .args([
                "controller",
                "--watch-all-namespaces=false",
                "-n",
                namespace,
            ])
            .arg("--storage-path")
            .arg(storage.join("artifacts"))
            .args(["--storage-addr", &format!("127.0.0.1:{port}")])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .args(["--health-addr", &format!("127.0.0.1:{health_port}")])
            .args(extra)
            .env("KUBECONFIG", cluster().kubeconfig())
            .env("RUST_LOG", "info,tug_controller=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting tug controller");
        ControllerProcess {
            child,
            log,
            dir: storage,
            metrics_port,
            health_port,
        }
    }

    /// A GET of `path` on the metrics or health endpoint: (status code, body).
    pub fn get(&self, port: u16, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let code = response
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (code, body)
    }

    pub fn metrics(&self) -> String {
        self.get(self.metrics_port, "/metrics").1
    }

    pub fn readyz(&self) -> u16 {
        self.get(self.health_port, "/readyz").0
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit status within `within`.
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- controller log ---\n{}", self.log());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs the `tug` binary against the test cluster, as a user would.
pub fn tug(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tug"))
        .args(args)
        .env("KUBECONFIG", cluster().kubeconfig())
        .output()
        .unwrap()
}

pub fn install() {
    let out = Command::new(env!("CARGO_BIN_EXE_tug"))
        .arg("install")
        .env("KUBECONFIG", cluster().kubeconfig())
        .output()
        .unwrap();
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
