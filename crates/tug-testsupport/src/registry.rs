//! A real OCI registry on loopback for tests: the CNCF distribution registry (Debian's
//! `docker-registry`, 2.8), with filesystem storage in a scratch directory, deletes enabled,
//! optional htpasswd (bcrypt) basic auth and optional TLS with a throwaway CA. No mocks.
//!
//! The registry runs in its own process group like the Git servers ([`crate::git`]) and is
//! killed when the handle is dropped. Its access log is kept, so tests can count the requests
//! a client made ([`Registry::requests`]).

use crate::git::ServerProcess;
use crate::lighttpd::make_tls_material;
use crate::programs::require_listed;
use anyhow::{bail, Context, Result};
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

const REGISTRY: &str = "/usr/bin/docker-registry";
const DEPS_FILE: &str = "scripts/deps/registry.txt";

/// How to start a [`Registry`].
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Basic auth (htpasswd) with this user and password; anonymous access when `None`.
    pub auth: Option<(String, String)>,
    /// Serve HTTPS with a certificate for 127.0.0.1 signed by a CA made for it.
    pub tls: bool,
}

/// One request from the registry's access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// The path and query, as requested.
    pub path: String,
    pub status: u16,
}

/// A running registry.
pub struct Registry {
    process: ServerProcess,
    ca_pem: Option<String>,
    credentials: Option<(String, String)>,
}

impl Registry {
    /// An anonymous registry over plain HTTP.
    pub fn start_plain() -> Result<Self> {
        Self::start(RegistryOptions::default())
    }

    pub fn start(options: RegistryOptions) -> Result<Self> {
        require_listed(REGISTRY, "docker-registry", DEPS_FILE)?;
        if options.auth.is_some() {
            require_listed("htpasswd", "apache2-utils", DEPS_FILE)?;
        }
        if options.tls {
            require_listed("openssl", "openssl", DEPS_FILE)?;
        }
        let dir = tempfile::Builder::new().prefix("tug-registry-").tempdir()?;
        let storage = dir.path().join("storage");
        fs::create_dir_all(&storage)?;
        let tls_config = if options.tls {
            let (ca, _pem) = make_tls_material(dir.path())?;
            let config = format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("server.crt").display(),
                dir.path().join("server.key").display()
            );
            Some((ca, config))
        } else {
            None
        };
        let auth_config = match &options.auth {
            Some((user, password)) => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .context("running htpasswd")?;
                if !out.status.success() {
                    bail!("htpasswd failed: {}", String::from_utf8_lossy(&out.stderr));
                }
                let file = dir.path().join("htpasswd");
                fs::write(&file, &out.stdout)?;
                format!(
                    "auth:\n  htpasswd:\n    realm: tug-registry\n    path: {}\n",
                    file.display()
                )
            }
            None => String::new(),
        };
        let tls_section = tls_config
            .as_ref()
            .map(|(_, c)| c.clone())
            .unwrap_or_default();
        let process = ServerProcess::start("docker-registry", dir, move |dir, port| {
            let config = format!(
                "version: 0.1\n\
                 log:\n  level: info\n  formatter: text\n\
                 storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n  \
                 maintenance:\n    uploadpurging:\n      enabled: false\n\
                 http:\n  addr: 127.0.0.1:{port}\n  secret: tug-test-secret\n{tls_section}\
                 {auth_config}",
                storage = storage.display(),
            );
            let path = dir.join("config.yml");
            fs::write(&path, config)?;
            let mut cmd = Command::new(REGISTRY);
            cmd.arg("serve").arg(path);
            Ok(cmd)
        })?;
        let registry = Registry {
            process,
            ca_pem: tls_config.map(|(ca, _)| ca),
            credentials: options.auth,
        };
        registry.wait_for_api()?;
        Ok(registry)
    }

    /// Waits until `/v2/` answers (plain HTTP; over TLS, a listening socket is as good: the
    /// registry listens only once its handlers are set up).
    fn wait_for_api(&self) -> Result<()> {
        if self.ca_pem.is_some() {
            return Ok(());
        }
        let start = Instant::now();
        loop {
            match self.probe() {
                Ok(()) => return Ok(()),
                Err(e) if start.elapsed() > Duration::from_secs(10) => {
                    return Err(e.context(format!(
                        "the registry does not answer /v2/; log:\n{}",
                        self.process.log()
                    )))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    fn probe(&self) -> Result<()> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.process.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        write!(
            stream,
            "GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.process.port
        )?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        if !head.starts_with(b"HTTP/1.") {
            bail!("not an HTTP answer");
        }
        Ok(())
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.process.port)
    }

    /// `oci://127.0.0.1:<port>/<repository>`.
    pub fn url(&self, repository: &str) -> String {
        format!("oci://{}/{repository}", self.host())
    }

    /// With TLS: the PEM of the CA that signed the registry's certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The user and password the registry accepts, when it requires them.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// The requests served so far, from the access log (combined log format lines such as
    /// `127.0.0.1 - - [date] "GET /v2/x/manifests/t HTTP/1.1" 200 ...`).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log()
            .lines()
            .filter_map(|line| {
                let (_, rest) = line.split_once(" \"")?;
                let (request, rest) = rest.split_once("\" ")?;
                let mut parts = request.split(' ');
                let method = parts.next()?.to_string();
                let path = parts.next()?.to_string();
                if !parts.next()?.starts_with("HTTP/") || !path.starts_with('/') {
                    return None;
                }
                let status = rest.split(' ').next()?.parse().ok()?;
                Some(LoggedRequest {
                    method,
                    path,
                    status,
                })
            })
            .collect()
    }
}
