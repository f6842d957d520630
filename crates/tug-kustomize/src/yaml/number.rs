//! Number formatting as kustomize's output path produces it.
//!
//! Kustomize prints a resource by encoding it to JSON (Go `encoding/json`) and re-reading that
//! JSON with go-yaml v2, which re-types every number before printing it with Go's `%g`-like
//! shortest formatting. So `1.0` prints as `1`, `1e21` as `1e+21` and `0.000001` as `1e-06`.

/// Shortest round-trip digits and decimal exponent of a finite, non-zero float:
/// value = 0.d1d2d3... * 10^dp (dp as in Go's `decimal.dp`).
fn shortest_digits(f: f64) -> (String, i32) {
    // Rust's `{:e}` gives the shortest round-trip mantissa, e.g. "1.5e-7".
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0').to_string();
    let digits = if digits.is_empty() {
        "0".to_string()
    } else {
        digits
    };
    (digits, exp + 1)
}

fn fmt_e(neg: bool, digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let exp = dp - 1;
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

fn fmt_f(neg: bool, digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let dpu = dp as usize;
        if digits.len() <= dpu {
            out.push_str(digits);
            for _ in digits.len()..dpu {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..dpu]);
            out.push('.');
            out.push_str(&digits[dpu..]);
        }
    }
    out
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)`, with go-yaml's spellings of the specials.
pub fn format_go_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let neg = f < 0.0;
    let (digits, dp) = shortest_digits(f);
    // Go uses %e when exp < -4 || exp >= eprec, and eprec is 6 for shortest formatting.
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        return fmt_e(neg, &digits, dp);
    }
    fmt_f(neg, &digits, dp)
}

/// Go `encoding/json` float encoding.
pub fn format_go_json(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let neg = f < 0.0;
    let (digits, dp) = shortest_digits(f);
    let abs = f.abs();
    if !(1e-6..1e21).contains(&abs) {
        let s = fmt_e(neg, &digits, dp);
        // json cleans e-09 to e-9
        if let Some(pos) = s.find("e-0") {
            let mut t = s[..pos + 2].to_string();
            t.push_str(&s[pos + 3..]);
            return t;
        }
        return s;
    }
    fmt_f(neg, &digits, dp)
}

/// What go-yaml v2 prints for a float that went through JSON: integers print as integers,
/// everything else in `%g` form.
pub fn float_output(f: f64) -> String {
    let json = format_go_json(f);
    if !json.contains(['.', 'e', 'E']) {
        if let Ok(i) = json.parse::<i64>() {
            return i.to_string();
        }
        if let Ok(u) = json.parse::<u64>() {
            return u.to_string();
        }
    }
    let reparsed: f64 = json.parse().unwrap_or(f);
    format_go_g(reparsed)
}

/// A float as text for places that need its string form (replacements into strings).
pub fn format_float_plain(f: f64) -> String {
    float_output(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_output_of_floats() {
        assert_eq!(float_output(1.0), "1");
        assert_eq!(float_output(2.5), "2.5");
        assert_eq!(float_output(1e21), "1e+21");
        assert_eq!(float_output(0.000001), "1e-06");
        assert_eq!(float_output(1.5e-7), "1.5e-07");
        assert_eq!(float_output(6.02e23), "6.02e+23");
        assert_eq!(float_output(-0.0), "0");
        assert_eq!(float_output(0.5), "0.5");
        assert_eq!(float_output(1e20), "1e+20");
        assert_eq!(float_output(1234567.5), "1.2345675e+06");
        assert_eq!(
            float_output(0.123_456_789_012_345_68),
            "0.12345678901234568"
        );
    }
}
