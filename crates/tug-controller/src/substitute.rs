//! `postBuild` variable substitution, as Flux's kustomize-controller does it with
//! `fluxcd/pkg/envsubst` (a fork of `drone/envsubst`).
//!
//! Only `${...}` expressions are expanded, so `$var` in embedded scripts is left alone and
//! `$$` is the escape for a literal `$` (`$${var}` gives `${var}`). Inside the braces the
//! bash string functions envsubst knows are supported: `${#var}`, `${var^}` `${var^^}`
//! `${var,}` `${var,,}`, `${var:pos}` `${var:pos:len}`, `${var#glob}` `${var##glob}`
//! `${var%glob}` `${var%%glob}`, `${var/pat/rep}` `${var//pat/rep}` `${var/#pat/rep}`
//! `${var/%pat/rep}`, and the defaults `${var=d}` `${var:=d}` `${var:-d}` `${var:?d}`
//! `${var:+d}` (all of which mean "`d` when the value is empty", as in envsubst). Arguments
//! may hold nested expressions: `${a:=prefix-${b}}`.
//!
//! An unset variable is the empty string, or an error in strict mode unless a default
//! operator is used. Text that envsubst cannot parse (`${`, `${var`, `${var-d}`, ...) is an
//! error for the object, with envsubst's message. Objects that carry
//! `kustomize.toolkit.fluxcd.io/substitute: disabled` are left untouched.
//!
//! The evaluation works on bytes, as envsubst's Go strings do: lengths and substring offsets
//! count bytes, so `${#var}` of `é` is 2.

use serde_json::Value;
use std::collections::BTreeMap;

/// The opt-out annotation (or label) Flux honours on an object.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// A substitution that could not be done, naming the object and variable.
#[derive(Debug, thiserror::Error)]
pub enum SubstituteError {
    #[error("{object}: variable substitution failed: variable '{name}' not set (strict mode)")]
    Unset { object: String, name: String },
    #[error("'{name}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'")]
    InvalidName { name: String },
    /// The object's text is not something envsubst can expand (Flux fails the same way).
    #[error("{object}: variable substitution failed: {message}")]
    Syntax { object: String, message: String },
    #[error("{object}: variable substitution failed: {message}")]
    Yaml { object: String, message: String },
}

/// Why envsubst refuses a text; the messages are envsubst's, so users can search for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("bad substitution")]
    BadSubstitution,
    #[error("missing closing brace")]
    MissingClosingBrace,
    #[error("unable to parse variable name")]
    VariableName,
    #[error("unable to parse substitution within function")]
    FunctionArgument,
}

/// Why [`substitute_text`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Strict mode: the variable is not set and the expression gives no default.
    #[error("variable '{0}' not set (strict mode)")]
    Unset(String),
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// `${var:pos:len}` whose end falls before its start: envsubst's slice panics there,
    /// which fails Flux's reconciliation; here it is an ordinary error with Go's message.
    #[error("runtime error: slice bounds out of range [{0}]")]
    OutOfRange(String),
    /// Byte offsets (`${var:1}`, `${var#?}`) cut a multi-byte character, so the result is
    /// no longer text; Flux then fails to read the YAML back.
    #[error("the substituted text is not valid UTF-8")]
    InvalidUtf8,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Checks the variable names as Flux does before substituting.
pub fn check_names(vars: &BTreeMap<String, String>) -> Result<(), SubstituteError> {
    match vars.keys().find(|k| !valid_name(k)) {
        Some(name) => Err(SubstituteError::InvalidName { name: name.clone() }),
        None => Ok(()),
    }
}

/// Expands the `${...}` expressions in `text`. In `strict` mode a variable missing from
/// `vars` is an error unless a default operator covers it; otherwise it reads as "".
pub fn substitute_text(
    text: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<String, TextError> {
    let template = Parser::new(text).template()?;
    let scope = Scope { vars, strict };
    let mut out = Vec::with_capacity(text.len());
    for node in &template {
        out.extend(scope.eval(node)?);
    }
    String::from_utf8(out).map_err(|_| TextError::InvalidUtf8)
}

// ---------------------------------------------------------------------------------------
// Syntax tree
// ---------------------------------------------------------------------------------------

/// A piece of a template: literal bytes (escapes already removed) or an expression.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(Vec<u8>),
    Expr(Expr),
}

