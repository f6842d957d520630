//! Which files of a tree go into an artifact: `.sourceignore` files and `spec.ignore`, with
//! Flux's defaults.
//!
//! Flux's rules (fluxcd/pkg `sourceignore` and `storage.SourceIgnoreFilter`): when the tree has
//! no `.sourceignore` patterns and `spec.ignore` has none either, the defaults apply (VCS
//! files, common binaries and archives, CI configuration); as soon as there is any pattern,
//! only the VCS patterns plus the user's patterns apply. Patterns in `dir/.sourceignore` are
//! relative to `dir`; `spec.ignore` is relative to the root and comes last, so it wins.

use gix::bstr::ByteSlice;
use std::path::{Path, PathBuf};

/// The name of the per-directory ignore file.
pub const IGNORE_FILE: &str = ".sourceignore";
/// Always excluded: Git's own files.
pub const EXCLUDE_VCS: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];
/// Excluded when the user gives no patterns: images, videos and archives.
pub const EXCLUDE_EXT: &[&str] = &[
    "*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip",
];
/// Excluded when the user gives no patterns: CI configuration.
pub const EXCLUDE_CI: &[&str] = &[
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
];
/// Excluded when the user gives no patterns: tool configuration that is not deployable.
pub const EXCLUDE_EXTRA: &[&str] = &["**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml"];

/// A virtual root the ignore files are placed under, so gix computes each file's base directory.
const ROOT: &str = "/tug-artifact-root";

/// The compiled ignore rules of one artifact.
pub struct IgnoreRules {
    search: gix::ignore::Search,
}

/// Lines that count as patterns, as Flux's `ReadPatterns` reads them.
fn pattern_lines(text: &[u8]) -> usize {
    text.lines()
        .filter(|l| !l.starts_with(b"#") && !l.trim().is_empty())
        .count()
}

impl IgnoreRules {
    /// Rules from `.sourceignore` files (`(directory relative to the root, contents)`, in
    /// depth-first order) and `spec.ignore`.
    pub fn new(ignore_files: &[(String, Vec<u8>)], spec_ignore: Option<&str>) -> Self {
        let parse = gix::ignore::search::Ignore {
            support_precious: false,
        };
        let user_patterns: usize = ignore_files
            .iter()
            .map(|(_, t)| pattern_lines(t))
            .sum::<usize>()
            + spec_ignore
                .map(|s| pattern_lines(s.as_bytes()))
                .unwrap_or(0);
        let mut defaults: Vec<&str> = EXCLUDE_VCS.to_vec();
        if user_patterns == 0 {
            defaults.extend(EXCLUDE_EXT.iter().chain(EXCLUDE_CI).chain(EXCLUDE_EXTRA));
        }
        let root = Path::new(ROOT);
        let mut search = gix::ignore::Search::default();
        let mut add = |text: &[u8], source: PathBuf| {
            // Parsing an in-memory buffer cannot fail with an I/O error.
            let _ = search.add_patterns_buffer(text, source, Some(root), parse);
        };
        add(defaults.join("\n").as_bytes(), root.join(IGNORE_FILE));
        for (dir, text) in ignore_files {
            add(text, root.join(dir).join(IGNORE_FILE));
        }
        if let Some(spec) = spec_ignore {
            add(spec.as_bytes(), root.join(IGNORE_FILE));
        }
        IgnoreRules { search }
    }

    /// Exactly `patterns` (relative to the root), without defaults or `.sourceignore` files: the
    /// flux CLI's `--ignore-paths` when it builds an artifact.
    pub fn only(patterns: &[String]) -> Self {
        let root = Path::new(ROOT);
        let mut search = gix::ignore::Search::default();
        let _ = search.add_patterns_buffer(
            patterns.join("\n").as_bytes(),
            root.join(IGNORE_FILE),
            Some(root),
            gix::ignore::search::Ignore {
                support_precious: false,
            },
        );
        IgnoreRules { search }
    }

    /// Whether `path` (relative to the root, `/`-separated) is excluded.
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        self.search
            .pattern_matching_relative_path(
                path.as_bytes().as_bstr(),
                Some(is_dir),
                gix::glob::pattern::Case::Sensitive,
            )
            .is_some_and(|m| !m.pattern.is_negative())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_without_user_patterns() {
        let r = IgnoreRules::new(&[], None);
        assert!(r.is_ignored(".git", true));
        assert!(r.is_ignored(".github", true));
        assert!(r.is_ignored("logo.png", false));
        assert!(r.is_ignored("deep/dir/.sops.yaml", false));
        assert!(r.is_ignored(".gitignore", false));
        assert!(!r.is_ignored("deploy/app.yaml", false));
        let r = IgnoreRules::new(&[], Some("# only a comment\n\n"));
        assert!(r.is_ignored("logo.png", false));
    }

    #[test]
    fn user_patterns_replace_defaults_but_not_vcs() {
        let r = IgnoreRules::new(&[(String::new(), b"*.txt\n".to_vec())], None);
        assert!(!r.is_ignored("logo.png", false));
        assert!(r.is_ignored("notes.txt", false));
        assert!(r.is_ignored(".gitmodules", false));
    }

    #[test]
    fn only_the_given_patterns_apply() {
        let r = IgnoreRules::only(&["*.txt".to_string(), "!keep.txt".to_string()]);
        assert!(r.is_ignored("a/notes.txt", false));
        assert!(!r.is_ignored("keep.txt", false));
        assert!(!r.is_ignored(".git", true));
        assert!(!IgnoreRules::only(&[]).is_ignored("logo.png", false));
    }

    #[test]
    fn nested_files_are_relative_and_spec_wins() {
        let files = vec![("sub".to_string(), b"/local.yaml\n".to_vec())];
        let r = IgnoreRules::new(&files, Some("!keep.yaml\nsecret/\n"));
        assert!(r.is_ignored("sub/local.yaml", false));
        assert!(!r.is_ignored("local.yaml", false));
        assert!(r.is_ignored("secret", true));
        let r = IgnoreRules::new(&[(String::new(), b"*.yaml\n".to_vec())], Some("!keep.yaml"));
        assert!(r.is_ignored("a.yaml", false));
        assert!(!r.is_ignored("keep.yaml", false));
    }
}
