//! Evaluation of a parsed template against the variables, and envsubst's string functions
//! (length, case, substring, trims, replacements, defaults), byte for byte as Go's.

use super::glob;
use super::parse::{Case, Expr, Node, Op, Replace};
use super::TextError;
use std::collections::BTreeMap;

/// The variables, and whether an unset one is an error (Flux's strict mode) or "".
pub(super) struct Scope<'a> {
    pub(super) vars: &'a BTreeMap<String, String>,
    pub(super) strict: bool,
}

impl Scope<'_> {
    pub(super) fn eval(&self, node: &Node) -> Result<Vec<u8>, TextError> {
        match node {
            Node::Text(text) => Ok(text.clone()),
            Node::Expr(expr) => self.eval_expr(expr),
        }
    }

    fn eval_expr(&self, expr: &Expr) -> Result<Vec<u8>, TextError> {
        let args = expr
            .args
            .iter()
            .map(|arg| self.eval(arg))
            .collect::<Result<Vec<_>, _>>()?;
        let value = match self.vars.get(&expr.name) {
            Some(value) => value.as_str(),
            None if !self.strict || expr.op == Op::Default => "",
            None => return Err(TextError::Unset(expr.name.clone())),
        };
        apply(expr.op, value, &args)
    }
}

/// Applies an operator to a variable's value and its evaluated arguments.
fn apply(op: Op, value: &str, args: &[Vec<u8>]) -> Result<Vec<u8>, TextError> {
    let bytes = value.as_bytes();
    let arg = |i: usize| args.get(i).map(Vec::as_slice);
    Ok(match op {
        Op::Value => bytes.to_vec(),
        Op::Length => bytes.len().to_string().into_bytes(),
        Op::Case(case) => change_case(value, case).into_bytes(),
        Op::Substring => substring(bytes, arg(0), arg(1))?,
        Op::TrimPrefix { longest } => trim_prefix(bytes, arg(0).unwrap_or_default(), longest),
        Op::TrimSuffix { longest } => trim_suffix(bytes, arg(0).unwrap_or_default(), longest),
        Op::Replace(kind) => replace(bytes, kind, arg(0).unwrap_or_default(), arg(1)),
        Op::Default if bytes.is_empty() => args.concat(),
        Op::Default => bytes.to_vec(),
    })
}

// ---------------------------------------------------------------------------------------
// String functions
// ---------------------------------------------------------------------------------------

/// Go's `strconv.Atoi`: optional sign, decimal digits, 64 bits.
fn atoi(arg: &[u8]) -> Option<i64> {
    std::str::from_utf8(arg).ok()?.parse().ok()
}

/// `${var:pos}` / `${var:pos:len}` in bytes. An unparsable number gives the whole value
/// (as bash does); a negative position counts from the end; a negative length that ends
/// before the start is envsubst's out-of-range panic.
fn substring(s: &[u8], pos: Option<&[u8]>, len: Option<&[u8]>) -> Result<Vec<u8>, TextError> {
    let size = s.len() as i64;
    let Some(mut start) = pos.and_then(atoi) else {
        return Ok(s.to_vec());
    };
    if start < 0 {
        start = (size + start).max(0);
    }
    let tail = |start: i64| match usize::try_from(start) {
        Ok(start) if start < s.len() => s[start..].to_vec(),
        _ => Vec::new(),
    };
    let Some(len) = len else {
        return Ok(tail(start));
    };
    let Some(len) = atoi(len) else {
        return Ok(s.to_vec());
    };
    // Go's int addition wraps; keep that so huge lengths behave the same.
    let end = start.wrapping_add(len);
    if end >= size {
        return Ok(tail(start));
    }
    if end < 0 {
        return Err(TextError::OutOfRange(format!(":{end}")));
    }
    if start > end {
        return Err(TextError::OutOfRange(format!("{start}:{end}")));
    }
    Ok(s[start as usize..end as usize].to_vec())
}

/// `${var#glob}` / `${var##glob}`: removes the shortest or longest non-empty prefix that
/// matches. A malformed pattern leaves the value unchanged.
fn trim_prefix(s: &[u8], pattern: &[u8], longest: bool) -> Vec<u8> {
    let mut shortest = None;
    for end in (1..=s.len()).rev() {
        match glob::matches(pattern, &s[..end]) {
            Err(glob::BadPattern) => return s.to_vec(),
            Ok(true) if longest => return s[end..].to_vec(),
            Ok(true) => shortest = Some(end),
            Ok(false) => {}
        }
    }
    shortest.map_or(s, |end| &s[end..]).to_vec()
}

