//! Helm's rewriting of template errors, which users see instead of Go's raw messages.
//!
//! Helm rewrites parse errors to `parse error at (LOCATION): MESSAGE`, `required`/`fail` messages
//! to `execution error at (LOCATION): MESSAGE`, and walks the chain of wrapped execution errors to
//! print one block per template level. The chain is Go's `errors.Unwrap` chain; it is recovered
//! here from the message text, since text/template writes each wrapped error's text after
//! `error calling NAME: `. Helm gives up (and shows Go's raw message) as soon as an error in the
//! chain does not start with `template: `: a plain error from a function, or `tpl`'s wrappers.

/// Marks the message of `required` and `fail` so Helm can find it in Go's error text.
pub const WARN_START: &str = "HELM_ERR_START";
/// Ends a [`WARN_START`] message.
pub const WARN_END: &str = "HELM_ERR_END";

/// `required`'s and `fail`'s error text.
pub fn warn_wrap(message: &str) -> String {
    format!("{WARN_START}{message}{WARN_END}")
}

/// Helm's `cleanupParseError`.
pub fn parse_error(filename: &str, message: &str) -> String {
    let tokens: Vec<&str> = message.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {message}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

/// Helm's `reformatExecErrorMsg` for an execution error's Go text.
pub fn exec_error(filename: &str, message: &str) -> String {
    let tokens: Vec<&str> = message.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {message}");
    }
    if let Some(warning) = find_warning(tokens[2]) {
        return format!("execution error at ({}): {warning}", tokens[1]);
    }
    let mut blocks: Vec<Traceable> = Vec::new();
    let mut current = Some(message);
    while let Some(text) = current {
        let Some(block) = Traceable::parse(text) else {
            return message.to_string();
        };
        if blocks.last() != Some(&block) {
            blocks.push(block);
        }
        current = unwrap(text);
    }
    blocks
        .iter()
        .map(Traceable::render)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The greedy `HELM_ERR_START((?s).*)HELM_ERR_END` match.
fn find_warning(s: &str) -> Option<&str> {
    let start = s.find(WARN_START)? + WARN_START.len();
    let end = s.rfind(WARN_END)?;
    (end >= start).then(|| &s[start..end])
}

/// The error a text/template error wraps: what follows `error calling NAME: ` in its message.
fn unwrap(text: &str) -> Option<&str> {
    let (_, after) = text.split_once(": executing \"")?;
    let (_, after) = after.split_once(">: ")?;
    let rest = after.strip_prefix("error calling ")?;
    let (_, wrapped) = rest.split_once(": ")?;
    Some(wrapped)
}

/// One level of the chain, as Helm prints it.
#[derive(Debug, PartialEq)]
struct Traceable {
    location: String,
    message: String,
    executed_function: String,
}

impl Traceable {
    fn parse(s: &str) -> Option<Traceable> {
        let remainder = s.strip_prefix("template: ")?;
        if remainder.starts_with("no template ") {
            return Some(Traceable {
                location: String::new(),
                message: s.to_string(),
                executed_function: String::new(),
            });
        }
        if let Some((template, after)) = remainder.split_once(": executing ") {
            // Helm stops here when the text after `executing` is malformed.
            let function = after.strip_prefix('"')?;
            let end_quote = function.find('"')?;
            let (function, after_function) = function.split_at(end_quote);
            let after_at = after_function[1..].strip_prefix(" at <")?;
            let (node, message) = after_at.split_once(">: ")?;
            return Some(Traceable {
                location: template.to_string(),
                message: cut_at_template(message).to_string(),
                executed_function: format!("executing \"{function}\" at <{node}>:"),
            });
        }
        let sep = remainder.rfind(": ")?;
        Some(Traceable {
            location: remainder[..sep].to_string(),
            message: cut_at_template(&remainder[sep + 2..]).to_string(),
            executed_function: String::new(),
        })
    }

    fn render(&self) -> String {
        let mut out = String::new();
        if !self.location.is_empty() {
            out.push_str(&self.location);
            out.push_str("\n  ");
        }
        if !self.executed_function.is_empty() {
            out.push_str(&self.executed_function);
            out.push_str("\n    ");
        }
        if !self.message.is_empty() {
            out.push_str(&self.message);
            out.push('\n');
        }
        out
    }
}

fn cut_at_template(message: &str) -> &str {
    match message.find(" template:") {
        Some(i) => &message[..i],
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_location() {
        assert_eq!(
            parse_error(
                "p/templates/cm.yaml",
                "template: p/templates/cm.yaml:7: unclosed action started at p/templates/cm.yaml:6"
            ),
            "parse error at (p/templates/cm.yaml:7): unclosed action started at p/templates/cm.yaml:6"
        );
    }

    #[test]
    fn required_and_fail_show_only_their_message() {
        let go = format!(
            "template: r/templates/cm.yaml:6:11: executing \"r/templates/cm.yaml\" at <required \"x\" .Values.x>: error calling required: {}",
            warn_wrap("x is required")
        );
        assert_eq!(
            exec_error("r/templates/cm.yaml", &go),
            "execution error at (r/templates/cm.yaml:6:11): x is required"
        );
    }

    #[test]
    fn unwrapped_errors_become_blocks() {
        let go = "template: n/templates/cm.yaml:6:15: executing \"n/templates/cm.yaml\" at <.Values.a.b>: nil pointer evaluating interface {}.b";
        assert_eq!(
            exec_error("n/templates/cm.yaml", go),
            "n/templates/cm.yaml:6:15\n  executing \"n/templates/cm.yaml\" at <.Values.a.b>:\n    nil pointer evaluating interface {}.b"
        );
    }

    #[test]
    fn include_chains_print_a_block_per_level() {
        let go = "template: c/templates/cm.yaml:6:8: executing \"c/templates/cm.yaml\" at <include \"c.missing\" .>: error calling include: template: no template \"c.missing\" associated with template \"gotpl\"";
        assert_eq!(
            exec_error("c/templates/cm.yaml", go),
            "c/templates/cm.yaml:6:8\n  executing \"c/templates/cm.yaml\" at <include \"c.missing\" .>:\n    error calling include:\ntemplate: no template \"c.missing\" associated with template \"gotpl\""
        );
    }

    #[test]
    fn plain_function_errors_keep_gos_text() {
        let go = "template: c/templates/cm.yaml:6:11: executing \"c/templates/cm.yaml\" at <eq .Values.r 3>: error calling eq: incompatible types for comparison: float64 and int";
        assert_eq!(exec_error("c/templates/cm.yaml", go), go);
    }
}
