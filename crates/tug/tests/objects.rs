//! The flux-style verbs on real objects: create (and --export), get, suspend, resume, delete.

use std::process::{Command, Output};
use tug_testsupport::cluster;

fn tug(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tug"))
        .args(args)
        .env("KUBECONFIG", cluster().kubeconfig())
        .output()
        .expect("running tug")
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
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
    assert!(created.status.success(), "{}", out(&created));
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
    assert!(ks.status.success(), "{}", out(&ks));

    let listed = tug(&["get", "sources", "git", "-n", n]);
    let table = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(table.starts_with("NAME"), "{table}");
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
        out(&missing).contains(&format!("GitRepository {n}/podinfo not found")),
        "{}",
        out(&missing)
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
        out(&no_ref).contains("a Git reference is required"),
        "{}",
        out(&no_ref)
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
        assert!(o.status.success(), "{}", out(&o));
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
    assert!(next().starts_with("NAME\tREVISION\tSUSPENDED\tREADY"));
    assert!(next().starts_with("first\t"));
    create("second");
    assert!(next().starts_with("second\t\tFalse\t"));
    let o = tug(&["suspend", "source", "git", "second", "-n", n]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(next().starts_with("second\t\tTrue\t"));
    let _ = child.kill();
    let _ = child.wait();
}
