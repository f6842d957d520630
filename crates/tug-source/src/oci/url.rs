//! `oci://host[:port]/path/repo[:tag][@sha256:digest]` URLs, as Flux's OCIRepository
//! `spec.url` and the flux CLI's artifact commands take them.

use super::digest::check_digest;
use super::error::{Error, Result};
use std::fmt;

/// The scheme prefix of artifact URLs.
pub const OCI_PREFIX: &str = "oci://";

/// A parsed artifact URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OciUrl {
    /// `host[:port]`, lowercase.
    pub registry: String,
    /// The repository path, e.g. `org/config/app`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<hex>`.
    pub digest: Option<String>,
}

impl OciUrl {
    /// Parses `url`; the `oci://` prefix is required.
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let rest = url
            .strip_prefix(OCI_PREFIX)
            .ok_or_else(|| bad("URL must start with oci://"))?;
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("URL must name a repository after the registry host"))?;
        if registry.is_empty() || registry.contains(['@', '?', '#', ' ']) {
            return Err(bad("invalid registry host"));
        }
        if let Some((_, port)) = registry.rsplit_once(':') {
            if port.parse::<u16>().is_err() {
                return Err(bad("invalid registry port"));
            }
        }
        let (path, digest) = match path.split_once('@') {
            Some((p, d)) => {
                check_digest(d).map_err(|_| bad("invalid digest: expected sha256:<64 hex>"))?;
                (p, Some(d.to_string()))
            }
            None => (path, None),
        };
        // A tag follows the last ':' of the last path segment (ports are in the host).
        let (repository, tag) = match path.rfind(':') {
            Some(i) if !path[i..].contains('/') => (&path[..i], Some(path[i + 1..].to_string())),
            _ => (path, None),
        };
        check_repository(repository).map_err(|r| bad(&r))?;
        if let Some(tag) = &tag {
            if !valid_tag(tag) {
                return Err(bad(
                    "invalid tag: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'",
                ));
            }
        }
        Ok(OciUrl {
            registry: registry.to_ascii_lowercase(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// The reference to resolve: the digest when there is one, else the tag, else `latest`.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// `host/repository`, without scheme, tag or digest.
    pub fn repository_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> OciUrl {
        OciUrl {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for OciUrl {
    /// The URL without its scheme, as the flux CLI prints references: `host/repo:tag@digest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// The distribution spec's repository grammar: lowercase path components of `[a-z0-9]`
/// separated by `.`, `_`, `__` or runs of `-`.
fn check_repository(repo: &str) -> std::result::Result<(), String> {
    if repo.is_empty() {
        return Err("empty repository name".into());
    }
    if repo.len() > 255 {
        return Err("repository name longer than 255 characters".into());
    }
    for component in repo.split('/') {
        let bytes = component.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let ok = !bytes.is_empty()
            && alnum(bytes[0])
            && alnum(bytes[bytes.len() - 1])
            && bytes
                .iter()
                .all(|&b| alnum(b) || matches!(b, b'.' | b'_' | b'-'))
            && !component.contains("..")
            && !component.contains("___")
            && !component.contains("._")
            && !component.contains("_.");
        if !ok {
            return Err(format!(
                "invalid repository path component {component:?}: lowercase letters, digits and \
                 single separators (. _ __ -) only"
            ));
        }
    }
    Ok(())
}

pub(crate) fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_host_port_repository_tag_and_digest() {
        let u = OciUrl::parse(&format!("oci://127.0.0.1:5000/org/app:v1.0@{D}")).unwrap();
        assert_eq!(u.registry, "127.0.0.1:5000");
        assert_eq!(u.repository, "org/app");
        assert_eq!(u.tag.as_deref(), Some("v1.0"));
        assert_eq!(u.digest.as_deref(), Some(D));
        assert_eq!(u.reference(), D);
        assert_eq!(u.to_string(), format!("127.0.0.1:5000/org/app:v1.0@{D}"));

        let u = OciUrl::parse("oci://ghcr.io/org/config/app").unwrap();
        assert_eq!(u.repository, "org/config/app");
        assert_eq!(u.tag, None);
        assert_eq!(u.reference(), "latest");
        let u = OciUrl::parse("oci://Registry.Example:443/a/b:latest").unwrap();
        assert_eq!(u.registry, "registry.example:443");
        assert_eq!(u.tag.as_deref(), Some("latest"));
    }

    #[test]
    fn errors_name_the_input() {
        for bad in [
            "https://ghcr.io/org/app",
            "oci://ghcr.io",
            "oci://ghcr.io/",
            "oci://ghcr.io:x/app",
            "oci://ghcr.io/Org/app",
            "oci://ghcr.io/org//app",
            "oci://ghcr.io/org/app:-bad",
            "oci://ghcr.io/org/app@sha256:1234",
            "oci://ghcr.io/../app",
        ] {
            let err = OciUrl::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }
}
