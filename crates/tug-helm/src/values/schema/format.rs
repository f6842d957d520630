//! The `format` keyword, asserted (as Helm's validator asserts it for drafts before 2019-09)
//! for the formats it knows; unknown formats pass. Messages follow
//! santhosh-tekuri/jsonschema's.

use crate::values::quote::{go_quote, go_quote_rune};

/// Checks `s` against the named format; `None` for formats not asserted.
pub fn check(format: &str, s: &str) -> Option<Result<(), String>> {
    Some(match format {
        "ipv4" => ipv4(s),
        "ipv6" => ipv6(s),
        "hostname" => hostname(s),
        "email" => email(s),
        "date" => date(s),
        "time" => time(s),
        "date-time" => date_time(s),
        "uuid" => uuid(s),
        "uri" | "iri" => uri(s),
        "json-pointer" => json_pointer(s),
        "regex" => regex::Regex::new(s).map(|_| ()).map_err(|e| e.to_string()),
        _ => return None,
    })
}

fn ipv4(s: &str) -> Result<(), String> {
    let groups: Vec<&str> = s.split('.').collect();
    if groups.len() != 4 {
        return Err("expected four decimals".into());
    }
    for g in groups {
        if g.len() > 1 && g.starts_with('0') {
            return Err("leading zeros".into());
        }
        let n: i64 = g
            .parse()
            .map_err(|_| format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(g)))?;
        if !(0..=255).contains(&n) {
            return Err("decimal must be between 0 and 255".into());
        }
    }
    Ok(())
}

fn ipv6(s: &str) -> Result<(), String> {
    if !s.contains(':') {
        return Err("missing colon".into());
    }
    if s.contains('%') {
        let (addr, _) = s.split_once('%').unwrap_or((s, ""));
        return match addr.parse::<std::net::Ipv6Addr>() {
            Ok(_) => Err("zone id is not a part of ipv6 address".into()),
            Err(_) => Err(format!("ParseAddr({}): unable to parse IP", go_quote(s))),
        };
    }
    s.parse::<std::net::Ipv6Addr>()
        .map(|_| ())
        .map_err(|_| format!("ParseAddr({}): unable to parse IP", go_quote(s)))
}

fn hostname(s: &str) -> Result<(), String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return Err("more than 253 characters long".into());
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("label must be 1 to 63 characters long".into());
        }
        if label.starts_with('-') {
            return Err("label starts with hyphen".into());
        }
        if label.ends_with('-') {
            return Err("label ends with hyphen".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("invalid character {}", go_quote_rune(c)));
        }
    }
    Ok(())
}

fn email(s: &str) -> Result<(), String> {
    if s.len() > 254 {
        return Err("more than 255 characters long".into());
    }
    let at = s.rfind('@').ok_or("missing @")?;
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.len() > 64 {
        return Err("local part more than 64 characters long".into());
    }
    if local.len() > 1 && local.starts_with('"') {
        let inner = &local[1..local.len() - 1];
        if inner.contains('\\') || inner.contains('"') {
            return Err("backslash and quote are not allowed within quoted local part".into());
        }
    } else {
        if local.starts_with('.') {
            return Err("starts with dot".into());
        }
        if local.ends_with('.') {
            return Err("ends with dot".into());
        }
        if local.contains("..") {
            return Err("consecutive dots".into());
        }
        let allowed = ".!#$%&'*+-/=?^_`{|}~";
        if let Some(c) = local
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || allowed.contains(*c)))
        {
            return Err(format!("invalid character {}", go_quote_rune(c)));
        }
    }
    if let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        if let Some(v6) = inner.strip_prefix("IPv6:") {
            return ipv6(v6).map_err(|e| format!("invalid ipv6 address: {e}"));
        }
        return ipv4(inner).map_err(|e| format!("invalid ipv4 address: {e}"));
    }
    hostname(domain).map_err(|e| format!("invalid domain: {e}"))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go's `time.Parse("2006-01-02", s)`, with its messages for the common failures.
