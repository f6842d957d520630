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

    /// Whether the whole of `name` matches. Like Go, this matches each run of literal
    /// tokens at the leftmost place a star allows, which takes linear time per star (a
    /// backtracking matcher would let a hostile `.helmignore` stall loading).
    pub fn matches(&self, name: &str) -> bool {
        let chars: Vec<char> = name.chars().collect();
        let chunks = self.chunks();
        let mut rest: &[char] = &chars;
        for (idx, (star, chunk)) in chunks.iter().enumerate() {
            let last = idx + 1 == chunks.len();
            if *star && chunk.is_empty() {
                // A trailing star matches the rest, unless it has a separator.
                return !rest.contains(&'/');
            }
            if let Some(t) = match_chunk(chunk, rest) {
                if t.is_empty() || !last {
                    rest = t;
                    continue;
                }
            }
            if !*star {
                return false;
            }
            let skipped = (0..rest.len())
                .take_while(|&i| rest[i] != '/')
                .find_map(|i| match_chunk(chunk, &rest[i + 1..]).filter(|t| !last || t.is_empty()));
            match skipped {
                Some(t) => rest = t,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// The pattern split at stars: whether a star precedes each run of other tokens.
    fn chunks(&self) -> Vec<(bool, &[Tok])> {
        let mut out = Vec::new();
        let mut i = 0;
        let toks = &self.0;
        while i < toks.len() || out.is_empty() {
            let star = toks[i..].first() == Some(&Tok::Star);
            while toks.get(i) == Some(&Tok::Star) {
                i += 1;
            }
            let start = i;
            while i < toks.len() && toks[i] != Tok::Star {
                i += 1;
            }
            out.push((star, &toks[start..i]));
            if i >= toks.len() {
                break;
            }
        }
        out
    }
}

/// Matches `chunk` (no stars) at the start of `name`, returning what is left.
fn match_chunk<'n>(chunk: &[Tok], name: &'n [char]) -> Option<&'n [char]> {
    if name.len() < chunk.len() {
        return None;
    }
    chunk
        .iter()
        .zip(name)
        .all(|(t, &c)| single(t, c))
        .then(|| &name[chunk.len()..])
}

fn class_char(it: &mut std::iter::Peekable<std::str::Chars>) -> Result<char, IgnoreError> {
    match it.next() {
        None | Some('-') | Some(']') => Err(IgnoreError::BadPattern),
        Some('\\') => it.next().ok_or(IgnoreError::BadPattern),
        Some(c) => Ok(c),
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
        assert!(p("a*").matches("abc"));
        assert!(!p("a*").matches("a/b"));
        assert!(p("*a*b").matches("xaab"));
        assert!(p("").matches(""));
        assert!(!p("").matches("x"));
        assert!(p("*.t*t").matches("a.txt.tgt"));
        // Linear per star: this would take ages with backtracking.
        let hostile = p(&"*a".repeat(30));
        assert!(!hostile.matches(&format!("{}b", "a".repeat(250))));
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
