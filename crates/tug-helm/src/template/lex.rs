//! The tokenizer of Go's template language (text/template/parse's lexer), eager instead of a
//! goroutine: it scans up to the first error, which ends the stream as Go's does.

use super::fmt::go_quote;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ItemType {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords come after everything else (`Item::describe` relies on the order).
    Keyword,
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

fn keyword(word: &str) -> Option<ItemType> {
    Some(match word {
        "." => ItemType::Dot,
        "block" => ItemType::Block,
        "break" => ItemType::Break,
        "continue" => ItemType::Continue,
        "define" => ItemType::Define,
        "else" => ItemType::Else,
        "end" => ItemType::End,
        "if" => ItemType::If,
        "range" => ItemType::Range,
        "nil" => ItemType::Nil,
        "template" => ItemType::Template,
        "with" => ItemType::With,
        _ => return None,
    })
}

/// A token: its text is `input[pos..end]`, except for errors, whose text is the message.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub typ: ItemType,
    pub pos: usize,
    pub end: usize,
    pub line: usize,
    pub msg: String,
}

impl Item {
    pub fn val<'a>(&'a self, input: &'a str) -> &'a str {
        if self.typ == ItemType::Error {
            &self.msg
        } else {
            &input[self.pos..self.end]
        }
    }

    /// Go's `item.String()`, used in "unexpected X in Y" messages.
    pub fn describe(&self, input: &str) -> String {
        let val = self.val(input);
        match self.typ {
            ItemType::Eof => "EOF".into(),
            ItemType::Error => val.into(),
            t if t > ItemType::Keyword => format!("<{val}>"),
            _ if val.chars().count() > 10 => {
                let head: String = val.chars().take(10).collect();
                format!("{}...", go_quote(&head))
            }
            _ => go_quote(val),
        }
    }
}

const LEFT_DELIM: &str = "{{";
const RIGHT_DELIM: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
const TRIM_MARKER_LEN: usize = 2;

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

fn trim_left_len(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
}

fn trim_right_len(s: &str) -> usize {
    s.len() - s.trim_end_matches(is_space).len()
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    /// Line of `start`, kept incrementally.
    line: usize,
    line_pos: usize,
    paren_depth: i64,
    items: Vec<Item>,
}

/// Tokenizes a whole template. The last item is `Eof` or `Error`.
pub(crate) fn lex(input: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        line: 1,
        line_pos: 0,
        paren_depth: 0,
        items: Vec::new(),
    };
    let mut inside = false;
    loop {
        let ok = if inside {
            l.lex_inside_action(&mut inside)
        } else {
            l.lex_text(&mut inside)
        };
        if !ok {
            break;
        }
    }
    l.items
}

impl<'a> Lexer<'a> {
    fn line_at(&mut self, pos: usize) -> usize {
        if pos >= self.line_pos {
            self.line += self.input[self.line_pos..pos].matches('\n').count();
        } else {
            self.line -= self.input[pos..self.line_pos].matches('\n').count();
        }
        self.line_pos = pos;
        self.line
    }

    fn push(&mut self, typ: ItemType, pos: usize, end: usize) {
        let line = self.line_at(pos);
        self.items.push(Item {
            typ,
            pos,
            end,
            line,
            msg: String::new(),
        });
    }

    fn emit(&mut self, typ: ItemType) {
        self.push(typ, self.start, self.pos);
        self.start = self.pos;
    }

    /// Ends the stream with an error item at the start of the pending item.
    fn error(&mut self, msg: String) -> bool {
        let line = self.line_at(self.start);
        self.items.push(Item {
            typ: ItemType::Error,
            pos: self.start,
            end: self.start,
            line,
            msg,
        });
        false
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn next(&mut self) -> Option<char> {
        let c = self.rest().chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM) {
            return (true, true);
        }
        (rest.starts_with(RIGHT_DELIM), false)
    }

