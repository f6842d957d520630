//! Go's fmt package as templates reach it: `print`, `printf`, `println`, and `%v` of values,
//! with Go's verbs, flags, widths, precisions and error forms (`%!d(float64=3)`,
//! `%!v(MISSING)`, `%!(EXTRA ...)`).

use crate::value::Value;

pub use super::float::format_float;
pub(crate) use super::float::sharp_float;
pub(crate) use super::quote::{can_backquote, is_print, quote_rune};
pub use super::quote::{go_quote, go_quote_ascii};

#[derive(Default, Clone, Copy)]
struct Flags {
    sharp: bool,
    zero: bool,
    plus: bool,
    minus: bool,
    space: bool,
    sharp_v: bool,
    plus_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

struct Printer {
    buf: String,
    f: Flags,
}

/// How deeply nested lists and maps are printed; deeper levels print as `...` (Go has no
/// bound, but no chart nests values anywhere near this deep).
pub const MAX_PRINT_DEPTH: usize = 10_000;

const LDIGITS: &[u8] = b"0123456789abcdefx";
const UDIGITS: &[u8] = b"0123456789ABCDEFX";

/// `fmt.Sprint`: operands' `%v`, with a space between two operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// `fmt.Sprintln`: operands' `%v` separated by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::new();
    p.do_printf(format, args);
    p.buf
}

/// Go's `%v` of one value (what an action prints for anything but a missing value).
pub fn format_v(v: &Value) -> String {
    let mut p = Printer::new();
    p.print_arg(v, 'v');
    p.buf
}

fn parse_num(s: &[u8], mut i: usize) -> (Option<usize>, usize) {
    let start = i;
    let mut n: usize = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if n > 1_000_000 {
            return (None, s.len());
        }
        n = n * 10 + (s[i] - b'0') as usize;
        i += 1;
    }
    if i == start {
        (None, i)
    } else {
        (Some(n), i)
    }
}

impl Printer {
    fn new() -> Printer {
        Printer {
            buf: String::new(),
            f: Flags::default(),
        }
    }

    /// Go's `argNumber`: an explicit `[n]` argument index.
    fn arg_number(
        &self,
        arg_num: usize,
        format: &[u8],
        i: usize,
        num_args: usize,
        reordered: &mut bool,
        good: &mut bool,
    ) -> (usize, usize, bool) {
        if i >= format.len() || format[i] != b'[' {
            return (arg_num, i, false);
        }
        *reordered = true;
        for j in i + 1..format.len() {
            if format[j] == b']' {
                let (n, end) = parse_num(format, i + 1);
                return match n {
                    Some(n) if end == j && n >= 1 && n <= num_args => (n - 1, j + 1, true),
                    _ => {
                        *good = false;
                        (arg_num, j + 1, true)
                    }
                };
            }
        }
        *good = false;
        (arg_num, i + 1, false)
    }

