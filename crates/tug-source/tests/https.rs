//! HTTPS with a private CA: lighttpd serves TLS with a certificate signed by a CA made for the
//! test; the fetch trusts it only when the secret's `ca.crt` (or legacy `caFile`) names it.

mod common;

use std::collections::BTreeMap;
use tug_api::conditions;
use tug_api::GitRepository;
use tug_source::reconcile::{reconcile, Outcome};
use tug_source::{fetch_with, Auth, Error, FetchOptions, FetchRequest, Storage};
use tug_testsupport::git::{HttpGitServer, RepoRoot, HTTP_PASSWORD, HTTP_USER};

fn object(url: &str) -> GitRepository {
    common::git_repository("tls", url)
}

#[test]
fn https_with_a_private_ca_needs_the_ca_from_the_secret() {
    let repos = RepoRoot::new().unwrap();
    let r = repos.repo("tls").unwrap();
    let head = r.commit(&[("a.yaml", "a: 1\n")], "first").unwrap();
    r.push(&["main"]).unwrap();
    let server = HttpGitServer::start_tls(&repos).unwrap();
    let ca = server.ca_pem().unwrap().to_string();
    let url = server.url("private", "tls");
    assert!(url.starts_with("https://"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::new(dir.path(), "127.0.0.1:9090").unwrap();

    // With the CA and credentials in the secret (Flux's keys): Ready.
    let mut secret: BTreeMap<String, Vec<u8>> = [
        ("username".to_string(), HTTP_USER.as_bytes().to_vec()),
        ("password".to_string(), HTTP_PASSWORD.as_bytes().to_vec()),
        ("ca.crt".to_string(), ca.as_bytes().to_vec()),
    ]
    .into();
    let (status, outcome) = reconcile(&object(&url), Some(&secret), &storage);
    assert_eq!(outcome, Outcome::NewArtifact(format!("main@sha1:{head}")));
    assert!(conditions::is_true(&status.conditions, conditions::READY));
    let files = common::files(dir.path(), status.artifact.as_ref().unwrap());
    assert_eq!(files.get("a.yaml").map(String::as_str), Some("a: 1\n"));

    // The legacy key name works too.
    let ca_bytes = secret.remove("ca.crt").unwrap();
    secret.insert("caFile".into(), ca_bytes);
    let (status, _) = reconcile(&object(&url), Some(&secret), &storage);
    assert!(conditions::is_true(&status.conditions, conditions::READY));

    // Without the CA: a certificate error that says so, and no secret in it.
    secret.remove("caFile");
    let (status, outcome) = reconcile(&object(&url), Some(&secret), &storage);
    let Outcome::Failed { reason, message } = outcome else {
        panic!("fetch without the CA succeeded");
    };
    assert_eq!(reason, "GitOperationFailed");
    assert!(
        message.starts_with(&format!("TLS certificate verification failed for {url}: ")),
        "{message}"
    );
    assert!(
        message.to_ascii_lowercase().contains("unknownissuer")
            || message.to_ascii_lowercase().contains("unknown issuer"),
        "{message}"
    );
    assert!(!message.contains(HTTP_PASSWORD), "{message}");
    assert!(!conditions::is_true(&status.conditions, conditions::READY));

    // A CA that is not a certificate at all is refused before connecting.
    let err = fetch_with(
        &FetchRequest {
            url: &url,
            reference: &common::branch("main"),
            auth: &Auth::None,
            last_revision: None,
        },
        &FetchOptions {
            ca_bundle: Some(b"not a certificate".to_vec()),
        },
    )
    .err()
    .expect("a bad CA must fail");
    assert!(matches!(err, Error::Authentication { .. }), "{err}");
    assert!(err.to_string().contains("invalid CA certificate"), "{err}");
}
