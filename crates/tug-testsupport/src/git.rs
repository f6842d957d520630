//! Real Git servers on loopback for tests: `git http-backend` behind lighttpd (with basic and
//! bearer auth), `git daemon`, OpenSSH `sshd` (generated host key, authorised test key), and
//! plain `file://` repositories. No mocks.
//!
//! Each server runs in its own process group on a port picked free at start, and is killed
//! (the whole group) when its handle is dropped; the kernel also kills it if the test process
//! dies (`PR_SET_PDEATHSIG`; note that this fires when the *thread* that started the server
//! exits, so start a server on the thread that uses it, as a test function does). When a test panics, the server's directory (config, logs) is kept
//! and its log tail printed, so failures can be diagnosed.
//!
//! Repositories are made with [`GitRepo`]: a work tree with a bare "served" copy that every
//! server exports, driven by the `git` CLI (tests only; tug itself never runs git).

use crate::lighttpd::Lighttpd;
use crate::programs::require;
use anyhow::{anyhow, bail, Context, Result};
use std::fs;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// User and password accepted by the HTTP server under `/private/`.
pub const HTTP_USER: &str = "tug";
pub const HTTP_PASSWORD: &str = "s3cret-pass";
/// Token accepted by the HTTP server under `/bearer/`.
pub const BEARER_TOKEN: &str = "tok-0123456789";

/// A directory of bare repositories (`<root>/<name>.git`) that servers export.
pub struct RepoRoot {
    dir: tempfile::TempDir,
}

