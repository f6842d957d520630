//! Sprig's regular expression functions over Go's RE2 syntax.
//!
//! Rust's `regex` crate implements the same syntax and leftmost-first semantics; the
//! differences that matter are bridged here: Go's `\d`, `\w`, `\s` and `\b` are ASCII-only
//! (Rust's are Unicode), and compile errors are reported in Go's words
//! (`error parsing regexp: missing closing ): ...`). Not bridged: `\Q...\E` and `\C`.

use regex::{NoExpand, Regex};
use regex_syntax::ast::ErrorKind;

use super::{arg_int, arg_str, fixed, string_list};
use crate::func::{Func, FuncError, Ty};
use crate::value::Value;

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    let mut out = vec![
        fixed("regexMatch", &[String, String], |a| {
            let matched = compile(arg_str(&a, 0)).is_ok_and(|re| re.is_match(arg_str(&a, 1)));
            Ok(Value::Bool(matched))
        }),
        fixed("mustRegexMatch", &[String, String], |a| {
            let re = compile(arg_str(&a, 0)).map_err(FuncError::msg)?;
            Ok(Value::Bool(re.is_match(arg_str(&a, 1))))
        }),
        fixed("regexQuoteMeta", &[String], |a| {
            Ok(Value::from(quote_meta(arg_str(&a, 0))))
        }),
    ];
    // The plain variants use regexp.MustCompile, whose panic message wraps the error.
    out.extend([
        fixed("regexFindAll", &[String, String, Int], |a| {
            find_all(&a, must_compile)
        }),
        fixed("mustRegexFindAll", &[String, String, Int], |a| {
            find_all(&a, try_compile)
        }),
        fixed("regexFind", &[String, String], |a| find(&a, must_compile)),
        fixed("mustRegexFind", &[String, String], |a| {
            find(&a, try_compile)
        }),
        fixed("regexReplaceAll", &[String, String, String], |a| {
            replace(&a, must_compile, true)
        }),
        fixed("mustRegexReplaceAll", &[String, String, String], |a| {
            replace(&a, try_compile, true)
        }),
        fixed("regexReplaceAllLiteral", &[String, String, String], |a| {
            replace(&a, must_compile, false)
        }),
        fixed(
            "mustRegexReplaceAllLiteral",
            &[String, String, String],
            |a| replace(&a, try_compile, false),
        ),
        fixed("regexSplit", &[String, String, Int], |a| {
            split(&a, must_compile)
        }),
        fixed("mustRegexSplit", &[String, String, Int], |a| {
            split(&a, try_compile)
        }),
    ]);
    out
}

type Compiler = fn(&str) -> Result<Regex, FuncError>;

fn try_compile(pattern: &str) -> Result<Regex, FuncError> {
    compile(pattern).map_err(FuncError::msg)
}

fn must_compile(pattern: &str) -> Result<Regex, FuncError> {
    compile(pattern)
        .map_err(|e| FuncError::msg(format!("regexp: Compile({}): {e}", backquote(pattern))))
}

/// Go regexp's `quote`: backquoted when `strconv.CanBackquote` allows, else double-quoted.
fn backquote(s: &str) -> String {
    let can = s
        .chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()));
    if can {
        format!("`{s}`")
    } else {
        super::strings::go_quote(s.as_bytes())
    }
}

fn find_all(a: &[Value], comp: Compiler) -> Result<Value, FuncError> {
    let re = comp(arg_str(a, 0))?;
    let (s, n) = (arg_str(a, 1), arg_int(a, 2));
    let limit = if n < 0 { usize::MAX } else { n as usize };
    let found: Vec<std::string::String> = re
        .find_iter(s)
        .take(limit)
        .map(|m| m.as_str().to_string())
        .collect();
    if found.is_empty() {
        // Go returns a nil slice: JSON prints null.
        return Ok(Value::Nil);
    }
    Ok(string_list(found))
}

fn find(a: &[Value], comp: Compiler) -> Result<Value, FuncError> {
    let re = comp(arg_str(a, 0))?;
    let found = re.find(arg_str(a, 1)).map_or("", |m| m.as_str());
    Ok(Value::from(found))
}

fn replace(a: &[Value], comp: Compiler, expand: bool) -> Result<Value, FuncError> {
    let re = comp(arg_str(a, 0))?;
    let (s, repl) = (arg_str(a, 1), arg_str(a, 2));
    let out = if expand {
        re.replace_all(s, repl)
    } else {
        re.replace_all(s, NoExpand(repl))
    };
    Ok(Value::from(out.into_owned()))
}

