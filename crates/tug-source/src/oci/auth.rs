//! Registry credentials and the distribution spec's authentication challenges.
//!
//! Credentials come from a user and password, or from a `kubernetes.io/dockerconfigjson`
//! Secret (its `.dockerconfigjson` key: `{"auths": {"host": {"auth": base64(user:pass)}}}` or
//! `username`/`password` fields), matched by host as docker does, `https://` prefixes and
//! paths included.
//!
//! A registry that wants credentials answers 401 with `WWW-Authenticate`: `Basic realm=...`
//! (send the user and password) or `Bearer realm=...,service=...,scope=...` (GET the realm
//! with those parameters, with the user and password when there are any, for a token to send
//! as `Authorization: Bearer`). The client handles both ([`super::Client`]).

use super::error::{Error, Result};
use base64::Engine as _;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A user name and password (or token) for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// `user:password` (the flux CLI's `--creds`); the password may be empty, not the user.
    pub fn parse_user_password(creds: &str) -> Result<Self> {
        let (user, password) = creds.split_once(':').unwrap_or((creds, ""));
        if user.is_empty() {
            return Err(Error::Credentials(
                "expected <username>[:<password>], the user name is empty".into(),
            ));
        }
        Ok(Credentials::new(user, password))
    }

    /// The value of a basic `Authorization` header.
    pub(crate) fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// The `auths` of a docker config (`.dockerconfigjson`).
#[derive(Clone, Default)]
pub struct DockerConfig {
    entries: Vec<(String, Credentials)>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(host, _)| host))
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct RawConfig {
    #[serde(default)]
    auths: HashMap<String, RawAuth>,
}

#[derive(serde::Deserialize, Default)]
struct RawAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

impl DockerConfig {
    /// Parses the JSON of a `.dockerconfigjson`. Errors never quote the content.
    pub fn parse(json: &[u8]) -> Result<Self> {
        let raw: RawConfig = serde_json::from_slice(json).map_err(|e| {
            Error::Credentials(format!(
                "the docker config is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let mut entries = Vec::new();
        for (host, entry) in raw.auths {
            let creds = match (&entry.username, &entry.password, &entry.auth) {
                (Some(u), Some(p), _) if !u.is_empty() => Credentials::new(u, p),
                (_, _, Some(auth)) if !auth.is_empty() => {
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(auth.trim())
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .ok_or_else(|| {
                            Error::Credentials(format!(
                                "the `auth` of {host:?} in the docker config is not base64 of \
                                 user:password"
                            ))
                        })?;
                    let (u, p) = decoded.split_once(':').ok_or_else(|| {
                        Error::Credentials(format!(
                            "the `auth` of {host:?} in the docker config has no ':' between \
                             user and password"
                        ))
                    })?;
                    Credentials::new(u, p)
                }
                _ => continue,
            };
            entries.push((host, creds));
        }
        // Deterministic choice when two spellings of a host are present.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(DockerConfig { entries })
    }

    /// Reads a Secret's data: the `.dockerconfigjson` key.
    pub fn from_secret(data: &std::collections::BTreeMap<String, Vec<u8>>) -> Result<Self> {
        let json = data.get(".dockerconfigjson").ok_or_else(|| {
            Error::Credentials("the secret has no `.dockerconfigjson` key".into())
        })?;
        Self::parse(json)
    }

    /// The credentials for `registry` (`host[:port]`): an entry whose key, once stripped of
    /// a scheme and a path, is that host. Docker Hub's historic key is also accepted for
    /// `docker.io`.
    pub fn credentials_for(&self, registry: &str) -> Option<Credentials> {
        let wanted = registry.to_ascii_lowercase();
        let normalise = |key: &str| {
            let key = key.to_ascii_lowercase();
            let key = key
                .strip_prefix("https://")
                .or_else(|| key.strip_prefix("http://"))
                .unwrap_or(&key)
                .to_string();
            key.split('/').next().unwrap_or_default().to_string()
        };
        let hub = matches!(
            wanted.as_str(),
            "docker.io" | "index.docker.io" | "registry-1.docker.io"
        );
        self.entries
            .iter()
            .find(|(key, _)| {
                let host = normalise(key);
                host == wanted || (hub && host == "index.docker.io")
            })
            .map(|(_, c)| c.clone())
    }
}

/// What a registry's 401 asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic {
        realm: Option<String>,
    },
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses a `WWW-Authenticate` value: a scheme and comma-separated `key=value` or
/// `key="quoted value"` parameters. Unknown schemes give `None`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(rest);
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        Some(Challenge::Basic {
            realm: get("realm"),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    } else {
        None
    }
}

fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ','))
            .collect::<String>()
            .trim()
            .to_string();
        if key.is_empty() {
            return out;
        }
        if chars.next_if_eq(&'=').is_none() {
            continue;
        }
        let value = if chars.next_if_eq(&'"').is_some() {
            let mut v = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => v.extend(chars.next()),
                    '"' => break,
                    c => v.push(c),
                }
            }
            v
        } else {
            std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_string()
        };
        out.push((key, value));
    }
}

