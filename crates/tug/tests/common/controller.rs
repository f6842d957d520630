//! The real `tug controller` process as a test starts it: every port bound by the controller
//! itself (`127.0.0.1:0`) and read back from its log, so no test races another for a port;
//! readiness waited for on `/readyz`; killed when the test ends (and by the kernel if the test
//! process dies first).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tug_testsupport::cluster;

/// Lease timings short enough for a test to see a takeover: a 3 s lease, renewed every 500 ms.
pub const FAST_LEASES: [&str; 3] = [
    "--leader-election-lease-duration=3s",
    "--leader-election-renew-deadline=2s",
    "--leader-election-retry-period=500ms",
];

static INSTANCE_SEQ: AtomicU32 = AtomicU32::new(0);

/// How to start a controller; [`ControllerProcess::launch`] runs it.
#[derive(Clone, Debug)]
pub struct Launch {
    /// `-n`: the lease's namespace and, without `watch_all`, the only namespace watched.
    pub namespace: String,
    /// `--watch-all-namespaces`: the default (true) is what users run.
    pub watch_all: bool,
    pub args: Vec<String>,
}

impl Launch {
    /// A controller watching only `namespace`, so tests sharing a control plane do not see
    /// each other's objects.
    pub fn namespaced(namespace: &str) -> Self {
        Launch {
            namespace: namespace.to_string(),
            watch_all: false,
            args: Vec::new(),
        }
    }

    /// A controller with the defaults users run: every namespace watched, its lease in
    /// `namespace`.
    pub fn cluster_wide(namespace: &str) -> Self {
        Launch {
            watch_all: true,
            ..Launch::namespaced(namespace)
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }
}

/// The controller process; killed when the test ends, panics included.
pub struct ControllerProcess {
    pub child: Child,
    log: PathBuf,
    dir: PathBuf,
    pub namespace: String,
    pub metrics_port: u16,
    pub health_port: u16,
}

impl ControllerProcess {
    /// A controller watching `namespace`; `instance` tells apart several in one test. Waits
    /// until it serves its probes and reports ready.
    pub fn start_with(namespace: &str, instance: &str, extra: &[&str]) -> Self {
        let _ = instance; // every process gets a directory of its own anyway
        let ctrl = Self::launch(&Launch::namespaced(namespace).args(extra));
        ctrl.wait_ready();
        ctrl
    }

    /// Starts the process and returns once it has bound its endpoints (not yet ready:
    /// several can be launched before any is waited for, to start them together).
    pub fn launch(launch: &Launch) -> Self {
        let seq = INSTANCE_SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "tug-ctrl-{}-{}-{seq}",
            launch.namespace,
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("controller.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_tug"));
        command
            .arg("controller")
            .arg(format!("--watch-all-namespaces={}", launch.watch_all))
            .args(["-n", &launch.namespace])
            .arg("--storage-path")
            .arg(dir.join("artifacts"))
            .args(["--storage-addr", "127.0.0.1:0"])
            .args(["--metrics-addr", "127.0.0.1:0"])
            .args(["--health-addr", "127.0.0.1:0"])
            .args(&launch.args)
            .env("KUBECONFIG", cluster().kubeconfig())
            .env("RUST_LOG", "info,tug_controller=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the child when
        // the thread that started it (the test's) exits, so no controller outlives its test.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().expect("starting tug controller");
        let mut ctrl = ControllerProcess {
            child,
            log,
            dir,
            namespace: launch.namespace.clone(),
            metrics_port: 0,
            health_port: 0,
        };
        ctrl.metrics_port = ctrl.bound_port("metrics");
        ctrl.health_port = ctrl.bound_port("health");
        ctrl
    }

    /// The directory the controller stores artifacts in (`--storage-path`).
    pub fn storage_path(&self) -> PathBuf {
        self.dir.join("artifacts")
    }

    /// The port the controller reports for its `what` endpoint ("metrics" or "health").
    fn bound_port(&mut self, what: &str) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(port) = listening_port(&self.log(), what) {
                return port;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "tug controller exited ({status}) before serving {what}:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "tug controller did not report its {what} address:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `/readyz` answers 200 (the process reached the API server and is leading
    /// or standing by).
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.readyz() != 200 {
            assert!(
                Instant::now() < deadline,
                "tug controller not ready:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A GET of `path` on the metrics or health endpoint: (status code, body); (0, "") when
    /// nothing answers.
    pub fn get(&self, port: u16, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return (0, String::new());
        };
        let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
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

    /// How many reconciles of `kind` `namespace/name` this process has finished (the count
    /// of `gotk_reconcile_duration_seconds`): evidence that it looked at an object.
    pub fn reconciles(&self, kind: &str, namespace: &str, name: &str) -> u64 {
        let series = format!(
            "gotk_reconcile_duration_seconds_count{{kind=\"{kind}\",name=\"{name}\",namespace=\"{namespace}\"}} "
        );
        self.metrics()
            .lines()
            .find_map(|l| l.strip_prefix(&series)?.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Whether this process says it holds the lease (`leader_election_master_status`).
    pub fn is_leader(&self) -> bool {
        self.metrics().lines().any(|l| {
            l == "leader_election_master_status{name=\"tug-controller-leader-election\"} 1"
        })
    }

    /// The identity this process competes for the lease with, from its log.
    pub fn identity(&self) -> Option<String> {
        let log = self.log();
        let line = log.lines().find(|l| l.contains("waiting for the lease"))?;
        field(line, "identity")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Where the log is written (stderr of the process).
    pub fn log_path(&self) -> &std::path::Path {
        &self.log
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM, then the exit status within `within`.
    pub fn terminate(&mut self, within: Duration) -> Option<ExitStatus> {
        self.signal(libc::SIGTERM);
        self.exit_status(within)
    }

    /// SIGKILL: the process dies without releasing anything.
    pub fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }

    /// The exit status, once the process exits within `within`.
    pub fn exit_status(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: signalling our own child by its pid (not reaped yet: `child` owns it).
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- controller log ({}), last 150 lines ---\n{}",
                self.log.display(),
                self.log_tail(150)
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The port in the controller's "`what` endpoint listening" line (text or JSON logs).
fn listening_port(log: &str, what: &str) -> Option<u16> {
    let line = log
        .lines()
        .find(|l| l.contains(&format!("{what} endpoint listening")))?;
    let addr = field(line, "addr")?;
    addr.rsplit_once(':')?.1.parse().ok()
}

/// A field of a log line: `name=value` in text logs, `"name":"value"` in JSON ones.
fn field(line: &str, name: &str) -> Option<String> {
    if line.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        return v["fields"][name].as_str().map(str::to_string);
    }
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    let value = line[start..].split_whitespace().next()?;
    Some(value.trim_matches('"').to_string())
}
