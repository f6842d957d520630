//! The API server's audit log of write requests (see `scripts/local-cluster`): what a test
//! reads to prove that something wrote nothing, or wrote in some order.

use serde_json::Value;
use std::path::PathBuf;
use tug_testsupport::cluster;

/// The audit log of this test binary's control plane.
pub struct AuditLog {
    path: PathBuf,
}

/// A position in the audit log: the writes after it are those made since.
#[derive(Clone, Copy, Debug)]
pub struct Mark(u64);

impl AuditLog {
    /// Panics when the control plane was not started by this test binary (with
    /// `TUG_TEST_KUBECONFIG` there is no audit log to read).
    pub fn open() -> AuditLog {
        let path = cluster().audit_log().expect(
            "this test reads the API server's audit log: run it without TUG_TEST_KUBECONFIG",
        );
        AuditLog { path }
    }

    pub fn mark(&self) -> Mark {
        Mark(std::fs::metadata(&self.path).map_or(0, |m| m.len()))
    }

    /// The write requests recorded since `mark`, oldest first.
    pub fn since(&self, mark: Mark) -> Vec<Write> {
        let bytes = std::fs::read(&self.path).unwrap_or_default();
        let start = (mark.0 as usize).min(bytes.len());
        String::from_utf8_lossy(&bytes[start..])
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(Write)
            .collect()
    }
}

/// One audited write request.
#[derive(Clone, Debug)]
pub struct Write(pub Value);

impl Write {
    pub fn verb(&self) -> &str {
        self.0["verb"].as_str().unwrap_or_default()
    }

    /// The plural resource, with `/subresource` when there is one.
    pub fn resource(&self) -> String {
        let r = &self.0["objectRef"];
        match r["subresource"].as_str() {
            Some(sub) => format!("{}/{sub}", r["resource"].as_str().unwrap_or_default()),
            None => r["resource"].as_str().unwrap_or_default().to_string(),
        }
    }

    pub fn namespace(&self) -> &str {
        self.0["objectRef"]["namespace"]
            .as_str()
            .unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.0["objectRef"]["name"].as_str().unwrap_or_default()
    }

    /// Whether kube-controller-manager made it (it shares the admin identity here, so
    /// only its user agent tells it apart).
    pub fn by_controller_manager(&self) -> bool {
        self.0["userAgent"]
            .as_str()
            .is_some_and(|a| a.starts_with("kube-controller-manager"))
    }

    /// Whether the API server accepted it.
    pub fn succeeded(&self) -> bool {
        self.0["responseStatus"]["code"]
            .as_u64()
            .is_some_and(|c| (200..300).contains(&c))
    }
}

impl std::fmt::Display for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}/{} ({}, {})",
            self.verb(),
            self.resource(),
            self.namespace(),
            self.name(),
            self.0["responseStatus"]["code"],
            self.0["userAgent"].as_str().unwrap_or("no user agent")
        )
    }
}
