//! The release manifest built from rendered templates, as Helm's release utilities build it.
//!
//! Rendered files are taken in byte order of their path, split into documents
//! ([`split_documents`]), each document's head read ([`head::read_head`]); documents annotated
//! `helm.sh/hook` become [`Hook`]s, the others [`Document`]s; both lists are then sorted stably by
//! kind in Helm's install order.

mod head;
mod order;
mod split;

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use head::{read_head, Head, HeadMetadata};
pub use order::{sort_by_install_order, INSTALL_ORDER};
pub use split::split_documents;

/// The annotation that makes a document a hook.
pub const HOOK_ANNOTATION: &str = "helm.sh/hook";
/// The hook's weight, an integer in a string.
pub const HOOK_WEIGHT_ANNOTATION: &str = "helm.sh/hook-weight";
/// When the hook's resource is deleted.
pub const HOOK_DELETE_ANNOTATION: &str = "helm.sh/hook-delete-policy";
/// When the hook's pod logs are printed.
pub const HOOK_OUTPUT_LOG_ANNOTATION: &str = "helm.sh/hook-output-log-policy";

/// A rendered document of the release manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The template it came from: `<chart>/templates/<file>` (`<chart>/charts/<sub>/...` for
    /// subcharts).
    pub path: String,
    /// The document text, leading whitespace trimmed.
    pub content: String,
    pub head: Head,
}

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEvent {
    PreInstall,
    PostInstall,
    PreDelete,
    PostDelete,
    PreUpgrade,
    PostUpgrade,
    PreRollback,
    PostRollback,
    Test,
}

impl HookEvent {
    /// The event of an annotation item (already trimmed and lower-cased); `test-success` is the
    /// legacy spelling of `test`.
    pub fn parse(s: &str) -> Option<HookEvent> {
        Some(match s {
            "pre-install" => HookEvent::PreInstall,
            "post-install" => HookEvent::PostInstall,
            "pre-delete" => HookEvent::PreDelete,
            "post-delete" => HookEvent::PostDelete,
            "pre-upgrade" => HookEvent::PreUpgrade,
            "post-upgrade" => HookEvent::PostUpgrade,
            "pre-rollback" => HookEvent::PreRollback,
            "post-rollback" => HookEvent::PostRollback,
            "test" | "test-success" => HookEvent::Test,
            _ => return None,
        })
    }

    /// Helm's name of the event.
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PreInstall => "pre-install",
            HookEvent::PostInstall => "post-install",
            HookEvent::PreDelete => "pre-delete",
            HookEvent::PostDelete => "post-delete",
            HookEvent::PreUpgrade => "pre-upgrade",
            HookEvent::PostUpgrade => "post-upgrade",
            HookEvent::PreRollback => "pre-rollback",
            HookEvent::PostRollback => "post-rollback",
            HookEvent::Test => "test",
        }
    }
}

