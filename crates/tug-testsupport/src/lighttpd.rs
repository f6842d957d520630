//! lighttpd on loopback, as the HTTP servers of the tests run it (Git's http-backend, Helm
//! chart repositories): a port picked free at start, optional TLS with a throwaway CA, and
//! basic auth for [`crate::git::HTTP_USER`]/[`crate::git::HTTP_PASSWORD`] wherever a server's
//! configuration requires it (`auth.require`).

use crate::git::{run, ServerProcess, HTTP_PASSWORD, HTTP_USER};
use crate::programs::{require, require_lighttpd_module};
use anyhow::Result;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running lighttpd and, with TLS, the PEM of the CA that signed its certificate.
pub(crate) struct Lighttpd {
    pub process: ServerProcess,
    pub tls_ca: Option<String>,
}

impl Lighttpd {
    /// Starts lighttpd in a new directory named `prefix...`, with the common configuration
    /// (loopback, port, logs, the users file, TLS) plus `modules` and the server-specific
    /// configuration `body` returns for the directory and port (it sets the document root).
    pub(crate) fn start(
        prefix: &str,
        tls: bool,
        modules: &[&str],
        mut body: impl FnMut(&Path, u16) -> Result<String> + Send + 'static,
    ) -> Result<Lighttpd> {
        require("/usr/sbin/lighttpd", "lighttpd")?;
        if tls {
            require("openssl", "openssl")?;
            require_lighttpd_module("mod_openssl", "lighttpd-mod-openssl")?;
        }
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        let (tls_ca, ssl_config) = if tls {
            let (ca, pem) = make_tls_material(dir.path())?;
            (
                Some(ca),
                format!(
                    "server.modules += ( \"mod_openssl\" )\nssl.engine = \"enable\"\nssl.pemfile = \"{}\"\n",
                    pem.display()
                ),
            )
        } else {
            (None, String::new())
        };
        let mut all_modules = vec!["mod_access", "mod_auth", "mod_authn_file", "mod_accesslog"];
        all_modules.extend_from_slice(modules);
        let modules = all_modules
            .iter()
            .map(|m| format!("\"{m}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let process = ServerProcess::start("lighttpd", dir, move |dir, port| {
            fs::write(dir.join("users"), format!("{HTTP_USER}:{HTTP_PASSWORD}\n"))?;
            let common = format!(
                r#"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{dir}/error.log"
server.modules = ( {modules} )
accesslog.filename = "{dir}/access.log"
server.max-request-size = 0
auth.backend = "plain"
auth.backend.plain.userfile = "{dir}/users"
"#,
                dir = dir.display(),
            );
            let specific = body(dir, port)?;
            fs::write(dir.join("lighttpd.conf"), common + &specific + &ssl_config)?;
            let mut cmd = Command::new("/usr/sbin/lighttpd");
            cmd.arg("-D").arg("-f").arg(dir.join("lighttpd.conf"));
            Ok(cmd)
        })?;
        Ok(Lighttpd { process, tls_ca })
    }
}

/// A throwaway certificate authority and a server certificate it signed for `127.0.0.1`
/// (made with `openssl`). Returns (CA PEM, path of the server's key+certificate PEM).
pub(crate) fn make_tls_material(dir: &Path) -> Result<(String, PathBuf)> {
    let openssl = |args: &[&str]| run(Command::new("openssl").current_dir(dir).args(args));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=tug test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ])?;
    fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])?;
    let pem = dir.join("server.pem");
    let mut both = fs::read(dir.join("server.key"))?;
    both.extend(fs::read(dir.join("server.crt"))?);
    fs::write(&pem, both)?;
    Ok((fs::read_to_string(dir.join("ca.crt"))?, pem))
}