    fn do_printf(&mut self, format: &str, a: &[Value]) {
        let fb = format.as_bytes();
        let end = fb.len();
        let mut arg_num = 0;
        let mut reordered = false;
        let mut i = 0;
        'outer: while i < end {
            let mut good = true;
            let last = i;
            while i < end && fb[i] != b'%' {
                i += 1;
            }
            if i > last {
                self.buf.push_str(&format[last..i]);
            }
            if i >= end {
                break;
            }
            i += 1;
            self.f = Flags::default();
            while i < end {
                match fb[i] {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    c => {
                        if c.is_ascii_lowercase() && arg_num < a.len() && c != b'v' {
                            self.print_arg(&a[arg_num], c as char);
                            arg_num += 1;
                            i += 1;
                            continue 'outer;
                        }
                        break;
                    }
                }
                i += 1;
            }
            let (n, ni, mut after_index) =
                self.arg_number(arg_num, fb, i, a.len(), &mut reordered, &mut good);
            arg_num = n;
            i = ni;
            if i < end && fb[i] == b'*' {
                i += 1;
                let (w, ok, n) = int_from_arg(a, arg_num);
                arg_num = n;
                if !ok {
                    self.buf.push_str("%!(BADWIDTH)");
                    self.f.wid = None;
                } else if w < 0 {
                    self.f.minus = true;
                    self.f.zero = false;
                    self.f.wid = Some(w.unsigned_abs() as usize);
                } else {
                    self.f.wid = Some(w as usize);
                }
                after_index = false;
            } else {
                let (w, ni) = parse_num(fb, i);
                self.f.wid = w;
                i = ni;
                if after_index && w.is_some() {
                    good = false;
                }
            }
            if i + 1 < end && fb[i] == b'.' {
                i += 1;
                if after_index {
                    good = false;
                }
                let (n, ni, ai) =
                    self.arg_number(arg_num, fb, i, a.len(), &mut reordered, &mut good);
                arg_num = n;
                i = ni;
                after_index = ai;
                if i < end && fb[i] == b'*' {
                    i += 1;
                    let (p, ok, n) = int_from_arg(a, arg_num);
                    arg_num = n;
                    if p < 0 {
                        self.f.prec = None;
                    } else {
                        self.f.prec = ok.then_some(p as usize);
                    }
                    if !ok {
                        self.buf.push_str("%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (p, ni) = parse_num(fb, i);
                    i = ni;
                    self.f.prec = Some(p.unwrap_or(0));
                }
            }
            if !after_index {
                let (n, ni, _) =
                    self.arg_number(arg_num, fb, i, a.len(), &mut reordered, &mut good);
                arg_num = n;
                i = ni;
            }
            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('?');
            i += verb.len_utf8();
            if verb == '%' {
                self.buf.push('%');
            } else if !good {
                self.buf.push_str(&format!("%!{verb}(BADINDEX)"));
            } else if arg_num >= a.len() {
                self.buf.push_str(&format!("%!{verb}(MISSING)"));
            } else {
                if verb == 'v' {
                    self.f.sharp_v = self.f.sharp;
                    self.f.sharp = false;
                    self.f.plus_v = self.f.plus;
                    self.f.plus = false;
                }
                self.print_arg(&a[arg_num], verb);
                arg_num += 1;
            }
        }
        if !reordered && arg_num < a.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (k, arg) in a[arg_num..].iter().enumerate() {
                if k > 0 {
                    self.buf.push_str(", ");
                }
                if arg.is_nil() {
                    self.buf.push_str("<nil>");
                } else {
                    self.buf.push_str(&arg.type_name());
                    self.buf.push('=');
                    self.print_arg(arg, 'v');
                }
            }
            self.buf.push(')');
        }
    }

    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero && !self.f.minus {
            '0'
        } else {
            ' '
        };
        for _ in 0..n {
            self.buf.push(c);
        }
    }

    fn pad(&mut self, s: &str) {
        let Some(wid) = self.f.wid else {
            self.buf.push_str(s);
            return;
        };
        let n = wid.saturating_sub(s.chars().count());
        if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(n);
        } else {
            self.write_padding(n);
            self.buf.push_str(s);
        }
    }

    fn bad_verb(&mut self, verb: char, v: &Value) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        if v.is_nil() {
            self.buf.push_str("<nil>");
        } else {
            self.buf.push_str(&v.type_name());
            self.buf.push('=');
            self.print_value(v, 'v', 0);
        }
        self.buf.push(')');
    }

    fn print_arg(&mut self, v: &Value, verb: char) {
        if v.is_nil() {
            match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, v),
            }
            return;
        }
        if verb == 'T' {
            let t = v.type_name();
            self.fmt_s(&t);
            return;
        }
        self.print_value(v, verb, 0);
    }

    /// `%#v`: Go syntax for composites (`[]interface {}{"a", 1}`).
    fn print_go_syntax(&mut self, v: &Value, depth: usize) -> bool {
        match v {
            Value::Nil if depth > 0 => self.buf.push_str("interface {}(nil)"),
            Value::List(l) => {
                self.buf.push_str(&v.type_name());
                self.buf.push('{');
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    self.print_value(item, 'v', depth + 1);
                }
                self.buf.push('}');
            }
            Value::Map(m) => {
                self.buf.push_str(&v.type_name());
                self.buf.push('{');
                for (i, (k, item)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    self.buf.push_str(&go_quote(k));
                    self.buf.push(':');
                    self.print_value(item, 'v', depth + 1);
                }
                self.buf.push('}');
            }
            Value::Bytes(b) => {
                self.buf.push_str("[]byte{");
                for (i, byte) in b.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    self.buf.push_str(&format!("{byte:#x}"));
                }
                self.buf.push('}');
            }
            _ => return false,
        }
        true
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        // Values built by templates can nest without bound; the printer recurses natively.
        if depth > MAX_PRINT_DEPTH {
            self.buf.push_str("...");
            return;
        }
        if verb == 'v' && self.f.sharp_v && self.print_go_syntax(v, depth) {
            return;
        }
        match v {
            Value::Nil => {
                if depth == 0 {
                    self.pad("<nil>")
                } else {
                    self.buf.push_str("<nil>")
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, v),
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_int(*i as u64, true, verb, v),
            Value::Float(x) => match verb {
                'v' => self.fmt_float(*x, 'g', None),
                'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float(*x, verb, None),
                'f' | 'e' | 'E' | 'F' => self.fmt_float(*x, verb, Some(6)),
                _ => self.bad_verb(verb, v),
            },
            Value::String(s) => match verb {
                'v' if self.f.sharp_v => self.fmt_q(s),
                'v' | 's' => self.fmt_s(s),
                'x' => self.fmt_sx(s.as_bytes(), LDIGITS),
                'X' => self.fmt_sx(s.as_bytes(), UDIGITS),
                'q' => self.fmt_q(s),
                _ => self.bad_verb(verb, v),
            },
            Value::Bytes(b) => match verb {
                's' => self.fmt_s(&String::from_utf8_lossy(b)),
                'x' => self.fmt_sx(b, LDIGITS),
                'X' => self.fmt_sx(b, UDIGITS),
                'q' => self.fmt_q(&String::from_utf8_lossy(b)),
                _ => {
                    self.buf.push('[');
                    for (i, byte) in b.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(' ');
                        }
                        self.fmt_int(*byte as u64, false, verb, &Value::Int(*byte as i64));
                    }
                    self.buf.push(']');
                }
            },
            Value::List(l) => {
                self.buf.push('[');
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    self.print_value(item, verb, depth + 1);
                }
                self.buf.push(']');
            }
            Value::Map(m) => {
                self.buf.push_str("map[");
                for (i, (k, item)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    self.print_value(&Value::str(k), verb, depth + 1);
                    self.buf.push(':');
                    self.print_value(item, verb, depth + 1);
                }
                self.buf.push(']');
            }
            Value::Object(o) => match verb {
                'v' | 's' => self.fmt_s(&o.format_v()),
                'q' => self.fmt_q(&o.format_v()),
                _ => self.bad_verb(verb, v),
            },
        }
    }

    fn fmt_s(&mut self, s: &str) {
        match self.f.prec {
            Some(p) => {
                let cut: String = s.chars().take(p).collect();
                self.pad(&cut)
            }
            None => self.pad(s),
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s: String = match self.f.prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        };
        if self.f.sharp && can_backquote(&s) {
            self.pad(&format!("`{s}`"));
        } else if self.f.plus {
            self.pad(&go_quote_ascii(&s));
        } else {
            self.pad(&go_quote(&s));
        }
    }

    fn fmt_sx(&mut self, b: &[u8], digits: &[u8]) {
        let mut length = b.len();
        if let Some(p) = self.f.prec {
            length = length.min(p);
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if let Some(w) = self.f.wid {
                self.write_padding(w);
            }
            return;
        }
        let wid = self.f.wid.unwrap_or(0);
        if wid > width && !self.f.minus {
            self.write_padding(wid - width);
        }
        let mut out = String::new();
        if self.f.sharp {
            out.push('0');
            out.push(digits[16] as char);
        }
        for (i, c) in b[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                out.push(' ');
                if self.f.sharp {
                    out.push('0');
                    out.push(digits[16] as char);
                }
            }
            out.push(digits[(c >> 4) as usize] as char);
            out.push(digits[(c & 0xf) as usize] as char);
        }
        self.buf.push_str(&out);
        if wid > width && self.f.minus {
            self.write_padding(wid - width);
        }
    }

    fn fmt_int(&mut self, u: u64, signed: bool, verb: char, v: &Value) {
        match verb {
            'v' | 'd' => self.fmt_integer(u, 10, signed, verb, LDIGITS),
            'b' => self.fmt_integer(u, 2, signed, verb, LDIGITS),
            'o' | 'O' => self.fmt_integer(u, 8, signed, verb, LDIGITS),
            'x' => self.fmt_integer(u, 16, signed, verb, LDIGITS),
            'X' => self.fmt_integer(u, 16, signed, verb, UDIGITS),
            'c' => {
                let c = char::from_u32(u as u32)
                    .filter(|_| u <= 0x10FFFF)
                    .unwrap_or('\u{FFFD}');
                self.pad(&c.to_string());
            }
            'q' => {
                let c = char::from_u32(u as u32)
                    .filter(|_| u <= 0x10FFFF)
                    .unwrap_or('\u{FFFD}');
                if self.f.sharp && is_print(c) {
                    self.pad(&format!("'{c}'"));
                } else {
                    self.pad(&quote_rune(c, self.f.plus));
                }
            }
            'U' => self.fmt_unicode(u),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_unicode(&mut self, u: u64) {
        let prec = self.f.prec.unwrap_or(4).max(4);
        let mut s = format!("U+{:0width$X}", u, width = prec);
        if self.f.sharp {
            if let Some(c) = char::from_u32(u as u32).filter(|c| u <= 0x10FFFF && is_print(*c)) {
                s.push_str(&format!(" '{c}'"));
            }
        }
        let zero = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = zero;
    }

    fn fmt_integer(&mut self, u: u64, base: u64, signed: bool, verb: char, digits: &[u8]) {
        let negative = signed && (u as i64) < 0;
        let mut u = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let zero = self.f.zero;
                self.f.zero = false;
                let w = self.f.wid.unwrap_or(0);
                self.write_padding(w);
                self.f.zero = zero;
                return;
            }
        } else if self.f.zero && !self.f.minus {
            if let Some(w) = self.f.wid {
                prec = w;
                if negative || self.f.plus || self.f.space {
                    prec = prec.saturating_sub(1);
                }
            }
        }
        let mut rev: Vec<u8> = Vec::new();
        if u == 0 {
            rev.push(b'0');
        }
        while u > 0 {
            rev.push(digits[(u % base) as usize]);
            u /= base;
        }
        while rev.len() < prec {
            rev.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => rev.extend_from_slice(b"b0"),
                8 if rev.last() != Some(&b'0') => rev.push(b'0'),
                16 => {
                    rev.push(digits[16]);
                    rev.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            rev.extend_from_slice(b"o0");
        }
        if negative {
            rev.push(b'-');
        } else if self.f.plus {
            rev.push(b'+');
        } else if self.f.space {
            rev.push(b' ');
        }
        rev.reverse();
        let s = String::from_utf8(rev).unwrap_or_default();
        let zero = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = zero;
    }

    fn fmt_float(&mut self, v: f64, verb: char, default_prec: Option<usize>) {
        let prec = self.f.prec.or(default_prec);
        let mut num = String::from("+");
        num.push_str(&format_float(v, verb, prec));
        if num.as_bytes()[1] == b'-' || num.as_bytes()[1] == b'+' {
            num.remove(0);
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        let second = num.as_bytes().get(1).copied();
        if second == Some(b'I') || second == Some(b'N') {
            let zero = self.f.zero;
            self.f.zero = false;
            if second == Some(b'N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = zero;
            return;
        }
        if self.f.sharp && verb != 'b' {
            num = sharp_float(num, verb, prec);
        }
        if self.f.plus || !num.starts_with('+') {
            let len = num.chars().count();
            if self.f.zero && !self.f.minus && self.f.wid.is_some_and(|w| w > len) {
                let w = self.f.wid.unwrap_or(0);
                self.buf.push_str(&num[..1]);
                self.write_padding(w - len);
                self.buf.push_str(&num[1..]);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }
}

fn int_from_arg(a: &[Value], arg_num: usize) -> (i64, bool, usize) {
    if arg_num >= a.len() {
        return (0, false, arg_num);
    }
    match a[arg_num].as_int() {
        Some(n) if n.unsigned_abs() <= 1_000_000 => (n, true, arg_num + 1),
        _ => (0, false, arg_num + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(format: &str, args: Vec<Value>) -> String {
        sprintf(format, &args)
    }

    #[test]
    fn floats_print_as_go_does() {
        assert_eq!(format_float(1e6, 'g', None), "1e+06");
        assert_eq!(format_float(123456.0, 'g', None), "123456");
        assert_eq!(format_float(0.0001, 'g', None), "0.0001");
        assert_eq!(format_float(0.00001, 'g', None), "1e-05");
        assert_eq!(format_float(3.0, 'f', Some(2)), "3.00");
        assert_eq!(format_float(1234.5678, 'e', Some(3)), "1.235e+03");
        assert_eq!(format_float(0.0, 'e', Some(2)), "0.00e+00");
        assert_eq!(format_float(1234.5678, 'g', Some(3)), "1.23e+03");
        assert_eq!(format_float(100.0, 'g', Some(3)), "100");
        assert_eq!(format_float(-0.0, 'g', None), "-0");
        assert_eq!(format_float(2.5, 'f', Some(0)), "2");
    }

    #[test]
    fn printf_verbs_flags_and_errors() {
        assert_eq!(f("%d", vec![Value::Float(3.0)]), "%!d(float64=3)");
        assert_eq!(
            f(
                "%05d|%-4d|%+d|%x|%X|%o|%b",
                vec![
                    Value::Int(-42),
                    Value::Int(7),
                    Value::Int(5),
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(5)
                ]
            ),
            "-0042|7   |+5|ff|FF|10|101"
        );
        assert_eq!(f("%s %v", vec![Value::str("a")]), "a %!v(MISSING)");
        assert_eq!(
            f("%s", vec![Value::str("a"), Value::Int(1), Value::Nil]),
            "a%!(EXTRA int=1, <nil>)"
        );
        assert_eq!(
            f(
                "%q|%5.1f|%-5s|%T",
                vec![
                    Value::str("x\"y"),
                    Value::Float(2.6875),
                    Value::str("ab"),
                    Value::Float(1.0)
                ]
            ),
            "\"x\\\"y\"|  2.7|ab   |float64"
        );
        assert_eq!(
            f(
                "%c%c|%U|%%|%t",
                vec![
                    Value::Int(72),
                    Value::Int(105),
                    Value::Int(0x1F600),
                    Value::Bool(true)
                ]
            ),
            "Hi|U+1F600|%|true"
        );
        assert_eq!(
            f(
                "%d",
                vec![Value::list(vec![Value::str("a"), Value::Int(2)])]
            ),
            "[%!d(string=a) 2]"
        );
        assert_eq!(f("%x", vec![Value::str("hi")]), "6869");
        assert_eq!(f("%!", vec![]), "%!!(MISSING)");
        assert_eq!(f("a%", vec![]), "a%!(NOVERB)");
    }

    #[test]
    fn print_spaces_only_between_non_strings() {
        assert_eq!(
            sprint(&[
                Value::str("a"),
                Value::Int(1),
                Value::Int(2),
                Value::str("b"),
                Value::Nil
            ]),
            "a1 2b<nil>"
        );
        assert_eq!(sprintln(&[Value::str("a"), Value::Int(1)]), "a 1\n");
    }
}
