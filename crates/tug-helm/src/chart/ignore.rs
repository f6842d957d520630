//! `.helmignore`: Helm's ignore rules, matched with Go's `filepath.Match`.
//!
//! Helm's semantics differ from `.gitignore` in ways a chart author can see: a rule without `/`
//! matches a path's base name, a rule with `/` the whole path relative to the chart, `**` is
//! refused, and a negated rule `!x` ignores every path that does *not* match `x`.

/// A rule file could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IgnoreError {
    #[error("double-star (**) syntax is not supported")]
    DoubleStar,
    #[error("syntax error in pattern")]
    BadPattern,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled Go `filepath.Match` pattern (`/` is the separator).
#[derive(Debug, Clone, PartialEq)]
pub struct GoPattern(Vec<Tok>);

impl GoPattern {
    /// Compiles `pattern`, refusing what Go reports as `ErrBadPattern`.
    pub fn new(pattern: &str) -> Result<GoPattern, IgnoreError> {
        let mut toks = Vec::new();
        let mut it = pattern.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '*' => toks.push(Tok::Star),
                '?' => toks.push(Tok::Any),
                '\\' => toks.push(Tok::Lit(it.next().ok_or(IgnoreError::BadPattern)?)),
                '[' => {
                    let negated = it.peek() == Some(&'^');
                    if negated {
                        it.next();
                    }
                    let mut ranges = Vec::new();
                    loop {
                        if it.peek() == Some(&']') && !ranges.is_empty() {
                            it.next();
                            break;
                        }
                        let lo = class_char(&mut it)?;
                        let hi = if it.peek() == Some(&'-') {
                            it.next();
                            let hi = class_char(&mut it)?;
                            if hi < lo {
                                return Err(IgnoreError::BadPattern);
                            }
                            hi
                        } else {
                            lo
                        };
                        ranges.push((lo, hi));
                    }
                    toks.push(Tok::Class { negated, ranges });
                }
                c => toks.push(Tok::Lit(c)),
            }
        }
        Ok(GoPattern(toks))
    }

    /// Whether the whole of `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let chars: Vec<char> = name.chars().collect();
        match_from(&self.0, &chars)
    }
}

fn class_char(it: &mut std::iter::Peekable<std::str::Chars>) -> Result<char, IgnoreError> {
    match it.next() {
        None | Some('-') | Some(']') => Err(IgnoreError::BadPattern),
        Some('\\') => it.next().ok_or(IgnoreError::BadPattern),
        Some(c) => Ok(c),
    }
}

fn match_from(toks: &[Tok], name: &[char]) -> bool {
    let Some((first, rest)) = toks.split_first() else {
        return name.is_empty();
    };
    match first {
        Tok::Star => {
            // `*` stops at the separator.
            let limit = name.iter().position(|&c| c == '/').unwrap_or(name.len());
            (0..=limit).any(|n| match_from(rest, &name[n..]))
        }
        _ => match name.split_first() {
            Some((&c, tail)) if single(first, c) => match_from(rest, tail),
            _ => false,
        },
    }
}

fn single(tok: &Tok, c: char) -> bool {
    match tok {
        Tok::Lit(l) => *l == c,
        Tok::Any => c != '/',
        Tok::Class { negated, ranges } => {
            c != '/' && ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
        Tok::Star => false,
    }
}

#[derive(Debug, Clone)]
enum Scope {
    /// `/x`: the whole relative path.
    Anchored,
    /// A rule containing `/`: the whole relative path.
    Path,
    /// A rule without `/`: the base name.
    BaseName,
}

#[derive(Debug, Clone)]
struct Rule {
    pattern: GoPattern,
    scope: Scope,
    negate: bool,
    dir_only: bool,
}

/// The rules of a `.helmignore` file plus Helm's default (`templates/.?*`).
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// Parses `.helmignore` text (a UTF-8 BOM is skipped) and adds Helm's default rule.
    pub fn parse(text: &str) -> Result<Rules, IgnoreError> {
        let mut rules = Rules::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for line in text.lines() {
            rules.add(line)?;
        }
        rules.add("templates/.?*")?;
        Ok(rules)
    }

    /// Only Helm's default rule.
    pub fn defaults() -> Rules {
        let mut rules = Rules::default();
        rules
            .add("templates/.?*")
            .expect("the default rule is a valid pattern");
        rules
    }

    fn add(&mut self, line: &str) -> Result<(), IgnoreError> {
        let rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(IgnoreError::DoubleStar);
        }
        GoPattern::new(rule)?;
        let (negate, rule) = match rule.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (dir_only, rule) = match rule.strip_suffix('/') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (scope, rule) = if let Some(r) = rule.strip_prefix('/') {
            (Scope::Anchored, r)
        } else if rule.contains('/') {
            (Scope::Path, rule)
        } else {
            (Scope::BaseName, rule)
        };
        self.rules.push(Rule {
            pattern: GoPattern::new(rule)?,
            scope,
            negate,
            dir_only,
        });
        Ok(())
    }

    /// Whether the chart-relative `path` (with `/`) is ignored; `is_dir` for directories,
    /// whose whole subtree is then skipped.
    pub fn ignores(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for r in &self.rules {
            let subject = match r.scope {
                Scope::Anchored | Scope::Path => path,
                Scope::BaseName => path.rsplit('/').next().unwrap_or(path),
            };
            if r.negate {
                // Helm's negation: a path the rule does not match is ignored.
                if r.dir_only && !is_dir {
                    return true;
                }
                if !r.pattern.matches(subject) {
                    return true;
                }
                continue;
            }
            if r.dir_only && !is_dir {
                continue;
            }
            if r.pattern.matches(subject) {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_semantics() {
        let p = |s: &str| GoPattern::new(s).unwrap();
        assert!(p("*.txt").matches("a.txt"));
        assert!(!p("*.txt").matches("d/a.txt"));
        assert!(p("[a-c]?").matches("bz"));
        assert!(p("[^a]").matches("b"));
        assert!(!p("[^a]").matches("/"));
        assert!(p("\\*").matches("*"));
        assert_eq!(GoPattern::new("[]"), Err(IgnoreError::BadPattern));
        assert_eq!(GoPattern::new("a\\"), Err(IgnoreError::BadPattern));
    }

    #[test]
    fn helm_rule_scopes() {
        let r = Rules::parse("# c\n*.md\nsecret/\n/top.txt\ndocs/*.txt\n").unwrap();
        assert!(r.ignores("README.md", false));
        assert!(
            r.ignores("sub/NOTES.md", false),
            "base-name rules apply at any depth"
        );
        assert!(r.ignores("a/secret", true));
        assert!(
            !r.ignores("secret", false),
            "a dir rule ignores only directories"
        );
        assert!(r.ignores("top.txt", false));
        assert!(r.ignores("docs/a.txt", false));
        assert!(!r.ignores("docs/x/a.txt", false));
        assert!(r.ignores("templates/.hidden", false), "the default rule");
        assert!(!r.ignores("values.yaml", false));
        assert_eq!(Rules::parse("a/**").unwrap_err(), IgnoreError::DoubleStar);
    }

    #[test]
    fn negation_ignores_everything_else() {
        let r = Rules::parse("!keep.txt\n").unwrap();
        assert!(r.ignores("other.txt", false));
        assert!(!r.ignores("keep.txt", false));
    }
}
