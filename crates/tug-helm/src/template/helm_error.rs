//! How Helm's engine rewrites template errors for users (pkg/engine: `cleanupParseError`,
//! `reformatExecErrorMsg`): it parses Go's message text and the chain of wrapped errors.

use super::{ErrorKind, TemplateError};

const WARN_START: &str = "HELM_ERR_START";
const WARN_END: &str = "HELM_ERR_END";

#[derive(PartialEq, Eq, Default)]
struct Traceable {
    location: String,
    message: String,
    executed: String,
}

impl Traceable {
    fn render(&self, out: &mut String) {
        if !self.location.is_empty() {
            out.push_str(&self.location);
            out.push_str("\n  ");
        }
        if !self.executed.is_empty() {
            out.push_str(&self.executed);
            out.push_str("\n    ");
        }
        if !self.message.is_empty() {
            out.push_str(&self.message);
            out.push('\n');
        }
    }
}

pub(crate) fn reformat(err: &TemplateError, filename: &str) -> String {
    match err.kind() {
        ErrorKind::Parse => {
            let tokens: Vec<&str> = err.message().split(": ").collect();
            if tokens.len() == 1 {
                return format!("parse error in ({filename}): {}", err.message());
            }
            format!(
                "parse error at ({}): {}",
                tokens[1],
                tokens[tokens.len() - 1]
            )
        }
        ErrorKind::Exec => reformat_exec(err, filename),
        _ => err.message().to_string(),
    }
}

fn reformat_exec(err: &TemplateError, filename: &str) -> String {
    let tokens: Vec<&str> = err.message().splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {}", err.message());
    }
    if let Some(start) = tokens[2].find(WARN_START) {
        let body = &tokens[2][start + WARN_START.len()..];
        if let Some(end) = body.rfind(WARN_END) {
            return format!("execution error at ({}): {}", tokens[1], &body[..end]);
        }
    }
    let mut found: Vec<Traceable> = Vec::new();
    for msg in err.chain() {
        let Some(t) = parse_message(msg) else {
            return err.message().to_string();
        };
        if found.last() != Some(&t) {
            found.push(t);
        }
    }
    let mut out = String::new();
    for t in &found {
        t.render(&mut out);
    }
    out.trim().to_string()
}

fn cut_chained(msg: &str) -> &str {
    match msg.find(" template:") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

fn parse_message(s: &str) -> Option<Traceable> {
    let rest = s.strip_prefix("template: ")?;
    if rest.starts_with("no template ") {
        return Some(Traceable {
            message: s.to_string(),
            ..Traceable::default()
        });
    }
    if let Some(t) = parse_executing(rest) {
        return Some(t);
    }
    let sep = rest.rfind(": ")?;
    Some(Traceable {
        location: rest[..sep].to_string(),
        message: cut_chained(&rest[sep + 2..]).to_string(),
        executed: String::new(),
    })
}

fn parse_executing(rest: &str) -> Option<Traceable> {
    let (name, after) = rest.split_once(": executing ")?;
    let after = after.strip_prefix('"')?;
    let end = after.find('"')?;
    let function = &after[..end];
    let after_at = after[end + 1..].strip_prefix(" at <")?;
    let (location, msg) = after_at.split_once(">: ")?;
    Some(Traceable {
        location: name.to_string(),
        message: cut_chained(msg).to_string(),
        executed: format!("executing \"{function}\" at <{location}>:"),
    })
}