impl RepoRoot {
    pub fn new() -> Result<Self> {
        Ok(RepoRoot {
            dir: tempfile::Builder::new()
                .prefix("tug-git-repos-")
                .tempdir()?,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A new repository `name` with an empty bare copy under this root.
    pub fn repo(&self, name: &str) -> Result<GitRepo> {
        GitRepo::create(self.path(), name)
    }

    /// The `file://` URL of repository `name`.
    pub fn file_url(&self, name: &str) -> String {
        format!("file://{}/{name}.git", self.path().display())
    }
}

/// The `git` the tests use to build fixtures and whose `git-core` programs the servers run.
pub fn git_binary() -> PathBuf {
    for p in ["/usr/bin/git", "/usr/local/bin/git"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("git")
}

fn git_exec_path() -> Result<PathBuf> {
    require(&git_binary().to_string_lossy(), "git")?;
    let out = Command::new(git_binary())
        .arg("--exec-path")
        .output()
        .context("running git --exec-path")?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// A work tree whose commits are pushed to a bare repository that servers export.
pub struct GitRepo {
    pub work: PathBuf,
    pub bare: PathBuf,
    clock: std::cell::Cell<i64>,
}

impl GitRepo {
    fn create(root: &Path, name: &str) -> Result<Self> {
        let bare = root.join(format!("{name}.git"));
        let work = root.join(".work").join(name);
        require(&git_binary().to_string_lossy(), "git")?;
        fs::create_dir_all(&work)?;
        run(Command::new(git_binary())
            .args(["init", "--bare", "-q", "-b", "main"])
            .arg(&bare))?;
        // Let git daemon serve it, and let http-backend serve it whatever the owner.
        fs::write(bare.join("git-daemon-export-ok"), "")?;
        run(Command::new(git_binary()).args([
            "-C",
            &bare.to_string_lossy(),
            "config",
            "uploadpack.allowAnySHA1InWant",
            "true",
        ]))?;
        let repo = GitRepo {
            work,
            bare,
            clock: std::cell::Cell::new(1_700_000_000),
        };
        repo.git(&["init", "-q", "-b", "main"])?;
        repo.git(&["remote", "add", "origin", &repo.bare.to_string_lossy()])?;
        Ok(repo)
    }

    /// The repository `name` created earlier under `root` (e.g. by a fixture function).
    pub fn open(root: &Path, name: &str) -> Self {
        GitRepo {
            work: root.join(".work").join(name),
            bare: root.join(format!("{name}.git")),
            clock: std::cell::Cell::new(1_800_000_000),
        }
    }

    /// Runs git in the work tree with a fixed identity and a clock that ticks one second per
    /// call, so commits are reproducible but distinct. Returns stdout, trimmed.
    pub fn git(&self, args: &[&str]) -> Result<String> {
        self.git_env(args, &[])
    }

    fn git_env(&self, args: &[&str], env: &[(&str, &Path)]) -> Result<String> {
        let t = self.clock.get() + 1;
        self.clock.set(t);
        let date = format!("@{t} +0000");
        let out = Command::new(git_binary())
            .current_dir(&self.work)
            .args([
                "-c",
                "safe.directory=*",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "tag.gpgsign=false",
            ])
            .args(args)
            .env("GIT_AUTHOR_NAME", "Tug Test")
            .env("GIT_AUTHOR_EMAIL", "test@tug.invalid")
            .env("GIT_COMMITTER_NAME", "Tug Test")
            .env("GIT_COMMITTER_EMAIL", "test@tug.invalid")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", &self.work)
            .envs(env.iter().map(|(k, v)| (*k, *v)))
            .output()
            .with_context(|| format!("running git {args:?}"))?;
        if !out.status.success() {
            bail!(
                "git {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Like [`GitRepo::git`], with the signing key's GnuPG home in the environment.
    pub fn git_signing(&self, key: &GpgKey, args: &[&str]) -> Result<String> {
        let mut full = vec!["-c", "gpg.program=gpg", "-c"];
        let signing = format!("user.signingkey={}", key.fingerprint);
        full.push(&signing);
        full.extend_from_slice(args);
        self.git_env(&full, &[("GNUPGHOME", key.home())])
    }

    /// Writes `files`, commits everything signed with `key` (`git commit -S`), returns the SHA.
    pub fn commit_signed(
        &self,
        files: &[(&str, &str)],
        message: &str,
        key: &GpgKey,
    ) -> Result<String> {
        self.write(files)?;
        self.git(&["add", "-A"])?;
        self.git_signing(key, &["commit", "-q", "-S", "--allow-empty", "-m", message])?;
        self.head()
    }

    /// Creates the annotated tag `name` at HEAD, signed with `key` (`git tag -s`).
    pub fn tag_signed(&self, name: &str, message: &str, key: &GpgKey) -> Result<()> {
        self.git_signing(key, &["tag", "-s", "-m", message, name])
            .map(|_| ())
    }

    /// Writes `files` (path, contents) into the work tree.
    pub fn write(&self, files: &[(&str, &str)]) -> Result<()> {
        for (path, contents) in files {
            let p = self.work.join(path);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(&p, contents)?;
        }
        Ok(())
    }

    /// Writes `files`, commits everything with `message`, and returns the commit SHA.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> Result<String> {
        self.write(files)?;
        self.git(&["add", "-A"])?;
        self.git(&["commit", "-q", "--allow-empty", "-m", message])?;
        self.head()
    }

    pub fn head(&self) -> Result<String> {
        self.git(&["rev-parse", "HEAD"])
    }

    /// Pushes `refspecs` to the served bare repository (forced, so rewrites go through).
    pub fn push(&self, refspecs: &[&str]) -> Result<()> {
        let mut args = vec!["push", "-q", "--force", "origin"];
        args.extend_from_slice(refspecs);
        self.git(&args).map(|_| ())
    }

    /// Pushes all branches and tags.
    pub fn push_all(&self) -> Result<()> {
        self.git(&["push", "-q", "--force", "--all", "origin"])?;
        self.git(&["push", "-q", "--force", "--tags", "origin"])
            .map(|_| ())
    }
}

pub(crate) fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A free loopback port (the usual bind-to-0 dance; servers retry if it is taken meanwhile).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Makes a server's command line for its directory and port.
type BuildCommand = dyn FnMut(&Path, u16) -> Result<Command> + Send;

/// A running server process (and its process group), its scratch directory and log.
pub struct ServerProcess {
    name: &'static str,
    child: Option<Child>,
    build: Box<BuildCommand>,
    pub(crate) dir: Option<tempfile::TempDir>,
    log: PathBuf,
    pub port: u16,
}

impl ServerProcess {
    /// Starts `cmd` (configured by `configure` for a port) until it accepts connections on
    /// that port, trying a few ports. stdout and stderr go to `<dir>/<name>.log`.
    pub(crate) fn start(
        name: &'static str,
        dir: tempfile::TempDir,
        build: impl FnMut(&Path, u16) -> Result<Command> + Send + 'static,
    ) -> Result<Self> {
        let log = dir.path().join(format!("{name}.log"));
        let mut server = ServerProcess {
            name,
            child: None,
            build: Box::new(build),
            dir: Some(dir),
            log,
            port: 0,
        };
        let mut last_err = anyhow!("{name} did not start");
        for _attempt in 0..3 {
            server.port = free_port()?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) => last_err = e,
            }
        }
        Err(last_err.context(format!("{name} log:\n{}", server.log())))
    }

    /// Starts the process on `self.port` and waits until it listens.
    fn spawn(&mut self) -> Result<()> {
        let dir = self
            .dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .ok_or_else(|| anyhow!("no directory"))?;
        let mut cmd = (self.build)(&dir, self.port)?;
        let logf = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        cmd.stdin(Stdio::null())
            .stdout(logf.try_clone()?)
            .stderr(logf);
        unsafe {
            cmd.pre_exec(|| {
                // Own process group, so kill reaches children (git daemon forks per client);
                // and die with the test process even if it is killed.
                libc::setpgid(0, 0);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        self.child = Some(
            cmd.spawn()
                .with_context(|| format!("starting {}: {cmd:?}", self.name))?,
        );
        let ready = self.wait_ready(Duration::from_secs(10));
        if ready.is_err() {
            self.kill();
        }
        ready
    }

    /// Starts a stopped server again on the same port (a server coming back).
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        let start = Instant::now();
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                // The old socket may linger for a moment.
                Err(e) if start.elapsed() > Duration::from_secs(10) => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "{} exited with {status} before listening on port {}",
                        self.name,
                        self.port
                    );
                }
            }
            if start.elapsed() > timeout {
                bail!(
                    "{} not listening on port {} after {timeout:?}",
                    self.name,
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the server (the whole process group), as a server going down.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id() as i32;
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                let log = self.log();
                let tail: Vec<&str> = log
                    .lines()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                eprintln!(
                    "--- {} (files kept in {}) log tail:\n{}",
                    self.name,
                    kept.display(),
                    tail.join("\n")
                );
            }
        }
    }
}

/// `git http-backend` behind lighttpd. Routes (all serve the same repositories):
/// - `/git/<name>.git`: anonymous;
/// - `/private/<name>.git`: basic auth [`HTTP_USER`]/[`HTTP_PASSWORD`];
/// - `/bearer/<name>.git`: requires `Authorization: Bearer` [`BEARER_TOKEN`].
pub struct HttpGitServer {
    pub process: ServerProcess,
    root: PathBuf,
    /// With TLS: the PEM of the CA that signed the server's certificate.
    tls_ca: Option<String>,
}

impl HttpGitServer {
    pub fn start(repos: &RepoRoot) -> Result<Self> {
        Self::start_at(repos.path())
    }

    /// The same server over HTTPS, its certificate signed by a CA made for it
    /// ([`HttpGitServer::ca_pem`]); URLs are `https://127.0.0.1:<port>/...`.
    pub fn start_tls(repos: &RepoRoot) -> Result<Self> {
        Self::start_inner(repos.path(), true)
    }

    /// The PEM of the CA that signed a TLS server's certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls_ca.as_deref()
    }

    /// Serves the bare repositories directly under `root`.
    pub fn start_at(root: &Path) -> Result<Self> {
        Self::start_inner(root, false)
    }

    fn start_inner(root: &Path, tls: bool) -> Result<Self> {
        let backend = git_exec_path()?.join("git-http-backend");
        require(&backend.to_string_lossy(), "git")?;
        let root = root.to_path_buf();
        let root_for_config = root.clone();
        let server = Lighttpd::start(
            "tug-lighttpd-",
            tls,
            &["mod_alias", "mod_cgi", "mod_setenv"],
            move |dir, _port| {
                // The CGI goes through a wrapper that records each request as it happens
                // (lighttpd's access log is flushed late), so tests can count round trips.
                let wrapper = dir.join("git-http-backend.sh");
                fs::write(
                    &wrapper,
                    format!(
                        "#!/bin/sh\necho \"$REQUEST_METHOD $PATH_INFO $QUERY_STRING\" >> '{}'\nexec '{}'\n",
                        dir.join("requests.log").display(),
                        backend.display()
                    ),
                )?;
                fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755))?;
                let docroot = dir.join("htdocs");
                fs::create_dir_all(&docroot)?;
                Ok(format!(
                    r#"
server.document-root = "{docroot}"
alias.url = ( "/git/" => "{backend}/", "/private/" => "{backend}/", "/bearer/" => "{backend}/" )
$HTTP["url"] =~ "^/(git|private|bearer)/" {{
    cgi.assign = ( "" => "" )
    setenv.add-environment = ( "GIT_PROJECT_ROOT" => "{root}", "GIT_HTTP_EXPORT_ALL" => "1", "GIT_CONFIG_COUNT" => "1", "GIT_CONFIG_KEY_0" => "safe.directory", "GIT_CONFIG_VALUE_0" => "*" )
}}
auth.require = ( "/private/" => ( "method" => "basic", "realm" => "git", "require" => "valid-user" ) )
$HTTP["url"] =~ "^/bearer/" {{
    $REQUEST_HEADER["Authorization"] != "Bearer {BEARER_TOKEN}" {{
        url.access-deny = ( "" )
    }}
}}
"#,
                    docroot = docroot.display(),
                    backend = wrapper.display(),
                    root = root_for_config.display(),
                ))
            },
        )?;
        Ok(HttpGitServer {
            process: server.process,
            root,
            tls_ca: server.tls_ca,
        })
    }

    /// `http(s)://127.0.0.1:<port>/<route>/<name>.git`, route being `git`, `private` or `bearer`.
    pub fn url(&self, route: &str, name: &str) -> String {
        let scheme = if self.tls_ca.is_some() {
            "https"
        } else {
            "http"
        };
        format!(
            "{scheme}://127.0.0.1:{}/{route}/{name}.git",
            self.process.port
        )
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The git requests served so far, one line each: `METHOD PATH_INFO QUERY`.
    pub fn requests(&self) -> Vec<String> {
        let Some(dir) = self.process.dir.as_ref() else {
            return vec![];
        };
        fs::read_to_string(dir.path().join("requests.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The server's error and access logs.
    pub fn logs(&self) -> String {
        let Some(dir) = self.process.dir.as_ref() else {
            return String::new();
        };
        ["error.log", "access.log", "requests.log"]
            .iter()
            .map(|f| {
                format!(
                    "== {f}\n{}",
                    fs::read_to_string(dir.path().join(f)).unwrap_or_default()
                )
            })
            .collect()
    }
}

/// `git daemon` exporting every repository under the root (`git://127.0.0.1:<port>/<name>.git`).
pub struct GitDaemon {
    pub process: ServerProcess,
}

impl GitDaemon {
    pub fn start(repos: &RepoRoot) -> Result<Self> {
        require(
            &git_exec_path()?.join("git-daemon").to_string_lossy(),
            "git",
        )?;
        let root = repos.path().to_path_buf();
        let dir = tempfile::Builder::new()
            .prefix("tug-git-daemon-")
            .tempdir()?;
        let process = ServerProcess::start("git-daemon", dir, move |_dir, port| {
            let mut cmd = Command::new(git_binary());
            cmd.arg("daemon")
                .arg("--reuseaddr")
                .arg("--export-all")
                .arg("--verbose")
                .arg("--listen=127.0.0.1")
                .arg(format!("--port={port}"))
                .arg(format!("--base-path={}", root.display()))
                .arg(&root)
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "safe.directory")
                .env("GIT_CONFIG_VALUE_0", "*");
            Ok(cmd)
        })?;
        Ok(GitDaemon { process })
    }

    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}.git", self.process.port)
    }
}

/// An OpenPGP key made with `gpg` in a private, temporary GnuPG home (no passphrase), for
/// signing commits and tags.
pub struct GpgKey {
    home: tempfile::TempDir,
    /// The primary key's fingerprint (40 hex digits, upper case).
    pub fingerprint: String,
    /// The primary key's 16-hex-digit ID, as Flux reports it.
    pub key_id: String,
    /// The ASCII-armored public key, as it goes into a Secret.
    pub public_armored: String,
}

impl GpgKey {
    /// A new ed25519 signing key for `email`.
    pub fn generate(email: &str) -> Result<Self> {
        require("gpg", "gpg")?;
        // gpg starts an agent to make and use secret keys.
        require("gpg-agent", "gpg-agent")?;
        // Short path: gpg-agent's socket lives in the home and must fit in sun_path.
        let home = tempfile::Builder::new()
            .prefix("tug-gpg-")
            .tempdir_in("/tmp")?;
        fs::set_permissions(home.path(), fs::Permissions::from_mode(0o700))?;
        let gpg = |args: &[&str]| {
            run(Command::new("gpg")
                .arg("--homedir")
                .arg(home.path())
                .args([
                    "--batch",
                    "--no-tty",
                    "--pinentry-mode",
                    "loopback",
                    "--passphrase",
                    "",
                ])
                .args(args))
        };
        gpg(&[
            "--quick-generate-key",
            &format!("Tug Test <{email}>"),
            "ed25519",
            "sign",
            "never",
        ])?;
        let listing = gpg(&["--with-colons", "--list-keys", email])?;
        let fingerprint = listing
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .ok_or_else(|| anyhow!("no fingerprint in gpg's listing:\n{listing}"))?
            .to_string();
        let key_id = fingerprint[fingerprint.len() - 16..].to_string();
        let public_armored = gpg(&["--armor", "--export", &fingerprint])?;
        Ok(GpgKey {
            home,
            fingerprint,
            key_id,
            public_armored,
        })
    }

    /// The GnuPG home holding the secret key.
    pub fn home(&self) -> &Path {
        self.home.path()
    }
}

impl Drop for GpgKey {
    fn drop(&mut self) {
        // Stop the agent gpg started for this home.
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

/// An SSH key pair made with `ssh-keygen`.
pub struct SshKey {
    pub private: String,
    pub public: String,
}

impl SshKey {
    /// A new ed25519 key, encrypted with `passphrase` when given.
    pub fn generate(dir: &Path, name: &str, passphrase: Option<&str>) -> Result<Self> {
        require("ssh-keygen", "openssh-client")?;
        let path = dir.join(name);
        let _ = fs::remove_file(&path);
        run(Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-C",
                name,
                "-N",
                passphrase.unwrap_or(""),
                "-f",
            ])
            .arg(&path))?;
        Ok(SshKey {
            private: fs::read_to_string(&path)?,
            public: fs::read_to_string(path.with_extension("pub"))?,
        })
    }
}

/// OpenSSH `sshd` on loopback with a generated host key; [`SshServer::client_key`] is
/// authorised. Repositories are reached by absolute path:
/// `ssh://<user>@127.0.0.1:<port><root>/<name>.git`.
pub struct SshServer {
    pub process: ServerProcess,
    root: PathBuf,
    user: String,
    /// The authorised client key.
    pub client_key: SshKey,
    /// The server's host public key line (`ssh-ed25519 AAAA...`).
    pub host_key: String,
}

impl SshServer {
    pub fn start(repos: &RepoRoot) -> Result<Self> {
        require("/usr/sbin/sshd", "openssh-server")?;
        // tug's SSH transport runs OpenSSH's client.
        require("ssh", "openssh-client")?;
        let root = repos.path().to_path_buf();
        let dir = tempfile::Builder::new().prefix("tug-sshd-").tempdir()?;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))?;
        let host = SshKey::generate(dir.path(), "host_ed25519", None)?;
        let client_key = SshKey::generate(dir.path(), "client_ed25519", None)?;
        fs::write(dir.path().join("authorized_keys"), &client_key.public)?;
        let user = run(Command::new("id").arg("-un"))?;
        if unsafe { libc::geteuid() } == 0 {
            // sshd running as root insists on its privilege separation directory.
            fs::create_dir_all("/run/sshd")?;
        }
        // git-upload-pack must be on the PATH sshd gives the session.
        let exec_path = git_exec_path()?;
        let process = ServerProcess::start("sshd", dir, move |dir, port| {
            let config = format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_ed25519\nAuthorizedKeysFile {dir}/authorized_keys\n\
                 PidFile none\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nAcceptEnv GIT_PROTOCOL\nLogLevel VERBOSE\n\
                 SetEnv PATH={exec}:/usr/local/bin:/usr/bin:/bin\n",
                dir = dir.display(),
                exec = exec_path.display(),
            );
            fs::write(dir.join("sshd_config"), config)?;
            let mut cmd = Command::new("/usr/sbin/sshd");
            cmd.arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(dir.join("sshd_config"));
            Ok(cmd)
        })?;
        let host_key = host
            .public
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        Ok(SshServer {
            process,
            root,
            user,
            client_key,
            host_key,
        })
    }

    pub fn url(&self, name: &str) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}/{name}.git",
            self.user,
            self.process.port,
            self.root.display()
        )
    }

    /// The server's directory (sshd_config, authorized_keys, log).
    pub fn process_dir(&self) -> PathBuf {
        self.process
            .dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default()
    }

    /// A known_hosts line trusting this server.
    pub fn known_hosts(&self) -> String {
        format!("[127.0.0.1]:{} {}\n", self.process.port, self.host_key)
    }
}

/// Appends a line to a file (test helper for logs and fixtures).
pub fn append(path: &Path, line: &str) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{line}")?;
    Ok(())
}
