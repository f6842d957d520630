//! The glob matcher of the `#` and `%` operators: Go's `path.Match` as envsubst changed
//! it, so `*` and `?` also match `/`, and a pattern ending in `*` matches any rest.
//! Patterns: `*`, `?`, `[a-z]`, `[^a-z]`, `\c`. Errors in a pattern only show when the
//! matcher reaches them, which decides whether a trim gives up (so this mirrors Go's
//! order of work rather than compiling the pattern first).

use super::eval::decode;

/// A malformed pattern, such as an unclosed `[`.
#[derive(Debug, PartialEq)]
pub struct BadPattern;

/// Whether `pattern` matches all of `name`.
pub fn matches(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, BadPattern> {
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = split_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(true);
        }
        let last = pattern.is_empty();
        if let Some(tail) = match_chunk(chunk, name)? {
            // The last chunk must use up the name; otherwise a star may still help.
            if tail.is_empty() || !last {
                name = tail;
                continue;
            }
        }
        if star {
            for skip in 1..=name.len() {
                if let Some(tail) = match_chunk(chunk, &name[skip..])? {
                    if last && !tail.is_empty() {
                        continue;
                    }
                    name = tail;
                    continue 'chunks;
                }
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off leading stars and the literal part up to the next star outside `[]`.
fn split_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let stripped = pattern.iter().take_while(|&&b| b == b'*').count();
    let pattern = &pattern[stripped..];
    let mut in_class = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'*' if !in_class => break,
            _ => {}
        }
        i += 1;
    }
    (stripped > 0, &pattern[..i], &pattern[i..])
}

/// Matches a star-free chunk against the start of `s`, returning what is left.
fn match_chunk<'s>(mut chunk: &[u8], mut s: &'s [u8]) -> Result<Option<&'s [u8]>, BadPattern> {
    while let Some(&c) = chunk.first() {
        let Some((r, width)) = decode(s) else {
            return Ok(None);
        };
        match c {
            b'[' => {
                let (matched, rest) = match_class(&chunk[1..], r)?;
                if !matched {
                    return Ok(None);
                }
                chunk = rest;
                s = &s[width..];
            }
            b'?' => {
                chunk = &chunk[1..];
                s = &s[width..];
            }
            _ => {
                let escaped = usize::from(c == b'\\');
                let literal = *chunk.get(escaped).ok_or(BadPattern)?;
                if Some(&literal) != s.first() {
                    return Ok(None);
                }
                chunk = &chunk[escaped + 1..];
                s = &s[1..];
            }
        }
    }
    Ok(Some(s))
}

/// Matches `r` against the class whose body starts `chunk` (after `[`), returning
/// whether it matched and the pattern after the closing `]`.
fn match_class(mut chunk: &[u8], r: char) -> Result<(bool, &[u8]), BadPattern> {
    let negated = chunk.first() == Some(&b'^');
    if negated {
        chunk = &chunk[1..];
    }
    let mut matched = false;
    let mut ranges = 0;
    loop {
        if ranges > 0 && chunk.first() == Some(&b']') {
            return Ok((matched != negated, &chunk[1..]));
        }
        let (lo, rest) = class_char(chunk)?;
        let (hi, rest) = match rest.strip_prefix(b"-") {
            Some(rest) => class_char(rest)?,
            None => (lo, rest),
        };
        chunk = rest;
        matched |= lo <= r && r <= hi;
        ranges += 1;
    }
}

/// One possibly escaped character of a class; the class must go on after it.
fn class_char(chunk: &[u8]) -> Result<(char, &[u8]), BadPattern> {
    let chunk = match chunk {
        [] | [b'-' | b']', ..] => return Err(BadPattern),
        [b'\\', rest @ ..] => rest,
        _ => chunk,
    };
    let (c, width) = decode(chunk).ok_or(BadPattern)?;
    let rest = &chunk[width..];
    if (c == char::REPLACEMENT_CHARACTER && width == 1) || rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((c, rest))
}
