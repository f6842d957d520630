//! Credentials for Git transports, read from a Flux secret's keys.
//!
//! - http(s): `username` + `password` (basic auth), or `bearerToken`.
//! - ssh: `identity` (a private key, PEM or OpenSSH format), `known_hosts` (required: an
//!   unknown or changed host key is refused), and `password` as the key's passphrase.
//!
//! SSH runs OpenSSH's `ssh` client (gix's ssh transport spawns it) with an isolated
//! configuration: only the given key, only the given known_hosts, strict host key checking, no
//! agent, no password prompts. Key and passphrase are written to a private temporary directory
//! that lives as long as the fetch; the passphrase reaches ssh through an askpass helper that
//! reads it from a file, so it is never in a command line or an environment variable.

use crate::error::{Error, Result, Scrubber};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// How to authenticate to a Git server.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    Basic {
        username: String,
        password: String,
    },
    Bearer(String),
    Ssh(SshAuth),
}

/// An SSH identity and the host keys to trust.
#[derive(Clone)]
pub struct SshAuth {
    /// The private key file's contents.
    pub identity: Vec<u8>,
    /// The key's passphrase, if it is encrypted.
    pub passphrase: Option<String>,
    /// known_hosts lines; hosts not listed are refused.
    pub known_hosts: Vec<u8>,
}

/// Secrets are never printed, even by `{:?}`.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("Auth::None"),
            Auth::Basic { username, .. } => {
                write!(f, "Auth::Basic {{ username: {username:?}, password: *** }}")
            }
            Auth::Bearer(_) => f.write_str("Auth::Bearer(***)"),
            Auth::Ssh(s) => write!(
                f,
                "Auth::Ssh {{ identity: ***, passphrase: {}, known_hosts: {} bytes }}",
                if s.passphrase.is_some() {
                    "***"
                } else {
                    "none"
                },
                s.known_hosts.len()
            ),
        }
    }
}

impl Auth {
    /// Credentials from a Flux secret's data for `url`, as source-controller reads them.
    pub fn from_secret(url: &str, data: &BTreeMap<String, Vec<u8>>) -> Result<Self> {
        let text = |k: &str| {
            data.get(k).map(|v| {
                String::from_utf8_lossy(v)
                    .trim_end_matches(['\n', '\r'])
                    .to_string()
            })
        };
        let scheme = url
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        let bad = |cause: &str| Error::Authentication {
            url: crate::error::redact_url(url),
            cause: cause.to_string(),
        };
        if scheme == "ssh" {
            let identity = data
                .get("identity")
                .cloned()
                .ok_or_else(|| bad("secret has no 'identity' key (an SSH private key)"))?;
            let known_hosts = data
                .get("known_hosts")
                .cloned()
                .ok_or_else(|| bad("secret has no 'known_hosts' key"))?;
            return Ok(Auth::Ssh(SshAuth {
                identity,
                passphrase: text("password").filter(|p| !p.is_empty()),
                known_hosts,
            }));
        }
        if let Some(token) = text("bearerToken").filter(|t| !t.is_empty()) {
            return Ok(Auth::Bearer(token));
        }
        match (text("username"), text("password")) {
            (Some(username), Some(password)) => Ok(Auth::Basic { username, password }),
            (Some(_), None) | (None, Some(_)) => {
                Err(bad("secret must contain both 'username' and 'password'"))
            }
            (None, None) => Ok(Auth::None),
        }
    }

    /// A scrubber that knows every secret of these credentials.
    pub(crate) fn scrubber(&self) -> Scrubber {
        let mut s = Scrubber::default();
        match self {
            Auth::Basic { password, .. } => s.add(password),
            Auth::Bearer(token) => s.add(token),
            Auth::Ssh(ssh) => {
                if let Some(p) = &ssh.passphrase {
                    s.add(p);
                }
            }
            Auth::None => {}
        }
        s
    }

