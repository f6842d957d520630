//! `semver` and `semverCompare` as Masterminds/semver v3 (the version Helm v4.2.3 builds with)
//! parses and checks them: loose versions (`v1`, `1.2` are coerced), constraints with `,`/space
//! for "and", `||` for "or", ranges `a - b`, wildcards, `~`, `^`, and the rule that a
//! prerelease version only satisfies a constraint group that itself names a prerelease.

use std::any::Any;
use std::cmp::Ordering;
use std::rc::Rc;
use std::sync::OnceLock;

use regex::Regex;

use super::{arg_str, fixed};
use crate::func::{Func, FuncError, Ty};
use crate::value::{Object, Value};

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        fixed("semver", &[String], |a| {
            let v = Version::parse(arg_str(&a, 0)).map_err(FuncError::msg)?;
            Ok(Value::Object(Rc::new(SemverObject { v, pointer: true })))
        }),
        fixed("semverCompare", &[String, String], |a| {
            let constraints = Constraints::parse(arg_str(&a, 0)).map_err(FuncError::msg)?;
            let v = Version::parse(arg_str(&a, 1)).map_err(FuncError::msg)?;
            Ok(Value::Bool(constraints.check(&v)))
        }),
    ]
}

const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";
const CONSTRAINT_VERSION: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const WS: &str = r"[\t\n\f\r ]";

fn regex(cell: &'static OnceLock<Regex>, build: impl FnOnce() -> String) -> &'static Regex {
    cell.get_or_init(|| {
        let pattern = build();
        Regex::new(&pattern).unwrap_or_else(|e| panic!("built-in pattern {pattern}: {e}"))
    })
}

fn loose_version() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    regex(&R, || {
        r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$".into()
    })
}

fn constraint_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    regex(&R, || {
        format!(r"^{WS}*({OPS}){WS}*({CONSTRAINT_VERSION}){WS}*$")
    })
}

fn range_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    regex(&R, || {
        format!(r"{WS}*({CONSTRAINT_VERSION}){WS}+-{WS}+({CONSTRAINT_VERSION}){WS}*")
    })
}

fn find_constraint_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    regex(&R, || format!(r"({OPS}){WS}*({CONSTRAINT_VERSION})"))
}

fn valid_constraint_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    regex(&R, || {
        format!(
            r"^({WS}*({OPS}){WS}*({CONSTRAINT_VERSION}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CONSTRAINT_VERSION}){WS}*)*$"
        )
    })
}

/// A parsed semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

