//! Splitting a rendered template into its YAML documents, as Helm's release utilities do.
//!
//! Helm does not use a YAML parser to split: after trimming the file's leading whitespace it
//! splits on the regular expression `(?:^|\s*\n)---\s*` (RE2, so `\s` is ASCII whitespace without
//! `\v`). That gives several visible quirks the manifest must reproduce: a separator may be glued
//! to the next line (`---apiVersion`), whitespace before a separator disappears, whitespace after
//! it (blank lines included) too, a comment after it starts the next document, and the last
//! document of a file keeps its trailing whitespace. Documents that hold only whitespace are
//! dropped; every other document is kept with its leading whitespace trimmed.

/// RE2's `\s`: `[\t\n\f\r ]`.
fn is_re2_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// The length of the run of RE2 whitespace at the start of `s`.
fn re2_space_run(s: &[u8]) -> usize {
    s.iter().take_while(|b| is_re2_space(**b)).count()
}

/// The next separator match at or after `from`, as `(start, end)` byte offsets.
///
/// Away from the start of the text the separator is `\s*\n---\s*`. The `---` is not whitespace,
/// so the `\n` must end a whitespace run; the leftmost match then starts where that run starts.
fn next_separator(s: &[u8], from: usize) -> Option<(usize, usize)> {
    if from == 0 && s.starts_with(b"---") {
        return Some((0, 3 + re2_space_run(&s[3..])));
    }
    let mut i = from;
    while i < s.len() {
        if s[i] == b'\n' && s[i + 1..].starts_with(b"---") {
            let mut start = i;
            while start > from && is_re2_space(s[start - 1]) {
                start -= 1;
            }
            let after = i + 4;
            return Some((start, after + re2_space_run(&s[after..])));
        }
        i += 1;
    }
    None
}

/// Go's `regexp.Split(text, -1)` with Helm's separator: the pieces between matches, an empty
/// piece for a match at offset 0 skipped, and the rest of the text always last.
fn split_on_separators(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut begin = 0;
    let mut from = 0;
    while let Some((start, end)) = next_separator(bytes, from) {
        if end != 0 {
            pieces.push(&text[begin..start]);
        }
        begin = end;
        from = end;
    }
    pieces.push(&text[begin..]);
    pieces
}

/// The documents of one rendered file, in file order, as Helm's `SplitManifests` keeps them.
pub fn split_documents(file: &str) -> Vec<&str> {
    let trimmed = file.trim_start_matches(char::is_whitespace);
    split_on_separators(trimmed)
        .into_iter()
        .filter(|doc| !doc.trim().is_empty())
        .map(|doc| doc.trim_start_matches(char::is_whitespace))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split_documents;

    #[test]
    fn separators_glued_commented_and_followed_by_blank_lines() {
        let docs = split_documents("a: 1\n---b: 2\n---   # c\nd: 3\n--- \n\n\ne: 4\n");
        assert_eq!(docs, vec!["a: 1", "b: 2", "# c\nd: 3", "e: 4\n"]);
    }

    #[test]
    fn whitespace_before_a_separator_is_dropped_and_the_last_document_keeps_its_tail() {
        let docs = split_documents("\n\n  a: 1   \n\n\n---\n\n  \nb: 2\n\n\n");
        assert_eq!(docs, vec!["a: 1", "b: 2\n\n\n"]);
    }

    #[test]
    fn separator_right_after_a_separator_is_a_document() {
        assert_eq!(split_documents("---\n---\n"), vec!["---\n"]);
        assert_eq!(
            split_documents("---\n---\n# c\n---\nk: v"),
            vec!["---\n# c", "k: v"]
        );
    }

    #[test]
    fn whitespace_only_documents_are_dropped() {
        assert!(split_documents("---\n").is_empty());
        assert!(split_documents("---\n\n   \n").is_empty());
        assert!(split_documents("").is_empty());
    }

    #[test]
    fn carriage_returns_stay_except_before_a_separator() {
        assert_eq!(
            split_documents("a: 1\r\n---\r\nb: 2\r\n"),
            vec!["a: 1", "b: 2\r\n"]
        );
    }

    #[test]
    fn indented_separator_is_content() {
        assert_eq!(
            split_documents("k: |\n  x\n  ---\n  y\n"),
            vec!["k: |\n  x\n  ---\n  y\n"]
        );
    }
}
