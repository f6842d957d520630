//! Conversions: Sprig's `strval`, spf13/cast's `ToInt64`/`ToFloat64` (which every arithmetic
//! function goes through), `atoi`, `toDecimal` and the string splitting functions.

use std::collections::BTreeMap;

use super::{arg, arg_int, arg_str, fixed, string_list};
use crate::func::{Func, FuncError, Ty};
use crate::value::{ListKind, Value};

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        fixed("toString", &[Any], |a| Ok(Value::from(strval(&arg(&a, 0))))),
        fixed("atoi", &[String], |a| Ok(Value::Int(atoi(arg_str(&a, 0))))),
        fixed("int64", &[Any], |a| Ok(Value::Int64(to_int64(&arg(&a, 0))))),
        fixed("int", &[Any], |a| Ok(Value::Int(to_int64(&arg(&a, 0))))),
        fixed("float64", &[Any], |a| {
            Ok(Value::Float(to_float64(&arg(&a, 0))))
        }),
        fixed("toDecimal", &[Any], |a| {
            let text = arg(&a, 0).format_v();
            Ok(Value::Int64(parse_go_int(&text, 8).unwrap_or(0)))
        }),
        fixed("toStrings", &[Any], |a| {
            Ok(string_list(to_strings(&arg(&a, 0))))
        }),
        fixed("split", &[String, String], |a| {
            let parts = go_split(arg_str(&a, 1), arg_str(&a, 0), -1);
            Ok(indexed_map(parts))
        }),
        fixed("splitn", &[String, Int, String], |a| {
            let parts = go_split(arg_str(&a, 2), arg_str(&a, 0), arg_int(&a, 1));
            Ok(indexed_map(parts))
        }),
        fixed("splitList", &[String, String], |a| {
            let parts = go_split(arg_str(&a, 1), arg_str(&a, 0), -1);
            Ok(string_list(parts.into_iter().map(str::to_string).collect()))
        }),
    ]
}

/// Sprig's `atoi`: `strconv.Atoi` with the error dropped, so syntax errors give 0 and
/// out-of-range numbers the nearest int64 (which is what Atoi returns with its error).
fn atoi(s: &str) -> i64 {
    if let Some(n) = parse_go_int(s, 10) {
        return n;
    }
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
        return if s.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        };
    }
    0
}

/// Sprig's `strval`: strings and byte slices as their text, anything else as `%v` prints it
/// (objects through their `String` method).
pub fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.format_v(),
    }
}

/// [`strval`] as bytes, keeping bytes that are not UTF-8.
pub(crate) fn strval_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Bytes(b) => b.to_vec(),
        other => strval(other).into_bytes(),
    }
}

/// spf13/cast `ToInt64`: integers as they are, floats truncated, strings parsed as Go integer
/// literals (`0x1f`, `0o17`, a leading `0` for octal, so `"08"` fails) after dropping a zero
/// fraction (`"2.00"`), booleans as 0/1; everything else, and every failure, is 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => go_float_to_int(*f),
        Value::String(s) => parse_go_int(trim_zero_decimal(s), 0).unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// spf13/cast `ToFloat64`: numbers converted, strings parsed by `strconv.ParseFloat`, booleans