/// `${name<op><args>}`. Arguments are evaluated before the variable is read, as envsubst
/// does, so a missing variable inside a default fails strict mode even when unused.
#[derive(Debug, Clone, PartialEq)]
struct Expr {
    name: String,
    op: Op,
    args: Vec<Node>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
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
enum Case {
    UpperFirst,
    Upper,
    LowerFirst,
    Lower,
    /// A mixed operator such as `${var^,}`, which envsubst parses but maps to the value.
    Unchanged,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Replace {
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
enum Escapes {
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
struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
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
    fn template(&mut self) -> Result<Vec<Node>, SyntaxError> {
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

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

/// The variables, and whether an unset one is an error (Flux's strict mode) or "".
struct Scope<'a> {
    vars: &'a BTreeMap<String, String>,
    strict: bool,
}

impl Scope<'_> {
    fn eval(&self, node: &Node) -> Result<Vec<u8>, TextError> {
        match node {
            Node::Text(text) => Ok(text.clone()),
            Node::Expr(expr) => self.eval_expr(expr),
        }
    }

    fn eval_expr(&self, expr: &Expr) -> Result<Vec<u8>, TextError> {
        let args = expr
            .args
            .iter()
            .map(|arg| self.eval(arg))
            .collect::<Result<Vec<_>, _>>()?;
        let value = match self.vars.get(&expr.name) {
            Some(value) => value.as_str(),
            None if !self.strict || expr.op == Op::Default => "",
            None => return Err(TextError::Unset(expr.name.clone())),
        };
        apply(expr.op, value, &args)
    }
}

/// Applies an operator to a variable's value and its evaluated arguments.
fn apply(op: Op, value: &str, args: &[Vec<u8>]) -> Result<Vec<u8>, TextError> {
    let bytes = value.as_bytes();
    let arg = |i: usize| args.get(i).map(Vec::as_slice);
    Ok(match op {
        Op::Value => bytes.to_vec(),
        Op::Length => bytes.len().to_string().into_bytes(),
        Op::Case(case) => change_case(value, case).into_bytes(),
        Op::Substring => substring(bytes, arg(0), arg(1))?,
        Op::TrimPrefix { longest } => trim_prefix(bytes, arg(0).unwrap_or_default(), longest),
        Op::TrimSuffix { longest } => trim_suffix(bytes, arg(0).unwrap_or_default(), longest),
        Op::Replace(kind) => replace(bytes, kind, arg(0).unwrap_or_default(), arg(1)),
        Op::Default if bytes.is_empty() => args.concat(),
        Op::Default => bytes.to_vec(),
    })
}

// ---------------------------------------------------------------------------------------
// String functions
// ---------------------------------------------------------------------------------------

/// Go's `strconv.Atoi`: optional sign, decimal digits, 64 bits.
fn atoi(arg: &[u8]) -> Option<i64> {
    std::str::from_utf8(arg).ok()?.parse().ok()
}

/// `${var:pos}` / `${var:pos:len}` in bytes. An unparsable number gives the whole value
/// (as bash does); a negative position counts from the end; a negative length that ends
/// before the start is envsubst's out-of-range panic.
fn substring(s: &[u8], pos: Option<&[u8]>, len: Option<&[u8]>) -> Result<Vec<u8>, TextError> {
    let size = s.len() as i64;
    let Some(mut start) = pos.and_then(atoi) else {
        return Ok(s.to_vec());
    };
    if start < 0 {
        start = (size + start).max(0);
    }
    let tail = |start: i64| match usize::try_from(start) {
        Ok(start) if start < s.len() => s[start..].to_vec(),
        _ => Vec::new(),
    };
    let Some(len) = len else {
        return Ok(tail(start));
    };
    let Some(len) = atoi(len) else {
        return Ok(s.to_vec());
    };
    // Go's int addition wraps; keep that so huge lengths behave the same.
    let end = start.wrapping_add(len);
    if end >= size {
        return Ok(tail(start));
    }
    if end < 0 {
        return Err(TextError::OutOfRange(format!(":{end}")));
    }
    if start > end {
        return Err(TextError::OutOfRange(format!("{start}:{end}")));
    }
    Ok(s[start as usize..end as usize].to_vec())
}

/// `${var#glob}` / `${var##glob}`: removes the shortest or longest non-empty prefix that
/// matches. A malformed pattern leaves the value unchanged.
fn trim_prefix(s: &[u8], pattern: &[u8], longest: bool) -> Vec<u8> {
    let mut shortest = None;
    for end in (1..=s.len()).rev() {
        match glob::matches(pattern, &s[..end]) {
            Err(glob::BadPattern) => return s.to_vec(),
            Ok(true) if longest => return s[end..].to_vec(),
            Ok(true) => shortest = Some(end),
            Ok(false) => {}
        }
    }
    shortest.map_or(s, |end| &s[end..]).to_vec()
}

/// `${var%glob}` / `${var%%glob}`: envsubst reverses both the value and the pattern
/// (character by character) and trims a prefix, so a pattern such as `[ab]` reads
/// backwards as `]ba[`. Kept as is: matching Flux matters more than matching bash.
fn trim_suffix(s: &[u8], pattern: &[u8], longest: bool) -> Vec<u8> {
    reverse_chars(&trim_prefix(
        &reverse_chars(s),
        &reverse_chars(pattern),
        longest,
    ))
}

/// Reverses the characters of `s`; each invalid byte becomes U+FFFD, as in Go.
fn reverse_chars(s: &[u8]) -> Vec<u8> {
    let mut chars = Vec::new();
    let mut rest = s;
    while let Some((c, width)) = decode(rest) {
        chars.push(c);
        rest = &rest[width..];
    }
    chars.iter().rev().collect::<String>().into_bytes()
}

/// The `/` operators. Patterns are literal strings, not globs. `/#` and `/%` need both
/// arguments (with an empty replacement they leave the value alone, as in envsubst), while
/// `/` and `//` delete the pattern.
fn replace(s: &[u8], kind: Replace, pattern: &[u8], with: Option<&[u8]>) -> Vec<u8> {
    match (kind, with) {
        (Replace::First, with) => replace_n(s, pattern, with.unwrap_or_default(), Some(1)),
        (Replace::All, with) => replace_n(s, pattern, with.unwrap_or_default(), None),
        (Replace::Prefix, Some(with)) => match s.strip_prefix(pattern) {
            Some(rest) => [with, rest].concat(),
            None => s.to_vec(),
        },
        (Replace::Suffix, Some(with)) => match s.strip_suffix(pattern) {
            Some(rest) => [rest, with].concat(),
            None => s.to_vec(),
        },
        (Replace::Prefix | Replace::Suffix, None) => s.to_vec(),
    }
}

/// Go's `strings.Replace`: up to `limit` non-overlapping matches from the left. An empty
/// pattern matches before each character and at the end (a nested `${empty}` can do that).
fn replace_n(s: &[u8], pattern: &[u8], with: &[u8], limit: Option<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s;
    let mut done = 0;
    while limit.is_none_or(|limit| done < limit) {
        let (at, skip) = if pattern.is_empty() {
            if done > 0 {
                // The previous empty match sat before this character: step over it.
                match decode(rest) {
                    Some((_, width)) => {
                        out.extend_from_slice(&rest[..width]);
                        rest = &rest[width..];
                    }
                    None => break,
                }
            }
            (0, 0)
        } else {
            match find(rest, pattern) {
                Some(at) => (at, pattern.len()),
                None => break,
            }
        };
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + skip..];
        done += 1;
    }
    out.extend_from_slice(rest);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The case operators, with Go's one-to-one case mapping: a character whose full Unicode
/// mapping has several characters (`ß`) keeps its simple mapping instead.
fn change_case(value: &str, case: Case) -> String {
    let mut chars = value.chars();
    match case {
        Case::Upper => value.chars().map(upper).collect(),
        Case::Lower => value.chars().map(lower).collect(),
        Case::UpperFirst => chars.next().map(upper).into_iter().chain(chars).collect(),
        Case::LowerFirst => chars.next().map(lower).into_iter().chain(chars).collect(),
        Case::Unchanged => value.to_string(),
    }
}

/// Go's `unicode.ToUpper`. Rust gives the full mapping; where that is several characters
/// the simple one is the character itself, except for the Greek letters with a iota
/// subscript, whose simple uppercase is their titlecase form.
fn upper(c: char) -> char {
    single(c.to_uppercase()).unwrap_or_else(|| {
        let code = u32::from(c);
        let titlecase = match code {
            0x1F80..=0x1FAF if code & 0xF < 8 => code + 8,
            0x1FB3 | 0x1FC3 | 0x1FF3 => code + 9,
            _ => code,
        };
        char::from_u32(titlecase).unwrap_or(c)
    })
}

/// Go's `unicode.ToLower`; `İ` is the one character whose full mapping is longer.
fn lower(c: char) -> char {
    single(c.to_lowercase()).unwrap_or(if c == '\u{130}' { 'i' } else { c })
}

fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let first = chars.next()?;
    chars.next().is_none().then_some(first)
}

/// Decodes the character at the start of `bytes` as Go does: an invalid or truncated
/// sequence reads as one byte of U+FFFD.
fn decode(bytes: &[u8]) -> Option<(char, usize)> {
    let width = match *bytes.first()? {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    };
    let decoded = bytes
        .get(..width)
        .filter(|seq| !seq.is_empty())
        .and_then(|seq| std::str::from_utf8(seq).ok())
        .and_then(|seq| seq.chars().next());
    Some(decoded.map_or((char::REPLACEMENT_CHARACTER, 1), |c| (c, width)))
}

/// The glob matcher of the `#` and `%` operators: Go's `path.Match` as envsubst changed
/// it, so `*` and `?` also match `/`, and a pattern ending in `*` matches any rest.
/// Patterns: `*`, `?`, `[a-z]`, `[^a-z]`, `\c`. Errors in a pattern only show when the
/// matcher reaches them, which decides whether a trim gives up (so this mirrors Go's
/// order of work rather than compiling the pattern first).
mod glob {
    use super::decode;