    /// Configuration for the fetch repository (`key=value` overrides, kept in memory).
    /// For ssh, writes the identity and helper files into `dir` (a private temporary directory).
    pub(crate) fn config_overrides(&self, url: &str, dir: &Path) -> Result<Vec<String>> {
        match self {
            Auth::Bearer(token) => Ok(vec![format!(
                "http.extraHeader=Authorization: Bearer {token}"
            )]),
            Auth::Ssh(ssh) => {
                let command = ssh_command(ssh, dir).map_err(|e| Error::Authentication {
                    url: crate::error::redact_url(url),
                    cause: format!("preparing the SSH identity: {e}"),
                })?;
                Ok(vec![
                    format!("core.sshCommand={command}"),
                    "ssh.variant=ssh".to_string(),
                ])
            }
            _ => Ok(vec![]),
        }
    }

    /// The username and password to answer an HTTP authentication challenge with.
    pub(crate) fn basic(&self) -> Option<(String, String)> {
        match self {
            Auth::Basic { username, password } => Some((username.clone(), password.clone())),
            _ => None,
        }
    }
}

/// Where ssh's diagnostics go (inside the private directory), to be reported in errors:
/// gix only sees the protocol stream, and "host key verification failed" is said on stderr.
pub(crate) const SSH_STDERR: &str = "stderr";

fn write_private(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.write_all(bytes)
}

/// Single-quotes `s` for a POSIX shell.
fn quote(s: &Path) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', "'\\''"))
}

/// Writes the key material into `dir` and returns the `ssh` command line that uses it.
fn ssh_command(ssh: &SshAuth, dir: &Path) -> std::io::Result<String> {
    let identity = dir.join("identity");
    let known_hosts = dir.join("known_hosts");
    let mut key = ssh.identity.clone();
    if !key.ends_with(b"\n") {
        key.push(b'\n');
    }
    write_private(&identity, &key, 0o600)?;
    write_private(&known_hosts, &ssh.known_hosts, 0o600)?;
    let mut prefix = String::new();
    let mut batch = "-o BatchMode=yes";
    if let Some(passphrase) = &ssh.passphrase {
        let pass_file = dir.join("passphrase");
        let askpass = dir.join("askpass");
        write_private(&pass_file, passphrase.as_bytes(), 0o600)?;
        write_private(
            &askpass,
            format!("#!/bin/sh\nexec cat {}\n", quote(&pass_file)).as_bytes(),
            0o700,
        )?;
        prefix = format!(
            "SSH_ASKPASS={} SSH_ASKPASS_REQUIRE=force DISPLAY=none ",
            quote(&askpass)
        );
        // BatchMode would forbid asking for the passphrase, even through askpass.
        batch = "-o NumberOfPasswordPrompts=1";
    }
    Ok(format!(
        "{prefix}ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o IdentityAgent=none -o UserKnownHostsFile={} \
         -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o PasswordAuthentication=no \
         -o KbdInteractiveAuthentication=no -o ConnectTimeout=30 -o LogLevel=ERROR {batch} 2>>{}",
        quote(&identity),
        quote(&known_hosts),
        quote(&dir.join(SSH_STDERR))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn reads_flux_secret_keys() {
        let a = Auth::from_secret(
            "https://h/r",
            &data(&[("username", "u"), ("password", "p4ss\n")]),
        )
        .unwrap();
        assert!(matches!(a, Auth::Basic { ref password, .. } if password == "p4ss"));
        assert!(matches!(
            Auth::from_secret("https://h/r", &data(&[("bearerToken", "t")])).unwrap(),
            Auth::Bearer(_)
        ));
        assert!(matches!(
            Auth::from_secret("https://h/r", &data(&[])).unwrap(),
            Auth::None
        ));
        assert!(Auth::from_secret("https://h/r", &data(&[("username", "u")])).is_err());
        let e = Auth::from_secret("ssh://git@h/r", &data(&[("identity", "k")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("known_hosts"), "{e}");
        let a = Auth::from_secret(
            "ssh://git@h/r",
            &data(&[("identity", "k"), ("known_hosts", "h"), ("password", "pp")]),
        )
        .unwrap();
        assert!(matches!(
            a,
            Auth::Ssh(SshAuth {
                passphrase: Some(_),
                ..
            })
        ));
    }

    #[test]
    fn debug_hides_secrets() {
        let a = Auth::Basic {
            username: "u".into(),
            password: "hunter22".into(),
        };
        assert!(!format!("{a:?}").contains("hunter22"));
        assert!(!format!("{:?}", Auth::Bearer("tok123".into())).contains("tok123"));
    }
}
