//! The syntax of envsubst templates (text and `${...}` expressions with their operators)
//! and the parser that reads it, escapes and nesting included.

use super::eval::decode;
use super::SyntaxError;

/// A piece of a template: literal bytes (escapes already removed) or an expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Text(Vec<u8>),
    Expr(Expr),
}

/// `${name<op><args>}`. Arguments are evaluated before the variable is read, as envsubst
/// does, so a missing variable inside a default fails strict mode even when unused.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Expr {
    pub(super) name: String,
    pub(super) op: Op,
    pub(super) args: Vec<Node>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Op {
    /// `${var}`
    Value,
    /// `${#var}`
    Length,
    /// `${var^}` and friends.
    Case(Case),
    /// `${var:pos}`, `${var:pos:len}`
    Substring,
    /// `${var#glob}` (shortest) and `${var##glob}` (longest).
    TrimPrefix { longest: bool },
    /// `${var%glob}` (shortest) and `${var%%glob}` (longest).
    TrimSuffix { longest: bool },
    /// `${var/pat/rep}` and its `//`, `/#`, `/%` forms.
    Replace(Replace),
    /// `=`, `:=`, `:-`, `:?`, `:+`: envsubst treats them all as "default when empty".
    Default,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Case {
    UpperFirst,
    Upper,
    LowerFirst,
    Lower,
    /// A mixed operator such as `${var^,}`, which envsubst parses but maps to the value.
    Unchanged,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Replace {
    First,
    All,
    Prefix,
    Suffix,
}

// ---------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------

/// Which characters may stand in a run of text at a given place.
type Accept = fn(char) -> bool;

/// The escapes a run of text honours: `$$` outside expressions, and also `\/` and `\\`
/// inside replace arguments. Default, substring and trim arguments take text verbatim.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Escapes {
    None,
    Dollar,
    All,
}

impl Escapes {
    /// The byte an escape at the start of `rest` stands for, if there is one.
    fn unescape(self, rest: &[u8]) -> Option<u8> {
        match (self, rest) {
            (Escapes::Dollar | Escapes::All, [b'$', b'$', ..]) => Some(b'$'),
            (Escapes::All, [b'\\', c @ (b'/' | b'\\'), ..]) => Some(*c),
            _ => None,
        }
    }
}

/// Characters of a variable name inside braces. envsubst accepts Unicode letters and
/// digits here (even first); such names are never set, since Flux only allows ASCII ones.
fn ident_char(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

/// A recursive-descent parser that accepts exactly what envsubst's scanner accepts,
/// including its quirks (documented where they show).
pub(super) struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Parser {
            src: text.as_bytes(),
            pos: 0,
        }
    }

    fn rest(&self) -> &'a [u8] {
        self.src.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.rest().first().copied()
    }

    fn at_open(&self) -> bool {
        self.rest().starts_with(b"${")
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Consumes up to `max` copies of `byte`, returning how many there were.
    fn eat_run(&mut self, byte: u8, max: usize) -> usize {
        let mut n = 0;
        while n < max && self.eat(byte) {
            n += 1;
        }
        n
    }

    fn close(&mut self) -> Result<(), SyntaxError> {
        if self.eat(b'}') {
            Ok(())
        } else {
            Err(SyntaxError::BadSubstitution)
        }
    }

    /// The whole input: text runs and expressions. A `$` not followed by `{` is text.
    pub(super) fn template(&mut self) -> Result<Vec<Node>, SyntaxError> {
        let mut nodes = Vec::new();
        while !self.rest().is_empty() {
            if self.at_open() {
                self.pos += 2;
                nodes.push(Node::Expr(self.expr()?));
            } else {
                nodes.push(Node::Text(self.text(|_| true, Escapes::Dollar)));
            }
        }
        Ok(nodes)
    }

    /// A run of accepted characters, stopping before `${`. An escape is consumed whole,
    /// so in `$${` the `{` no longer follows an unescaped `$` and stays literal.
    fn text(&mut self, accept: Accept, escapes: Escapes) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some((c, width)) = decode(self.rest()) {
            if self.at_open() {
                break;
            }
            if let Some(byte) = escapes.unescape(self.rest()) {
                out.push(byte);
                self.pos += 2;
                continue;
            }
            if !accept(c) {
                break;
            }
            out.extend_from_slice(&self.rest()[..width]);
            self.pos += width;
        }
        out
    }

    fn name(&mut self) -> String {
        let start = self.pos;
        while let Some((_, width)) = decode(self.rest()).filter(|(c, _)| ident_char(*c)) {
            self.pos += width;
        }
        String::from_utf8_lossy(&self.src[start..self.pos]).into_owned()
    }

    /// One function argument: a nested expression or a non-empty run of text. A run
    /// ends at a nested `${`, so `${v:=a${b}}` has two arguments while `${v:1${b}}`,
    /// which allows only one, is a syntax error.
    fn param(&mut self, accept: Accept, escapes: Escapes) -> Result<Node, SyntaxError> {
        if self.at_open() {
            self.pos += 2;
            return Ok(Node::Expr(self.expr()?));
        }
        let text = self.text(accept, escapes);
        if text.is_empty() {
            Err(SyntaxError::FunctionArgument)
        } else {
            Ok(Node::Text(text))
        }
    }

    /// What follows `${`.
    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        if self.peek() == Some(b'#') {
            return self.length();
        }
        let name = self.name();
        if name.is_empty() {
            return Err(SyntaxError::VariableName);
        }
        match self.peek() {
            Some(b':') => self.colon(name),
            Some(b'=') => {
                self.pos += 1;
                self.default(name)
            }
            Some(b',' | b'^') => self.case(name),
            Some(b'/') => self.replace(name),
            Some(b'#') => self.trim(name, b'#'),
            Some(b'%') => self.trim(name, b'%'),
            // Also `${var-d}`, `${var?d}` and `${var+d}`: envsubst has no such operators.
            _ => {
                if self.eat(b'}') {
                    Ok(Expr::new(name, Op::Value, Vec::new()))
                } else {
                    Err(SyntaxError::MissingClosingBrace)
                }
            }
        }
    }

    /// `${#var}`
    fn length(&mut self) -> Result<Expr, SyntaxError> {
        self.pos += 1;
        let name = self.name();
        if name.is_empty() {
            return Err(SyntaxError::BadSubstitution);
        }
        self.close()?;
        Ok(Expr::new(name, Op::Length, Vec::new()))
    }

    /// `${var:` starts a default (`:=`, `:-`, `:?`, `:+`) or a substring.
    fn colon(&mut self, name: String) -> Result<Expr, SyntaxError> {
        match self.rest().get(1) {
            Some(b'=' | b'-' | b'?' | b'+') => {
                self.pos += 2;
                self.default(name)
            }
            Some(b) if b.is_ascii() => {
                self.pos += 1;
                self.substring(name)
            }
            // envsubst's look-ahead steps back by the width of the next character instead
            // of the colon's, so a multi-byte character (or the end) after `:` fails.
            _ => Err(SyntaxError::BadSubstitution),
        }
    }

    /// `${var:pos}` or `${var:pos:len}`, after the first colon. Any run of colons
    /// separates the two arguments, as in envsubst.
    fn substring(&mut self, name: String) -> Result<Expr, SyntaxError> {
        let mut args = vec![self.param(|c| c != ':' && c != '}', Escapes::None)?];
        if !self.eat(b'}') {
            if self.eat_run(b':', usize::MAX) == 0 {
                return Err(SyntaxError::BadSubstitution);
            }
            args.push(self.param(|c| c != '}', Escapes::None)?);
            self.close()?;
        }
        Ok(Expr::new(name, Op::Substring, args))
    }

    /// The arguments of a default operator (already consumed): any mix of text and
    /// nested expressions up to the closing brace, possibly none.
    fn default(&mut self, name: String) -> Result<Expr, SyntaxError> {
        let mut args = Vec::new();
        while !self.eat(b'}') {
            args.push(self.param(|c| c != '}', Escapes::None)?);
        }
        Ok(Expr::new(name, Op::Default, args))
    }

    /// `${var^}`, `${var^^}`, `${var,}`, `${var,,}`.
    fn case(&mut self, name: String) -> Result<Expr, SyntaxError> {
        let op = self.rest().get(..2).unwrap_or(self.rest());
        let (case, len) = match op {
            [b'^', b'^', ..] => (Case::Upper, 2),
            [b',', b',', ..] => (Case::Lower, 2),
            [b'^' | b',', b'^' | b',', ..] => (Case::Unchanged, 2),
            [b'^', ..] => (Case::UpperFirst, 1),
            _ => (Case::LowerFirst, 1),
        };
        self.pos += len;
        self.close()?;
        Ok(Expr::new(name, Op::Case(case), Vec::new()))
    }

    /// `${var#glob}`, `${var##glob}`, `${var%glob}`, `${var%%glob}`: one argument, which
    /// may not be empty.
    fn trim(&mut self, name: String, marker: u8) -> Result<Expr, SyntaxError> {
        let longest = self.eat_run(marker, 2) == 2;
        let arg = self.param(|c| c != '}', Escapes::None)?;
        self.close()?;
        let op = if marker == b'#' {
            Op::TrimPrefix { longest }
        } else {
            Op::TrimSuffix { longest }
        };
        Ok(Expr::new(name, op, vec![arg]))
    }

    /// `${var/pat/rep}` and the `//`, `/#`, `/%` forms. The pattern runs to the next `/`
    /// (a `}` does not end it), any run of slashes separates it from the replacement, and
    /// the replacement may be omitted.
    fn replace(&mut self, name: String) -> Result<Expr, SyntaxError> {
        self.pos += 1;
        let kind = match self.peek() {
            Some(b'/') => Replace::All,
            Some(b'#') => Replace::Prefix,
            Some(b'%') => Replace::Suffix,
            _ => Replace::First,
        };
        if kind != Replace::First {
            self.pos += 1;
        }
        let mut args = vec![self.param(|c| c != '/', Escapes::All)?];
        if self.eat_run(b'/', usize::MAX) == 0 {
            return Err(SyntaxError::BadSubstitution);
        }
        if !self.eat(b'}') {
            args.push(self.param(|c| c != '}', Escapes::All)?);
            self.close()?;
        }
        Ok(Expr::new(name, Op::Replace(kind), args))
    }
}

impl Expr {
    fn new(name: String, op: Op, args: Vec<Node>) -> Self {
        Expr { name, op, args }
    }
}