    /// A malformed pattern, such as an unclosed `[`.
    #[derive(Debug, PartialEq)]
    pub struct BadPattern;

    /// Whether `pattern` matches all of `name`.
    pub fn matches(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, BadPattern> {
        'chunks: while !pattern.is_empty() {
            let (star, chunk, rest) = split_chunk(pattern);
            pattern = rest;
            if star && chunk.is_empty() {
                return Ok(true);
            }
            let last = pattern.is_empty();
            if let Some(tail) = match_chunk(chunk, name)? {
                // The last chunk must use up the name; otherwise a star may still help.
                if tail.is_empty() || !last {
                    name = tail;
                    continue;
                }
            }
            if star {
                for skip in 1..=name.len() {
                    if let Some(tail) = match_chunk(chunk, &name[skip..])? {
                        if last && !tail.is_empty() {
                            continue;
                        }
                        name = tail;
                        continue 'chunks;
                    }
                }
            }
            return Ok(false);
        }
        Ok(name.is_empty())
    }

    /// Splits off leading stars and the literal part up to the next star outside `[]`.
    fn split_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
        let stripped = pattern.iter().take_while(|&&b| b == b'*').count();
        let pattern = &pattern[stripped..];
        let mut in_class = false;
        let mut i = 0;
        while i < pattern.len() {
            match pattern[i] {
                b'\\' if i + 1 < pattern.len() => i += 1,
                b'[' => in_class = true,
                b']' => in_class = false,
                b'*' if !in_class => break,
                _ => {}
            }
            i += 1;
        }
        (stripped > 0, &pattern[..i], &pattern[i..])
    }

