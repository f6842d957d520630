//! Numbers as the schema validator compares and prints them: as exact decimals (Go's
//! `big.Rat` of the shortest text of a float64) and in the English number format of
//! `golang.org/x/text/message` (`1,234.5`, `5×10⁰⁶`).

/// A decimal `mantissa × 10^exponent`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Decimal {
    mantissa: i128,
    exponent: i32,
}

/// The shortest decimal digits of `f` (no sign) and the exponent of the first digit.
fn shortest(f: f64) -> (String, i32) {
    let e = format!("{:e}", f.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

fn decimal(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    let (digits, exp) = shortest(f);
    let m: i128 = digits.parse().ok()?;
    Some(Decimal {
        mantissa: if f < 0.0 { -m } else { m },
        exponent: exp - (digits.len() as i32 - 1),
    })
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Whether `value / divisor` is an integer, computed on the decimals as Go's `big.Rat` does
/// (so `0.3` is a multiple of `0.1`).
pub fn is_multiple_of(value: f64, divisor: f64) -> bool {
    let exact = || -> Option<bool> {
        let (a, b) = (decimal(value)?, decimal(divisor)?);
        if b.mantissa == 0 {
            return Some(false);
        }
        let e = a.exponent.min(b.exponent);
        let am = a.mantissa.checked_mul(pow10((a.exponent - e) as u32)?)?;
        let bm = b.mantissa.checked_mul(pow10((b.exponent - e) as u32)?)?;
        Some(am % bm == 0)
    };
    exact().unwrap_or_else(|| (value / divisor).fract() == 0.0)
}

const SUPERSCRIPT: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];

fn group_thousands(int: &str) -> String {
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `%v` of a float64 through an English `message.Printer`: Go's `%g` choice between plain
/// and exponent form, thousands grouped, exponents as `×10` and superscript digits.
pub fn format_english(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "∞" } else { "-∞" }.into();
    }
    let sign = if f < 0.0 { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0");
    }
    let (digits, exp) = shortest(f);
    if !(-4..6).contains(&exp) {
        let mut out = format!("{sign}{}", &digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str("×10");
        if exp < 0 {
            out.push('⁻');
        }
        let e = format!("{:02}", exp.unsigned_abs());
        out.extend(e.bytes().map(|b| SUPERSCRIPT[(b - b'0') as usize]));
        return out;
    }
    let (int, frac) = if exp < 0 {
        (
            "0".to_string(),
            format!("{}{digits}", "0".repeat((-exp - 1) as usize)),
        )
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            (
                format!("{digits}{}", "0".repeat(point - digits.len())),
                String::new(),
            )
        } else {
            (digits[..point].to_string(), digits[point..].to_string())
        }
    };
    let mut out = format!("{sign}{}", group_thousands(&int));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_numbers_as_helm_prints_them() {
        for (f, want) in [
            (1234.5, "1,234.5"),
            (70000.0, "70,000"),
            (123456.7, "123,456.7"),
            (5e6, "5×10⁰⁶"),
            (9e-5, "9×10⁻⁰⁵"),
            (0.0001, "0.0001"),
            (-0.5, "-0.5"),
            (1234567.0, "1.234567×10⁰⁶"),
            (-1000000.25, "-1.00000025×10⁰⁶"),
            (1e300, "1×10³⁰⁰"),
            (12345678901234567890123.0, "1.2345678901234568×10²²"),
        ] {
            assert_eq!(format_english(f), want);
        }
    }

    #[test]
    fn multiples_are_decimal() {
        assert!(is_multiple_of(0.3, 0.1));
        assert!(is_multiple_of(1234.5, 0.1));
        assert!(!is_multiple_of(1.5, 0.7));
        assert!(is_multiple_of(10.0, 2.5));
        assert!(!is_multiple_of(1.0, 0.0));
    }
}
