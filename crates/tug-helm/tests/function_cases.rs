//! The oracle-recorded cases under tests/cases (charts rendered by real Helm v4.2.3, see
//! /work/shared/conformance/helm/README.md for the format) must call every template function
//! Helm offers, so that each one is checked against Helm once the engine renders them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use tug_helm::funcs::{all, HELM_FUNCTION_NAMES};

fn templates(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable case directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            templates(&path, out);
        } else if path.components().any(|c| c.as_os_str() == "templates") {
            out.push(path);
        }
    }
}

/// Identifiers inside `{{ ... }}` actions, outside string literals, that are not fields
/// (`.Values`) or variables (`$x`).
fn called_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for action in text.split("{{").skip(1) {
        let body: Vec<char> = action.split("}}").next().unwrap_or("").chars().collect();
        let mut i = 0;
        while i < body.len() {
            let c = body[i];
            if c == '"' || c == '`' {
                i += 1;
                while i < body.len() && body[i] != c {
                    i += if body[i] == '\\' && c == '"' { 2 } else { 1 };
                }
                i += 1;
            } else if c.is_ascii_alphabetic() || c == '_' {
                let start = i;
                while i < body.len() && (body[i].is_ascii_alphanumeric() || body[i] == '_') {
                    i += 1;
                }
                let prev = if start == 0 { ' ' } else { body[start - 1] };
                if prev != '.' && prev != '$' {
                    names.insert(body[start..i].iter().collect());
                }
            } else {
                i += 1;
            }
        }
    }
    names
}

#[test]
fn cases_call_every_helm_function() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files = Vec::new();
    templates(&root, &mut files);
    assert!(
        files.len() > 30,
        "expected the recorded cases under {}",
        root.display()
    );
    let mut called = BTreeSet::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("readable template");
        called.extend(called_names(&text));
    }
    let missing: Vec<&&str> = HELM_FUNCTION_NAMES
        .iter()
        .filter(|name| !called.contains(**name))
        .collect();
    assert!(missing.is_empty(), "functions no case calls: {missing:?}");
}

#[test]
fn every_case_has_an_oracle_result() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    for entry in fs::read_dir(&root).expect("cases directory") {
        let case = entry.expect("case entry").path();
        if !case.is_dir() {
            continue; // the cases' README
        }
        let args = fs::read_to_string(case.join("args")).expect("args file");
        assert_eq!(
            args.split_whitespace().count(),
            2,
            "{}: RELEASE NAMESPACE",
            case.display()
        );
        let has_yaml = case.join("expected.yaml").exists();
        let has_error = case.join("expected.error").exists();
        assert!(
            has_yaml != has_error,
            "{}: exactly one expected file",
            case.display()
        );
        if has_error {
            let text = fs::read_to_string(case.join("expected.error")).expect("expected.error");
            let mut lines = text.lines();
            assert!(
                !lines.next().unwrap_or("").is_empty(),
                "{}: keyword line",
                case.display()
            );
            assert!(
                lines.next().is_some_and(|l| l.starts_with("# ")),
                "{}: Helm's message",
                case.display()
            );
        }
    }
}

#[test]
fn all_registers_each_listed_name_once() {
    let names: Vec<&str> = all().iter().map(|f| f.name).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len());
    assert_eq!(unique, HELM_FUNCTION_NAMES.iter().copied().collect());
}
