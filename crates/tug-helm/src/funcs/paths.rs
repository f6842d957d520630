//! Go's `path` functions (and `path/filepath`, the same on Linux) and Sprig's `urlParse` and
//! `urlJoin` over Go's `net/url`.

use std::collections::BTreeMap;

use super::{arg, arg_str, fixed};
use crate::func::{Func, FuncError, Ty};
use crate::value::Value;

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    let mut out = Vec::new();
    for (plain, os) in [
        ("base", "osBase"),
        ("dir", "osDir"),
        ("clean", "osClean"),
        ("ext", "osExt"),
        ("isAbs", "osIsAbs"),
    ] {
        let imp: crate::func::FuncImpl = match plain {
            "base" => |a| Ok(Value::from(base(arg_str(&a, 0)))),
            "dir" => |a| Ok(Value::from(dir(arg_str(&a, 0)))),
            "clean" => |a| Ok(Value::from(clean(arg_str(&a, 0)))),
            "ext" => |a| Ok(Value::from(ext(arg_str(&a, 0)))),
            _ => |a| Ok(Value::Bool(arg_str(&a, 0).starts_with('/'))),
        };
        out.push(fixed(plain, &[String], imp));
        out.push(fixed(os, &[String], imp));
    }
    out.push(fixed("urlParse", &[String], |a| url_parse(arg_str(&a, 0))));
    out.push(fixed("urlJoin", &[Map], |a| url_join(&arg(&a, 0))));
    out
}

/// Go's `path.Clean`, shared with the chart loader.
pub(crate) use crate::chart::archive::clean_path as clean;

fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..cut])
}

fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        match c {
            '/' => break,
            '.' => return p[i..].to_string(),
            _ => {}
        }
    }
    String::new()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Path,
    Host,
    UserPassword,
    Fragment,
}

/// Go's `shouldEscape`.
fn should_escape(c: u8, mode: Encoding) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Encoding::Host && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Encoding::Path => c == b'?',
            Encoding::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
            Encoding::Fragment => false,
            Encoding::Host => true,
        },
        b'!' | b'(' | b')' | b'*' if mode == Encoding::Fragment => false,
        _ => true,
    }
}

fn escape(s: &str, mode: Encoding) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if should_escape(c, mode) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(c as char);
        }
    }
    out
}

/// Go's `unescape`: `%XX` sequences decoded; a bad one is an error.
fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
            let Some(hex) = hex else {
                let bad = s.get(i..(i + 3).min(s.len())).unwrap_or("%");
                return Err(format!(
                    "invalid URL escape {}",
                    super::strings::go_quote(bad.as_bytes())
                ));
            };
            out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[derive(Default)]
struct Url {
    scheme: String,
    opaque: String,
    user: Option<(String, Option<String>)>,
    host: String,
    path: String,
    raw_query: String,
    fragment: String,
    force_query: bool,
    omit_host: bool,
}

impl Url {
    fn userinfo(&self) -> String {
        match &self.user {
            None => String::new(),
            Some((name, pass)) => {
                let mut s = escape(name, Encoding::UserPassword);
                if let Some(p) = pass {
                    s.push(':');
                    s.push_str(&escape(p, Encoding::UserPassword));
                }
                s
            }
        }
    }

    fn hostname(&self) -> String {
        let host = &self.host;
        if let Some(rest) = host.strip_prefix('[') {
            return rest.split(']').next().unwrap_or("").to_string();
        }
        match host.rfind(':') {
            Some(i) => host[..i].to_string(),
            None => host.clone(),
        }
    }

    /// Go's `URL.String()`.
    fn to_go_string(&self) -> String {
        let mut out = String::new();
        if !self.scheme.is_empty() {
            out.push_str(&self.scheme);
            out.push(':');
        }
        if !self.opaque.is_empty() {
            out.push_str(&self.opaque);
        } else {
            let has_authority =
                !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some();
            if has_authority && !(self.omit_host && self.host.is_empty() && self.user.is_none()) {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    out.push_str("//");
                }
                if self.user.is_some() {
                    out.push_str(&self.userinfo());
                    out.push('@');
                }
                out.push_str(&escape(&self.host, Encoding::Host));
            }
            let path = escape(&self.path, Encoding::Path);
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                out.push('/');
            }
            if out.is_empty() && path.split('/').next().is_some_and(|s| s.contains(':')) {
                out.push_str("./");
            }
            out.push_str(&path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            out.push('?');
            out.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            out.push('#');
            out.push_str(&escape(&self.fragment, Encoding::Fragment));
        }
        out
    }
}

/// Go's `url.Parse`.
fn parse_url(raw: &str) -> Result<Url, String> {
    let wrap = |e: String| format!("parse {}: {e}", super::strings::go_quote(raw.as_bytes()));
    let (rest, frag) = raw.split_once('#').unwrap_or((raw, ""));
    let mut u = parse_without_fragment(rest).map_err(wrap)?;
    u.fragment = unescape(frag).map_err(wrap)?;
    Ok(u)
}

