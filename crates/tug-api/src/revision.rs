//! Revision strings as Flux writes them: `<name>@<algorithm>:<digest>`.
//!
//! Examples: `main@sha1:1f2e...` (a branch head), `v1.2.3@sha1:...` (a tag), `sha1:...`
//! (a bare commit), `refs/pull/1/head@sha1:...` (any ref). Consumers compare revisions by
//! digest, so a renamed branch pointing at the same commit is the same revision.

use std::fmt;
use std::str::FromStr;

/// A parsed revision string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Revision {
    /// The named pointer (branch, tag, ref), when there is one.
    pub name: Option<String>,
    /// The digest algorithm, e.g. `sha1`, `sha256`.
    pub algorithm: String,
    /// The lower-case hex digest.
    pub digest: String,
}

/// A string that is not a revision of the form `[<name>@]<algorithm>:<hex>`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid revision {0:?}: expected [<name>@]<algorithm>:<hex digest>")]
pub struct RevisionError(pub String);

impl Revision {
    /// A Git revision for a commit reached through `name` (branch, tag or ref).
    pub fn git(name: Option<&str>, commit_hex: &str) -> Self {
        Revision {
            name: name.map(str::to_string),
            algorithm: "sha1".into(),
            digest: commit_hex.to_ascii_lowercase(),
        }
    }

    /// Whether both revisions point at the same content, whatever their names.
    pub fn same_content(&self, other: &Revision) -> bool {
        self.algorithm == other.algorithm && self.digest == other.digest
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name}@{}:{}", self.algorithm, self.digest),
            None => write!(f, "{}:{}", self.algorithm, self.digest),
        }
    }
}

impl FromStr for Revision {
    type Err = RevisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || RevisionError(s.to_string());
        // The name may itself contain '@' (rare, but legal in refs); the digest part cannot.
        let (name, rest) = match s.rfind('@') {
            Some(i) => (Some(&s[..i]), &s[i + 1..]),
            None => (None, s),
        };
        let (algorithm, digest) = rest.split_once(':').ok_or_else(bad)?;
        let valid_algorithm =
            !algorithm.is_empty() && algorithm.chars().all(|c| c.is_ascii_alphanumeric());
        let valid_digest = !digest.is_empty() && digest.chars().all(|c| c.is_ascii_hexdigit());
        if !valid_algorithm || !valid_digest || name == Some("") {
            return Err(bad());
        }
        Ok(Revision {
            name: name.map(str::to_string),
            algorithm: algorithm.to_string(),
            digest: digest.to_ascii_lowercase(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn round_trips_flux_forms() {
        for s in [
            format!("main@sha1:{HEX}"),
            format!("sha1:{HEX}"),
            format!("refs/pull/1/head@sha1:{HEX}"),
            format!("v1.2.3@sha256:{HEX}"),
        ] {
            let r: Revision = s.parse().unwrap();
            assert_eq!(r.to_string(), s);
        }
        let r: Revision = format!("main@sha1:{HEX}").parse().unwrap();
        assert_eq!(r.name.as_deref(), Some("main"));
        assert_eq!(r, Revision::git(Some("main"), HEX));
    }

    #[test]
    fn compares_by_content() {
        let a: Revision = format!("main@sha1:{HEX}").parse().unwrap();
        let b: Revision = format!("v1@sha1:{HEX}").parse().unwrap();
        assert!(a.same_content(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "main",
            "main@",
            "main@sha1:",
            "@sha1:abc",
            "main@sha1:xyz",
            "main/abc123",
        ] {
            assert!(s.parse::<Revision>().is_err(), "{s}");
        }
    }
}
