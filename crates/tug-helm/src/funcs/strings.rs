//! Sprig's string functions. Several of them work on bytes, not characters, as the Go code they
//! copy does (`trunc`, `substr`, `abbrev`, `wrap`, `initials`, `nospace`).

use super::conv::{strval, strval_bytes};
use super::{arg, arg_int, arg_str, bytes_result, fixed, variadic};
use crate::func::{Func, FuncError, Ty};
use crate::value::Value;

/// The longest string `repeat`, `indent` and friends build (64 MiB). Go has no such limit and
/// would allocate until the process dies; a chart that needs more is broken.
pub(crate) const MAX_STRING_BYTES: usize = 64 << 20;

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        fixed("hello", &[], |_| Ok(Value::from("Hello!"))),
        fixed("abbrev", &[Int, String], |a| {
            let (width, s) = (arg_int(&a, 0), arg_str(&a, 1).as_bytes());
            if width < 4 {
                return Ok(Value::from(arg_str(&a, 1)));
            }
            Ok(bytes_result(abbreviate(s, 0, width)))
        }),
        fixed("abbrevboth", &[Int, Int, String], |a| {
            let (left, right) = (arg_int(&a, 0), arg_int(&a, 1));
            if right < 4 || (left > 0 && right < 7) {
                return Ok(Value::from(arg_str(&a, 2)));
            }
            Ok(bytes_result(abbreviate(
                arg_str(&a, 2).as_bytes(),
                left,
                right,
            )))
        }),
        fixed("trunc", &[Int, String], |a| {
            let (c, s) = (arg_int(&a, 0), arg_str(&a, 1).as_bytes());
            let len = s.len() as i64;
            let cut = if c < 0 && len + c > 0 {
                &s[(len + c) as usize..]
            } else if c >= 0 && len > c {
                &s[..c as usize]
            } else {
                s
            };
            Ok(bytes_result(cut.to_vec()))
        }),
        fixed("trim", &[String], |a| {
            Ok(Value::from(arg_str(&a, 0).trim()))
        }),
        fixed("upper", &[String], |a| {
            Ok(Value::from(go_upper(arg_str(&a, 0))))
        }),
        fixed("lower", &[String], |a| {
            Ok(Value::from(go_lower(arg_str(&a, 0))))
        }),
        fixed("title", &[String], |a| {
            Ok(Value::from(go_title(arg_str(&a, 0))))
        }),
        fixed("untitle", &[String], |a| {
            Ok(Value::from(untitle(arg_str(&a, 0))))
        }),
        fixed("substr", &[Int, Int, String], |a| {
            substr(arg_int(&a, 0), arg_int(&a, 1), arg_str(&a, 2).as_bytes())
        }),
        fixed("repeat", &[Int, String], |a| {
            repeat(arg_str(&a, 1), arg_int(&a, 0))
        }),
        fixed("trimall", &[String, String], trim_all),
        fixed("trimAll", &[String, String], trim_all),
        fixed("trimSuffix", &[String, String], |a| {
            let s = arg_str(&a, 1);
            Ok(Value::from(s.strip_suffix(arg_str(&a, 0)).unwrap_or(s)))
        }),
        fixed("trimPrefix", &[String, String], |a| {
            let s = arg_str(&a, 1);
            Ok(Value::from(s.strip_prefix(arg_str(&a, 0)).unwrap_or(s)))
        }),
        fixed("nospace", &[String], |a| {
            Ok(Value::from(no_space(arg_str(&a, 0))))
        }),
        fixed("initials", &[String], |a| {
            Ok(Value::from(initials(arg_str(&a, 0))))
        }),
        fixed("swapcase", &[String], |a| {
            Ok(Value::from(swap_case(arg_str(&a, 0))))
        }),
        fixed("wrap", &[Int, String], |a| {
            let s = arg_str(&a, 1).as_bytes();
            Ok(bytes_result(wrap(s, arg_int(&a, 0), b"\n", false)))
        }),
        fixed("wrapWith", &[Int, String, String], |a| {
            let sep = match arg_str(&a, 1) {
                "" => "\n",
                sep => sep,
            };
            let s = arg_str(&a, 2).as_bytes();
            Ok(bytes_result(wrap(s, arg_int(&a, 0), sep.as_bytes(), true)))
        }),
        fixed("contains", &[String, String], |a| {
            Ok(Value::Bool(arg_str(&a, 1).contains(arg_str(&a, 0))))
        }),
        fixed("hasPrefix", &[String, String], |a| {
            Ok(Value::Bool(arg_str(&a, 1).starts_with(arg_str(&a, 0))))
        }),
        fixed("hasSuffix", &[String, String], |a| {
            Ok(Value::Bool(arg_str(&a, 1).ends_with(arg_str(&a, 0))))
        }),
        variadic("quote", &[], Any, |a| {
            let quoted: Vec<std::string::String> = a
                .iter()
                .filter(|v| !v.is_nil())
                .map(|v| go_quote(&strval_bytes(v)))
                .collect();
            Ok(Value::from(quoted.join(" ")))
        }),
        variadic("squote", &[], Any, |a| {
            let quoted: Vec<std::string::String> = a
                .iter()
                .filter(|v| !v.is_nil())
                .map(|v| format!("'{}'", v.format_v()))
                .collect();
            Ok(Value::from(quoted.join(" ")))
        }),
        variadic("cat", &[], Any, |a| {
            let parts: Vec<std::string::String> = a
                .iter()
                .filter(|v| !v.is_nil())
                .map(Value::format_v)
                .collect();
            Ok(Value::from(parts.join(" ")))
        }),
        fixed("indent", &[Int, String], |a| {
            indent(arg_int(&a, 0), arg_str(&a, 1))
        }),
        fixed("nindent", &[Int, String], |a| {
            let indented = indent(arg_int(&a, 0), arg_str(&a, 1))?;
            Ok(Value::from(format!("\n{}", strval(&indented))))
        }),
        fixed("replace", &[String, String, String], |a| {
            let replaced = arg_str(&a, 2).replace(arg_str(&a, 0), arg_str(&a, 1));
            check_len(replaced.len())?;
            Ok(Value::from(replaced))
        }),
        fixed("plural", &[String, String, Int], |a| {
            let pick = if arg_int(&a, 2) == 1 { 0 } else { 1 };
            Ok(arg(&a, pick))
        }),
        fixed("snakecase", &[String], |a| {
            Ok(Value::from(super::case::to_lower_words(
                arg_str(&a, 0),
                '_',
            )))
        }),
        fixed("kebabcase", &[String], |a| {
            Ok(Value::from(super::case::to_lower_words(
                arg_str(&a, 0),
                '-',
            )))
        }),
        fixed("camelcase", &[String], |a| {
            Ok(Value::from(super::case::to_pascal_case(arg_str(&a, 0))))
        }),
    ]
}

