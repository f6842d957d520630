//! The local control plane for tests: one per test binary, started on first use and shared
//! by its tests; each test works in a namespace of its own.
//!
//! The cluster is started with `scripts/local-cluster up --watch-pid <this process>`, so it
//! stops by itself when the test binary exits. Set `TUG_TEST_KUBECONFIG` to run the tests
//! against an already running cluster instead (a faster edit-test loop).

use anyhow::{anyhow, bail, Context, Result};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// A running control plane.
pub struct TestCluster {
    kubeconfig: PathBuf,
    /// The state directory when this process started the cluster (for log tails).
    dir: Option<PathBuf>,
}

/// The repository root, where `scripts/local-cluster` lives.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("../.."))
}

static CLUSTER: OnceLock<Result<TestCluster, String>> = OnceLock::new();

/// The shared cluster of this test binary, started on first call. Panics with the cluster's
/// log tail when it cannot start, so a failing test says why.
pub fn cluster() -> &'static TestCluster {
    let result = CLUSTER.get_or_init(|| start().map_err(|e| format!("{e:#}")));
    match result {
        Ok(c) => c,
        Err(e) => panic!("the local control plane could not start:\n{e}"),
    }
}

fn start() -> Result<TestCluster> {
    if let Some(path) = std::env::var_os("TUG_TEST_KUBECONFIG").filter(|p| !p.is_empty()) {
        return Ok(TestCluster {
            kubeconfig: PathBuf::from(path),
            dir: None,
        });
    }
    let root = repo_root();
    let dir = std::env::temp_dir().join(format!("tug-test-cluster-{}", std::process::id()));
    let out = Command::new(root.join("scripts/local-cluster"))
        .arg("up")
        .arg("--watch-pid")
        .arg(std::process::id().to_string())
        .env("TUG_CLUSTER_DIR", &dir)
        .output()
        .context("running scripts/local-cluster up")?;
    if !out.status.success() {
        bail!(
            "scripts/local-cluster up failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(TestCluster {
        kubeconfig: dir.join("kubeconfig"),
        dir: Some(dir),
    })
}

static NAMESPACE_SEQ: AtomicU32 = AtomicU32::new(0);

impl TestCluster {
    /// The kubeconfig file of the cluster (for child processes such as the `tug` binary).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A new client. Each test runs on its own runtime, so each gets its own client.
    pub async fn client(&self) -> Result<Client> {
        let kc = Kubeconfig::read_from(&self.kubeconfig)
            .with_context(|| format!("reading {}", self.kubeconfig.display()))?;
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
        Ok(Client::try_from(config)?)
    }

    /// Creates a namespace named after `test` with a unique suffix.
    pub async fn namespace(&self, test: &str) -> Result<TestNamespace> {
        let client = self.client().await?;
        let slug: String = test
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        let name = format!(
            "{}-{}-{}",
            slug.trim_matches('-'),
            std::process::id(),
            NAMESPACE_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .map_err(|e| anyhow!("creating namespace {name}: {e}\n{}", self.log_tail(20)))?;
        Ok(TestNamespace { name, client })
    }

    /// The last lines of the control plane's logs, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let Some(dir) = &self.dir else {
            return String::from("(cluster not started by this process; no logs)");
        };
        let mut out = String::new();
        for name in ["apiserver", "controller-manager", "etcd"] {
            let path = dir.join("logs").join(format!("{name}.log"));
            if let Ok(text) = std::fs::read_to_string(&path) {
                let tail: Vec<&str> = text.lines().rev().take(lines).collect();
                out.push_str(&format!("==> {} <==\n", path.display()));
                for line in tail.into_iter().rev() {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Kills the kube-apiserver with SIGKILL (etcd and the controller manager keep running),
    /// as a crash or the first half of a rollout does. Only for a cluster this process started.
    pub fn kill_apiserver(&self) -> Result<()> {
        self.local_cluster("kill-apiserver")
    }

    /// Starts the kube-apiserver again with the arguments, port and certificates it had, and
    /// waits until it is ready.
    pub fn start_apiserver(&self) -> Result<()> {
        self.local_cluster("start-apiserver")
    }

    fn local_cluster(&self, command: &str) -> Result<()> {
        let Some(dir) = &self.dir else {
            bail!(
                "`{command}` needs a cluster started by this process (TUG_TEST_KUBECONFIG is set)"
            );
        };
        let out = Command::new(repo_root().join("scripts/local-cluster"))
            .arg(command)
            .env("TUG_CLUSTER_DIR", dir)
            .output()
            .with_context(|| format!("running scripts/local-cluster {command}"))?;
        if !out.status.success() {
            bail!(
                "scripts/local-cluster {command} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// The apiserver's audit log (write requests only), when this process started the cluster.
    pub fn audit_log(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("logs/audit.log"))
    }
}

/// A namespace for one test, and a client to use in it.
pub struct TestNamespace {
    pub name: String,
    pub client: Client,
}

impl TestNamespace {
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }
}
