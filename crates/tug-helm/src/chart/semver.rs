//! Semantic versions and range constraints as Masterminds/semver v3 reads them: Helm validates
//! `version` in Chart.yaml with it and matches declared dependencies to the charts in `charts/`
//! with `IsCompatibleRange`.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

/// A parsed version. `1.2` is `1.2.0`, a leading `v` is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
}

const NUM: &str = r"(0|[1-9][0-9]*)";
const PRE_PART: &str = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)";
/// The `x`-wildcard version syntax a constraint accepts.
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";
/// Go's `\s`: ASCII whitespace only.
const WS: &str = r"[\t\n\f\r ]";

static VERSION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^v?{NUM}(?:\.{NUM})?(?:\.{NUM})?(?:-({PRE_PART}(?:\.{PRE_PART})*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
    ))
    .expect("version regex")
});
static CONSTRAINT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^{WS}*({OPS}){WS}*({CV}){WS}*$")).expect("constraint regex")
});
static RANGE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"{WS}*({CV}){WS}+-{WS}+({CV}){WS}*")).expect("range regex")
});
static FIND_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"({OPS}){WS}*({CV})")).expect("find regex"));
static VALID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^({WS}*({OPS}){WS}*({CV}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CV}){WS}*)*$"
    ))
    .expect("valid constraint regex")
});

impl Version {
    /// Parses a version as `semver.NewVersion` does; `None` when it is not one.
    pub fn parse(s: &str) -> Option<Version> {
        let m = VERSION_RE.captures(s)?;
        let num = |i: usize| -> Option<u64> {
            match m.get(i) {
                Some(g) => g.as_str().parse().ok(),
                None => Some(0),
            }
        };
        Some(Version {
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre: m.get(4).map_or("", |g| g.as_str()).to_string(),
            metadata: m.get(5).map_or("", |g| g.as_str()).to_string(),
        })
    }

    /// Precedence order; build metadata is ignored.
    pub fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let ap: Vec<&str> = a.split('.').collect();
    let bp: Vec<&str> = b.split('.').collect();
    for i in 0..ap.len().max(bp.len()) {
        let s = ap.get(i).copied().unwrap_or("");
        let o = bp.get(i).copied().unwrap_or("");
        let d = compare_pre_part(s, o);
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => s.cmp(o),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(a), Ok(b)) => a.cmp(&b),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Single {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// A parsed constraint: alternatives (`||`) of conjunctions.
#[derive(Debug, Clone)]
pub struct Constraint {
    alternatives: Vec<(Vec<Single>, bool)>,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_single(text: &str) -> Option<Single> {
    let m = CONSTRAINT_RE.captures(text)?;
    let op = match m.get(1).map_or("", |g| g.as_str()) {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        _ => Op::Caret,
    };
    let g = |i: usize| m.get(i).map_or("", |g| g.as_str());
    // Groups of the version inside the constraint regex: 3 major, 4 .minor, 5 .patch, 6 -pre.
    let (major, minor, patch, pre) = (g(3), g(4), g(5), g(6));
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let ver = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        dirty = true;
        minor_dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        g(2).to_string()
    };
    Some(Single {
        op,
        con: Version::parse(&ver)?,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

impl Constraint {
    /// Parses a constraint as `semver.NewConstraint` does; `None` when it is improper (an
    /// empty string is).
    pub fn parse(text: &str) -> Option<Constraint> {
        let mut rewritten = text.to_string();
        for caps in RANGE_RE.captures_iter(text) {
            let whole = caps.get(0).map_or("", |g| g.as_str());
            let from = caps.get(1).map_or("", |g| g.as_str());
            let to = caps.get(11).map_or("", |g| g.as_str());
            rewritten = rewritten.replacen(whole, &format!(">= {from}, <= {to} "), 1);
        }
        let mut alternatives = Vec::new();
        for alt in rewritten.split("||") {
            if !VALID_RE.is_match(alt) {
                return None;
            }
            let mut parts = Vec::new();
            let mut has_pre = false;
            for found in FIND_RE.find_iter(alt) {
                let single = parse_single(found.as_str())?;
                has_pre |= !single.con.pre.is_empty();
                parts.push(single);
            }
            alternatives.push((parts, has_pre));
        }
        Some(Constraint { alternatives })
    }

    /// Whether `v` satisfies the constraint. Prereleases only match alternatives that name one.
    pub fn check(&self, v: &Version) -> bool {
        self.alternatives
            .iter()
            .any(|(parts, pre)| parts.iter().all(|c| c.check(v, *pre)))
    }
}

impl Single {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op {
            Op::TildeOrEqual if self.dirty => self.tilde(v),
            Op::TildeOrEqual => v.compare(c) == Ordering::Equal,
            Op::Tilde => self.tilde(v),
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.compare(c) == Ordering::Greater
            }
            Op::Less => v.compare(c) == Ordering::Less,
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            Op::Caret => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// Helm's `IsCompatibleRange`: `version` parses and satisfies `constraint`.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (Constraint::parse(constraint), Version::parse(version)) {
        (Some(c), Some(v)) => c.check(&v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_loosely_like_masterminds() {
        assert!(Version::parse("1.2").is_some());
        assert!(Version::parse("v1.2.3-rc.1+build").is_some());
        assert!(Version::parse("1.2.3-01").is_none());
        assert!(Version::parse("01.2.3").is_none());
        assert!(Version::parse("1.2.3.4").is_none());
        assert!(Version::parse("").is_none());
    }

    #[test]
    fn constraints_match_like_masterminds() {
        for (c, v, want) in [
            ("~1.4.0", "1.4.7", true),
            ("~1.4.0", "1.5.0", false),
            ("^0.1.0", "0.1.9", true),
            ("^0.1.0", "0.2.0", false),
            ("^1.2", "1.9.0", true),
            ("1.x", "1.3.0", true),
            ("1.2.3", "1.2.3", true),
            ("1.2.3", "1.2.4", false),
            (">=1.0.0, <2.0.0", "1.5.0", true),
            (">=1.0.0 <2.0.0", "2.0.0", false),
            ("1.0.0 - 2.0.0", "2.0.0", true),
            ("<1.0.0 || >=3.0.0", "3.1.0", true),
            (">=1.0.0", "1.1.0-beta", false),
            (">=1.0.0-0", "1.1.0-beta", true),
            ("", "1.0.0", false),
            ("*", "4.0.0", true),
        ] {
            assert_eq!(is_compatible_range(c, v), want, "{c} {v}");
        }
    }
}