    /// Matches a star-free chunk against the start of `s`, returning what is left.
    fn match_chunk<'s>(mut chunk: &[u8], mut s: &'s [u8]) -> Result<Option<&'s [u8]>, BadPattern> {
        while let Some(&c) = chunk.first() {
            let Some((r, width)) = decode(s) else {
                return Ok(None);
            };
            match c {
                b'[' => {
                    let (matched, rest) = match_class(&chunk[1..], r)?;
                    if !matched {
                        return Ok(None);
                    }
                    chunk = rest;
                    s = &s[width..];
                }
                b'?' => {
                    chunk = &chunk[1..];
                    s = &s[width..];
                }
                _ => {
                    let escaped = usize::from(c == b'\\');
                    let literal = *chunk.get(escaped).ok_or(BadPattern)?;
                    if Some(&literal) != s.first() {
                        return Ok(None);
                    }
                    chunk = &chunk[escaped + 1..];
                    s = &s[1..];
                }
            }
        }
        Ok(Some(s))
    }

    /// Matches `r` against the class whose body starts `chunk` (after `[`), returning
    /// whether it matched and the pattern after the closing `]`.
    fn match_class(mut chunk: &[u8], r: char) -> Result<(bool, &[u8]), BadPattern> {
        let negated = chunk.first() == Some(&b'^');
        if negated {
            chunk = &chunk[1..];
        }
        let mut matched = false;
        let mut ranges = 0;
        loop {
            if ranges > 0 && chunk.first() == Some(&b']') {
                return Ok((matched != negated, &chunk[1..]));
            }
            let (lo, rest) = class_char(chunk)?;
            let (hi, rest) = match rest.strip_prefix(b"-") {
                Some(rest) => class_char(rest)?,
                None => (lo, rest),
            };
            chunk = rest;
            matched |= lo <= r && r <= hi;
            ranges += 1;
        }
    }

    /// One possibly escaped character of a class; the class must go on after it.
    fn class_char(chunk: &[u8]) -> Result<(char, &[u8]), BadPattern> {
        let chunk = match chunk {
            [] | [b'-' | b']', ..] => return Err(BadPattern),
            [b'\\', rest @ ..] => rest,
            _ => chunk,
        };
        let (c, width) = decode(chunk).ok_or(BadPattern)?;
        let rest = &chunk[width..];
        if (c == char::REPLACEMENT_CHARACTER && width == 1) || rest.is_empty() {
            return Err(BadPattern);
        }
        Ok((c, rest))
    }
}

// ---------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------

fn disabled(obj: &Value) -> bool {
    ["annotations", "labels"].iter().any(|field| {
        obj["metadata"][field][SUBSTITUTE_KEY]
            .as_str()
            .is_some_and(|v| v == "disabled")
    })
}

