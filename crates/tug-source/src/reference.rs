//! What to check out, as Flux's `spec.ref` defines it.

use crate::error::{Error, Result};
use crate::semver_range::Range;
use tug_api::source::{GitRepositoryRef, DEFAULT_BRANCH};

/// A Git reference to check out. Built from `spec.ref` with Flux's precedence:
/// commit, then name, then semver, then tag, then branch; `master` when nothing is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// The head of a branch (`refs/heads/<name>`).
    Branch(String),
    /// A tag (`refs/tags/<name>`), lightweight or annotated.
    Tag(String),
    /// The tag with the highest version satisfying a semver range.
    Semver(String),
    /// Any full reference name, e.g. `refs/pull/1/head`.
    Name(String),
    /// A commit, alone (searched in all branches) or within a branch.
    Commit { sha: String, branch: Option<String> },
}

impl Default for Reference {
    fn default() -> Self {
        Reference::Branch(DEFAULT_BRANCH.to_string())
    }
}

impl Reference {
    /// The reference `spec.ref` asks for, validated.
    pub fn from_spec(r: Option<&GitRepositoryRef>) -> Result<Self> {
        let Some(r) = r else {
            return Ok(Reference::default());
        };
        let set = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let reference = if let Some(sha) = set(&r.commit) {
            Reference::Commit {
                sha: sha.to_ascii_lowercase(),
                branch: set(&r.branch),
            }
        } else if let Some(name) = set(&r.name) {
            Reference::Name(name)
        } else if let Some(range) = set(&r.semver) {
            Reference::Semver(range)
        } else if let Some(tag) = set(&r.tag) {
            Reference::Tag(tag)
        } else if let Some(branch) = set(&r.branch) {
            Reference::Branch(branch)
        } else {
            Reference::default()
        };
        reference.validate()?;
        Ok(reference)
    }

    /// Checks what can be checked without the network.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidReference(m));
        match self {
            Reference::Commit { sha, .. } if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) => {
                bad(format!("commit {sha:?} is not a full 40-character SHA-1"))
            }
            Reference::Name(name) if !name.starts_with("refs/") => {
                bad(format!("ref name {name:?} must be a full reference starting with refs/ (e.g. refs/heads/main)"))
            }
            Reference::Semver(range) => range
                .parse::<Range>()
                .map(|_| ())
                .map_err(|e| Error::InvalidReference(e.to_string())),
            Reference::Branch(n) | Reference::Tag(n) if n.contains("..") || n.starts_with('-') || n.contains(char::is_whitespace) => {
                bad(format!("{n:?} is not a valid branch or tag name"))
            }
            _ => Ok(()),
        }
    }

    /// The remote refs to list (and fetch) for this reference, as fetch refspec sources.
    pub(crate) fn remote_patterns(&self) -> Vec<String> {
        match self {
            Reference::Branch(b)
            | Reference::Commit {
                branch: Some(b), ..
            } => vec![format!("refs/heads/{b}")],
            Reference::Tag(t) => vec![format!("refs/tags/{t}")],
            Reference::Semver(_) => vec!["refs/tags/*".to_string()],
            Reference::Name(n) => vec![n.clone()],
            Reference::Commit { branch: None, .. } => vec!["refs/heads/*".to_string()],
        }
    }

    /// Whether checking out needs history (a commit that may be anywhere in a branch).
    pub fn needs_history(&self) -> bool {
        matches!(self, Reference::Commit { .. })
    }

    /// The name Flux puts before `@sha1:` in the revision, if any.
    pub(crate) fn revision_name(&self, resolved_tag: Option<&str>) -> Option<String> {
        match self {
            Reference::Branch(b)
            | Reference::Commit {
                branch: Some(b), ..
            } => Some(b.clone()),
            Reference::Tag(t) => Some(t.clone()),
            Reference::Semver(_) => resolved_tag.map(str::to_string),
            Reference::Name(n) => Some(n.clone()),
            Reference::Commit { branch: None, .. } => None,
        }
    }

    /// How the reference is named in "not found" messages, as Flux words them.
    pub(crate) fn describe(&self) -> String {
        match self {
            Reference::Branch(b) => format!("branch '{b}'"),
            Reference::Tag(t) => format!("tag '{t}'"),
            Reference::Semver(r) => format!("no tag matching semver range '{r}' was"),
            Reference::Name(n) => format!("ref '{n}'"),
            Reference::Commit {
                sha,
                branch: Some(b),
            } => format!("commit '{sha}' in branch '{b}'"),
            Reference::Commit { sha, branch: None } => format!("commit '{sha}'"),
        }
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reference::Branch(b) => write!(f, "branch {b}"),
            Reference::Tag(t) => write!(f, "tag {t}"),
            Reference::Semver(r) => write!(f, "semver {r}"),
            Reference::Name(n) => write!(f, "ref {n}"),
            Reference::Commit {
                sha,
                branch: Some(b),
            } => write!(f, "commit {sha} on branch {b}"),
            Reference::Commit { sha, branch: None } => write!(f, "commit {sha}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(f: impl FnOnce(&mut GitRepositoryRef)) -> Result<Reference> {
        let mut x = GitRepositoryRef::default();
        f(&mut x);
        Reference::from_spec(Some(&x))
    }

    #[test]
    fn flux_precedence_and_default() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            Reference::from_spec(None).unwrap(),
            Reference::Branch("master".into())
        );
        assert_eq!(r(|_| {}).unwrap(), Reference::Branch("master".into()));
        assert_eq!(
            r(|x| {
                x.branch = Some("main".into());
                x.commit = Some(sha.into());
                x.tag = Some("v1".into());
            })
            .unwrap(),
            Reference::Commit {
                sha: sha.into(),
                branch: Some("main".into())
            }
        );
        assert_eq!(
            r(|x| {
                x.tag = Some("v1".into());
                x.semver = Some("1.x".into());
            })
            .unwrap(),
            Reference::Semver("1.x".into())
        );
        assert_eq!(
            r(|x| {
                x.name = Some("refs/pull/1/head".into());
                x.branch = Some("main".into());
            })
            .unwrap(),
            Reference::Name("refs/pull/1/head".into())
        );
    }

    #[test]
    fn rejects_bad_references() {
        assert!(r(|x| x.commit = Some("abc".into())).is_err());
        assert!(r(|x| x.name = Some("main".into())).is_err());
        assert!(r(|x| x.semver = Some(">=x.y.z.w".into())).is_err());
    }
}
