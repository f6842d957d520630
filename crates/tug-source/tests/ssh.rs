//! Fetching over SSH from OpenSSH's sshd: key auth (plain and passphrase-protected), and the
//! failures a user must be able to tell apart: wrong key, unknown host key.

mod common;

use common::*;
use tug_source::{Auth, Error, SshAuth};
use tug_testsupport::git::{RepoRoot, SshKey, SshServer};

fn setup() -> (RepoRoot, SshServer, String) {
    let repos = RepoRoot::new().unwrap();
    let r = repos.repo("app").unwrap();
    let head = r
        .commit(&[("app.yaml", "kind: ConfigMap\n")], "first")
        .unwrap();
    r.push(&["main"]).unwrap();
    let server = SshServer::start(&repos).unwrap();
    (repos, server, head)
}

fn auth(key: &SshKey, known_hosts: String, passphrase: Option<&str>) -> Auth {
    Auth::Ssh(SshAuth {
        identity: key.private.clone().into_bytes(),
        passphrase: passphrase.map(str::to_string),
        known_hosts: known_hosts.into_bytes(),
    })
}

#[test]
fn authorised_key_and_known_host_fetch() {
    let (_repos, server, head) = setup();
    let (a, dir) = pull(
        &server.url("app"),
        &branch("main"),
        &auth(&server.client_key, server.known_hosts(), None),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", server.process.log()));
    assert_eq!(a.revision, format!("main@sha1:{head}"));
    assert_eq!(
        files(dir.path(), &a).get("app.yaml").map(String::as_str),
        Some("kind: ConfigMap\n")
    );
}

#[test]
fn passphrase_protected_key_fetches_and_the_passphrase_never_shows() {
    let (repos, server, head) = setup();
    let key = SshKey::generate(repos.path(), "protected", Some("correct-horse-42")).unwrap();
    // Authorise the protected key too.
    let authorized = server.process_dir().join("authorized_keys");
    tug_testsupport::git::append(&authorized, key.public.trim()).unwrap();
    let (a, _d) = pull(
        &server.url("app"),
        &branch("main"),
        &auth(&key, server.known_hosts(), Some("correct-horse-42")),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", server.process.log()));
    assert_eq!(a.revision, format!("main@sha1:{head}"));
    let err = pull(
        &server.url("app"),
        &branch("main"),
        &auth(&key, server.known_hosts(), Some("wrong-horse-17")),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err}");
    assert!(!err.to_string().contains("wrong-horse-17"), "{err}");
}

#[test]
fn wrong_key_is_an_authentication_failure() {
    let (repos, server, _) = setup();
    let stranger = SshKey::generate(repos.path(), "stranger", None).unwrap();
    let err = pull(
        &server.url("app"),
        &branch("main"),
        &auth(&stranger, server.known_hosts(), None),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("127.0.0.1:{}", server.process.port)),
        "{msg}"
    );
    assert!(!msg.contains("PRIVATE KEY"), "{msg}");
}

#[test]
fn unknown_host_key_is_refused() {
    let (repos, server, _) = setup();
    let other_host = SshKey::generate(repos.path(), "other_host", None).unwrap();
    let wrong_known_hosts = format!(
        "[127.0.0.1]:{} {}\n",
        server.process.port,
        other_host.public.trim()
    );
    for known_hosts in [wrong_known_hosts, String::new()] {
        let err = pull(
            &server.url("app"),
            &branch("main"),
            &auth(&server.client_key, known_hosts, None),
        )
        .unwrap_err();
        assert!(matches!(err, Error::HostKey { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("host key verification failed for ssh://"),
            "{err}"
        );
    }
}