/// A document annotated `helm.sh/hook`, kept out of the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub manifest: String,
    pub events: Vec<HookEvent>,
    /// `helm.sh/hook-weight` as an integer; 0 when absent or not an integer.
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` items, trimmed and lower-cased, unvalidated as in Helm.
    pub delete_policies: Vec<String>,
    /// `helm.sh/hook-output-log-policy` items, trimmed and lower-cased.
    pub output_log_policies: Vec<String>,
}

/// A rendered document that is not valid as Helm reads it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("YAML parse error on {path}: {message}")]
pub struct ManifestError {
    pub path: String,
    pub message: String,
}

/// The hooks and documents of a release, each sorted in install order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SortedManifests {
    pub hooks: Vec<Hook>,
    pub documents: Vec<Document>,
}

/// Splits, classifies and sorts rendered files (path to text; `NOTES.txt` already removed).
/// Files whose base name starts with `_` and whitespace-only files are skipped.
pub fn sort_manifests(files: &BTreeMap<String, String>) -> Result<SortedManifests, ManifestError> {
    let mut documents = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        documents.extend(
            split_documents(content)
                .into_iter()
                .map(|d| (path.as_str(), d)),
        );
    }
    let heads = read_heads(&documents);
    let mut sorted = SortedManifests::default();
    for ((path, document), head) in documents.into_iter().zip(heads) {
        let head = head.map_err(|message| ManifestError {
            path: path.to_string(),
            message,
        })?;
        classify(path, document, head, &mut sorted);
    }
    sort_by_install_order(&mut sorted.hooks, |h| &h.kind);
    sort_by_install_order(&mut sorted.documents, |d| &d.head.kind);
    Ok(sorted)
}

/// Below this many documents, reading heads on one thread is cheaper than starting others.
const PARALLEL_HEADS_FROM: usize = 64;
/// Parsing recurses over a document's depth (bounded by the YAML reader); this leaves room for
/// it in unoptimised builds too.
const HEAD_THREAD_STACK: usize = 16 << 20;

/// Reads every document's head, in order. Parsing each document is most of the time Helm's
/// release step takes, and documents are independent, so large releases spread it over the
/// available cores.
fn read_heads(documents: &[(&str, &str)]) -> Vec<Result<Head, String>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 || documents.len() < PARALLEL_HEADS_FROM {
        return documents.iter().map(|(_, d)| read_head(d)).collect();
    }
    let chunk = documents.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = documents
            .chunks(chunk)
            .map(|part| {
                std::thread::Builder::new()
                    .stack_size(HEAD_THREAD_STACK)
                    .spawn_scoped(scope, move || {
                        part.iter().map(|(_, d)| read_head(d)).collect::<Vec<_>>()
                    })
            })
            .collect();
        workers
            .into_iter()
            .zip(documents.chunks(chunk))
            .flat_map(|(worker, part)| match worker {
                Ok(w) => match w.join() {
                    Ok(heads) => heads,
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                // No thread to be had: read this part here.
                Err(_) => part.iter().map(|(_, d)| read_head(d)).collect(),
            })
            .collect()
    })
}

fn classify(path: &str, document: &str, head: Head, sorted: &mut SortedManifests) {
    let annotations = head
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .filter(|a| !a.is_empty());
    let Some(hook_types) = annotations.and_then(|a| a.get(HOOK_ANNOTATION)) else {
        sorted.documents.push(Document {
            path: path.to_string(),
            content: document.to_string(),
            head,
        });
        return;
    };
    let Some(events) = hook_types
        .split(',')
        .map(|t| HookEvent::parse(&t.trim().to_lowercase()))
        .collect::<Option<Vec<_>>>()
    else {
        // Helm only logs "skipping unknown hooks": the document vanishes from the release.
        return;
    };
    let annotations = annotations.cloned().unwrap_or_default();
    let items = |key: &str| -> Vec<String> {
        annotations
            .get(key)
            .map(|v| v.split(',').map(|p| p.trim().to_lowercase()).collect())
            .unwrap_or_default()
    };
    sorted.hooks.push(Hook {
        name: head
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default(),
        kind: head.kind.clone(),
        path: path.to_string(),
        manifest: document.to_string(),
        events,
        weight: annotations
            .get(HOOK_WEIGHT_ANNOTATION)
            .map_or(0, |w| go_atoi(w).unwrap_or(0)),
        delete_policies: items(HOOK_DELETE_ANNOTATION),
        output_log_policies: items(HOOK_OUTPUT_LOG_ANNOTATION),
    });
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits, nothing else, within 64 bits.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

/// Appends one document as Helm writes it into a manifest: `---\n# Source: <path>\n<text>\n`.
pub fn write_source(out: &mut String, path: &str, text: &str) {
    out.reserve(SOURCE_LINE_EXTRA + path.len() + text.len());
    let _ = write!(out, "---\n# Source: {path}\n{text}\n");
}

/// The bytes [`write_source`] adds around a path and a text.
const SOURCE_LINE_EXTRA: usize = "---\n# Source: \n\n".len();

