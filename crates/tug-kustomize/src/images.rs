//! The images transformer: rewrites `image:` fields of every `containers` and
//! `initContainers` list anywhere in a resource (kustomize's legacy image filter), plus any
//! user-configured field specs.

use crate::error::Result;
use crate::fieldspec::FieldSpec;
use crate::yaml::{Map, Value};
use regex::Regex;

/// kustomize's `image.Split`: the first `:` or `@` after the first `/` separates the name.
fn split_image(img: &str) -> (&str, &str, &str) {
    let slash = match img.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &img[slash..];
    let at = search.find('@');
    let colon = search.find(':');
    match (colon, at) {
        (None, None) => (img, "", ""),
        (c, Some(d)) if c.is_none_or(|c| d < c) => {
            let d = d + slash;
            (&img[..d], "", &img[d + 1..])
        }
        (Some(c), Some(d)) => {
            let (c, d) = (c + slash, d + slash);
            (&img[..c], img.get(c + 1..d).unwrap_or(""), &img[d + 1..])
        }
        (Some(c), None) => {
            let c = c + slash;
            (&img[..c], &img[c + 1..], "")
        }
        (None, Some(_)) => (img, "", ""),
    }
}

/// One `images:` entry, with its name compiled into kustomize's match pattern.
pub struct Rule {
    /// `^NAME(:tag)?(@sha256:digest)?$`; the name is used as a regular expression, as
    /// kustomize does. `None` when it does not compile (kustomize then matches nothing).
    pattern: Option<Regex>,
    new_name: String,
    new_tag: String,
    digest: String,
}

impl Rule {
    pub fn new(rule: &Map) -> Rule {
        let s = |k: &str| rule.get(k).and_then(Value::scalar_text).unwrap_or_default();
        let pattern = Regex::new(&format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
            s("name")
        ))
        .ok();
        Rule {
            pattern,
            new_name: s("newName"),
            new_tag: s("newTag"),
            digest: s("digest"),
        }
    }

    fn update(&self, img: &str) -> Option<String> {
        if !self.pattern.as_ref()?.is_match(img) {
            return None;
        }
        let (name, tag, digest) = split_image(img);
        let name = if self.new_name.is_empty() {
            name
        } else {
            &self.new_name
        };
        // A new tag or digest replaces both the old tag and the old digest.
        let (tag, digest) = match (self.new_tag.is_empty(), self.digest.is_empty()) {
            (false, false) => (self.new_tag.as_str(), self.digest.as_str()),
            (false, true) => (self.new_tag.as_str(), ""),
            (true, false) => ("", self.digest.as_str()),
            (true, true) => (tag, digest),
        };
        let mut out = name.to_string();
        if !tag.is_empty() {
            out.push(':');
            out.push_str(tag);
        }
        if !digest.is_empty() {
            out.push('@');
            out.push_str(digest);
        }
        Some(out)
    }
}

fn walk(v: &mut Value, rule: &Rule) {
    match v {
        Value::Map(m) => {
            for (k, child) in m.iter_mut() {
                if k == "containers" || k == "initContainers" {
                    if let Value::Seq(items) = child {
                        for it in items.iter_mut() {
                            if let Some(Value::Str(img)) =
                                it.as_map_mut().and_then(|c| c.get_mut("image"))
                            {
                                if let Some(n) = rule.update(img) {
                                    *img = n;
                                }
                            }
                        }
                    }
                }
                walk(child, rule);
            }
        }
        Value::Seq(items) => {
            for it in items.iter_mut() {
                walk(it, rule);
            }
        }
        _ => {}
    }
}

/// Applies one rule to a resource; CustomResourceDefinitions are never touched.
pub fn apply(obj: &mut Value, rule: &Rule, extra: &[FieldSpec]) -> Result<()> {
    if obj.get_path(&["kind"]).and_then(Value::as_str) == Some("CustomResourceDefinition") {
        return Ok(());
    }
    walk(obj, rule);
    for f in extra {
        f.apply(obj, None, &mut |v| {
            if let Value::Str(img) = v {
                if let Some(n) = rule.update(img) {
                    *img = n;
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}