/// Go's `Regexp.Split`.
fn split(a: &[Value], comp: Compiler) -> Result<Value, FuncError> {
    let pattern = arg_str(a, 0);
    let re = comp(pattern)?;
    let (s, n) = (arg_str(a, 1), arg_int(a, 2));
    if n == 0 {
        return Ok(Value::Nil);
    }
    if !pattern.is_empty() && s.is_empty() {
        return Ok(string_list(vec![String::new()]));
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    let mut parts = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in re.find_iter(s).take(limit) {
        if n > 0 && parts.len() == limit - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            parts.push(s[beg..end].to_string());
        }
        beg = m.end();
    }
    if end != s.len() {
        parts.push(s[beg..].to_string());
    }
    Ok(string_list(parts))
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Compiles a Go regular expression, or returns Go's error text.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    let pattern = &literal_dashes_after_classes(pattern);
    if let Err(e) = regex_syntax::ast::parse::Parser::new().parse(pattern) {
        return Err(go_error(pattern, &e));
    }
    Regex::new(&ascii_classes(pattern)).map_err(|e| format!("error parsing regexp: {e}"))
}

/// Go reads a `-` right after a class inside brackets (`[\w-.]`, `[[:alpha:]-x]`) as a literal
/// dash, where Rust's parser sees an invalid range; charts rely on it (redis-ha's
/// `^[\\w-\\.]+$`). Escaping those dashes keeps Go's meaning.
fn literal_dashes_after_classes(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let class_end = match c {
            '\\' if in_class => match chars.get(i + 1) {
                Some('d' | 'D' | 'w' | 'W' | 's' | 'S') => Some(i + 2),
                Some('p' | 'P') if chars.get(i + 2) == Some(&'{') => {
                    chars[i..].iter().position(|&c| c == '}').map(|p| i + p + 1)
                }
                Some('p' | 'P') => Some((i + 3).min(chars.len())),
                _ => None,
            },
            '[' if in_class && chars.get(i + 1) == Some(&':') => chars[i + 2..]
                .windows(2)
                .position(|w| w == [':', ']'])
                .map(|p| i + 2 + p + 2),
            _ => None,
        };
        if let Some(end) = class_end {
            out.extend(&chars[i..end]);
            i = end;
            if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&n| n != ']') {
                out.push_str("\\-");
                i += 1;
            }
            continue;
        }
        match c {
            '\\' => {
                out.push(c);
                if let Some(&n) = chars.get(i + 1) {
                    out.push(n);
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` (after an optional `^`) right at the start is a literal.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push(']');
                    i += 1;
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

fn go_error(pattern: &str, e: &regex_syntax::ast::Error) -> String {
    let span = e.span();
    let at = |start: usize, end: usize| pattern.get(start..end).unwrap_or(pattern).to_string();
    let (code, text) = match e.kind() {
        ErrorKind::GroupUnclosed => ("missing closing )", pattern.to_string()),
        ErrorKind::GroupUnopened => ("unexpected )", pattern.to_string()),
        ErrorKind::ClassUnclosed => ("missing closing ]", at(span.start.offset, pattern.len())),
        ErrorKind::RepetitionMissing => (
            "missing argument to repetition operator",
            repetition_operator(&pattern[span.start.offset.min(pattern.len())..]),
        ),
        ErrorKind::EscapeUnexpectedEof => {
            ("trailing backslash at end of expression", String::new())
        }
        ErrorKind::EscapeUnrecognized
        | ErrorKind::EscapeHexInvalid
        | ErrorKind::EscapeHexInvalidDigit
        | ErrorKind::EscapeHexEmpty => (
            "invalid escape sequence",
            at(span.start.offset, span.end.offset),
        ),
        ErrorKind::ClassRangeInvalid | ErrorKind::ClassRangeLiteral => (
            "invalid character class range",
            at(span.start.offset, span.end.offset),
        ),
        ErrorKind::RepetitionCountInvalid
        | ErrorKind::RepetitionCountUnclosed
        | ErrorKind::RepetitionCountDecimalEmpty => (
            "invalid repeat count",
            at(span.start.offset, span.end.offset),
        ),
        ErrorKind::GroupNameInvalid
        | ErrorKind::GroupNameEmpty
        | ErrorKind::GroupNameUnexpectedEof
        | ErrorKind::GroupNameDuplicate { .. } => (
            "invalid named capture",
            at(span.start.offset, span.end.offset),
        ),
        ErrorKind::UnsupportedLookAround | ErrorKind::UnsupportedBackreference => (
            "invalid or unsupported Perl syntax",
            at(span.start.offset, span.end.offset),
        ),
        _ => return format!("error parsing regexp: {}", e.kind()),
    };
    format!("error parsing regexp: {code}: `{text}`")
}

/// The repetition operator at the start of `rest` (`*`, `+?`, `{2,3}`), as Go quotes it.
fn repetition_operator(rest: &str) -> String {
    let len = if rest.starts_with('{') {
        rest.find('}').map_or(rest.len(), |i| i + 1)
    } else {
        rest.chars().next().map_or(0, char::len_utf8)
    };
    let lazy = usize::from(rest[len..].starts_with('?'));
    rest[..len + lazy].to_string()
}

/// Rewrites Go's ASCII-only Perl classes into explicit ASCII classes for Rust's Unicode-aware
/// engine.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = class_start;
        class_start = false;
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let replacement = match (in_class, next) {
                    (false, 'd') => Some("[0-9]"),
                    (false, 'D') => Some("[^0-9]"),
                    (false, 'w') => Some("[0-9A-Za-z_]"),
                    (false, 'W') => Some("[^0-9A-Za-z_]"),
                    (false, 's') => Some("[\\t\\n\\f\\r ]"),
                    (false, 'S') => Some("[^\\t\\n\\f\\r ]"),
                    (false, 'b') => Some("(?-u:\\b)"),
                    (false, 'B') => Some("(?-u:\\B)"),
                    (true, 'd') => Some("0-9"),
                    (true, 'D') => Some("\\x00-/:-\\x{10FFFF}"),
                    (true, 'w') => Some("0-9A-Za-z_"),
                    (true, 'W') => Some("\\x00-/:-@\\[-\\^`\\{-\\x{10FFFF}"),
                    (true, 's') => Some("\\t\\n\\f\\r "),
                    (true, 'S') => Some("\\x00-\\x08\\x0B\\x0E-\\x1F!-\\x{10FFFF}"),
                    _ => None,
                };
                match replacement {
                    Some(r) => out.push_str(r),
                    None => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            '[' if chars.peek() == Some(&':') => {
                out.push('[');
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == ']' {
                        break;
                    }
                }
            }
            ']' if in_class && !at_class_start => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let f = funcs().into_iter().find(|f| f.name == name).expect(name);
        (f.imp)(args)
    }

    #[test]
    fn ascii_perl_classes() {
        assert!(!compile(r"^\d$").unwrap().is_match("٣"));
        assert!(compile(r"^[\d]+$").unwrap().is_match("123"));
        assert!(compile(r"^[^\s]+$").unwrap().is_match("ab"));
        assert!(compile(r"^[]a]+$").unwrap().is_match("]a"));
        // Go takes a dash after a class as a literal (redis-ha's masterGroupName check).
        assert!(compile(r"^[\w-\.]+$").unwrap().is_match("my-master.1"));
        assert!(!compile(r"^[\w-\.]+$").unwrap().is_match("a b"));
        assert!(compile(r"^[[:alpha:]-]+$").unwrap().is_match("a-b"));
    }

    #[test]
    fn go_messages() {
        assert_eq!(
            compile("(a").unwrap_err(),
            "error parsing regexp: missing closing ): `(a`"
        );
        assert_eq!(
            compile("a)").unwrap_err(),
            "error parsing regexp: unexpected ): `a)`"
        );
        assert_eq!(
            compile("[a").unwrap_err(),
            "error parsing regexp: missing closing ]: `[a`"
        );
        assert_eq!(
            compile("*a").unwrap_err(),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        let err = call("regexFind", vec!["(".into(), "x".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"
        );
    }

    #[test]
    fn split_and_replace() {
        let parts = call(
            "regexSplit",
            vec!["z+".into(), "pizza".into(), Value::Int(-1)],
        )
        .unwrap();
        assert_eq!(parts.format_v(), "[pi a]");
        let parts = call("regexSplit", vec!["".into(), "abc".into(), Value::Int(2)]).unwrap();
        assert_eq!(parts.format_v(), "[a bc]");
        let r = call(
            "regexReplaceAll",
            vec!["a(x*)b".into(), "-ab-axxb-".into(), "${1}W".into()],
        )
        .unwrap();
        assert_eq!(r.format_v(), "-W-xxW-");
        let r = call(
            "regexReplaceAllLiteral",
            vec!["a(x*)b".into(), "-ab-".into(), "$1".into()],
        )
        .unwrap();
        assert_eq!(r.format_v(), "-$1-");
        assert_eq!(quote_meta("1.5-2.0?"), "1\\.5-2\\.0\\?");
    }
}
