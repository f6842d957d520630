//! The images transformer: rewrites `image:` fields of every `containers` and
//! `initContainers` list anywhere in a resource (kustomize's legacy image filter), plus any
//! user-configured field specs.

use crate::error::Result;
use crate::fieldspec::FieldSpec;
use crate::yaml::{Map, Value};

/// Splits an image reference into (name, tag-with-colon, digest-with-at).
fn split_image(img: &str) -> (String, String, String) {
    let (rest, digest) = match img.find('@') {
        Some(i) => (&img[..i], img[i..].to_string()),
        None => (img, String::new()),
    };
    let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest[slash..].rfind(':') {
        Some(i) => (
            rest[..slash + i].to_string(),
            rest[slash + i..].to_string(),
            digest,
        ),
        None => (rest.to_string(), String::new(), digest),
    }
}

fn update(img: &str, rule: &Map) -> Option<String> {
    let s = |k: &str| rule.get(k).and_then(Value::scalar_text).unwrap_or_default();
    let (name, tag, digest) = split_image(img);
    if name != s("name") {
        return None;
    }
    let new_name = if s("newName").is_empty() {
        name
    } else {
        s("newName")
    };
    let (tag, digest) = if !s("digest").is_empty() {
        (String::new(), format!("@{}", s("digest")))
    } else if !s("newTag").is_empty() {
        (format!(":{}", s("newTag")), String::new())
    } else {
        (tag, digest)
    };
    Some(format!("{new_name}{tag}{digest}"))
}

fn walk(v: &mut Value, rule: &Map) {
    match v {
        Value::Map(m) => {
            for (k, child) in m.iter_mut() {
                if k == "containers" || k == "initContainers" {
                    if let Value::Seq(items) = child {
                        for it in items.iter_mut() {
                            if let Some(Value::Str(img)) =
                                it.as_map_mut().and_then(|c| c.get_mut("image"))
                            {
                                if let Some(n) = update(img, rule) {
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

pub fn apply(obj: &mut Value, rule: &Map, extra: &[FieldSpec]) -> Result<()> {
    walk(obj, rule);
    for f in extra {
        f.apply(obj, None, &mut |v| {
            if let Value::Str(img) = v {
                if let Some(n) = update(img, rule) {
                    *img = n;
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}
