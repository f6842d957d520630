//! Scalar resolution.
//!
//! Input is typed as go-yaml v3 types it (kustomize reads with kyaml, which is go-yaml v3):
//! only `true`/`false` are booleans, `0123` is octal, `2024-01-01` is a timestamp. Output
//! quoting is decided as go-yaml v2 would re-read the text (YAML 1.1: `yes`, `on`, `y` are
//! booleans there), which is why `yes` is printed as `"yes"`.

use super::value::Value;

/// Errors from resolving a scalar that kustomize cannot render.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveIssue {
    /// `.inf` / `.nan`: JSON has no spelling for them, so kustomize fails.
    NonFiniteFloat(String),
}

fn parse_go_int(s: &str) -> Option<i128> {
    // strconv.ParseInt(s, 0, 64) semantics: optional sign, 0x/0o/0b/0 prefixes.
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, r)
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, r)
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, r)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = u128::from_str_radix(digits, radix).ok()?;
    if v > u64::MAX as u128 {
        return None;
    }
    let v = v as i128;
    Some(if neg { -v } else { v })
}

fn is_yaml_style_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Parses the timestamp forms go-yaml accepts and returns Go's JSON (RFC 3339) spelling.
pub fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let num = |t: &str, min: usize, max: usize| -> Option<u32> {
        if t.len() < min || t.len() > max || !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(p) => (&s[..p], Some((&s[p..p + 1], &s[p + 1..]))),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y = num(dp.next()?, 4, 4)?;
    let m = num(dp.next()?, 1, 2)?;
    let d = num(dp.next()?, 1, 2)?;
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let date_s = format!("{y:04}-{m:02}-{d:02}");
    let Some((sep, time)) = rest else {
        return Some(format!("{date_s}T00:00:00Z"));
    };
    // time: h:m:s(.frac)?(Z|±hh:mm)? ; zone required for T/t forms, absent for space form.
    let (clock, zone) = if sep == " " {
        (time, None)
    } else if let Some(c) = time.strip_suffix('Z') {
        (c, Some("Z".to_string()))
    } else {
        let p = time.rfind(['+', '-'])?;
        let z = &time[p..];
        if z.len() != 6 || &z[3..4] != ":" {
            return None;
        }
        num(&z[1..3], 2, 2)?;
        num(&z[4..6], 2, 2)?;
        let zz = if &z[1..] == "00:00" {
            "Z".to_string()
        } else {
            z.to_string()
        };
        (&time[..p], Some(zz))
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (clock, None),
    };
    let mut tp = hms.split(':');
    let h = num(tp.next()?, 1, 2)?;
    let mi = num(tp.next()?, 1, 2)?;
    let se = num(tp.next()?, 1, 2)?;
    if tp.next().is_some() || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let mut out = format!("{date_s}T{h:02}:{mi:02}:{se:02}");
    if let Some(f) = frac {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let t = f.trim_end_matches('0');
        if !t.is_empty() {
            out.push('.');
            out.push_str(t);
        }
    }
    out.push_str(zone.as_deref().unwrap_or("Z"));
    Some(out)
}

/// Resolves a plain (unquoted, untagged) scalar the way go-yaml v3 decodes it into `interface{}`.
pub fn resolve_plain(s: &str) -> Result<Value, ResolveIssue> {
    match s {
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => return Err(ResolveIssue::NonFiniteFloat(s.into())),
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' if is_yaml_style_float(s) => {
            if let Ok(f) = s.parse::<f64>() {
                return Ok(Value::Float(f));
            }
        }
        b'0'..=b'9' | b'-' | b'+' => {
            if let Some(ts) = parse_timestamp(s) {
                return Ok(Value::Str(ts));
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(v) = parse_go_int(&plain) {
                if let Ok(i) = i64::try_from(v) {
                    return Ok(Value::Int(i));
                }
                if let Ok(u) = u64::try_from(v) {
                    return Ok(Value::UInt(u));
                }
            }
            if is_yaml_style_float(&plain) {
                if let Ok(f) = plain.parse::<f64>() {
                    if f.is_finite() {
                        return Ok(Value::Float(f));
                    }
                    return Err(ResolveIssue::NonFiniteFloat(s.into()));
                }
            }
        }
        _ => {}
    }
    Ok(Value::Str(s.to_string()))
}

