//! Semver ranges as Flux reads `spec.ref.semver` (the Masterminds/semver v3 syntax).
//!
//! Flux picks the highest tag that satisfies the range. The syntax differs from Cargo's:
//! comparators are separated by spaces or commas, alternatives by `||`, `1.2 - 1.4` is a hyphen
//! range, `1.2.x`/`1.2`/`*` are wildcards, and tags may carry a `v` prefix or omit the minor
//! and patch numbers. Pre-releases only match when a comparator of the same `||` group names a
//! pre-release (e.g. `>=1.0.0-0`), as in Masterminds v3.

use semver::Version;
use std::cmp::Ordering;

/// A parsed semver range.
#[derive(Clone, Debug)]
pub struct Range {
    groups: Vec<Vec<Comparator>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Tilde,
    Caret,
}

#[derive(Clone, Debug)]
struct Comparator {
    op: Op,
    version: Version,
    /// The minor (and so the patch) number was a wildcard or absent.
    minor_dirty: bool,
    /// The patch number was a wildcard or absent.
    patch_dirty: bool,
    /// The major number was a wildcard (`*`, `x`): matches everything for Eq.
    any: bool,
}

/// A range that cannot be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid semver range {0:?}")]
pub struct RangeError(pub String);

/// Parses a tag the way Flux does: an optional `v`, and missing minor/patch numbers as zero.
pub fn parse_version(tag: &str) -> Option<Version> {
    let s = tag.strip_prefix('v').unwrap_or(tag);
    let (core, rest) = match s.find(['-', '+']) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut full = parts.join(".");
    for _ in parts.len()..3 {
        full.push_str(".0");
    }
    Version::parse(&format!("{full}{rest}")).ok()
}

impl std::str::FromStr for Range {
    type Err = RangeError;

    fn from_str(input: &str) -> Result<Self, RangeError> {
        let bad = || RangeError(input.to_string());
        let mut groups = Vec::new();
        for group in input.split("||") {
            let tokens = tokenize(group);
            if tokens.is_empty() {
                return Err(bad());
            }
            let mut comparators = Vec::new();
            let mut i = 0;
            while i < tokens.len() {
                // Hyphen range: `A - B` means `>=A <=B`.
                if i + 2 < tokens.len() && tokens[i + 1] == "-" {
                    comparators.push(comparator(Op::Ge, &tokens[i]).ok_or_else(bad)?);
                    comparators.push(comparator(Op::Le, &tokens[i + 2]).ok_or_else(bad)?);
                    i += 3;
                    continue;
                }
                let t = tokens[i].as_str();
                let (op, rest) = split_op(t);
                comparators.push(comparator(op, rest).ok_or_else(bad)?);
                i += 1;
            }
            groups.push(comparators);
        }
        Ok(Range { groups })
    }
}

/// Splits a group into comparator tokens, gluing an operator written apart from its version
/// (`>= 1.2`) back onto it.
fn tokenize(group: &str) -> Vec<String> {
    let raw: Vec<&str> = group
        .split([' ', ',', '\t'])
        .filter(|t| !t.is_empty())
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut pending_op = String::new();
    for t in raw {
        if t.chars().all(|c| "<>=!~^".contains(c)) {
            pending_op.push_str(t);
        } else {
            out.push(format!("{pending_op}{t}"));
            pending_op.clear();
        }
    }
    out
}

fn split_op(t: &str) -> (Op, &str) {
    for (prefix, op) in [
        ("~>", Op::Tilde),
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ] {
        if let Some(rest) = t.strip_prefix(prefix) {
            return (op, rest);
        }
    }
    (Op::Eq, t)
}

fn comparator(op: Op, text: &str) -> Option<Comparator> {
    let s = text.strip_prefix('v').unwrap_or(text);
    let wild = |p: &str| matches!(p, "x" | "X" | "*");
    let (core, rest) = match s.find(['-', '+']) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    if wild(parts[0]) {
        return Some(Comparator {
            op,
            version: Version::new(0, 0, 0),
            minor_dirty: true,
            patch_dirty: true,
            any: true,
        });
    }
    let num = |i: usize| -> Option<Option<u64>> {
        match parts.get(i) {
            None => Some(None),
            Some(p) if wild(p) => Some(None),
            Some(p) => p.parse().ok().map(Some),
        }
    };
    let major: u64 = parts[0].parse().ok()?;
    let minor = num(1)?;
    let patch = if minor.is_none() { None } else { num(2)? };
    let version = Version::parse(&format!(
        "{major}.{}.{}{rest}",
        minor.unwrap_or(0),
        patch.unwrap_or(0)
    ))
    .ok()?;
    Some(Comparator {
        op,
        version,
        minor_dirty: minor.is_none(),
        patch_dirty: patch.is_none(),
        any: false,
    })
}

impl Range {
    /// Whether `v` satisfies the range.
    pub fn matches(&self, v: &Version) -> bool {
        self.groups.iter().any(|group| {
            let include_pre = group.iter().any(|c| !c.version.pre.is_empty());
            if !v.pre.is_empty() && !include_pre {
                return false;
            }
            group.iter().all(|c| c.matches(v))
        })
    }
}

impl Comparator {
    fn dirty(&self) -> bool {
        self.minor_dirty || self.patch_dirty
    }

