//! Glob patterns as `github.com/gobwas/glob` compiles them with `/` as the separator, the
//! syntax of `.Files.Glob`: `*` and `?` stop at `/`, `**` does not, `[abc]`, `[a-z]`, `[!x]`,
//! `{a,b}` alternatives (nestable) and `\` escapes.

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Lit(char),
    /// `?`
    Single,
    /// `*`
    Any,
    /// `**`
    Super,
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
    Alt(Vec<Vec<Node>>),
}

/// A compiled glob.
#[derive(Debug, Clone, PartialEq)]
pub struct Glob(Vec<Node>);

/// The pattern is not a valid glob.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid glob pattern: {0}")]
pub struct GlobError(pub String);

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    pattern: &'a str,
}

impl Parser<'_> {
    fn err(&self) -> GlobError {
        GlobError(self.pattern.to_string())
    }

    /// Parses a sequence up to the end, or up to `,`/`}` inside alternatives.
    fn sequence(&mut self, depth: usize) -> Result<Vec<Node>, GlobError> {
        let mut out = Vec::new();
        while let Some(&c) = self.chars.peek() {
            if depth > 0 && (c == ',' || c == '}') {
                break;
            }
            self.chars.next();
            match c {
                '*' => {
                    if self.chars.peek() == Some(&'*') {
                        self.chars.next();
                        out.push(Node::Super);
                    } else {
                        out.push(Node::Any);
                    }
                }
                '?' => out.push(Node::Single),
                '\\' => out.push(Node::Lit(self.chars.next().ok_or_else(|| self.err())?)),
                '[' => out.push(self.class()?),
                '{' => {
                    let mut alts = vec![self.sequence(depth + 1)?];
                    loop {
                        match self.chars.next() {
                            Some(',') => alts.push(self.sequence(depth + 1)?),
                            // gobwas closes alternatives left open at the end.
                            Some('}') | None => break,
                            Some(_) => return Err(self.err()),
                        }
                    }
                    out.push(Node::Alt(alts));
                }
                c => out.push(Node::Lit(c)),
            }
        }
        Ok(out)
    }

    fn class(&mut self) -> Result<Node, GlobError> {
        let negated = self.chars.peek() == Some(&'!');
        if negated {
            self.chars.next();
        }
        let mut items = Vec::new();
        loop {
            let c = self.chars.next().ok_or_else(|| self.err())?;
            match c {
                ']' if !items.is_empty() => break,
                ']' => return Err(self.err()),
                c => {
                    let lo = if c == '\\' {
                        self.chars.next().ok_or_else(|| self.err())?
                    } else {
                        c
                    };
                    if self.chars.peek() == Some(&'-') {
                        self.chars.next();
                        let hi = self.chars.next().ok_or_else(|| self.err())?;
                        if hi == ']' || hi < lo {
                            return Err(self.err());
                        }
                        items.push((lo, hi));
                    } else {
                        items.push((lo, lo));
                    }
                }
            }
        }
        Ok(Node::Class { negated, items })
    }
}

impl Glob {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        let mut p = Parser {
            chars: pattern.chars().peekable(),
            pattern,
        };
        let nodes = p.sequence(0)?;
        if p.chars.next().is_some() {
            return Err(p.err());
        }
        Ok(Glob(nodes))
    }

    /// Whether all of `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let chars: Vec<char> = name.chars().collect();
        let mut budget = 1_000_000usize;
        matches_seq(&self.0, &[], &chars, &mut budget)
    }
}

/// Matches `nodes` followed by the continuation `rest` (sequences still to match after an
/// alternative closes). `budget` bounds backtracking on hostile patterns.
fn matches_seq(nodes: &[Node], rest: &[&[Node]], name: &[char], budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    let Some((first, tail)) = nodes.split_first() else {
        return match rest.split_first() {
            Some((next, more)) => matches_seq(next, more, name, budget),
            None => name.is_empty(),
        };
    };
    match first {
        Node::Any | Node::Super => {
            let limit = if matches!(first, Node::Any) {
                name.iter().position(|&c| c == '/').unwrap_or(name.len())
            } else {
                name.len()
            };
            (0..=limit).any(|n| matches_seq(tail, rest, &name[n..], budget))
        }
        Node::Alt(alts) => {
            let mut cont: Vec<&[Node]> = Vec::with_capacity(rest.len() + 1);
            cont.push(tail);
            cont.extend_from_slice(rest);
            alts.iter().any(|a| matches_seq(a, &cont, name, budget))
        }
        single => match name.split_first() {
            Some((&c, after)) if one(single, c) => matches_seq(tail, rest, after, budget),
            _ => false,
        },
    }
}

fn one(node: &Node, c: char) -> bool {
    match node {
        Node::Lit(l) => *l == c,
        Node::Single => c != '/',
        Node::Class { negated, items } => {
            items.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gobwas_semantics() {
        let g = |p: &str| Glob::new(p).unwrap();
        assert!(g("files/*.txt").matches("files/a.txt"));
        assert!(!g("files/*.txt").matches("files/sub/a.txt"));
        assert!(g("files/**.txt").matches("files/sub/a.txt"));
        assert!(g("**").matches("a/b/c"));
        assert!(g("*.{yaml,json}").matches("x.json"));
        assert!(!g("*.{yaml,json}").matches("x.toml"));
        assert!(g("{a,b/{c,d}}.txt").matches("b/d.txt"));
        assert!(g("[!a]?").matches("bc"));
        assert!(g("[a-c]*").matches("b.txt"));
        assert!(!g("?").matches("/"));
        assert!(
            g("{a,b").matches("b"),
            "an open alternative closes at the end"
        );
        assert!(Glob::new("[]").is_err());
    }
}
