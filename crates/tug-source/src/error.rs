//! Errors of Git fetches and artifact storage.
//!
//! Messages name the repository URL (with any user info removed) and the cause, in words a user
//! can act on. They never contain credentials: causes reported by the transport are scrubbed of
//! every secret that was handed to it before they become part of an error (see [`Scrubber`]).

use std::path::PathBuf;

/// Why fetching a Git repository or storing its artifact failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL cannot be parsed or uses a scheme tug does not fetch.
    #[error("invalid repository URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The reference in `spec.ref` is malformed (e.g. a commit that is not a full SHA-1).
    #[error("invalid reference: {0}")]
    InvalidReference(String),

    /// The credentials are missing, malformed, or refused by the server.
    #[error("authentication to {url} failed: {cause}")]
    Authentication { url: String, cause: String },

    /// The SSH server's host key is not in `known_hosts` (or does not match it).
    #[error("host key verification failed for {url}: {cause}")]
    HostKey { url: String, cause: String },

    /// The server's TLS certificate is not trusted (unknown CA, wrong name, expired).
    #[error("TLS certificate verification failed for {url}: {cause}")]
    Certificate { url: String, cause: String },

    /// The server could not be reached (connection refused, DNS, timeout).
    #[error("unable to reach {url}: {cause}")]
    Unreachable { url: String, cause: String },

    /// The repository does not exist at the URL.
    #[error("repository not found at {url}: {cause}")]
    RepositoryNotFound { url: String, cause: String },

    /// The repository exists but has no references at all.
    #[error("repository {url} is empty: it has no branches or tags")]
    EmptyRepository { url: String },

    /// The branch, tag, ref, semver range or commit does not resolve on the remote.
    #[error("{what} not found in {url}")]
    ReferenceNotFound { url: String, what: String },

    /// The fetch did not finish within `spec.timeout`.
    #[error("fetching {url} timed out after {timeout}")]
    Timeout { url: String, timeout: String },

    /// Any other failure of the Git protocol or of reading fetched objects.
    #[error("git operation on {url} failed: {cause}")]
    Git { url: String, cause: String },

    /// An include's `fromPath` or `toPath` leaves the artifact root.
    #[error("path calculation for include '{name}' failed: {cause}")]
    IllegalIncludePath { name: String, cause: String },

    /// An include's files could not be copied into the artifact.
    #[error("failed to copy '{name}' include from {from} to {to}: {cause}")]
    IncludeCopy {
        name: String,
        from: String,
        to: String,
        cause: String,
    },

    /// Reading or writing under the storage directory failed.
    #[error("storage operation failed on {path}: {source}")]
    Storage {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn storage(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Storage {
            path: path.into(),
            source,
        }
    }

    /// Flux's condition reason for this error (`AuthenticationFailed`, `GitOperationFailed`, ...).
    pub fn reason(&self) -> &'static str {
        use tug_api::conditions::reason;
        match self {
            Error::InvalidUrl { .. } => reason::INVALID_URL,
            Error::Authentication { .. } | Error::HostKey { .. } => reason::AUTHENTICATION_FAILED,
            Error::Storage { .. } => "ArchiveOperationFailed",
            Error::IllegalIncludePath { .. } => "IllegalPath",
            Error::IncludeCopy { .. } => "CopyFailure",
            _ => reason::GIT_OPERATION_FAILED,
        }
    }
}

/// Removes secrets from text produced by lower layers (transport errors, ssh's stderr).
///
/// Transports may echo what they were given (a URL with user info, a header); scrubbing every
/// message by value is the one rule that holds whatever the layer below does.
#[derive(Clone, Debug, Default)]
pub struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    /// Remembers `secret` so later messages have it replaced; short values are ignored as they
    /// would mangle ordinary words and are not worth protecting by value.
    pub fn add(&mut self, secret: &str) {
        if secret.len() >= 4 {
            self.secrets.push(secret.to_string());
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            out = out.replace(s.as_str(), "***");
        }
        out
    }
}

/// The URL as it may appear in messages: user info (`user:password@`) and query removed.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = match authority.rfind('@') {
        // Keep a plain user name for ssh (`git@host`): it is not a secret and helps debugging.
        Some(i) if !authority[..i].contains(':') && scheme == "ssh" => authority,
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    format!("{scheme}://{host}{path}")
}