fn parse_without_fragment(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut u = Url::default();
    if raw == "*" {
        u.path = "*".into();
        return Ok(u);
    }
    let (scheme, mut rest) = split_scheme(raw)?;
    u.scheme = scheme.to_ascii_lowercase();
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        u.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        u.raw_query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') {
        if !u.scheme.is_empty() {
            u.opaque = rest.to_string();
            return Ok(u);
        }
        if rest.split('/').next().is_some_and(|s| s.contains(':')) {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    let mut path = rest;
    if (!u.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority_and_path = &rest[2..];
        let (authority, p) = match authority_and_path.find('/') {
            Some(i) => (&authority_and_path[..i], &authority_and_path[i..]),
            None => (authority_and_path, ""),
        };
        path = p;
        let host_part = match authority.rfind('@') {
            Some(i) => {
                let info = &authority[..i];
                u.user = Some(match info.split_once(':') {
                    Some((name, pass)) => (unescape(name)?, Some(unescape(pass)?)),
                    None => (unescape(info)?, None),
                });
                &authority[i + 1..]
            }
            None => authority,
        };
        u.host = parse_host(host_part)?;
    } else if !u.scheme.is_empty() && rest.starts_with('/') {
        u.omit_host = true;
    }
    u.path = unescape(path)?;
    Ok(u)
}

fn split_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        return unescape(host);
    }
    if let Some(i) = host.rfind(':') {
        let port = &host[i + 1..];
        if !port.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "invalid port {} after host",
                super::strings::go_quote(&host.as_bytes()[i..])
            ));
        }
    }
    unescape(host)
}

fn url_parse(raw: &str) -> Result<Value, FuncError> {
    let u = parse_url(raw).map_err(|e| FuncError::msg(format!("unable to parse url: {e}")))?;
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_string(), Value::from(v));
    };
    put("scheme", u.scheme.clone());
    put("host", u.host.clone());
    put("hostname", u.hostname());
    put("path", u.path.clone());
    put("query", u.raw_query.clone());
    put("opaque", u.opaque.clone());
    put("fragment", u.fragment.clone());
    put("userinfo", u.userinfo());
    Ok(Value::map(m))
}

fn url_join(d: &Value) -> Result<Value, FuncError> {
    let get = |key: &str| -> Result<String, FuncError> {
        let Some(m) = d.as_map() else {
            return Ok(String::new());
        };
        match m.borrow().get(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.to_string()),
            Some(Value::Nil) => Err(FuncError::msg(super::NIL_DEREF)),
            Some(other) => Err(FuncError::msg(format!(
                "unable to parse {key} key, must be of type string, but {} found",
                other.kind_name()
            ))),
        }
    };
    let mut u = Url {
        scheme: get("scheme")?,
        host: get("host")?,
        path: get("path")?,
        raw_query: get("query")?,
        opaque: get("opaque")?,
        fragment: get("fragment")?,
        ..Url::default()
    };
    let userinfo = get("userinfo")?;
    if !userinfo.is_empty() {
        let parsed = parse_url(&format!("proto://{userinfo}@host"))
            .map_err(|e| FuncError::msg(format!("unable to parse userinfo in dict: {e}")))?;
        u.user = parsed.user;
    }
    Ok(Value::from(u.to_go_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_like_go() {
        assert_eq!(clean("a//b/../c/."), "a/c");
        assert_eq!(clean("/../x"), "/x");
        assert_eq!(clean("../../x"), "../../x");
        assert_eq!(clean(""), ".");
        assert_eq!(base("/a/b.tar.gz/"), "b.tar.gz");
        assert_eq!(base("///"), "/");
        assert_eq!(dir("/a/b/c"), "/a/b");
        assert_eq!(dir("file"), ".");
        assert_eq!(ext("a/b.tar.gz"), ".gz");
        assert_eq!(ext("a.b/c"), "");
    }

    #[test]
    fn urls_like_go() {
        let u = parse_url("https://user:p%40ss@example.com:8443/a%20b/c?x=1&y=2#frag").unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.host, "example.com:8443");
        assert_eq!(u.hostname(), "example.com");
        assert_eq!(u.path, "/a b/c");
        assert_eq!(u.userinfo(), "user:p%40ss");
        assert_eq!(
            u.to_go_string(),
            "https://user:p%40ss@example.com:8443/a%20b/c?x=1&y=2#frag"
        );
        let m = parse_url("mailto:someone@example.com").unwrap();
        assert_eq!(m.opaque, "someone@example.com");
        assert!(parse_url("1http://x").is_err() || parse_url(":x").is_err());
        assert_eq!(
            parse_url(":x").err().unwrap(),
            "parse \":x\": missing protocol scheme"
        );
    }
}
