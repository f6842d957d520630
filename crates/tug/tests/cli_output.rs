//! What a newcomer sees of the CLI before any cluster exists: error messages, help texts,
//! and output into a pipe whose reader went away. No control plane is needed here.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};

/// `tug` with no cluster configured anywhere: no KUBECONFIG, an empty home, not in a pod.
fn tug_without_cluster(args: &[&str], home: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tug"))
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env("HOME", home)
        .output()
        .expect("running tug")
}

#[test]
fn an_error_prints_each_cause_once() {
    let home = tempfile::tempdir().unwrap();
    let out = tug_without_cluster(&["version"], home.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The client version still goes to stdout first.
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("tug: v"),
        "{stderr}"
    );
    let line = stderr
        .lines()
        .find(|l| l.starts_with('✗'))
        .unwrap_or_else(|| panic!("no error line:\n{stderr}"));
    // Outermost first: what tug was doing, then why.
    assert!(
        line.starts_with("✗ finding cluster configuration"),
        "{line}"
    );
    assert_eq!(
        line.matches("No such file or directory").count(),
        1,
        "a cause is repeated: {line}"
    );
    let kubeconfig = home.path().join(".kube/config");
    assert_eq!(
        line.matches(&*kubeconfig.to_string_lossy()).count(),
        1,
        "the kubeconfig path is repeated: {line}"
    );
}

#[test]
fn help_describes_kubeconfig_once() {
    for args in [
        &["--help"][..],
        &["get", "all", "--help"],
        &["controller", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tug"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            help.matches("Path to the kubeconfig file").count(),
            1,
            "tug {}:\n{help}",
            args.join(" ")
        );
        assert!(
            help.contains("default: $KUBECONFIG, then ~/.kube/config, then in-cluster"),
            "{help}"
        );
    }
}

/// Runs `tug args` with a stdout whose reader is already closed, as `tug ... | head -1`
/// leaves it once head has its line.
fn into_closed_pipe(args: &[&str], dir: &std::path::Path) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_tug"))
        .args(args)
        .current_dir(dir)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// Ended as `tug ... | head` should: no panic, no message, and the status of a process
/// that met a closed pipe (killed by SIGPIPE, as shells and `pipefail` expect), or success.
fn assert_quiet_end(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{what} printed on stderr:\n{stderr}");
    assert!(
        out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
        "{what}: {:?}",
        out.status
    );
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let out = into_closed_pipe(&["version", "--client"], dir.path());
    assert_quiet_end(&out, "tug version --client");

    // Output much larger than a pipe's buffer, written in many pieces.
    let mut resources = String::new();
    for i in 0..500 {
        std::fs::write(
            dir.path().join(format!("cm-{i}.yaml")),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  key: \"{}\"\n", "x".repeat(200)),
        )
        .unwrap();
        resources.push_str(&format!("- cm-{i}.yaml\n"));
    }
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        format!("resources:\n{resources}"),
    )
    .unwrap();
    let out = into_closed_pipe(&["kustomize", "build", "."], dir.path());
    assert_quiet_end(&out, "tug kustomize build");
}
