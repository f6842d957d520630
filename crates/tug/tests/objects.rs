//! The flux-style verbs on real objects: create (and --export), get, suspend, resume, delete.

use std::process::Command;
use tug_testsupport::cluster;

mod common;
use common::{printed, tug};

/// A table as a terminal shows it: spaces only, and every column's cells starting where its
/// header does (cells of the last column may hold spaces, the others never do here).
fn assert_aligned(table: &str) {
    assert!(
        !table.contains('\t'),
        "tab characters in the table:\n{table}"
    );
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    let starts: Vec<usize> = ["REVISION", "SUSPENDED", "READY", "MESSAGE"]
        .iter()
        .map(|h| {
            header
                .find(h)
                .unwrap_or_else(|| panic!("no {h} in {header:?}"))
        })
        .collect();
    for line in lines {
        for &start in &starts[1..] {
            let before = &line[..start];
            assert!(
                before.ends_with(' ') && !line[start..].starts_with(' '),
                "a cell does not start under its header at column {start}:\n{table}"
            );
        }
    }
}

/// The cells of a `get --watch` row; an empty cell (REVISION before the first fetch) leaves
/// no word, as with `awk`.
fn words(line: &str) -> Vec<&str> {
    assert!(!line.contains('\t'), "tab characters in {line:?}");
    line.split_whitespace().collect()
}

#[tokio::test]
async fn create_get_suspend_resume_delete_round() {
    assert!(tug(&["install"]).status.success());
    let ns = cluster().namespace("verbs").await.unwrap();
    let n = ns.name.as_str();

    let export = tug(&[
        "create",
        "source",
        "git",
        "podinfo",
        "-n",
        n,
        "--url",
        "https://example.invalid/podinfo",
        "--tag-semver",
        ">=6.0.0",
        "--export",
    ]);
    let text = String::from_utf8_lossy(&export.stdout).to_string();
    assert!(
        text.contains("kind: GitRepository")
            && (text.contains("semver: '>=6.0.0'") || text.contains("semver: \">=6.0.0\"")),
        "{text}"
    );

    let created = tug(&[
        "create",
        "source",
        "git",
        "podinfo",
        "-n",
        n,
        "--url",
        "https://example.invalid/podinfo",
        "--branch",
        "main",
    ]);
    assert!(created.status.success(), "{}", printed(&created));
    let ks = tug(&[
        "create",
        "kustomization",
        "apps",
        "-n",
        n,
        "--source",
        "GitRepository/podinfo",
        "--path",
        "./deploy",
        "--prune",
        "--depends-on",
        "infra",
    ]);
    assert!(ks.status.success(), "{}", printed(&ks));

    let listed = tug(&["get", "sources", "git", "-n", n]);
    let table = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(table.starts_with("NAME"), "{table}");
    assert_aligned(&table);
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("podinfo") && l.contains("False")),
        "{table}"
    );

    assert!(tug(&["suspend", "kustomization", "apps", "-n", n])
        .status
        .success());
    let all = String::from_utf8_lossy(&tug(&["get", "all", "-n", n]).stdout).to_string();
    assert_aligned(all.split("\n\n").nth(1).unwrap_or_else(|| panic!("{all}")));
    let line = all
        .lines()
        .find(|l| l.starts_with("kustomization/apps"))
        .unwrap_or_else(|| panic!("{all}"));
    assert!(line.contains("True"), "suspended should show True: {line}");
    // No controller runs here: resume without waiting for a reconcile.
    assert!(tug(&["resume", "ks", "apps", "-n", n, "--wait=false"])
        .status
        .success());
    let line = String::from_utf8_lossy(&tug(&["get", "ks", "-n", n]).stdout)
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(line.starts_with("apps") && !line.contains("True"), "{line}");

    assert!(tug(&["delete", "source", "git", "podinfo", "-n", n])
        .status
        .success());
    let missing = tug(&["delete", "source", "git", "podinfo", "-n", n]);
    assert!(!missing.status.success());
    assert!(
        printed(&missing).contains(&format!("GitRepository {n}/podinfo not found")),
        "{}",
        printed(&missing)
    );
    let no_ref = tug(&[
        "create",
        "source",
        "git",
        "x",
        "-n",
        n,
        "--url",
        "https://example.invalid/x",
    ]);
    assert!(!no_ref.status.success());
    assert!(
        printed(&no_ref).contains("a Git reference is required"),
        "{}",
        printed(&no_ref)
    );
}

#[tokio::test]
async fn get_watch_prints_the_rows_then_each_change() {
    use std::io::{BufRead, BufReader};
    assert!(tug(&["install"]).status.success());
    let ns = cluster().namespace("watch").await.unwrap();
    let n = ns.name.as_str();
    let create = |name: &str| {
        let o = tug(&[
            "create",
            "source",
            "git",
            name,
            "-n",
            n,
            "--url",
            "https://example.invalid/repo",
            "--branch",
            "main",
        ]);
        assert!(o.status.success(), "{}", printed(&o));
    };
    create("first");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tug"))
        .args(["get", "sources", "git", "--watch", "-n", n])
        .env("KUBECONFIG", cluster().kubeconfig())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let next = || {
        rx.recv_timeout(std::time::Duration::from_secs(30))
            .expect("a line from tug get --watch")
    };
    assert_eq!(
        words(&next())[..],
        ["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"]
    );
    assert_eq!(words(&next())[..2], ["first", "False"]);
    create("second");
    assert_eq!(words(&next())[..2], ["second", "False"]);
    let o = tug(&["suspend", "source", "git", "second", "-n", n]);
    assert!(o.status.success(), "{}", printed(&o));
    assert_eq!(words(&next())[..2], ["second", "True"]);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn get_into_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    assert!(tug(&["install"]).status.success());
    let ns = cluster().namespace("closed-pipe").await.unwrap();
    let created = tug(&[
        "create",
        "source",
        "git",
        "app",
        "-n",
        &ns.name,
        "--url",
        "https://example.invalid/app",
        "--branch",
        "main",
    ]);
    assert!(created.status.success(), "{}", printed(&created));
    // `tug get all | head -1` once head has exited: the reader of stdout is gone.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let got = Command::new(env!("CARGO_BIN_EXE_tug"))
        .args(["get", "all", "-n", &ns.name])
        .env("KUBECONFIG", cluster().kubeconfig())
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    assert!(
        got.status.success() || got.status.signal() == Some(libc::SIGPIPE),
        "{:?}",
        got.status
    );
}
