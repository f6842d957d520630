//! `tug push/pull/tag/list artifact(s)` against a real registry (Debian's docker-registry),
//! as a user runs them. No cluster is involved.

use std::fs;
use std::process::{Command, Output};
use tug_testsupport::registry::Registry;

fn tug(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tug"))
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("TUG_OCI_CREDS")
        .output()
        .expect("running tug")
}

fn printed(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(args: &[&str]) -> Output {
    let out = tug(args);
    assert!(out.status.success(), "tug {args:?}:\n{}", printed(&out));
    out
}

#[test]
fn push_pull_tag_and_list_an_artifact() {
    let registry = Registry::start_plain().unwrap();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("manifests");
    fs::create_dir_all(src.join("apps")).unwrap();
    fs::write(src.join("apps/app.yaml"), "kind: ConfigMap\n").unwrap();
    fs::write(
        src.join("kustomization.yaml"),
        "resources: [apps/app.yaml]\n",
    )
    .unwrap();
    fs::write(src.join("logo.png"), "png").unwrap();
    let url = format!("{}:v1.0.0", registry.url("org/config"));
    let src_arg = src.to_str().unwrap();
    let push = [
        "push",
        "artifact",
        url.as_str(),
        "--path",
        src_arg,
        "--source",
        "https://github.com/org/config",
        "--revision",
        "main@sha1:0123456789abcdef0123456789abcdef01234567",
        "--annotations",
        "org.opencontainers.image.licenses=Apache-2.0",
    ];

    // Plain HTTP needs --insecure-registry, as with flux.
    let out = tug(&push);
    assert!(!out.status.success());
    let text = printed(&out);
    assert!(
        text.contains("✗")
            && text.contains("--insecure-registry")
            && text.contains(&registry.host()),
        "{text}"
    );

    let mut insecure = push.to_vec();
    insecure.push("--insecure-registry");
    let out = ok(&insecure);
    let text = printed(&out);
    assert!(
        text.contains(&format!("► pushing artifact to {}", &url["oci://".len()..])),
        "{text}"
    );
    let digest = text
        .split("@sha256:")
        .nth(1)
        .map(|rest| format!("sha256:{}", &rest[..64]))
        .unwrap_or_else(|| panic!("no digest in {text}"));
    assert!(
        text.contains(&format!(
            "✔ artifact successfully pushed to {}/org/config@{digest}",
            registry.host()
        )),
        "{text}"
    );

    // --output json prints the result only.
    let mut json = insecure.clone();
    json.extend(["--output", "json", "--reproducible"]);
    let out = ok(&json);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["tag"], "v1.0.0");
    assert_eq!(
        info["repository"],
        format!("{}/org/config", registry.host())
    );
    let reproducible = info["digest"].as_str().unwrap().to_string();
    let out = ok(&json);
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        again["digest"], reproducible,
        "--reproducible pushes give one digest"
    );

    // Pull into a directory.
    let dest = work.path().join("pulled");
    fs::create_dir_all(&dest).unwrap();
    let out = ok(&[
        "pull",
        "artifact",
        &url,
        "--output",
        dest.to_str().unwrap(),
        "--insecure-registry",
    ]);
    let text = printed(&out);
    assert!(
        text.contains("✔ source https://github.com/org/config"),
        "{text}"
    );
    assert!(
        text.contains("✔ revision main@sha1:0123456789abcdef0123456789abcdef01234567"),
        "{text}"
    );
    assert!(
        text.contains(&format!("✔ digest {}/org/config@sha256:", registry.host())),
        "{text}"
    );
    assert_eq!(
        fs::read_to_string(dest.join("apps/app.yaml")).unwrap(),
        "kind: ConfigMap\n"
    );
    assert!(
        !dest.join("logo.png").exists(),
        "*.png is ignored by default, as flux"
    );

    // Tag it, then list.
    let out = ok(&[
        "tag",
        "artifact",
        &url,
        "--tag",
        "latest,stable",
        "--insecure-registry",
    ]);
    let text = printed(&out);
    assert!(
        text.contains(&format!(
            "✔ artifact tagged as {}/org/config:stable",
            registry.host()
        )),
        "{text}"
    );
    let repo = registry.url("org/config");
    let out = ok(&["list", "artifacts", &repo, "--insecure-registry"]);
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = listing.lines().collect();
    assert!(
        lines[0].starts_with("ARTIFACT") && lines[0].contains("DIGEST"),
        "{listing}"
    );
    assert_eq!(lines.len(), 4, "{listing}");
    // Newest tag names first, as flux sorts them.
    assert!(lines[1].contains("org/config:v1.0.0"), "{listing}");
    assert!(lines[1].contains(&reproducible), "{listing}");
    assert!(
        lines[1].contains("https://github.com/org/config"),
        "{listing}"
    );
    assert!(lines[2].contains(":stable"), "{listing}");

    let out = ok(&[
        "list",
        "artifacts",
        &repo,
        "--insecure-registry",
        "--filter-semver",
        ">=1.0.0",
    ]);
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(listing.lines().count(), 2, "{listing}");
    let out = ok(&[
        "list",
        "artifacts",
        &repo,
        "--insecure-registry",
        "--filter-regex",
        "^l",
    ]);
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(listing.lines().count(), 2, "{listing}");
    assert!(listing.contains(":latest"), "{listing}");

    // A missing tag is a clear error.
    let out = tug(&[
        "pull",
        "artifact",
        &format!("{repo}:nope"),
        "--output",
        dest.to_str().unwrap(),
        "--insecure-registry",
    ]);
    assert!(!out.status.success());
    let text = printed(&out);
    assert!(
        text.contains("not found") && text.contains("org/config:nope"),
        "{text}"
    );
}