/// Resolves a scalar carrying an explicit tag (`!!str 1`, `!!int "3"`).
pub fn resolve_tagged(tag: &str, s: &str) -> Result<Value, ResolveIssue> {
    match tag {
        "tag:yaml.org,2002:str" | "!!str" => Ok(Value::Str(s.to_string())),
        "tag:yaml.org,2002:int"
        | "tag:yaml.org,2002:float"
        | "tag:yaml.org,2002:bool"
        | "tag:yaml.org,2002:null"
        | "!!int"
        | "!!float"
        | "!!bool"
        | "!!null" => {
            let v = resolve_plain(s)?;
            if tag.ends_with("float") {
                if let Value::Int(i) = v {
                    return Ok(Value::Float(i as f64));
                }
            }
            Ok(v)
        }
        "tag:yaml.org,2002:timestamp" | "!!timestamp" => Ok(parse_timestamp(s)
            .map(Value::Str)
            .unwrap_or_else(|| Value::Str(s.to_string()))),
        _ => Ok(Value::Str(s.to_string())),
    }
}

/// True when go-yaml v2 would read `s`, unquoted, as something other than a string; such
/// strings must be quoted on output.
pub fn v2_resolves_non_string(s: &str) -> bool {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "n"
        | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | ""
        | "~" | "null" | "Null" | "NULL" | ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF"
        | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | "<<" => return true,
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => s.parse::<f64>().is_ok() && is_go_parse_float(s),
        b'0'..=b'9' | b'-' | b'+' => {
            if parse_timestamp(s).is_some() {
                return true;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if parse_go_int_v2(&plain) {
                return true;
            }
            if is_yaml_style_float(&plain) {
                return true;
            }
            if let Some(r) = plain.strip_prefix("0b") {
                return !r.is_empty() && r.chars().all(|c| c == '0' || c == '1');
            }
            if let Some(r) = plain.strip_prefix("-0b") {
                return !r.is_empty() && r.chars().all(|c| c == '0' || c == '1');
            }
            false
        }
        _ => false,
    }
}

fn is_go_parse_float(s: &str) -> bool {
    // strconv.ParseFloat accepts ".5", ".5e3"; Rust agrees for these decimal forms.
    s.bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
}

fn parse_go_int_v2(s: &str) -> bool {
    // ParseInt/ParseUint with base 0 (0x, 0o, 0b, leading-0 octal) within 64 bits.
    parse_go_int(s).is_some_and(|v| v >= i64::MIN as i128 && v <= u64::MAX as i128)
}

/// Go-yaml v2's base-60 float check: such strings are quoted on output for compatibility.
pub fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let b = s.as_bytes();
    if b.is_empty() || !s.contains(':') {
        return false;
    }
    let mut i = 0;
    if b[0] == b'+' || b[0] == b'-' {
        i = 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() && i - st < 2 {
            i += 1;
        }
        let g = &s[st..i];
        let ok = match g.len() {
            1 => true,
            2 => g.as_bytes()[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_typing() {
        assert_eq!(resolve_plain("0123"), Ok(Value::Int(83)));
        assert_eq!(resolve_plain("0o17"), Ok(Value::Int(15)));
        assert_eq!(resolve_plain("0x1F"), Ok(Value::Int(31)));
        assert_eq!(resolve_plain("yes"), Ok(Value::Str("yes".into())));
        assert_eq!(resolve_plain("1_000"), Ok(Value::Int(1000)));
        assert_eq!(resolve_plain("0b1010"), Ok(Value::Int(10)));
        assert_eq!(
            resolve_plain("2024-01-01"),
            Ok(Value::Str("2024-01-01T00:00:00Z".into()))
        );
        assert_eq!(resolve_plain("1:20"), Ok(Value::Str("1:20".into())));
        assert!(resolve_plain(".inf").is_err());
    }

    #[test]
    fn v2_quoting_decisions() {
        for s in [
            "yes",
            "on",
            "y",
            "1.0",
            "0123",
            "1e3",
            "~",
            "",
            "2024-01-01",
            "0x1F",
        ] {
            assert!(v2_resolves_non_string(s), "{s}");
        }
        for s in ["hello", "a:b", "-dash", ".hidden", "1.2.3"] {
            assert!(!v2_resolves_non_string(s), "{s}");
        }
        assert!(is_base60_float("1:20"));
        assert!(!is_base60_float("1:2:a"));
    }
}