/// Turns a transport failure into the error a user needs, from the text of the whole cause chain.
///
/// gix reports transport failures as nested errors whose types vary by transport (HTTP status,
/// ssh's stderr, io errors); their text is what is stable enough to classify.
pub(crate) fn classify(url: &str, cause: String) -> Error {
    let url = redact_url(url);
    // URLs are left out of what is matched: a port such as 40119 must not read as HTTP 401.
    let lower = without_urls(&cause).to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if has(&[
        "host key verification failed",
        "no matching host key",
        "remote host identification has changed",
    ]) {
        Error::HostKey { url, cause }
    } else if has(&[
        "invalid peer certificate",
        "certificate verify failed",
        "unknownissuer",
        "unknown issuer",
        "certificate is not valid",
        "notvalidforname",
        "certificate expired",
    ]) {
        Error::Certificate { url, cause }
    } else if has(&[
        "401",
        "403",
        "authentication",
        "permission denied",
        "credentials",
        "could not read username",
        "unauthorized",
        "incorrect passphrase",
        "bad passphrase",
    ]) {
        Error::Authentication { url, cause }
    } else if has(&[
        "connection refused",
        "could not connect",
        "failed to connect",
        "timed out",
        "failed to lookup",
        "dns error",
        "name or service not known",
        "connection reset",
        "no route to host",
        "network is unreachable",
        "broken pipe",
        "error sending request",
        "the remote end hung up",
        "unexpected eof",
        "connection closed",
    ]) {
        Error::Unreachable { url, cause }
    } else if has(&[
        "404",
        "not found",
        "does not appear to be a git repository",
        "no such file",
        "not a git repository",
    ]) {
        Error::RepositoryNotFound { url, cause }
    } else {
        Error::Git { url, cause }
    }
}

/// `text` with every `scheme://...` token (up to whitespace or a closing bracket) removed.
fn without_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let start = rest[..i]
            .rfind(|c: char| !c.is_ascii_alphanumeric() && c != '+' && c != '.' && c != '-')
            .map_or(0, |j| j + 1);
        out.push_str(&rest[..start]);
        let after = &rest[i + 3..];
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | ']' | '\'' | '"'))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The text of an error and all its sources, joined by `": "`, duplicates removed.
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_a_url_is_not_read_as_a_status() {
        let cause = "Received HTTP status 404: HTTP status client error (404 Not Found) for url (http://127.0.0.1:40119/git/missing.git/info/refs?service=git-upload-pack)";
        assert!(matches!(
            classify("http://127.0.0.1:40119/git/missing.git", cause.into()),
            Error::RepositoryNotFound { .. }
        ));
        assert!(matches!(
            classify(
                "http://127.0.0.1:40404/r.git",
                "Received HTTP status 401 for url (http://127.0.0.1:40404/r.git)".into()
            ),
            Error::Authentication { .. }
        ));
    }

    #[test]
    fn redacts_user_info() {
        assert_eq!(
            redact_url("https://bob:s3cret@example.com/r.git?x=1"),
            "https://example.com/r.git"
        );
        assert_eq!(
            redact_url("https://tok@example.com/r.git"),
            "https://example.com/r.git"
        );
        assert_eq!(
            redact_url("ssh://git@example.com:22/r.git"),
            "ssh://git@example.com:22/r.git"
        );
        assert_eq!(
            redact_url("ssh://git:pw@example.com/r.git"),
            "ssh://example.com/r.git"
        );
        assert_eq!(redact_url("file:///tmp/r"), "file:///tmp/r");
    }

    #[test]
    fn scrubs_secrets() {
        let mut s = Scrubber::default();
        s.add("hunter22");
        s.add("ab");
        assert_eq!(
            s.scrub("bad password hunter22 for ab"),
            "bad password *** for ab"
        );
    }

    #[test]
    fn classifies_common_failures() {
        let u = "https://x:pw@h/r";
        assert!(matches!(
            classify(u, "Received HTTP status 401".into()),
            Error::Authentication { .. }
        ));
        assert!(matches!(
            classify(u, "Connection refused (os error 111)".into()),
            Error::Unreachable { .. }
        ));
        assert!(matches!(
            classify(u, "Host key verification failed.".into()),
            Error::HostKey { .. }
        ));
        let msg = classify(u, "Received HTTP status 404".into()).to_string();
        assert!(msg.contains("https://h/r") && !msg.contains("pw"), "{msg}");
    }
}