fn only(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    s.chars().all(allowed)
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

impl Version {
    /// Masterminds' `NewVersion` (with its default coercion of partial versions).
    pub fn parse(text: &str) -> Result<Version, String> {
        let m = loose_version()
            .captures(text)
            .ok_or_else(|| "invalid semantic version".to_string())?;
        let group = |i: usize| m.get(i).map_or("", |g| g.as_str());
        let segment = |s: &str| -> Result<u64, String> {
            let digits = s.trim_start_matches('.');
            if digits.is_empty() {
                return Ok(0);
            }
            digits.parse::<u64>().map_err(|_| {
                format!(
                    "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
                    super::strings::go_quote(digits.as_bytes())
                )
            })
        };
        let v = Version {
            major: segment(group(1))?,
            minor: segment(group(2))?,
            patch: segment(group(3))?,
            pre: group(5).to_string(),
            metadata: group(8).to_string(),
            original: text.to_string(),
        };
        if !v.pre.is_empty() {
            validate_prerelease(&v.pre)?;
        }
        if !v.metadata.is_empty()
            && v.metadata
                .split('.')
                .any(|p| p.is_empty() || !only(p, ident_char))
        {
            return Err("invalid metadata string".into());
        }
        Ok(v)
    }

    fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }

    fn v_prefix(&self) -> &str {
        if self.original.starts_with('v') {
            "v"
        } else {
            ""
        }
    }

    fn with_original(mut self, prefix: &str) -> Version {
        self.original = format!("{prefix}{self}");
        self
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn validate_prerelease(p: &str) -> Result<(), String> {
    for part in p.split('.') {
        if part.is_empty() {
            return Err("invalid prerelease string".into());
        } else if only(part, |c| c.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err("version segment starts with 0".into());
            }
        } else if !only(part, ident_char) {
            return Err("invalid prerelease string".into());
        }
    }
    Ok(())
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let (ap, bp): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..ap.len().max(bp.len()) {
        let (s, o) = (
            ap.get(i).copied().unwrap_or(""),
            bp.get(i).copied().unwrap_or(""),
        );
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
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (_, Err(_)) => Ordering::Less,
        (Err(_), _) => Ordering::Greater,
        (Ok(x), Ok(y)) => {
            if x > y {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

#[derive(Debug)]
struct Constraint {
    op: Op,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

struct Constraints {
    groups: Vec<(Vec<Constraint>, bool)>,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraints {
    fn parse(text: &str) -> Result<Constraints, String> {
        let text = rewrite_range(text);
        let mut groups = Vec::new();
        for part in text.split("||") {
            if !valid_constraint_re().is_match(part) {
                return Err(format!(
                    "improper constraint: {}",
                    super::strings::go_quote(part.as_bytes())
                ));
            }
            let found: Vec<&str> = find_constraint_re()
                .find_iter(part)
                .map(|m| m.as_str())
                .collect();
            let found = if found.is_empty() { vec![part] } else { found };
            let mut group = Vec::new();
            let mut has_pre = false;
            for c in found {
                let parsed = parse_constraint(c)?;
                has_pre |= !parsed.con.pre.is_empty();
                group.push(parsed);
            }
            groups.push((group, has_pre));
        }
        Ok(Constraints { groups })
    }

    fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|(group, has_pre)| group.iter().all(|c| c.check(v, *has_pre)))
    }
}

fn rewrite_range(text: &str) -> String {
    let mut out = text.to_string();
    for m in range_re().captures_iter(text) {
        let whole = m.get(0).map_or("", |g| g.as_str());
        let from = m.get(1).map_or("", |g| g.as_str());
        let to = m.get(11).map_or("", |g| g.as_str());
        out = out.replacen(whole, &format!(">= {from}, <= {to} "), 1);
    }
    out
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            op: Op::TildeOrEqual,
            con: Version::parse("0.0.0")?,
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = constraint_re().captures(c).ok_or_else(|| {
        format!(
            "improper constraint: {}",
            super::strings::go_quote(c.as_bytes())
        )
    })?;
    let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
    let op = match g(1) {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        _ => Op::Caret,
    };
    let (major, minor, patch, pre) = (g(3), g(4), g(5), g(6));
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let text = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&text).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        op,
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op {
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
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    v.compare(c) == Ordering::Greater
                }
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
            Op::Tilde => self.tilde(v),
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            Op::Caret => self.caret(v),
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

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
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

/// `*semver.Version` (from `semver`) or `semver.Version` (from its `Inc*` methods).
#[derive(Debug)]
struct SemverObject {
    v: Version,
    pointer: bool,
}

impl SemverObject {
    fn other(args: &[Value]) -> Result<Version, FuncError> {
        match args.first() {
            Some(Value::Object(o)) => o
                .as_any()
                .downcast_ref::<SemverObject>()
                .map(|s| s.v.clone())
                .ok_or_else(|| FuncError::msg("wrong type for value; expected *semver.Version")),
            _ => Err(FuncError::msg(
                "wrong type for value; expected *semver.Version",
            )),
        }
    }

    fn value(v: Version) -> Value {
        Value::Object(Rc::new(SemverObject { v, pointer: false }))
    }
}

impl Object for SemverObject {
    fn type_name(&self) -> String {
        if self.pointer {
            "*semver.Version"
        } else {
            "semver.Version"
        }
        .into()
    }

    fn member(&self, name: &str, args: Vec<Value>) -> Option<Result<Value, FuncError>> {
        let pointer_method = matches!(
            name,
            "Original"
                | "Compare"
                | "LessThan"
                | "LessThanEqual"
                | "GreaterThan"
                | "GreaterThanEqual"
                | "Equal"
        );
        if pointer_method && !self.pointer {
            // Methods with a pointer receiver are not callable on the (unaddressable) value the
            // Inc* methods return: Helm says "can't evaluate field Original".
            return None;
        }
        let v = &self.v;
        let cmp = |args: &[Value]| Self::other(args).map(|o| v.compare(&o));
        Some(match name {
            "Major" => Ok(Value::Int(v.major as i64)),
            "Minor" => Ok(Value::Int(v.minor as i64)),
            "Patch" => Ok(Value::Int(v.patch as i64)),
            "Prerelease" => Ok(Value::from(v.pre.as_str())),
            "Metadata" => Ok(Value::from(v.metadata.as_str())),
            "Original" => Ok(Value::from(v.original.as_str())),
            "String" => Ok(Value::from(v.to_string())),
            "Compare" => cmp(&args).map(|o| Value::Int(o as i64)),
            "LessThan" => cmp(&args).map(|o| Value::Bool(o == Ordering::Less)),
            "LessThanEqual" => cmp(&args).map(|o| Value::Bool(o != Ordering::Greater)),
            "GreaterThan" => cmp(&args).map(|o| Value::Bool(o == Ordering::Greater)),
            "GreaterThanEqual" => cmp(&args).map(|o| Value::Bool(o != Ordering::Less)),
            "Equal" => cmp(&args).map(|o| Value::Bool(o == Ordering::Equal)),
            "IncMajor" => {
                let next = Version {
                    major: v.major + 1,
                    minor: 0,
                    patch: 0,
                    pre: String::new(),
                    metadata: String::new(),
                    original: String::new(),
                };
                Ok(Self::value(next.with_original(v.v_prefix())))
            }
            "IncMinor" => {
                let next = Version {
                    minor: v.minor + 1,
                    patch: 0,
                    pre: String::new(),
                    metadata: String::new(),
                    ..v.clone()
                };
                Ok(Self::value(next.with_original(v.v_prefix())))
            }
            "IncPatch" => {
                let patch = if v.pre.is_empty() {
                    v.patch + 1
                } else {
                    v.patch
                };
                let next = Version {
                    patch,
                    pre: String::new(),
                    metadata: String::new(),
                    ..v.clone()
                };
                Ok(Self::value(next.with_original(v.v_prefix())))
            }
            _ => return None,
        })
    }

    fn format_v(&self) -> String {
        self.v.to_string()
    }

    fn to_data(&self) -> Value {
        Value::from(self.v.to_string())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(c: &str, v: &str) -> bool {
        Constraints::parse(c)
            .unwrap()
            .check(&Version::parse(v).unwrap())
    }

    #[test]
    fn constraints() {
        assert!(check(">=1.2.0", "1.10.0"));
        assert!(!check(">=1.2.0", "1.3.0-beta.1"));
        assert!(check(">=1.2.0-0", "1.3.0-beta.1"));
        assert!(check("^1.2", "1.9.9"));
        assert!(!check("^1.2", "2.0.0"));
        assert!(check("~1.2.3", "1.2.9"));
        assert!(!check("~1.2.3", "1.3.0"));
        assert!(check("1.2 - 1.4", "1.4.9"));
        assert!(check(">1.0 <2.0 || =3.0.0", "3.0.0"));
        assert!(check(">= 1.0, < 2", "1.5.0"));
        assert!(check("1.x", "1.8.0"));
        assert!(!check("!=1.2.3", "1.2.3"));
        assert!(Constraints::parse("nonsense!").is_err());
    }

    #[test]
    fn versions() {
        let v = Version::parse("v1.2").unwrap();
        assert_eq!(v.to_string(), "1.2.0");
        assert_eq!(
            Version::parse("1.2.3-beta.01").unwrap_err(),
            "version segment starts with 0"
        );
        assert_eq!(Version::parse("x").unwrap_err(), "invalid semantic version");
        assert!(Version::parse("1.0.0-alpha")
            .unwrap()
            .compare(&Version::parse("1.0.0").unwrap())
            .is_lt());
    }
}