    fn lex_text(&mut self, inside: &mut bool) -> bool {
        let Some(x) = self.rest().find(LEFT_DELIM) else {
            self.pos = self.input.len();
            if self.pos > self.start {
                self.emit(ItemType::Text);
            }
            self.emit(ItemType::Eof);
            return false;
        };
        if x > 0 {
            self.pos += x;
            let delim_end = self.pos + LEFT_DELIM.len();
            let trim = if has_left_trim_marker(&self.input[delim_end..]) {
                trim_right_len(&self.input[self.start..self.pos])
            } else {
                0
            };
            let text_end = self.pos - trim;
            if text_end > self.start {
                self.push(ItemType::Text, self.start, text_end);
            }
            self.start = self.pos;
        }
        self.lex_left_delim(inside)
    }

    fn lex_left_delim(&mut self, inside: &mut bool) -> bool {
        self.pos += LEFT_DELIM.len();
        let after_marker = if has_left_trim_marker(self.rest()) {
            TRIM_MARKER_LEN
        } else {
            0
        };
        if self.input[self.pos + after_marker..].starts_with(LEFT_COMMENT) {
            self.pos += after_marker;
            self.start = self.pos;
            return self.lex_comment();
        }
        self.push(ItemType::LeftDelim, self.start, self.pos);
        self.pos += after_marker;
        self.start = self.pos;
        self.paren_depth = 0;
        *inside = true;
        true
    }

