//! Go's `strconv.FormatFloat` and fmt's `#` flag on floats.

/// The `#` flag on floats: always a decimal point; `%g` keeps trailing zeros.
pub(crate) fn sharp_float(num: String, verb: char, prec: Option<usize>) -> String {
    let (head, tail) = match num.find(['e', 'E', 'p', 'P']) {
        Some(i) => (num[..i].to_string(), num[i..].to_string()),
        None => (num.clone(), String::new()),
    };
    let mut head = head;
    if !head.contains('.') {
        head.push('.');
    }
    if matches!(verb, 'g' | 'G') {
        let want = match prec {
            Some(0) => 1,
            Some(p) => p,
            None => 6,
        };
        let digits = head
            .bytes()
            .skip_while(|b| !b.is_ascii_digit() || *b == b'0')
            .filter(u8::is_ascii_digit)
            .count();
        let digits = if digits == 0 {
            head.bytes().filter(u8::is_ascii_digit).count()
        } else {
            digits
        };
        for _ in digits..want {
            head.push('0');
        }
    }
    head + &tail
}

/// Decimal digits of `|v|` (no leading zeros; empty for zero) and the decimal point position.
fn decimal_digits(v: f64, sig: Option<usize>) -> (Vec<u8>, i32) {
    let v = v.abs();
    if v == 0.0 {
        return (Vec::new(), 0);
    }
    let s = match sig {
        None => format!("{v:e}"),
        Some(n) => format!("{:.*e}", n.saturating_sub(1), v),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return (Vec::new(), 0);
    }
    (digits, exp + 1)
}

fn fmt_e(digits: &[u8], dp: i32, prec: usize, e: char) -> String {
    let mut out = String::new();
    out.push(digits.first().map(|d| *d as char).unwrap_or('0'));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digits.get(i).map(|d| *d as char).unwrap_or('0'));
        }
    }
    out.push(e);
    let exp = if digits.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

fn fmt_f(digits: &[u8], dp: i32, prec: usize) -> String {
    let mut out = String::new();
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(digits.get(i).map(|d| *d as char).unwrap_or('0'));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as i32 {
            let j = dp - 1 + i;
            let c = if j < 0 {
                '0'
            } else {
                digits.get(j as usize).map(|d| *d as char).unwrap_or('0')
            };
            out.push(c);
        }
    }
    out
}

/// Go's `strconv.FormatFloat(v, verb, prec, 64)` for `e`, `E`, `f`, `F`, `g`, `G`; `b`, `x`
/// and `X` fall back to `%g` (templates do not use them).
pub fn format_float(v: f64, verb: char, prec: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let neg = v.is_sign_negative();
    let body = match verb {
        'e' | 'E' => {
            let (digits, dp) = match prec {
                None => decimal_digits(v, None),
                Some(p) => decimal_digits(v, Some(p + 1)),
            };
            let p = prec.unwrap_or(digits.len().saturating_sub(1));
            fmt_e(&digits, dp, p, verb)
        }
        'f' | 'F' => match prec {
            Some(p) => format!("{:.*}", p, v.abs()),
            None => {
                let (digits, dp) = decimal_digits(v, None);
                fmt_f(&digits, dp, (digits.len() as i32 - dp).max(0) as usize)
            }
        },
        _ => {
            let upper = verb == 'G' || verb == 'X';
            let shortest = prec.is_none();
            let (digits, dp) = match prec {
                None => decimal_digits(v, None),
                Some(p) => decimal_digits(v, Some(p.max(1))),
            };
            let nd = digits.len() as i32;
            let mut p = match prec {
                None => nd,
                Some(p) => p.max(1) as i32,
            };
            let mut eprec = p;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                fmt_e(
                    &digits,
                    dp,
                    (p - 1).max(0) as usize,
                    if upper { 'E' } else { 'e' },
                )
            } else {
                if p > dp {
                    p = nd;
                }
                fmt_f(&digits, dp, (p - dp).max(0) as usize)
            }
        }
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}