/// The answer of a token endpoint (docker's `token`, OAuth2's `access_token`).
#[derive(serde::Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenResponse {
    /// The token and how long to keep it (60 s when unsaid, as the spec's default).
    pub(crate) fn into_token(self) -> Option<(String, Duration)> {
        let token = self
            .token
            .filter(|t| !t.is_empty())
            .or(self.access_token.filter(|t| !t.is_empty()))?;
        let ttl = Duration::from_secs(self.expires_in.unwrap_or(60).max(1));
        Some((token, ttl))
    }
}

/// How the client authenticates to one registry and repository scope, learnt from the
/// challenges so far.
#[derive(Clone)]
pub(crate) enum Authorization {
    Basic,
    Bearer { token: String, until: Instant },
}

/// Authorizations per (registry, scope), kept for the client's lifetime.
#[derive(Default)]
pub(crate) struct AuthCache {
    entries: Mutex<HashMap<(String, String), Authorization>>,
}

impl AuthCache {
    /// A bearer token for this scope, else basic auth when the registry asked for it (basic
    /// auth is per registry, not per scope).
    pub(crate) fn get(&self, registry: &str, scope: &str) -> Option<Authorization> {
        let entries = self.entries.lock().ok()?;
        let scoped = entries.get(&(registry.to_string(), scope.to_string()));
        let any = || entries.get(&(registry.to_string(), String::new()));
        match scoped.or_else(any)? {
            Authorization::Bearer { until, .. } if *until <= Instant::now() => None,
            a => Some(a.clone()),
        }
    }

    pub(crate) fn put(&self, registry: &str, scope: &str, auth: Authorization) {
        let scope = match auth {
            Authorization::Basic => "",
            Authorization::Bearer { .. } => scope,
        };
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert((registry.to_string(), scope.to_string()), auth);
        }
    }

    pub(crate) fn forget(&self, registry: &str, scope: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&(registry.to_string(), scope.to_string()));
            entries.remove(&(registry.to_string(), String::new()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull,push".into()),
            })
        );
        let c = parse_challenge(r#"bearer realm="https://ghcr.io/token", service=ghcr.io"#);
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into()),
                scope: None,
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="tug \"registry\"""#),
            Some(Challenge::Basic {
                realm: Some("tug \"registry\"".into())
            })
        );
        assert_eq!(
            parse_challenge("Basic"),
            Some(Challenge::Basic { realm: None })
        );
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
    }

    #[test]
    fn token_answers_accept_token_or_access_token() {
        let t: TokenResponse = serde_json::from_str(r#"{"token":"a","expires_in":300}"#).unwrap();
        assert_eq!(t.into_token(), Some(("a".into(), Duration::from_secs(300))));
        let t: TokenResponse = serde_json::from_str(r#"{"access_token":"b"}"#).unwrap();
        assert_eq!(t.into_token(), Some(("b".into(), Duration::from_secs(60))));
        let t: TokenResponse = serde_json::from_str(r#"{"token":""}"#).unwrap();
        assert_eq!(t.into_token(), None);
    }

    #[test]
    fn docker_config_matches_hosts_as_docker_does() {
        let json = br#"{"auths":{
            "https://ghcr.io/v1/": {"auth": "Zmx1eDpwYXQ="},
            "127.0.0.1:5000": {"username": "u", "password": "p:w"},
            "https://index.docker.io/v1/": {"auth": "aHViOmh1YnBhc3M="},
            "empty.example": {}
        }}"#;
        let config = DockerConfig::parse(json).unwrap();
        assert_eq!(
            config.credentials_for("ghcr.io"),
            Some(Credentials::new("flux", "pat"))
        );
        assert_eq!(
            config.credentials_for("127.0.0.1:5000"),
            Some(Credentials::new("u", "p:w"))
        );
        assert_eq!(
            config.credentials_for("docker.io"),
            Some(Credentials::new("hub", "hubpass"))
        );
        assert_eq!(config.credentials_for("empty.example"), None);
        assert_eq!(config.credentials_for("127.0.0.1:5001"), None);
        // Debug shows hosts only.
        assert!(!format!("{config:?}").contains("pat"));
    }

    #[test]
    fn docker_config_errors_do_not_quote_secrets() {
        let err = DockerConfig::parse(br#"{"auths":{"h":{"auth":"!!notbase64secret"}}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"h\"") && !err.contains("notbase64secret"),
            "{err}"
        );
        let err = DockerConfig::parse(b"{secret").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        let mut data = std::collections::BTreeMap::new();
        data.insert("other".to_string(), Vec::new());
        assert!(DockerConfig::from_secret(&data).is_err());
    }

    #[test]
    fn user_password_pairs_and_redacted_debug() {
        let c = Credentials::parse_user_password("flux:a:b").unwrap();
        assert_eq!(c, Credentials::new("flux", "a:b"));
        assert!(Credentials::parse_user_password(":x").is_err());
        assert!(!format!("{c:?}").contains("a:b"));
        assert_eq!(
            Credentials::new("Aladdin", "open sesame").basic_header(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }
}