fn trim_all(a: Vec<Value>) -> Result<Value, FuncError> {
    let cutset = arg_str(&a, 0);
    Ok(Value::from(
        arg_str(&a, 1).trim_matches(|c| cutset.contains(c)),
    ))
}

/// Fails when a result would pass [`MAX_STRING_BYTES`].
pub(crate) fn check_len(len: usize) -> Result<(), FuncError> {
    if len > MAX_STRING_BYTES {
        return Err(FuncError::msg(format!(
            "result of {len} bytes exceeds the limit of {MAX_STRING_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Go's `strings.Repeat`, with its panics and a size limit.
fn repeat(s: &str, count: i64) -> Result<Value, FuncError> {
    if count < 0 {
        return Err(FuncError::msg("strings: negative Repeat count"));
    }
    let total = (s.len() as u128) * (count as u128);
    check_len(usize::try_from(total).unwrap_or(usize::MAX))?;
    Ok(Value::from(s.repeat(count as usize)))
}

fn indent(spaces: i64, s: &str) -> Result<Value, FuncError> {
    if spaces < 0 {
        return Err(FuncError::msg("strings: negative Repeat count"));
    }
    let lines = s.matches('\n').count() as u128 + 1;
    let total = s.len() as u128 + lines * spaces as u128;
    check_len(usize::try_from(total).unwrap_or(usize::MAX))?;
    let pad = " ".repeat(spaces as usize);
    Ok(Value::from(format!(
        "{pad}{}",
        s.replace('\n', &format!("\n{pad}"))
    )))
}

/// Sprig's `substring`: Go slice expressions on bytes, with Go's panics when out of range.
fn substr(start: i64, end: i64, s: &[u8]) -> Result<Value, FuncError> {
    let len = s.len() as i64;
    let out_of_range =
        |m: String| FuncError::msg(format!("runtime error: slice bounds out of range {m}"));
    if start < 0 {
        if end < 0 {
            return Err(out_of_range(format!("[:{end}]")));
        }
        if end > len {
            return Err(out_of_range(format!("[:{end}] with length {len}")));
        }
        return Ok(bytes_result(s[..end as usize].to_vec()));
    }
    if end < 0 || end > len {
        if start > len {
            return Err(out_of_range(format!("[{start}:{len}]")));
        }
        return Ok(bytes_result(s[start as usize..].to_vec()));
    }
    if start > end {
        return Err(out_of_range(format!("[{start}:{end}]")));
    }
    Ok(bytes_result(s[start as usize..end as usize].to_vec()))
}

/// goutils `AbbreviateFull` (errors give the empty string, as Sprig ignores them).
fn abbreviate(s: &[u8], offset: i64, max_width: i64) -> Vec<u8> {
    let len = s.len() as i64;
    if s.is_empty() || max_width < 4 {
        return Vec::new();
    }
    if len <= max_width {
        return s.to_vec();
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    let marker = b"...";
    if offset <= 4 {
        let mut out = s[..(max_width - 3) as usize].to_vec();
        out.extend_from_slice(marker);
        return out;
    }
    if max_width < 7 {
        return Vec::new();
    }
    let mut out = marker.to_vec();
    if offset + max_width - 3 < len {
        out.extend(abbreviate(&s[offset as usize..], 0, max_width - 3));
    } else {
        out.extend_from_slice(&s[(len - (max_width - 3)) as usize..]);
    }
    out
}

/// goutils `WrapCustom`, on bytes.
fn wrap(s: &[u8], width: i64, newline: &[u8], wrap_long_words: bool) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let width = width.max(1) as usize;
    let len = s.len();
    let mut offset = 0;
    let mut out = Vec::with_capacity(len + len / width * newline.len());
    while len - offset > width {
        if s[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        if let Some(space) = s[offset..end].iter().rposition(|c| *c == b' ') {
            out.extend_from_slice(&s[offset..offset + space]);
            out.extend_from_slice(newline);
            offset += space + 1;
        } else if wrap_long_words {
            out.extend_from_slice(&s[offset..width + offset]);
            out.extend_from_slice(newline);
            offset += width;
        } else {
            let end = width + offset;
            match s[end..].iter().position(|c| *c == b' ') {
                None => {
                    out.extend_from_slice(&s[offset..]);
                    offset = len;
                }
                Some(i) => {
                    out.extend_from_slice(&s[offset..end + i]);
                    out.extend_from_slice(newline);
                    offset = end + i + 1;
                }
            }
        }
    }
    out.extend_from_slice(&s[offset..]);
    out
}

/// goutils reads these byte by byte and writes each byte back as the rune of that number, so
/// non-ASCII text comes out as Latin-1 mojibake; kept, since Helm prints that.
fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut last_was_gap = true;
    for b in s.bytes() {
        let ch = char::from(b);
        if ch.is_whitespace() {
            last_was_gap = true;
        } else if last_was_gap {
            out.push(ch);
            last_was_gap = false;
        }
    }
    out
}

/// goutils `DeleteWhiteSpace` (byte-wise like [`initials`]; unchanged input when nothing is
/// removed).
fn no_space(s: &str) -> String {
    if !s.bytes().any(|b| char::from(b).is_whitespace()) {
        return s.to_string();
    }
    s.bytes()
        .map(char::from)
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn untitle(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut next = true;
    for c in s.chars() {
        if c.is_whitespace() {
            next = true;
            out.push(c);
        } else if next {
            out.push(simple_lower(c));
            next = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn swap_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            // Title-case letters (`ǅ`) are lowered like capitals, as goutils does.
            if c.is_uppercase() || (!c.is_lowercase() && simple_lower(c) != c) {
                simple_lower(c)
            } else if c.is_lowercase() {
                simple_upper(c)
            } else {
                c
            }
        })
        .collect()
}

/// Go's one-rune-to-one-rune case mapping (`unicode.ToUpper`): `ß` stays `ß`.
pub(crate) fn simple_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

pub(crate) fn simple_lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

pub(crate) fn go_upper(s: &str) -> String {
    s.chars().map(simple_upper).collect()
}

pub(crate) fn go_lower(s: &str) -> String {
    s.chars().map(simple_lower).collect()
}

/// Go's deprecated `strings.Title`: upper-cases every letter that follows a separator.
fn go_title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_title_separator(prev) {
                simple_upper(c)
            } else {
                c
            };
            prev = c;
            out
        })
        .collect()
}

fn is_title_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

/// Go's `%q` of a string (`strconv.Quote`): printable characters as they are, the usual
/// backslash escapes, `\x` for bytes that are not UTF-8, `\u`/`\U` for other characters.
pub(crate) fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    let mut i = 0;
    while i < bytes.len() {
        match decode_char(&bytes[i..]) {
            Some(c) => {
                push_quoted_char(&mut out, c);
                i += c.len_utf8();
            }
            None => {
                out.push_str(&format!("\\x{:02x}", bytes[i]));
                i += 1;
            }
        }
    }
    out.push('"');
    out
}

/// The UTF-8 character at the start of `b`, if it is one.
pub(crate) fn decode_char(b: &[u8]) -> Option<char> {
    let width = match *b.first()? {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    std::str::from_utf8(b.get(..width)?).ok()?.chars().next()
}

fn push_quoted_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if go_is_print(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// An approximation of Go's `unicode.IsPrint`: graphic characters and the ASCII space; not
/// controls, other spaces, format characters or private-use characters.
pub(crate) fn go_is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xFFFE | 0xFFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Value {
        let f = funcs().into_iter().find(|f| f.name == name).expect(name);
        (f.imp)(args).expect(name)
    }

    #[test]
    fn byte_wise_cuts() {
        assert_eq!(
            call("trunc", vec![Value::Int(5), "hello world".into()]).format_v(),
            "hello"
        );
        assert_eq!(
            call("trunc", vec![Value::Int(-5), "hello world".into()]).format_v(),
            "world"
        );
        let cut = call("trunc", vec![Value::Int(2), "héllo".into()]);
        assert!(matches!(cut, Value::Bytes(ref b) if b.as_ref() == b"h\xc3"));
        assert_eq!(go_quote(b"h\xc3"), "\"h\\xc3\"");
        assert_eq!(
            call(
                "substr",
                vec![Value::Int(1), Value::Int(4), "abcdef".into()]
            )
            .format_v(),
            "bcd"
        );
        assert_eq!(
            call(
                "substr",
                vec![Value::Int(3), Value::Int(-1), "abcdef".into()]
            )
            .format_v(),
            "def"
        );
    }

    #[test]
    fn goutils_semantics() {
        assert_eq!(
            call("abbrev", vec![Value::Int(8), "hello world".into()]).format_v(),
            "hello..."
        );
        assert_eq!(
            call(
                "abbrevboth",
                vec![Value::Int(5), Value::Int(10), "1234 5678 9123".into()]
            )
            .format_v(),
            "...5678..."
        );
        assert_eq!(
            call("initials", vec!["First Try with words".into()]).format_v(),
            "FTww"
        );
        assert_eq!(
            call(
                "wrap",
                vec![Value::Int(10), "the quick brown fox jumps over".into()]
            )
            .format_v(),
            "the quick\nbrown fox\njumps over"
        );
        assert_eq!(call("nospace", vec![" a b\tc ".into()]).format_v(), "abc");
        assert_eq!(
            call("title", vec!["hello wORLD-x".into()]).format_v(),
            "Hello WORLD-X"
        );
        assert_eq!(
            call("swapcase", vec!["Hello World".into()]).format_v(),
            "hELLO wORLD"
        );
    }

    #[test]
    fn quoting() {
        let q = call("quote", vec!["a\"b".into(), Value::Nil, Value::Float(3.0)]);
        assert_eq!(q.format_v(), "\"a\\\"b\" \"3\"");
        let sq = call("squote", vec!["it's".into()]);
        assert_eq!(sq.format_v(), "'it's'");
        assert_eq!(
            go_quote("tab\there\u{7f}é".as_bytes()),
            "\"tab\\there\\x7fé\""
        );
    }

    #[test]
    fn huge_repeat_is_refused() {
        let f = funcs()
            .into_iter()
            .find(|f| f.name == "repeat")
            .expect("repeat");
        let err = (f.imp)(vec![Value::Int(1 << 40), "ab".into()]).unwrap_err();
        assert!(err.to_string().contains("exceeds the limit"));
        let neg = (f.imp)(vec![Value::Int(-1), "ab".into()]).unwrap_err();
        assert_eq!(neg.to_string(), "strings: negative Repeat count");
    }
}
