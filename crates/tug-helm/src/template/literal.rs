//! Go's literal syntax as `strconv` reads it: quoted strings, character constants and numbers.

use super::ast::Number;

/// One unquoted unit: a character, or a raw byte from a `\x` or octal escape.
enum Unit {
    Char(char),
    Byte(u8),
}

/// Go's `strconv.UnquoteChar`: the first character or escape of `s` and the rest.
fn unquote_char(s: &str, quote: char) -> Option<(Unit, &str)> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if c == quote && (quote == '\'' || quote == '"') {
        return None;
    }
    if c != '\\' {
        return Some((Unit::Char(c), chars.as_str()));
    }
    let esc = chars.next()?;
    let rest = chars.as_str();
    let simple = |ch: char| Some((Unit::Char(ch), rest));
    match esc {
        'a' => simple('\u{7}'),
        'b' => simple('\u{8}'),
        'f' => simple('\u{c}'),
        'n' => simple('\n'),
        'r' => simple('\r'),
        't' => simple('\t'),
        'v' => simple('\u{b}'),
        '\\' => simple('\\'),
        '\'' | '"' => {
            if esc != quote {
                return None;
            }
            simple(esc)
        }
        'x' | 'u' | 'U' => {
            let n = match esc {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            if rest.len() < n || !rest.is_char_boundary(n) {
                return None;
            }
            let v = u32::from_str_radix(&rest[..n], 16).ok()?;
            if !rest[..n].bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            if esc == 'x' {
                return Some((Unit::Byte(v as u8), &rest[n..]));
            }
            Some((Unit::Char(char::from_u32(v)?), &rest[n..]))
        }
        '0'..='7' => {
            let digits = s.get(1..4)?;
            if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return None;
            }
            let v = u32::from_str_radix(digits, 8).ok()?;
            if v > 255 {
                return None;
            }
            Some((Unit::Byte(v as u8), &s[4..]))
        }
        _ => None,
    }
}

/// Go's `strconv.Unquote` of a `"..."` or `` `...` `` literal; `None` is Go's "invalid syntax".
/// Bytes that are not UTF-8 (from `\x` escapes) become U+FFFD, as values are Rust strings.
pub(crate) fn unquote(lit: &str) -> Option<String> {
    if lit.len() >= 2 && lit.starts_with('`') && lit.ends_with('`') {
        let inner = &lit[1..lit.len() - 1];
        if inner.contains('`') {
            return None;
        }
        return Some(inner.replace('\r', ""));
    }
    if lit.len() < 2 || !lit.starts_with('"') || !lit.ends_with('"') {
        return None;
    }
    let mut s = &lit[1..lit.len() - 1];
    if s.contains('\n') {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    while !s.is_empty() {
        let (unit, rest) = unquote_char(s, '"')?;
        match unit {
            Unit::Char(c) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            Unit::Byte(b) => out.push(b),
        }
        s = rest;
    }
    Some(match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// The value of a character constant such as `'a'` or `'\n'`.
pub(crate) fn char_constant(lit: &str) -> Result<i64, String> {
    let inner = lit.get(1..).ok_or("invalid syntax")?;
    let (unit, tail) = unquote_char(inner, '\'').ok_or("invalid syntax")?;
    if tail != "'" {
        return Err(format!("malformed character constant: {lit}"));
    }
    Ok(match unit {
        Unit::Char(c) => c as i64,
        Unit::Byte(b) => b as i64,
    })
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || s.starts_with(['+', '-']) {
        return None;
    }
    let (base, digits) = match s.as_bytes() {
        [b'0', b'x' | b'X', ..] => (16, &s[2..]),
        [b'0', b'o' | b'O', ..] => (8, &s[2..]),
        [b'0', b'b' | b'B', ..] => (2, &s[2..]),
        [b'0', _, ..] => (8, &s[1..]),
        _ => (10, s),
    };
    if digits.starts_with(['+', '-']) {
        return None;
    }
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() {
        return if base == 8 && !s.contains(['o', 'O']) {
            Some(0)
        } else {
            None
        };
    }
    u64::from_str_radix(&digits, base).ok()
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.starts_with(['+', '-']) {
        return None;
    }
    let u = parse_uint(body)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms the lexer lets through (decimal and hex).
fn parse_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        parse_hex_float(hex)?
    } else {
        if !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b))
        {
            return None;
        }
        let v: f64 = body.parse().ok()?;
        if v.is_infinite() {
            return None;
        }
        v
    };
    Some(if neg { -v } else { v })
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let p = s.find(['p', 'P'])?;
    let (mant, exp) = (&s[..p], &s[p + 1..]);
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut m = 0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        m = m * 16.0 + c.to_digit(16)? as f64;
    }
    let v = m * 2f64.powi(exp - 4 * frac_part.len() as i32);
    v.is_finite().then_some(v)
}

/// Go's `parse.newNumber` for an `itemNumber` token.
pub(crate) fn number(text: &str) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        int: None,
        is_uint: false,
        float: None,
        is_complex: false,
    };
    if let Some(imag) = text.strip_suffix('i') {
        if parse_float(imag).is_some() {
            n.is_complex = true;
            return Ok(n);
        }
    }
    let u = parse_uint(text);
    n.is_uint = u.is_some();
    n.int = parse_int(text);
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = u {
        n.float = Some(u as f64);
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", super::fmt::go_quote(text)));
        }
        n.float = Some(f);
        if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
            n.int = Some(f as i64);
        }
        if f.fract() == 0.0 && f >= 0.0 && f < u64::MAX as f64 {
            n.is_uint = true;
        }
    }
    if n.int.is_none() && !n.is_uint && n.float.is_none() {
        return Err(format!(
            "illegal number syntax: {}",
            super::fmt::go_quote(text)
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_go_syntax() {
        assert_eq!(number("0x1F").unwrap().int, Some(31));
        assert_eq!(number("017").unwrap().int, Some(15));
        assert_eq!(number("0o17").unwrap().int, Some(15));
        assert_eq!(number("0b101").unwrap().int, Some(5));
        assert_eq!(number("1_000").unwrap().int, Some(1000));
        assert_eq!(number("-3").unwrap().int, Some(-3));
        assert_eq!(number("1.5").unwrap().float, Some(1.5));
        assert_eq!(number("1e3").unwrap().int, Some(1000));
        assert_eq!(number("0x1p4").unwrap().float, Some(16.0));
        assert_eq!(
            number("089").unwrap_err(),
            "integer overflow: \"089\"".to_string()
        );
        assert_eq!(
            number("99999999999999999999").unwrap_err(),
            "integer overflow: \"99999999999999999999\""
        );
        assert!(number("1__0").is_err());
        let big = number("18446744073709551615").unwrap();
        assert!(big.int.is_none() && big.is_uint);
    }

    #[test]
    fn strings_unquote_with_go_escapes() {
        assert_eq!(unquote(r#""a\tb\u00e9\x41\101""#).unwrap(), "a\tbéAA");
        assert_eq!(unquote("`a\r\\n`").unwrap(), "a\\n");
        assert!(unquote(r#""\q""#).is_none());
        assert!(unquote(r#""\'""#).is_none());
        assert_eq!(char_constant("'a'"), Ok(97));
        assert_eq!(char_constant(r"'\n'"), Ok(10));
        assert!(char_constant("'ab'").is_err());
    }
}
