//! Case conversions as huandu/xstrings v1.5.0 does them (Sprig's `snakecase`, `kebabcase` and
//! `camelcase`): the input is cut into words (runs of upper case, lower case, digits,
//! punctuation, connectors) and the words rejoined.

use super::strings::{simple_lower, simple_upper};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// A letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    c.is_alphabetic()
        && !matches!(c, '\u{4E00}'..='\u{9FCC}' | '\u{3400}'..='\u{4D85}' | '\u{20000}'..='\u{2B81D}')
}

/// Go's `unicode.IsPunct` for ASCII, and the common punctuation blocks beyond it.
fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation() && !"$+<=>^`|~".contains(c);
    }
    matches!(c,
        '\u{A1}' | '\u{A7}' | '\u{AB}' | '\u{B6}' | '\u{B7}' | '\u{BB}' | '\u{BF}'
        | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{2043}' | '\u{2045}'..='\u{2051}'
        | '\u{2053}'..='\u{205E}' | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}'
        | '\u{3014}'..='\u{301F}' | '\u{FF01}'..='\u{FF03}' | '\u{FF05}'..='\u{FF0A}'
        | '\u{FF0C}'..='\u{FF0F}' | '\u{FF1A}' | '\u{FF1B}' | '\u{FF1F}' | '\u{FF20}')
}

/// The end of the run of characters from byte `start` on that satisfy `pred`.
fn run_end(s: &str, start: usize, pred: impl Fn(char) -> bool) -> usize {
    s[start..]
        .char_indices()
        .find(|(_, c)| !pred(*c))
        .map_or(s.len(), |(i, _)| start + i)
}

/// xstrings' `nextWord`: the kind of the first word, the word, and the rest.
fn next_word(s: &str) -> (Word, &str, &str) {
    let Some(first) = s.chars().next() else {
        return (Word::Invalid, "", "");
    };
    let size = first.len_utf8();
    if is_connector(first) {
        return split(s, Word::Connector, run_end(s, size, is_connector));
    }
    if is_punct(first) {
        return split(s, Word::Punct, run_end(s, size, is_punct));
    }
    if first.is_uppercase() {
        return split(s, Word::Upper, upper_word_end(s, size));
    }
    if is_alphabet(first) {
        let end = run_end(s, size, |c| is_alphabet(c) && !c.is_uppercase());
        return split(s, Word::Alphabet, end);
    }
    if first.is_numeric() {
        return split(s, Word::Number, run_end(s, size, char::is_numeric));
    }
    let end = run_end(s, size, |c| {
        !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
    });
    split(s, Word::Other, end)
}

/// The end of a word starting with a capital (of `size` bytes): a run of capitals gives back
/// its last one when a lower-case letter follows ("HTTPServer" → "HTTP", "Server").
fn upper_word_end(s: &str, size: usize) -> usize {
    let Some(second) = s[size..].chars().next() else {
        return size;
    };
    if second.is_uppercase() {
        let mut end = run_end(s, size, char::is_uppercase);
        if s[end..].chars().next().is_some_and(is_alphabet) {
            end -= s[..end].chars().next_back().map_or(0, char::len_utf8);
        }
        end
    } else if is_alphabet(second) {
        run_end(s, size, |c| is_alphabet(c) && !c.is_uppercase())
    } else {
        size
    }
}

fn split(s: &str, kind: Word, end: usize) -> (Word, &str, &str) {
    (kind, &s[..end], &s[end..])
}

fn push_lower(out: &mut String, kind: Word, word: &str, connector: char) {
    if kind != Word::Upper && kind != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else if c.is_uppercase() {
            out.push(simple_lower(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings' `camelCaseToLowerCase`: `snakecase` with `_`, `kebabcase` with `-`.
pub(super) fn to_lower_words(s: &str, connector: char) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    if s.is_empty() {
        return out;
    }
    let (mut kind, mut word, mut rest) = next_word(s);
    while !rest.is_empty() {
        if kind != Word::Connector {
            push_lower(&mut out, kind, word, connector);
        }
        let prev = kind;
        let last = word;
        (kind, word, rest) = next_word(rest);
        match prev {
            Word::Number => {
                while kind == Word::Alphabet || kind == Word::Number {
                    push_lower(&mut out, kind, word, connector);
                    (kind, word, rest) = next_word(rest);
                }
                if !matches!(kind, Word::Invalid | Word::Punct | Word::Connector) {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if kind != Word::Number {
                    if kind != Word::Connector && kind != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let number = word;
                (kind, word, rest) = next_word(rest);
                if kind != Word::Alphabet {
                    push_lower(&mut out, Word::Number, number, connector);
                    if kind != Word::Connector && kind != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                push_lower(&mut out, Word::Number, number, connector);
                while kind == Word::Alphabet || kind == Word::Number {
                    push_lower(&mut out, kind, word, connector);
                    (kind, word, rest) = next_word(rest);
                }
                if !matches!(kind, Word::Invalid | Word::Connector | Word::Punct) {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, kind, word, connector);
    out
}

/// xstrings' `ToPascalCase`: connectors removed, the letter after each upper-cased, leading
/// connectors kept, and the rest of an all-capitals word lower-cased.
pub(super) fn to_pascal_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    let mut current = None;
    let mut first_upper = false;
    for c in chars.by_ref() {
        if !is_connector(c) {
            first_upper = c.is_uppercase();
            current = Some(simple_upper(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = current else {
        return out;
    };
    for next in chars {
        let r1 = r0;
        r0 = next;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = r0.is_uppercase();
            r0 = simple_upper(r0);
        } else {
            if first_upper {
                if r0.is_uppercase() {
                    r0 = simple_lower(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_documented_samples() {
        for (input, want) in [
            ("FirstName", "first_name"),
            ("HTTPServer", "http_server"),
            ("NoHTTPS", "no_https"),
            ("GO_PATH", "go_path"),
            ("GO PATH", "go_path"),
            ("GO-PATH", "go_path"),
            ("http2xx", "http_2xx"),
            ("HTTP20xOK", "http_20x_ok"),
            ("Duration2m3s", "duration_2m3s"),
            ("Bld4Floor3rd", "bld4_floor_3rd"),
        ] {
            assert_eq!(to_lower_words(input, '_'), want, "{input}");
        }
        assert_eq!(to_lower_words("FirstName", '-'), "first-name");
    }

    #[test]
    fn pascal_case_documented_samples() {
        for (input, want) in [
            ("some_words", "SomeWords"),
            ("http_server", "HttpServer"),
            ("no_https", "NoHttps"),
            ("_complex__case_", "_Complex_Case_"),
            ("some words", "SomeWords"),
            ("GOLANG_IS_GREAT", "GolangIsGreat"),
        ] {
            assert_eq!(to_pascal_case(input), want, "{input}");
        }
    }
}