    fn matches(&self, v: &Version) -> bool {
        let c = &self.version;
        // Compare ignoring build metadata, as semver precedence does.
        let cmp = |a: &Version, b: &Version| a.cmp_precedence(b);
        let upper = |major: u64, minor: u64, patch: u64| Version::new(major, minor, patch);
        match self.op {
            Op::Eq | Op::Ne => {
                let eq = if self.any {
                    true
                } else if self.dirty() {
                    v.major == c.major && (self.minor_dirty || v.minor == c.minor)
                } else {
                    cmp(v, c) == Ordering::Equal
                };
                eq == (self.op == Op::Eq)
            }
            Op::Gt => {
                if self.any {
                    false
                } else if !self.dirty() {
                    cmp(v, c) == Ordering::Greater
                } else if self.minor_dirty {
                    v.major > c.major
                } else {
                    v.major > c.major || (v.major == c.major && v.minor > c.minor)
                }
            }
            Op::Ge => self.any || cmp(v, c) != Ordering::Less,
            Op::Lt => !self.any && cmp(v, c) == Ordering::Less,
            Op::Le => {
                if self.any || !self.dirty() {
                    self.any || cmp(v, c) != Ordering::Greater
                } else if self.minor_dirty {
                    v.major <= c.major
                } else {
                    v.major < c.major || (v.major == c.major && v.minor <= c.minor)
                }
            }
            Op::Tilde => {
                if self.any {
                    return true;
                }
                let hi = if self.minor_dirty {
                    upper(c.major + 1, 0, 0)
                } else {
                    upper(c.major, c.minor + 1, 0)
                };
                cmp(v, c) != Ordering::Less && cmp(v, &hi) == Ordering::Less
            }
            Op::Caret => {
                if self.any {
                    return true;
                }
                let hi = if c.major > 0 || self.minor_dirty {
                    upper(c.major + 1, 0, 0)
                } else if c.minor > 0 || self.patch_dirty {
                    upper(0, c.minor + 1, 0)
                } else {
                    upper(0, 0, c.patch + 1)
                };
                cmp(v, c) != Ordering::Less && cmp(v, &hi) == Ordering::Less
            }
        }
    }
}

/// The tag with the highest version satisfying `range`, among `tags`; ties (`v1.0.0` and
/// `1.0.0`) go to the greater tag name so the choice is stable.
pub fn highest_match<'a>(
    range: &Range,
    tags: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    tags.into_iter()
        .filter_map(|t| {
            parse_version(t)
                .filter(|v| range.matches(v))
                .map(|v| (v, t))
        })
        .max_by(|(va, ta), (vb, tb)| va.cmp_precedence(vb).then_with(|| ta.cmp(tb)))
        .map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick<'a>(range: &str, tags: &[&'a str]) -> Option<&'a str> {
        highest_match(&range.parse().unwrap(), tags.iter().copied())
    }

    const TAGS: &[&str] = &[
        "v0.1.0",
        "v1.0.0",
        "v1.2.3",
        "v1.2.4-rc.1",
        "v1.3.0",
        "v2.0.0-alpha.1",
        "v2.0.0",
        "v2.1.0-rc.1",
        "latest",
        "1.x",
    ];

    #[test]
    fn picks_highest_release_in_range() {
        assert_eq!(pick("*", TAGS), Some("v2.0.0"));
        assert_eq!(pick(">=1.0.0 <2.0.0", TAGS), Some("v1.3.0"));
        assert_eq!(pick(">=1.0.0, <2.0.0", TAGS), Some("v1.3.0"));
        assert_eq!(pick("~1.2", TAGS), Some("v1.2.3"));
        assert_eq!(pick("^1", TAGS), Some("v1.3.0"));
        assert_eq!(pick("1.x", TAGS), Some("v1.3.0"));
        assert_eq!(pick("1.2.3", TAGS), Some("v1.2.3"));
        assert_eq!(pick("1.0 - 1.2.9", TAGS), Some("v1.2.3"));
        assert_eq!(pick("<1 || ~1.2", TAGS), Some("v1.2.3"));
        assert_eq!(pick("^0.1", TAGS), Some("v0.1.0"));
        assert_eq!(pick(">= 3", TAGS), None);
        assert_eq!(pick("!=2.0.0", TAGS), Some("v1.3.0"));
        assert_eq!(pick(">1", TAGS), Some("v2.0.0"));
        assert_eq!(pick("<=1.2", TAGS), Some("v1.2.3"));
    }

    #[test]
    fn pre_releases_only_when_the_range_names_one() {
        assert_eq!(pick(">=2.0.0-0", TAGS), Some("v2.1.0-rc.1"));
        assert_eq!(pick(">=1.2.4-0 <1.3.0", TAGS), Some("v1.2.4-rc.1"));
        assert_eq!(pick(">=2.1.0", TAGS), None);
        assert_eq!(pick("~2.1.0-0", TAGS), Some("v2.1.0-rc.1"));
    }

    #[test]
    fn lenient_tags() {
        assert_eq!(parse_version("v1"), Some(Version::new(1, 0, 0)));
        assert_eq!(parse_version("1.2"), Some(Version::new(1, 2, 0)));
        assert!(parse_version("release-1").is_none());
        assert!(parse_version("1.2.3.4").is_none());
    }

    #[test]
    fn rejects_garbage() {
        for r in ["", "||", ">=abc", "1.2.3.4", "~"] {
            assert!(r.parse::<Range>().is_err(), "{r}");
        }
    }
}