fn describe(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or("?");
    let name = obj["metadata"]["name"].as_str().unwrap_or("?");
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// Substitutes `vars` in every object (through its YAML text, as Flux does) except those
/// that opt out.
pub fn substitute_objects(
    objects: Vec<Value>,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<Vec<Value>, SubstituteError> {
    check_names(vars)?;
    objects
        .into_iter()
        .map(|obj| {
            if disabled(&obj) {
                return Ok(obj);
            }
            let object = describe(&obj);
            let yaml = serde_yaml::to_string(&obj).map_err(|e| SubstituteError::Yaml {
                object: object.clone(),
                message: e.to_string(),
            })?;
            let replaced = substitute_text(&yaml, vars, strict).map_err(|e| match e {
                TextError::Unset(name) => SubstituteError::Unset {
                    object: object.clone(),
                    name,
                },
                TextError::InvalidUtf8 => SubstituteError::Yaml {
                    object: object.clone(),
                    message: e.to_string(),
                },
                _ => SubstituteError::Syntax {
                    object: object.clone(),
                    message: e.to_string(),
                },
            })?;
            if replaced == yaml {
                return Ok(obj);
            }
            serde_yaml::from_str(&replaced).map_err(|e| SubstituteError::Yaml {
                object,
                message: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Expansion in Flux's default, non-strict mode.
    fn expand(text: &str, pairs: &[(&str, &str)]) -> Result<String, TextError> {
        substitute_text(text, &vars(pairs), false)
    }

    fn strict(text: &str, pairs: &[(&str, &str)]) -> Result<String, TextError> {
        substitute_text(text, &vars(pairs), true)
    }

    fn ok(text: &str, pairs: &[(&str, &str)]) -> String {
        match expand(text, pairs) {
            Ok(out) => out,
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    fn syntax(text: &str) -> SyntaxError {
        match expand(text, &[("x", "hello")]) {
            Err(TextError::Syntax(e)) => e,
            other => panic!("{text:?}: expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn plain_values_and_text() {
        let v = [("env", "staging"), ("empty", "")];
        assert_eq!(ok("abcdEFGH28ij", &v), "abcdEFGH28ij");
        assert_eq!(ok("a-${env}-b", &v), "a-staging-b");
        assert_eq!(ok("${missing}", &v), "");
        assert_eq!(ok("${empty}", &v), "");
        assert_eq!(ok("}text", &v), "}text");
        assert_eq!(ok("http://github.com", &v), "http://github.com");
        assert_eq!(ok(r"\\.\pipe\pipename", &v), r"\\.\pipe\pipename");
        assert_eq!(ok("${1abc}", &v), "", "names may start with a digit");
    }

    #[test]
    fn dollars_outside_braces() {
        let v = [("var01", "abcdEFGH28ij"), ("default_var", "foo")];
        assert_eq!(ok("$var01 stays", &v), "$var01 stays");
        assert_eq!(ok("$${var01}", &v), "${var01}");
        assert_eq!(ok("$$string", &v), "$string");
        assert_eq!(ok("$", &v), "$");
        assert_eq!(ok("$$", &v), "$");
        assert_eq!(ok("$$$", &v), "$$");
        assert_eq!(ok("$$${var01}", &v), "$abcdEFGH28ij");
        assert_eq!(ok("cost: $5", &v), "cost: $5");
        assert_eq!(
            ok("some text ${var01}$${var$${var01}$var01${var01}", &v),
            "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij"
        );
        assert_eq!(
            ok("something $${var=${default_var}}", &v),
            "something ${var=foo}"
        );
        assert_eq!(
            ok("\\\\something ${var=${default_var}}", &v),
            "\\\\something foo"
        );
    }

    #[test]
    fn length() {
        assert_eq!(ok("${#var01}", &[("var01", "abcdEFGH28ij")]), "12");
        assert_eq!(ok("${#x}", &[("x", "Hello World")]), "11");
        assert_eq!(ok("${#x}", &[("x", "é")]), "2", "bytes, as in Go");
        assert_eq!(ok("${#missing}", &[]), "0");
        assert_eq!(ok("hello ${#x} world", &[("x", "abc")]), "hello 3 world");
    }

    #[test]
    fn case() {
        let v = [("lo", "abcdEFGH28ij"), ("up", "ABCDEFGH28IJ")];
        assert_eq!(ok("${lo^}", &v), "AbcdEFGH28ij");
        assert_eq!(ok("${lo^^}", &v), "ABCDEFGH28IJ");
        assert_eq!(ok("${up,}", &v), "aBCDEFGH28IJ");
        assert_eq!(ok("${up,,}", &v), "abcdefgh28ij");
        assert_eq!(
            ok("${lo^,}", &v),
            "abcdEFGH28ij",
            "mixed operators keep the value"
        );
        assert_eq!(ok("${up,^}", &v), "ABCDEFGH28IJ");
        assert_eq!(ok("${empty^}", &v), "");
        assert_eq!(ok("${x^^}", &[("x", "héllo")]), "HÉLLO");
        // Go's simple case mapping, not Rust's full one.
        assert_eq!(ok("${x^^}", &[("x", "straße")]), "STRAßE");
        assert_eq!(ok("${x,,}", &[("x", "İ")]), "i");
        assert_eq!(ok("${x^^}", &[("x", "ᾳᾀ")]), "ᾼᾈ");
    }

    #[test]
    fn substring() {
        let path = [("path_name", "/home/bozo/ideas/thoughts.for.today")];
        assert_eq!(ok("${path_name:11}", &path), "ideas/thoughts.for.today");
        assert_eq!(ok("${path_name:11:5}", &path), "ideas");

        let digits = "123456789123456789";
        let sub = |pos: &str, len: Option<&str>| {
            let text = match len {
                Some(_) => "${s:${pos}:${len}}",
                None => "${s:${pos}}",
            };
            ok(
                text,
                &[("s", digits), ("pos", pos), ("len", len.unwrap_or(""))],
            )
        };
        assert_eq!(sub("0", Some("8")), "12345678");
        assert_eq!(sub("1", Some("8")), "23456789");
        assert_eq!(sub("9", None), "123456789");
        assert_eq!(sub("9", Some("50")), "123456789");
        assert_eq!(sub("-3", Some("2")), "78");
        assert_eq!(sub("-3", None), "789");
        assert_eq!(sub("-300", Some("3")), "123");
        assert_eq!(sub("99", None), "");
        assert_eq!(ok("${s:9:1}", &[("s", "12345678")]), "");
        assert_eq!(sub("+2", Some("+1")), "3", "Go's Atoi takes a sign");
        // Unparsable numbers give the whole value, as bash does.
        assert_eq!(ok("${x:a}", &[("x", "hello")]), "hello");
        assert_eq!(ok("${x: 1}", &[("x", "hello")]), "hello");
        assert_eq!(ok("${x:1:z}", &[("x", "hello")]), "hello");
        // Any run of colons separates the arguments.
        assert_eq!(ok("${x:1::2}", &[("x", "hello")]), "el");
        // Offsets count bytes.
        assert_eq!(ok("${u:0:1}${u:1}", &[("u", "héllo")]), "héllo");
        assert_eq!(
            expand("${u:0:2}", &[("u", "héllo")]),
            Err(TextError::InvalidUtf8)
        );
    }

    #[test]
    fn substring_out_of_range() {
        // envsubst panics on these; here they are errors with Go's message.
        assert_eq!(
            expand("${x:2:-1}", &[("x", "hello")]),
            Err(TextError::OutOfRange("2:1".into()))
        );
        assert_eq!(
            expand("${x:4:${n}}", &[("x", "hello"), ("n", "-9")]),
            Err(TextError::OutOfRange(":-5".into()))
        );
        assert_eq!(
            expand("${x:2:-1}", &[("x", "hello")])
                .map_err(|e| e.to_string())
                .unwrap_err(),
            "runtime error: slice bounds out of range [2:1]"
        );
    }

    #[test]
    fn trim_prefix_and_suffix() {
        let file = [("filename", "bash.string.txt")];
        assert_eq!(ok("${filename#*.}", &file), "string.txt");
        assert_eq!(ok("${filename##*.}", &file), "txt");
        assert_eq!(ok("${filename%.*}", &file), "bash.string");
        assert_eq!(ok("${filename%%.*}", &file), "bash");
        let rel = [("filename", "path/to/file")];
        assert_eq!(ok("${filename#*/}", &rel), "to/file");
        assert_eq!(ok("${filename##*/}", &rel), "file");
        let abs = [("filename", "/path/to/file")];
        assert_eq!(ok("${filename#*/}", &abs), "path/to/file");
        assert_eq!(ok("${filename##*/}", &abs), "file");

        let x = [("x", "hello")];
        assert_eq!(ok("${x#*l}", &x), "lo");
        assert_eq!(ok("${x##*l}", &x), "o");
        assert_eq!(ok("${x%%l*}", &x), "he");
        assert_eq!(ok("${x%l*}", &x), "hel");
        assert_eq!(ok("${x#h?}", &x), "llo");
        assert_eq!(ok("${x#[a-h]}", &x), "ello");
        assert_eq!(ok("${x#[^a-h]}", &x), "hello");
        assert_eq!(ok("${x#nope}", &x), "hello");
        assert_eq!(ok("${x###}", &x), "hello", "a third # is the pattern");
        // A malformed pattern leaves the value alone.
        assert_eq!(ok("${x#[}", &x), "hello");
        // envsubst reverses suffix patterns, so a class reads backwards and fails.
        assert_eq!(ok("${x%[lo]}", &x), "hello");
        assert_eq!(ok("${x#${p}}", &[("x", "hello"), ("p", "he")]), "llo");
        assert_eq!(
            ok("${s#$%:*{}", &[("s", "$%:abc{")]),
            "",
            "special characters"
        );
    }

    #[test]
    fn replace() {
        let z = [("stringZ", "abcABC123ABCabc")];
        assert_eq!(ok("${stringZ/%abc/XYZ}", &z), "abcABC123ABCXYZ");
        assert_eq!(ok("${stringZ/#abc/XYZ}", &z), "XYZABC123ABCabc");
        assert_eq!(ok("${stringZ//abc/xyz}", &z), "xyzABC123ABCxyz");
        assert_eq!(ok("${stringZ/abc/xyz}", &z), "xyzABC123ABCabc");
        assert_eq!(ok("${stringZ/#ABC/XYZ}", &z), "abcABC123ABCabc");
        assert_eq!(ok("${stringZ/%ABC/XYZ}", &z), "abcABC123ABCabc");
        assert_eq!(
            ok("${stringZ//abc/}", &z),
            "ABC123ABC",
            "no replacement deletes"
        );
        assert_eq!(ok("${stringZ/abc/}", &z), "ABC123ABCabc");
        // `/#` and `/%` need a replacement, or they change nothing.
        assert_eq!(ok("${stringZ/#abc/}", &z), "abcABC123ABCabc");
        assert_eq!(ok("${stringZ/%abc/}", &z), "abcABC123ABCabc");
        assert_eq!(ok("${stringZ/./}", &[("stringZ", "foo.bar")]), "foobar");
        // Patterns are literal, not globs.
        assert_eq!(ok("${x/*/-}", &[("x", "a*b")]), "a-b");
        // Escaped slashes and backslashes, and `$$`, in the arguments.
        assert_eq!(ok(r"${stringZ/\//-}", &[("stringZ", "foo/bar")]), "foo-bar");
        assert_eq!(
            ok(r"${stringZ//\//-}", &[("stringZ", "foo/bar/baz")]),
            "foo-bar-baz"
        );
        assert_eq!(ok(r"${x/\\/\/}", &[("x", r"a\b")]), "a/b");
        assert_eq!(ok("${x/$$/€}", &[("x", "5$")]), "5€");
        // Nested expressions, including ones that evaluate to "".
        let v = [("x", "hello"), ("from", "l"), ("to", "L"), ("e", "")];
        assert_eq!(ok("${x//${from}/${to}}", &v), "heLLo");
        assert_eq!(ok("${x/${e}/-}", &v), "-hello");
        assert_eq!(ok("${x//${e}/-}", &v), "-h-e-l-l-o-");
        // Any run of slashes separates pattern and replacement; `}` does not end a pattern.
        assert_eq!(ok("${x/l//L}", &v), "heLlo");
        assert_eq!(ok("${x/a} b/c}", &[("x", "a} b")]), "c");
    }

    #[test]
    fn defaults() {
        let v = [("var", "abc"), ("default_var", "foo"), ("empty", "")];
        assert_eq!(ok("${var=xyz}", &v), "abc");
        assert_eq!(ok("${unset=xyz}", &v), "xyz");
        assert_eq!(ok("${unset:=xyz}", &v), "xyz");
        assert_eq!(ok("${unset:-xyz}", &v), "xyz");
        assert_eq!(ok("${empty:=dflt}", &v), "dflt");
        assert_eq!(
            ok("${empty=dflt}", &v),
            "dflt",
            "`=` also replaces empty values"
        );
        assert_eq!(ok("${var:=dflt}", &v), "abc");
        // `:?` and `:+` are plain defaults in envsubst (no error, no alternative value).
        assert_eq!(ok("${unset:?message}", &v), "message");
        assert_eq!(ok("${var:?message}", &v), "abc");
        assert_eq!(ok("${var:+other}", &v), "abc");
        assert_eq!(ok("${unset:+other}", &v), "other");
        assert_eq!(ok("${unset:-}", &v), "");
        assert_eq!(ok("${unset=}", &v), "");
        assert_eq!(ok("${var:-2:-1}", &v), "abc", "`:-` wins over a substring");
        // Nested expressions and text around them.
        assert_eq!(ok("something ${unset=${default_var}}", &v), "something foo");
        let v1 = [("default_var", "foo1")];
        assert_eq!(
            ok("foo: ${var=${default_var}-suffix}", &v1),
            "foo: foo1-suffix"
        );
        assert_eq!(
            ok("foo: ${var=prefix${default_var}-suffix}", &v1),
            "foo: prefixfoo1-suffix"
        );
        assert_eq!(
            ok("${a:=prefix-${b}-suffix}", &[("b", "mid")]),
            "prefix-mid-suffix"
        );
        assert_eq!(ok("${a:=${b}}", &[("b", "B")]), "B");
        assert_eq!(ok("${a:=${b:=${c}}}", &[("c", "C")]), "C");
        assert_eq!(
            ok("${var=${var01^^}}", &[("var01", "abcdEFGH28ij")]),
            "ABCDEFGH28IJ"
        );
        // Default arguments take `$$` verbatim; `$${` still starts a nested expression.
        assert_eq!(ok("${unset:=$$}", &v), "$$");
        assert_eq!(ok("${unset:=$${default_var}}", &v), "$foo");
        assert_eq!(ok("${unset:=a:b/c#d%e}", &v), "a:b/c#d%e");
    }

    #[test]
    fn strict_mode() {
        assert_eq!(strict("abcdEFGH28ij", &[]), Ok("abcdEFGH28ij".into()));
        assert_eq!(strict("${foo}", &[("foo", "bar")]), Ok("bar".into()));
        assert_eq!(strict("${foo}", &[("foo", "")]), Ok("".into()));
        assert_eq!(
            strict("${missing}", &[]),
            Err(TextError::Unset("missing".into()))
        );
        for text in [
            "${#missing}",
            "${missing^}",
            "${missing^^}",
            "${missing,}",
            "${missing,,}",
            "${missing,^}",
            "${missing:0}",
            "${missing:0:10}",
            "${missing/pattern/replacement}",
            "${missing//pattern/replacement}",
            "${missing/#pattern/replacement}",
            "${missing/%pattern/replacement}",
            "${missing#pattern}",
            "${missing##pattern}",
            "${missing%pattern}",
            "${missing%%pattern}",
        ] {
            assert_eq!(
                strict(text, &[]),
                Err(TextError::Unset("missing".into())),
                "{text}"
            );
        }
        assert_eq!(strict("${missing:-fallback}", &[]), Ok("fallback".into()));
        assert_eq!(strict("${missing:=assigned}", &[]), Ok("assigned".into()));
        assert_eq!(strict("${missing=assigned}", &[]), Ok("assigned".into()));
        assert_eq!(strict("${missing:?m}", &[]), Ok("m".into()));
        assert_eq!(strict("${missing:+m}", &[]), Ok("m".into()));
        assert_eq!(
            strict("${missing:=default}", &[("foo", "bar")]),
            Ok("default".into())
        );
        // Arguments are evaluated first, even when the default is not needed.
        assert_eq!(
            strict("${a:=${b}}", &[("a", "set")]),
            Err(TextError::Unset("b".into()))
        );
    }

    #[test]
    fn syntax_errors() {
        use SyntaxError::*;
        assert_eq!(syntax("${"), VariableName);
        assert_eq!(syntax("cost: $5 ${"), VariableName);
        assert_eq!(syntax("${}"), VariableName);
        assert_eq!(syntax("${ x}"), VariableName);
        assert_eq!(syntax("${-x}"), VariableName);
        assert_eq!(syntax("${x"), MissingClosingBrace);
        assert_eq!(syntax("${x y}"), MissingClosingBrace);
        assert_eq!(syntax("${x.y}"), MissingClosingBrace);
        // Operators envsubst does not have.
        assert_eq!(syntax("${x-d}"), MissingClosingBrace);
        assert_eq!(syntax("${x?m}"), MissingClosingBrace);
        assert_eq!(syntax("${x+m}"), MissingClosingBrace);
        assert_eq!(syntax("${#}"), BadSubstitution);
        assert_eq!(syntax("${##x}"), BadSubstitution);
        assert_eq!(syntax("${#x:1}"), BadSubstitution);
        assert_eq!(syntax("${x^^^}"), BadSubstitution);
        assert_eq!(syntax("${x^"), BadSubstitution);
        assert_eq!(syntax("${x:"), BadSubstitution);
        assert_eq!(syntax("${x:é}"), BadSubstitution);
        assert_eq!(syntax("${x:}"), FunctionArgument);
        assert_eq!(syntax("${x::1}"), FunctionArgument);
        assert_eq!(syntax("${x:1:}"), FunctionArgument);
        assert_eq!(syntax("${x:1"), BadSubstitution);
        assert_eq!(syntax("${x:1:2${x}}"), BadSubstitution);
        assert_eq!(syntax("${x#}"), FunctionArgument);
        assert_eq!(syntax("${x##}"), FunctionArgument);
        assert_eq!(syntax("${x#a${x}}"), BadSubstitution);
        assert_eq!(syntax("${x//}"), BadSubstitution);
        assert_eq!(syntax("${x///a}"), FunctionArgument);
        assert_eq!(syntax("${x/a}"), BadSubstitution);
        assert_eq!(syntax("${x/a/b"), BadSubstitution);
        assert_eq!(syntax("${x:=abc"), FunctionArgument);
        assert_eq!(syntax("ok ${x} then ${y"), MissingClosingBrace);
        assert_eq!(syntax("${x:=${}}"), VariableName);
        assert_eq!(
            TextError::from(FunctionArgument).to_string(),
            "unable to parse substitution within function"
        );
    }

    #[test]
    fn glob_matcher() {
        let m = |p: &str, n: &str| glob::matches(p.as_bytes(), n.as_bytes());
        assert_eq!(m("*", "a/b"), Ok(true));
        assert_eq!(m("a*", "a/b"), Ok(true));
        assert_eq!(m("*b", "a/b"), Ok(true));
        assert_eq!(m("a?b", "a/b"), Ok(true));
        assert_eq!(m("a*b*c", "axxbyyc"), Ok(true));
        assert_eq!(m("a*b", "axxbyyc"), Ok(false));
        assert_eq!(m("[a-c]x", "bx"), Ok(true));
        assert_eq!(m("[^a-c]x", "bx"), Ok(false));
        assert_eq!(m(r"\*", "*"), Ok(true));
        assert_eq!(m(r"[\]]", "]"), Ok(true));
        assert_eq!(m("[é]", "é"), Ok(true));
        assert_eq!(m("?", "é"), Ok(true));
        assert_eq!(m("[", "a"), Err(glob::BadPattern));
        assert_eq!(m("[]", "a"), Err(glob::BadPattern));
        assert_eq!(m("[a-", "a"), Err(glob::BadPattern));
        assert_eq!(m(r"a\", "a"), Ok(false), "errors show only where reached");
        assert_eq!(m(r"a\", "ab"), Err(glob::BadPattern));
    }

    #[test]
    fn objects_and_opt_out() {
        let v = vars(&[("replicas", "3"), ("name", "web")]);
        let objs = vec![
            json!({"kind": "Deployment", "metadata": {"name": "${name}"}, "spec": {"replicas": "${replicas}"}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "raw", "annotations": {SUBSTITUTE_KEY: "disabled"}}, "data": {"x": "${name}"}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "lbl", "labels": {SUBSTITUTE_KEY: "disabled"}}, "data": {"x": "${"}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "fns"}, "data": {"x": "${name^^}-${missing:=v1}", "sh": "echo $HOME $$1"}}),
        ];
        let out = substitute_objects(objs, &v, false).unwrap();
        assert_eq!(out[0]["metadata"]["name"], "web");
        assert_eq!(out[0]["spec"]["replicas"], 3, "YAML typing as Flux's");
        assert_eq!(out[1]["data"]["x"], "${name}");
        assert_eq!(out[2]["data"]["x"], "${");
        assert_eq!(out[3]["data"]["x"], "WEB-v1");
        assert_eq!(out[3]["data"]["sh"], "echo $HOME $1");
        assert!(substitute_objects(vec![], &vars(&[("bad-name", "x")]), false).is_err());
    }

    #[test]
    fn object_errors_name_the_object() {
        let v = vars(&[("name", "web")]);
        let obj = |data: &str| {
            vec![
                json!({"kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"}, "data": {"x": data}}),
            ]
        };
        let err = substitute_objects(obj("${name"), &v, false).unwrap_err();
        assert!(matches!(err, SubstituteError::Syntax { .. }));
        assert_eq!(
            err.to_string(),
            "ConfigMap/ns/cm: variable substitution failed: missing closing brace"
        );
        let err = substitute_objects(obj("${missing}"), &v, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ConfigMap/ns/cm: variable substitution failed: variable 'missing' not set (strict mode)"
        );
        let err =
            substitute_objects(obj("${name:0:1}"), &vars(&[("name", "é")]), false).unwrap_err();
        assert!(matches!(err, SubstituteError::Yaml { .. }));
    }
}