/// The release manifest: the documents in order, each with its source line.
pub fn manifest_text(documents: &[Document]) -> String {
    let size = documents
        .iter()
        .map(|d| SOURCE_LINE_EXTRA + d.path.len() + d.content.len())
        .sum();
    let mut out = String::with_capacity(size);
    for d in documents {
        write_source(&mut out, &d.path, &d.content);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn hooks_leave_the_manifest_and_unknown_hooks_vanish() {
        let sorted = sort_manifests(&files(&[(
            "c/templates/a.yaml",
            "kind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: \" PRE-INSTALL, post-upgrade\"\n    helm.sh/hook-weight: \"-5\"\n    helm.sh/hook-delete-policy: Hook-Succeeded , before-hook-creation\n---\nkind: ConfigMap\nmetadata:\n  annotations:\n    helm.sh/hook: bogus,test\n---\nkind: ConfigMap\nmetadata:\n  annotations:\n    helm.sh/hook: \"\"\n---\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations:\n    helm.sh/hook-weight: \"3\"\n",
        )]))
        .unwrap();
        assert_eq!(sorted.documents.len(), 1);
        assert_eq!(
            sorted.documents[0].head.metadata.as_ref().unwrap().name,
            "kept"
        );
        assert_eq!(sorted.hooks.len(), 1);
        let hook = &sorted.hooks[0];
        assert_eq!(
            hook.events,
            vec![HookEvent::PreInstall, HookEvent::PostUpgrade]
        );
        assert_eq!(hook.weight, -5);
        assert_eq!(
            hook.delete_policies,
            vec!["hook-succeeded", "before-hook-creation"]
        );
        assert_eq!(hook.name, "j");
    }

    #[test]
    fn files_in_path_order_then_documents_by_kind() {
        let sorted = sort_manifests(&files(&[
            (
                "c/templates/b.yaml",
                "kind: Service\n---\nkind: Zebra\n---\nkind: Namespace",
            ),
            (
                "c/templates/a.yaml",
                "kind: Deployment\n---\n# comment\n---\nkind: Apple",
            ),
            ("c/templates/_helpers.tpl", "kind: Namespace"),
            ("c/templates/empty.yaml", "\n  \n"),
        ]))
        .unwrap();
        let order: Vec<(&str, &str)> = sorted
            .documents
            .iter()
            .map(|d| (d.path.as_str(), d.head.kind.as_str()))
            .collect();
        assert_eq!(
            order,
            vec![
                ("c/templates/b.yaml", "Namespace"),
                ("c/templates/b.yaml", "Service"),
                ("c/templates/a.yaml", "Deployment"),
                ("c/templates/a.yaml", ""),
                ("c/templates/a.yaml", "Apple"),
                ("c/templates/b.yaml", "Zebra"),
            ]
        );
    }

    #[test]
    fn invalid_document_names_its_file() {
        let err = sort_manifests(&files(&[("c/templates/l.yaml", "- a\n")])).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("YAML parse error on c/templates/l.yaml: error unmarshaling JSON"));
    }

    #[test]
    fn large_releases_keep_document_order_and_report_the_first_invalid_file() {
        let many = |prefix: &str| {
            (0..100)
                .map(|i| format!("kind: ConfigMap\nmetadata:\n  name: {prefix}{i}\n"))
                .collect::<Vec<_>>()
                .join("---\n")
        };
        let (a, b) = (many("a"), many("b"));
        let sorted = sort_manifests(&files(&[
            ("c/templates/a.yaml", &a),
            ("c/templates/b.yaml", &b),
        ]))
        .unwrap();
        let names: Vec<String> = sorted
            .documents
            .iter()
            .map(|d| d.head.metadata.as_ref().unwrap().name.clone())
            .collect();
        let expected: Vec<String> = (0..100)
            .map(|i| format!("a{i}"))
            .chain((0..100).map(|i| format!("b{i}")))
            .collect();
        assert_eq!(names, expected);

        let bad_b = format!("{b}---\n- not a mapping\n");
        let bad_c = format!("{a}---\nkey: [unclosed\n");
        let err = sort_manifests(&files(&[
            ("c/templates/a.yaml", &a),
            ("c/templates/b.yaml", &bad_b),
            ("c/templates/c.yaml", &bad_c),
        ]))
        .unwrap_err();
        assert_eq!(err.path, "c/templates/b.yaml");
    }

    #[test]
    fn manifest_text_writes_source_lines() {
        let sorted =
            sort_manifests(&files(&[("c/templates/a.yaml", "kind: A\n---\nkind: B\n")])).unwrap();
        assert_eq!(
            manifest_text(&sorted.documents),
            "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/a.yaml\nkind: B\n\n"
        );
    }

    #[test]
    fn atoi_accepts_signs_and_digits_only() {
        assert_eq!(go_atoi("-5"), Some(-5));
        assert_eq!(go_atoi("+7"), Some(7));
        assert_eq!(go_atoi(" 7"), None);
        assert_eq!(go_atoi("1.0"), None);
        assert_eq!(go_atoi(""), None);
    }
}