/// as 0/1; everything else, and every failure, is 0.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::String(s) => parse_go_float(s).unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// 2^63, the first float64 beyond int64.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// Go's `int64(f)`: truncation; out-of-range values and NaN give the minimum int64, as amd64's
/// conversion instruction does.
pub(crate) fn go_float_to_int(f: f64) -> i64 {
    if f.is_nan() || !(-TWO_63..TWO_63).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// cast's `trimZeroDecimal`: `"2.00"` → `"2"`, `"2.50"` and `"2."` unchanged.
fn trim_zero_decimal(s: &str) -> &str {
    let mut found_zero = false;
    for (i, b) in s.bytes().enumerate().rev() {
        match b {
            b'.' => {
                return if found_zero { &s[..i] } else { s };
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Go's `strconv.ParseInt(s, base, 64)` for base 0 (prefixes and underscores), 8 or 10.
pub(crate) fn parse_go_int(s: &str, base: u32) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits) = if base == 0 {
        let lower = body.to_ascii_lowercase();
        if lower.starts_with("0x") {
            (16, &body[2..])
        } else if lower.starts_with("0o") {
            (8, &body[2..])
        } else if lower.starts_with("0b") {
            (2, &body[2..])
        } else if body.starts_with('0') && body.len() > 1 {
            (8, &body[1..])
        } else {
            (10, body)
        }
    } else {
        (base, body)
    };
    let cleaned: String = if base == 0 && digits.contains('_') {
        if !underscores_between_digits(body) {
            return None;
        }
        digits.chars().filter(|c| *c != '_').collect()
    } else {
        digits.to_string()
    };
    if cleaned.is_empty() || cleaned.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(&cleaned, radix).ok()?;
    if neg {
        if magnitude > 1u64 << 63 {
            return None;
        }
        Some((magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's rule for `_` in number literals: only between digits, or after a base prefix.
fn underscores_between_digits(body: &str) -> bool {
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut saw = b'^';
    let mut hex = false;
    if bytes.len() >= 2 && bytes[0] == b'0' && matches!(bytes[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = bytes[1] | 0x20 == b'x';
    }
    for &c in &bytes[i..] {
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
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
    }
    saw != b'_'
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal syntax and the special spellings.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.trim_start_matches(['+', '-']);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse::<f64>().ok();
    }
    if s.len() - body.len() > 1 || body.is_empty() {
        return None;
    }
    let valid = body
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'));
    if !valid {
        return None;
    }
    if body.contains('_') {
        if !underscores_between_digits(body) {
            return None;
        }
        return s.replace('_', "").parse().ok();
    }
    s.parse().ok()
}

/// Sprig's `strslice`: a `[]string` as is, other slices element-wise through [`strval`] with
/// nils dropped, nil as empty, anything else as a one-element list.
pub(crate) fn to_strings(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) if l.kind == ListKind::String => l.items.iter().map(strval).collect(),
        Value::List(l) => l.items.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Bytes(b) => b.iter().map(|x| x.to_string()).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// Go's `strings.SplitN(s, sep, n)` (`n < 0`: all; an empty separator splits into UTF-8
/// characters).
pub(crate) fn go_split<'a>(s: &'a str, sep: &str, n: i64) -> Vec<&'a str> {
    if n == 0 {
        return Vec::new();
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    if sep.is_empty() {
        let mut out: Vec<&str> = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if out.len() + 1 == limit {
                out.push(rest);
                return out;
            }
            let len = rest.chars().next().map_or(1, char::len_utf8);
            out.push(&rest[..len]);
            rest = &rest[len..];
        }
        return out;
    }
    s.splitn(limit, sep).collect()
}

/// Sprig's `split` result: `{_0: first, _1: second, ...}`.
fn indexed_map(parts: Vec<&str>) -> Value {
    let entries: BTreeMap<String, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::from(p)))
        .collect();
    Value::map(entries)
}

/// Used by functions that report a failed conversion instead of defaulting.
#[allow(dead_code)]
pub(crate) fn conversion_error(what: &str, v: &Value) -> FuncError {
    FuncError::msg(format!(
        "unable to cast {:?} of type {} to {what}",
        v.format_v(),
        v.type_name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_integer_rules() {
        assert_eq!(to_int64(&Value::from("08")), 0);
        assert_eq!(to_int64(&Value::from("010")), 8);
        assert_eq!(to_int64(&Value::from("0x1F")), 31);
        assert_eq!(to_int64(&Value::from("2.00")), 2);
        assert_eq!(to_int64(&Value::from("2.5")), 0);
        assert_eq!(to_int64(&Value::from("1_000")), 1000);
        assert_eq!(to_int64(&Value::Float(2.7)), 2);
        assert_eq!(to_int64(&Value::Float(-2.7)), -2);
        assert_eq!(to_int64(&Value::Bool(true)), 1);
        assert_eq!(parse_go_int("08", 10), Some(8));
        assert_eq!(parse_go_int("-9223372036854775808", 10), Some(i64::MIN));
        assert_eq!(parse_go_int("9223372036854775808", 10), None);
    }

    #[test]
    fn cast_float_rules() {
        assert_eq!(to_float64(&Value::from("1.5")), 1.5);
        assert_eq!(to_float64(&Value::from("1e3")), 1000.0);
        assert_eq!(to_float64(&Value::from("abc")), 0.0);
        assert_eq!(to_float64(&Value::Int(3)), 3.0);
    }

    #[test]
    fn split_like_go() {
        assert_eq!(go_split("a,b,c", ",", 2), vec!["a", "b,c"]);
        assert_eq!(go_split("abc", "", -1), vec!["a", "b", "c"]);
        assert_eq!(go_split("", ",", -1), vec![""]);
    }
}
