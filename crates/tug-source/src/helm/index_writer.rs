//! Writing a repository index for packaged charts, as `helm repo index` does: charts by name,
//! each chart's versions from the highest down, each version's Chart.yaml fields plus
//! `urls`, `created` and `digest` (the archive's SHA-256), keys in alphabetical order.
//! Strings are written double-quoted, which any YAML (and JSON) reader reads the same.

use super::error::{HelmError, Result};
use crate::semver_range::parse_version;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use tug_helm::chart::Metadata;

/// One chart version for an index.
#[derive(Clone, Debug)]
pub struct IndexEntry {
    pub metadata: Metadata,
    pub urls: Vec<String>,
    /// SHA-256 of the archive, hex.
    pub digest: String,
    /// RFC 3339.
    pub created: String,
}

impl IndexEntry {
    /// The entry for a packaged chart's bytes, served at `url` (relative to the repository,
    /// or absolute).
    pub fn from_archive(bytes: &[u8], url: &str, created: &str) -> Result<IndexEntry> {
        let chart =
            tug_helm::chart::load_archive(bytes).map_err(|cause| HelmError::InvalidChart {
                url: url.to_string(),
                cause,
            })?;
        Ok(IndexEntry {
            metadata: chart.metadata,
            urls: vec![url.to_string()],
            digest: crate::storage::hex(&Sha256::digest(bytes)),
            created: created.to_string(),
        })
    }
}

/// A YAML double-quoted string (JSON escaping).
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes `index.yaml` for `entries` (any order) with the `generated` time (RFC 3339).
pub fn write_index(
    w: &mut dyn Write,
    entries: &[IndexEntry],
    generated: &str,
) -> std::io::Result<()> {
    let mut by_name: BTreeMap<&str, Vec<&IndexEntry>> = BTreeMap::new();
    for e in entries {
        by_name.entry(&e.metadata.name).or_default().push(e);
    }
    writeln!(w, "apiVersion: v1")?;
    writeln!(w, "entries:")?;
    for (name, mut versions) in by_name {
        // Helm's SortEntries: highest version first, strings compared when not semver.
        versions.sort_by(|a, b| {
            match (
                parse_version(&a.metadata.version),
                parse_version(&b.metadata.version),
            ) {
                (Some(x), Some(y)) => y.cmp_precedence(&x),
                _ => b.metadata.version.cmp(&a.metadata.version),
            }
        });
        writeln!(w, "  {}:", q(name))?;
        for e in versions {
            write_version(w, e)?;
        }
    }
    writeln!(w, "generated: {}", q(generated))
}

fn write_version(w: &mut dyn Write, e: &IndexEntry) -> std::io::Result<()> {
    let m = &e.metadata;
    // Fields in alphabetical order; the first one opens the list item.
    let mut fields: Vec<(&str, String)> = Vec::new();
    let list = |items: &[String]| -> String {
        items
            .iter()
            .map(|s| format!("\n    - {}", q(s)))
            .collect::<String>()
    };
    if let Some(a) = m.annotations.as_ref().filter(|a| !a.is_empty()) {
        let body: String = a
            .iter()
            .map(|(k, v)| format!("\n      {}: {}", q(k), q(v)))
            .collect();
        fields.push(("annotations", body));
    }
    let api = if m.api_version.is_empty() {
        "v1"
    } else {
        &m.api_version
    };
    fields.push(("apiVersion", format!(" {}", q(api))));
    if !m.app_version.is_empty() {
        fields.push(("appVersion", format!(" {}", q(&m.app_version))));
    }
    if !m.condition.is_empty() {
        fields.push(("condition", format!(" {}", q(&m.condition))));
    }
    fields.push(("created", format!(" {}", q(&e.created))));
    if !m.dependencies.is_empty() {
        let mut body = String::new();
        for d in &m.dependencies {
            let mut first = true;
            let mut item = |k: &str, v: &str| {
                if v.is_empty() {
                    return;
                }
                body.push_str(if first { "\n    - " } else { "\n      " });
                first = false;
                body.push_str(&format!("{k}: {}", q(v)));
            };
            item("alias", &d.alias);
            item("condition", &d.condition);
            item("name", &d.name);
            item("repository", &d.repository);
            item("version", &d.version);
        }
        fields.push(("dependencies", body));
    }
    if m.deprecated {
        fields.push(("deprecated", " true".into()));
    }
    if !m.description.is_empty() {
        fields.push(("description", format!(" {}", q(&m.description))));
    }
    fields.push(("digest", format!(" {}", q(&e.digest))));
    if !m.home.is_empty() {
        fields.push(("home", format!(" {}", q(&m.home))));
    }
    if !m.icon.is_empty() {
        fields.push(("icon", format!(" {}", q(&m.icon))));
    }
    if !m.keywords.is_empty() {
        fields.push(("keywords", list(&m.keywords)));
    }
    if !m.kube_version.is_empty() {
        fields.push(("kubeVersion", format!(" {}", q(&m.kube_version))));
    }
    if !m.maintainers.is_empty() {
        let mut body = String::new();
        for mt in &m.maintainers {
            let mut first = true;
            for (k, v) in [("email", &mt.email), ("name", &mt.name), ("url", &mt.url)] {
                if v.is_empty() {
                    continue;
                }
                body.push_str(if first { "\n    - " } else { "\n      " });
                first = false;
                body.push_str(&format!("{k}: {}", q(v)));
            }
        }
        fields.push(("maintainers", body));
    }
    fields.push(("name", format!(" {}", q(&m.name))));
    if !m.sources.is_empty() {
        fields.push(("sources", list(&m.sources)));
    }
    if !m.tags.is_empty() {
        fields.push(("tags", format!(" {}", q(&m.tags))));
    }
    if !m.chart_type.is_empty() {
        fields.push(("type", format!(" {}", q(&m.chart_type))));
    }
    fields.push(("urls", list(&e.urls)));
    fields.push(("version", format!(" {}", q(&m.version))));
    for (i, (k, v)) in fields.iter().enumerate() {
        let lead = if i == 0 { "  - " } else { "    " };
        writeln!(w, "{lead}{k}:{v}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_index_reads_back() {
        let mut entries = Vec::new();
        for v in ["1.0.0", "1.10.0", "1.9.0"] {
            let mut m = Metadata {
                name: "demo".into(),
                version: v.into(),
                api_version: "v2".into(),
                description: "say \"hi\"\nthere".into(),
                keywords: vec!["a".into()],
                ..Default::default()
            };
            m.maintainers.push(tug_helm::chart::Maintainer {
                name: "me".into(),
                ..Default::default()
            });
            entries.push(IndexEntry {
                metadata: m,
                urls: vec![format!("demo-{v}.tgz")],
                digest: "00".into(),
                created: "2024-01-01T00:00:00Z".into(),
            });
        }
        let mut out = Vec::new();
        write_index(&mut out, &entries, "2024-01-02T00:00:00Z").unwrap();
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), &out).unwrap();
        let s = super::super::validate_index(f.path()).unwrap();
        assert_eq!((s.charts, s.versions), (1, 3));
        let text = String::from_utf8(out).unwrap();
        let first = text.find("\"1.10.0\"").unwrap();
        assert!(first < text.find("\"1.9.0\"").unwrap(), "{text}");
        let e = super::super::IndexQuery::find(f.path(), "demo", "<1.5").unwrap();
        assert_eq!(e.urls, ["demo-1.0.0.tgz"]);
        assert_eq!(e.description.as_deref(), Some("say \"hi\"\nthere"));
    }
}