/// `${var%glob}` / `${var%%glob}`: envsubst reverses both the value and the pattern
/// (character by character) and trims a prefix, so a pattern such as `[ab]` reads
/// backwards as `]ba[`. Kept as is: matching Flux matters more than matching bash.
fn trim_suffix(s: &[u8], pattern: &[u8], longest: bool) -> Vec<u8> {
    reverse_chars(&trim_prefix(
        &reverse_chars(s),
        &reverse_chars(pattern),
        longest,
    ))
}

/// Reverses the characters of `s`; each invalid byte becomes U+FFFD, as in Go.
fn reverse_chars(s: &[u8]) -> Vec<u8> {
    let mut chars = Vec::new();
    let mut rest = s;
    while let Some((c, width)) = decode(rest) {
        chars.push(c);
        rest = &rest[width..];
    }
    chars.iter().rev().collect::<String>().into_bytes()
}

/// The `/` operators. Patterns are literal strings, not globs. `/#` and `/%` need both
/// arguments (with an empty replacement they leave the value alone, as in envsubst), while
/// `/` and `//` delete the pattern.
fn replace(s: &[u8], kind: Replace, pattern: &[u8], with: Option<&[u8]>) -> Vec<u8> {
    match (kind, with) {
        (Replace::First, with) => replace_n(s, pattern, with.unwrap_or_default(), Some(1)),
        (Replace::All, with) => replace_n(s, pattern, with.unwrap_or_default(), None),
        (Replace::Prefix, Some(with)) => match s.strip_prefix(pattern) {
            Some(rest) => [with, rest].concat(),
            None => s.to_vec(),
        },
        (Replace::Suffix, Some(with)) => match s.strip_suffix(pattern) {
            Some(rest) => [rest, with].concat(),
            None => s.to_vec(),
        },
        (Replace::Prefix | Replace::Suffix, None) => s.to_vec(),
    }
}

/// Go's `strings.Replace`: up to `limit` non-overlapping matches from the left. An empty
/// pattern matches before each character and at the end (a nested `${empty}` can do that).
fn replace_n(s: &[u8], pattern: &[u8], with: &[u8], limit: Option<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s;
    let mut done = 0;
    while limit.is_none_or(|limit| done < limit) {
        let (at, skip) = if pattern.is_empty() {
            if done > 0 {
                // The previous empty match sat before this character: step over it.
                match decode(rest) {
                    Some((_, width)) => {
                        out.extend_from_slice(&rest[..width]);
                        rest = &rest[width..];
                    }
                    None => break,
                }
            }
            (0, 0)
        } else {
            match find(rest, pattern) {
                Some(at) => (at, pattern.len()),
                None => break,
            }
        };
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + skip..];
        done += 1;
    }
    out.extend_from_slice(rest);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The case operators, with Go's one-to-one case mapping: a character whose full Unicode
/// mapping has several characters (`ß`) keeps its simple mapping instead.
fn change_case(value: &str, case: Case) -> String {
    let mut chars = value.chars();
    match case {
        Case::Upper => value.chars().map(upper).collect(),
        Case::Lower => value.chars().map(lower).collect(),
        Case::UpperFirst => chars.next().map(upper).into_iter().chain(chars).collect(),
        Case::LowerFirst => chars.next().map(lower).into_iter().chain(chars).collect(),
        Case::Unchanged => value.to_string(),
    }
}

/// Go's `unicode.ToUpper`. Rust gives the full mapping; where that is several characters
/// the simple one is the character itself, except for the Greek letters with a iota
/// subscript, whose simple uppercase is their titlecase form.
fn upper(c: char) -> char {
    single(c.to_uppercase()).unwrap_or_else(|| {
        let code = u32::from(c);
        let titlecase = match code {
            0x1F80..=0x1FAF if code & 0xF < 8 => code + 8,
            0x1FB3 | 0x1FC3 | 0x1FF3 => code + 9,
            _ => code,
        };
        char::from_u32(titlecase).unwrap_or(c)
    })
}

/// Go's `unicode.ToLower`; `İ` is the one character whose full mapping is longer.
fn lower(c: char) -> char {
    single(c.to_lowercase()).unwrap_or(if c == '\u{130}' { 'i' } else { c })
}

fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let first = chars.next()?;
    chars.next().is_none().then_some(first)
}

/// Decodes the character at the start of `bytes` as Go does: an invalid or truncated
/// sequence reads as one byte of U+FFFD.
pub(super) fn decode(bytes: &[u8]) -> Option<(char, usize)> {
    let width = match *bytes.first()? {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    };
    let decoded = bytes
        .get(..width)
        .filter(|seq| !seq.is_empty())
        .and_then(|seq| std::str::from_utf8(seq).ok())
        .and_then(|seq| seq.chars().next());
    Some(decoded.map_or((char::REPLACEMENT_CHARACTER, 1), |c| (c, width)))
}