    fn lex_comment(&mut self) -> bool {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.error("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".into());
        }
        if trim {
            self.pos += TRIM_MARKER_LEN;
        }
        self.pos += RIGHT_DELIM.len();
        if trim {
            self.pos += trim_left_len(self.rest());
        }
        self.start = self.pos;
        true
    }

    fn lex_right_delim(&mut self, inside: &mut bool) -> bool {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += TRIM_MARKER_LEN;
            self.start = self.pos;
        }
        self.pos += RIGHT_DELIM.len();
        self.emit(ItemType::RightDelim);
        if trim {
            self.pos += trim_left_len(self.rest());
            self.start = self.pos;
        }
        *inside = false;
        true
    }

    fn lex_inside_action(&mut self, inside: &mut bool) -> bool {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return self.lex_right_delim(inside);
            }
            return self.error("unclosed left paren".into());
        }
        let Some(c) = self.next() else {
            return self.error("unclosed action".into());
        };
        match c {
            c if is_space(c) => {
                self.pos -= c.len_utf8();
                return self.lex_space(inside);
            }
            '=' => self.emit(ItemType::Assign),
            ':' => {
                if self.next() != Some('=') {
                    return self.error("expected :=".into());
                }
                self.emit(ItemType::Declare);
            }
            '|' => self.emit(ItemType::Pipe),
            '"' => return self.lex_quote(),
            '`' => return self.lex_raw_quote(),
            '$' => return self.lex_variable(),
            '\'' => return self.lex_char(),
            '.' if self.peek().is_some_and(|c| !c.is_ascii_digit()) => {
                return self.lex_field_or_variable(ItemType::Field);
            }
            '.' | '+' | '-' | '0'..='9' => {
                self.pos -= 1;
                return self.lex_number();
            }
            c if is_alnum(c) => {
                self.pos -= c.len_utf8();
                return self.lex_identifier();
            }
            '(' => {
                self.emit(ItemType::LeftParen);
                self.paren_depth += 1;
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.error("unexpected right paren".into());
                }
                self.emit(ItemType::RightParen);
            }
            c if c.is_ascii() && !c.is_ascii_control() => self.emit(ItemType::Char),
            c => {
                return self.error(format!(
                    "unrecognized character in action: {}",
                    unicode_hash(c)
                ))
            }
        }
        true
    }

    fn lex_space(&mut self, inside: &mut bool) -> bool {
        let mut n = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.pos += c.len_utf8();
            n += 1;
        }
        // A trim-marked closing delimiter starts with a space: leave that space to it.
        let before = &self.input[self.pos - 1..];
        if has_right_trim_marker(before) && before[TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM) {
            self.pos -= 1;
            if n == 1 {
                return self.lex_right_delim(inside);
            }
        }
        self.emit(ItemType::Space);
        true
    }

    fn lex_identifier(&mut self) -> bool {
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\u{fffd}');
            return self.error(format!("bad character {}", unicode_hash(c)));
        }
        let word = &self.input[self.start..self.pos];
        let typ = match keyword(word) {
            Some(k) => k,
            None if word == "true" || word == "false" => ItemType::Bool,
            None => ItemType::Identifier,
        };
        self.emit(typ);
        true
    }

    fn lex_variable(&mut self) -> bool {
        if self.at_terminator() {
            self.emit(ItemType::Variable);
            return true;
        }
        self.lex_field_or_variable(ItemType::Variable)
    }

    fn lex_field_or_variable(&mut self, typ: ItemType) -> bool {
        if self.at_terminator() {
            self.emit(if typ == ItemType::Variable {
                ItemType::Variable
            } else {
                ItemType::Dot
            });
            return true;
        }
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\u{fffd}');
            return self.error(format!("bad character {}", unicode_hash(c)));
        }
        self.emit(typ);
        true
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(c) => RIGHT_DELIM.starts_with(c),
        }
    }

    fn lex_char(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some('\n') | None => {
                        return self.error("unterminated character constant".into())
                    }
                    _ => {}
                },
                Some('\n') | None => return self.error("unterminated character constant".into()),
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(ItemType::CharConstant);
        true
    }

    fn lex_number(&mut self) -> bool {
        if !self.scan_number() {
            return self.error(format!(
                "bad number syntax: {}",
                go_quote(&self.input[self.start..self.pos])
            ));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                return self.error(format!(
                    "bad number syntax: {}",
                    go_quote(&self.input[self.start..self.pos])
                ));
            }
            self.emit(ItemType::Complex);
        } else {
            self.emit(ItemType::Number);
        }
        true
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some('\n') | None => return self.error("unterminated quoted string".into()),
                    _ => {}
                },
                Some('\n') | None => return self.error("unterminated quoted string".into()),
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(ItemType::String);
        true
    }

    fn lex_raw_quote(&mut self) -> bool {
        loop {
            match self.next() {
                None => return self.error("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(ItemType::RawString);
        true
    }
}

/// Go's `%#U`: `U+0041 'A'`.
pub(crate) fn unicode_hash(c: char) -> String {
    if super::fmt::is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<(ItemType, String)> {
        lex(input)
            .iter()
            .map(|i| (i.typ, i.val(input).to_string()))
            .collect()
    }

    #[test]
    fn trim_markers_cut_surrounding_whitespace() {
        let items = kinds("a  \n{{- 3 -}}\n  b");
        assert_eq!(
            items,
            vec![
                (ItemType::Text, "a".into()),
                (ItemType::LeftDelim, "{{".into()),
                (ItemType::Number, "3".into()),
                (ItemType::RightDelim, "}}".into()),
                (ItemType::Text, "b".into()),
                (ItemType::Eof, "".into()),
            ]
        );
    }

    #[test]
    fn minus_without_space_is_a_number() {
        let items = kinds("{{-3}}");
        assert_eq!(items[1], (ItemType::Number, "-3".into()));
    }

    #[test]
    fn comments_vanish_and_trim() {
        assert_eq!(
            kinds("a {{- /* x */ -}} b"),
            vec![
                (ItemType::Text, "a".into()),
                (ItemType::Text, "b".into()),
                (ItemType::Eof, "".into())
            ]
        );
        assert_eq!(
            kinds("{{/* x */ }}").last().map(|i| i.1.clone()),
            Some("comment ends before closing delimiter".into())
        );
    }

    #[test]
    fn fields_split_at_dots_and_numbers_take_go_syntax() {
        let items = kinds("{{.a.b 0x1F 1_000 0b101 .5}}");
        let vals: Vec<&str> = items.iter().map(|i| i.1.as_str()).collect();
        assert_eq!(
            vals,
            vec!["{{", ".a", ".b", " ", "0x1F", " ", "1_000", " ", "0b101", " ", ".5", "}}", ""]
        );
    }

    #[test]
    fn errors_end_the_stream_with_their_line() {
        let items = lex("x\n{{ \"abc\n}}");
        let last = items.last().unwrap();
        assert_eq!(last.typ, ItemType::Error);
        assert_eq!(last.msg, "unterminated quoted string");
        assert_eq!(last.line, 2);
    }
}