fn date(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shape {
        return Err(format!(
            "parsing time {} as \"2006-01-02\": cannot parse {} as \"2006\"",
            go_quote(s),
            go_quote(s)
        ));
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap_or(0);
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    if !(1..=12).contains(&month) {
        return Err(format!("parsing time {}: month out of range", go_quote(s)));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(format!("parsing time {}: day out of range", go_quote(s)));
    }
    Ok(())
}

fn time(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    if b.len() < 9 {
        return Err("less than 9 characters long".into());
    }
    if b[2] != b':' || b[5] != b':' {
        return Err("missing colon in correct place".into());
    }
    let mut hms = Vec::new();
    for tok in s[..8].splitn(3, ':') {
        let n: i64 = tok
            .parse()
            .map_err(|_| "invalid hour/min/sec".to_string())?;
        if n < 0 {
            return Err("non-positive hour/min/sec".into());
        }
        hms.push(n);
    }
    let (mut h, mut m, sec) = (hms[0], hms[1], hms[2]);
    if h > 23 || m > 59 || sec > 60 {
        return Err("hour/min/sec out of range".into());
    }
    let mut rest = &s[8..];
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err("no digits in second fraction".into());
        }
        rest = &r[digits..];
    }
    if rest != "z" && rest != "Z" {
        if rest.len() != 6 {
            return Err("offset must be 6 characters long".into());
        }
        let sign = match rest.as_bytes()[0] {
            b'+' => -1,
            b'-' => 1,
            _ => return Err("offset must begin with plus/minus".into()),
        };
        let off = &rest[1..];
        if off.as_bytes()[2] != b':' {
            return Err("missing colon in offset in correct place".into());
        }
        let mut zhm = Vec::new();
        for tok in off.splitn(2, ':') {
            let n: i64 = tok
                .parse()
                .map_err(|_| "invalid hour/min in offset".to_string())?;
            if n < 0 {
                return Err("non-positive hour/min in offset".into());
            }
            zhm.push(n);
        }
        if zhm[0] > 23 || zhm[1] > 59 {
            return Err("hour/min in offset out of range".into());
        }
        let mut hm = h * 60 + m + sign * (zhm[0] * 60 + zhm[1]);
        if hm < 0 {
            hm += 24 * 60;
        }
        h = hm / 60;
        m = hm % 60;
    }
    if sec >= 60 && (h != 23 || m != 59) {
        return Err("invalid leap second".into());
    }
    Ok(())
}

fn date_time(s: &str) -> Result<(), String> {
    if s.len() < 20 {
        return Err("less than 20 characters long".into());
    }
    if !s.is_char_boundary(10) || !s.is_char_boundary(11) {
        return Err("11th character must be t or T".into());
    }
    if !matches!(s.as_bytes()[10], b't' | b'T') {
        return Err("11th character must be t or T".into());
    }
    date(&s[..10]).map_err(|e| format!("invalid date element: {e}"))?;
    time(&s[11..]).map_err(|e| format!("invalid time element: {e}"))
}

fn uuid(s: &str) -> Result<(), String> {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    if groups.len() != lens.len() {
        return Err(format!("must have {} elements", lens.len()));
    }
    for (i, (g, want)) in groups.iter().zip(lens).enumerate() {
        if g.len() != want {
            return Err(format!("element {} must be {want} characters long", i + 1));
        }
        if let Some(c) = g.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!("non-hex character {}", go_quote_rune(c)));
        }
    }
    Ok(())
}

/// An absolute URI: a scheme (`letter *(letter / digit / + / - / .)`) and a colon.
fn uri(s: &str) -> Result<(), String> {
    let scheme_end = s.find(':');
    let absolute = scheme_end.is_some_and(|end| {
        let scheme = &s[..end];
        scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if absolute {
        Ok(())
    } else {
        Err("relative url".into())
    }
}

fn json_pointer(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if !s.starts_with('/') {
        return Err("not starting with /".into());
    }
    for tok in s.split('/').skip(1) {
        let mut chars = tok.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err("~ must be followed by 0 or 1".into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_helms_validator() {
        assert_eq!(ipv4("1.2.3.04").unwrap_err(), "leading zeros");
        assert_eq!(
            date("2024-02-30").unwrap_err(),
            "parsing time \"2024-02-30\": day out of range"
        );
        assert_eq!(
            date_time("2024-13-01T00:00:00Z").unwrap_err(),
            "invalid date element: parsing time \"2024-13-01\": month out of range"
        );
        assert_eq!(time("25:00:00Z").unwrap_err(), "hour/min/sec out of range");
        assert_eq!(email("a@@b").unwrap_err(), "invalid character '@'");
        assert_eq!(
            hostname("-bad.com").unwrap_err(),
            "label starts with hyphen"
        );
        assert_eq!(uuid("123").unwrap_err(), "must have 5 elements");
        assert_eq!(uri("/relative").unwrap_err(), "relative url");
        assert!(date_time("2024-01-02T03:04:05.5+01:00").is_ok());
        assert!(ipv6("::1").is_ok());
    }
}
