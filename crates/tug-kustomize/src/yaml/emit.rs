//! The printer: reproduces go-yaml v2's `Marshal` of a generic value, which is what
//! `kubectl kustomize` prints (it converts each resource to JSON and back through go-yaml v2).
//!
//! Rules that matter for byte identity: map keys sorted in v2's natural order, block style with
//! sequences not indented under their key, two-space indentation, lines folded at 80 columns
//! for plain and quoted scalars, strings that v2 would re-type are double-quoted, multi-line
//! strings are literal blocks, and scalars the emitter cannot print plainly fall back to
//! single then double quotes.

use super::number::{float_output, format_go_g};
use super::resolve::{is_base60_float, v2_resolves_non_string};
use super::sort::{natural_less, sort_by_less};
use super::value::Value;

const BEST_WIDTH: usize = 80;
const BEST_INDENT: isize = 2;

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// go-yaml's `is_printable`, which tests UTF-8 lead bytes: characters outside the Basic
/// Multilingual Plane (emoji, ...) count as unprintable and force an escaped, double-quoted
/// scalar (`"\U0001F680"`).
fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
    }
    let mut preceded_by_ws = true;
    let mut chars = value.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let last = next.is_none();
        let followed_by_ws = next.is_none_or(|n| matches!(n, ' ' | '\t'));
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if first {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if first {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = matches!(c, ' ' | '\t') || is_break(c) || c == '\0';
        first = false;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// Emitter state, mirroring the few fields of libyaml's emitter that shape the output.
struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    indent: isize,
    indents: Vec<isize>,
    flow_level: usize,
    mapping_context: bool,
    simple_key_context: bool,
    /// go-yaml v3 as Helm's `toYamlPretty` uses it (`SetIndent(2)`): sequences indented under
    /// their mapping key, no folding of long lines, floats in `%g` form.
    v3: bool,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }
    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }
    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }
    fn write_indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        for c in ind.chars() {
            self.put(c);
        }
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }
    /// Where lines fold: 80 columns for go-yaml v2, never for Helm's v3 encoder.
    fn best_width(&self) -> usize {
        if self.v3 {
            usize::MAX
        } else {
            BEST_WIDTH
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }
    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn emit_node(&mut self, v: &Value, sequence: bool, mapping: bool, simple_key: bool) {
        let _ = sequence;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match v {
            Value::Map(m) if !m.is_empty() && self.flow_level == 0 => self.emit_block_map(v),
            Value::Seq(s) if !s.is_empty() && self.flow_level == 0 => self.emit_block_seq(s),
            Value::Map(_) => self.emit_empty_flow("{", "}"),
            Value::Seq(_) => self.emit_empty_flow("[", "]"),
            Value::Null => self.emit_scalar("null", Style::Plain),
            Value::Bool(b) => self.emit_scalar(if *b { "true" } else { "false" }, Style::Plain),
            Value::Int(i) => self.emit_scalar(&i.to_string(), Style::Plain),
            Value::UInt(u) => self.emit_scalar(&u.to_string(), Style::Plain),
            Value::Float(f) if self.v3 => self.emit_scalar(&format_go_g(*f), Style::Plain),
            Value::Float(f) => self.emit_scalar(&float_output(*f), Style::Plain),
            Value::Str(s) => {
                let style = if s.contains('\n') {
                    Style::Literal
                } else if !v2_resolves_non_string(s) && !is_base60_float(s) {
                    Style::Plain
                } else {
                    Style::Double
                };
                self.emit_scalar(s, style);
            }
        }
    }

    fn emit_empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    fn emit_block_seq(&mut self, items: &[Value]) {
        let indentless = self.mapping_context && !self.indention && !self.v3;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.emit_node(item, true, false, false);
        }
        self.pop_indent();
    }

    fn emit_block_map(&mut self, v: &Value) {
        let Value::Map(m) = v else { return };
        let mut entries: Vec<(&String, &Value)> = m.iter().collect();
        sort_by_less(&mut entries, |a, b| natural_less(a.0, b.0));
        self.increase_indent(false, false);
        for (k, val) in entries {
            self.write_indent();
            let key = Value::Str(k.clone());
            let simple =
                !k.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']) && k.len() <= 128;
            if simple {
                self.emit_node(&key, false, true, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.emit_node(&key, false, true, false);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.emit_node(val, false, true, false);
        }
        self.pop_indent();
    }

    fn emit_scalar(&mut self, value: &str, requested: Style) {
        let a = analyze(value);
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain
            && (!a.block_plain_allowed
                || (value.is_empty() && (self.flow_level > 0 || self.simple_key_context)))
        {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal
            && (!a.block_allowed || self.flow_level > 0 || self.simple_key_context)
        {
            style = Style::Double;
        }
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::Single => self.write_single(value, allow_breaks),
            Style::Double => self.write_double(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > self.best_width() && !next_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                i += 1;
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                i += 1;
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                i += 1;
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_single(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < n {
            let c = chars[i];
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width()
                    && i > 0
                    && i < n - 1
                    && !next_space
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                i += 1;
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                i += 1;
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                i += 1;
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, value: &str, allow_breaks: bool) {
        let starts_with_bom = value.starts_with('\u{FEFF}');
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        let mut i = 0;
        while i < n {
            let c = chars[i];
            if !is_printable(c) || starts_with_bom || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{07}' => self.put('a'),
                    '\u{08}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{0b}' => self.put('v'),
                    '\u{0c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{A0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let u = c as u32;
                        let (ch, w) = if u <= 0xFF {
                            ('x', 2)
                        } else if u <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(ch);
                        for k in (0..w).rev() {
                            let d = (u >> (k * 4)) & 0xF;
                            let dc = std::char::from_digit(d, 16)
                                .unwrap_or('0')
                                .to_ascii_uppercase();
                            self.put(dc);
                        }
                    }
                }
                i += 1;
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width() && i > 0 && i < n - 1
                {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                i += 1;
                spaces = true;
            } else {
                self.put(c);
                i += 1;
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints.
        let first = value.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            let hint = format!("{}", BEST_INDENT);
            self.write_indicator(&hint, false, false, false);
        }
        let chars: Vec<char> = value.chars().collect();
        let chomp = match chars.last() {
            None => Some('-'),
            Some(&last) if !is_break(last) => Some('-'),
            Some(_) if chars.len() == 1 => Some('+'),
            Some(_) => {
                if is_break(chars[chars.len() - 2]) {
                    Some('+')
                } else {
                    None
                }
            }
        };
        if let Some(ch) = chomp {
            self.write_indicator(&ch.to_string(), false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// Prints one document (a resource) as go-yaml v2 would, ending with a newline.
pub fn to_yaml(v: &Value) -> String {
    emit_document(v, false)
}

/// Like [`to_yaml`], but as Helm's `toYamlPretty` prints (a go-yaml v3 encoder with an indent
/// of 2): sequences inside mappings indented under their key, long lines not folded, floats in
/// `%g` form (`1.2345678901234567e+19`).
pub fn to_yaml_indented_sequences(v: &Value) -> String {
    emit_document(v, true)
}

fn emit_document(v: &Value, v3: bool) -> String {
    let mut e = Emitter {
        out: String::with_capacity(1024),
        column: 0,
        whitespace: true,
        indention: true,
        indent: -1,
        indents: Vec::new(),
        flow_level: 0,
        mapping_context: false,
        simple_key_context: false,
        v3,
    };
    e.emit_node(v, false, false, false);
    // Document end: v2 writes a final line break via write_indent.
    e.write_indent_doc_end();
    e.out
}

impl Emitter {
    fn write_indent_doc_end(&mut self) {
        self.indent = -1;
        self.write_indent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::value::Map;

    fn m(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Map>(),
        )
    }

    #[test]
    fn nested_layout() {
        let v = m(&[
            (
                "b",
                Value::Seq(vec![m(&[("x", Value::Int(1)), ("a", Value::Null)])]),
            ),
            (
                "a",
                m(&[
                    ("s", Value::Str("yes".into())),
                    ("e", Value::Str("".into())),
                ]),
            ),
            ("c", Value::Seq(vec![])),
            ("d", Value::Str("l1\nl2\n".into())),
        ]);
        assert_eq!(
            to_yaml(&v),
            "a:\n  e: \"\"\n  s: \"yes\"\nb:\n- a: null\n  x: 1\nc: []\nd: |\n  l1\n  l2\n"
        );
    }

    #[test]
    fn quoting() {
        let v = m(&[
            ("a", Value::Str("a: b".into())),
            ("b", Value::Str("-".into())),
            ("c", Value::Str("it's #x".into())),
        ]);
        assert_eq!(to_yaml(&v), "a: 'a: b'\nb: '-'\nc: 'it''s #x'\n");
    }
}
