//! `spec.verify`: commits and tags signed by real `gpg` keys, fetched from a real HTTP git
//! server, verified against the armored public keys of a Secret.

use std::collections::BTreeMap;
use tug_api::conditions;
use tug_api::source::{GitRepositoryRef, GitRepositorySpec, GitRepositoryVerification};
use tug_api::GitRepository;
use tug_source::reconcile::{reconcile_with, Inputs, Outcome};
use tug_source::Storage;
use tug_testsupport::git::{GpgKey, HttpGitServer, RepoRoot};

fn object(url: &str, reference: GitRepositoryRef, mode: &str) -> GitRepository {
    let mut obj = GitRepository::new(
        "signed",
        GitRepositorySpec {
            url: url.to_string(),
            interval: "1m".into(),
            reference: Some(reference),
            verification: Some(GitRepositoryVerification {
                mode: Some(mode.into()),
                secret_ref: tug_api::meta::LocalObjectReference {
                    name: "pgp-keys".into(),
                },
            }),
            ..Default::default()
        },
    );
    obj.metadata.namespace = Some("flux-system".into());
    obj.metadata.generation = Some(1);
    obj
}

fn branch(b: &str) -> GitRepositoryRef {
    GitRepositoryRef {
        branch: Some(b.into()),
        ..Default::default()
    }
}

fn condition(obj: &GitRepository, t: &str) -> Option<(String, String, String)> {
    conditions::find(&obj.status.as_ref()?.conditions, t)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

fn keys(pairs: &[(&str, &GpgKey)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, key)| (k.to_string(), key.public_armored.as_bytes().to_vec()))
        .collect()
}

fn storage() -> (Storage, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Storage::new(dir.path(), "localhost:9090").unwrap(), dir)
}

#[test]
fn signed_commits_are_verified_and_unsigned_or_foreign_ones_refused() {
    let trusted = GpgKey::generate("trusted@tug.invalid").unwrap();
    let stranger = GpgKey::generate("stranger@tug.invalid").unwrap();
    let repos = RepoRoot::new().unwrap();
    let r = repos.repo("signed").unwrap();
    let signed = r
        .commit_signed(&[("app.yaml", "a: 1\n")], "signed", &trusted)
        .unwrap();
    r.push(&["main"]).unwrap();
    let server = HttpGitServer::start(&repos).unwrap();
    let (storage, _dir) = storage();
    let secret = keys(&[("author.asc", &trusted)]);
    let inputs = Inputs {
        verification_keys: Some(Ok(&secret)),
        ..Default::default()
    };
    let mut obj = object(&server.url("git", "signed"), branch("main"), "HEAD");

    // A commit signed by a trusted key: verified, artifact stored.
    let (status, outcome) = reconcile_with(&obj, &inputs, &storage);
    obj.status = Some(status);
    assert_eq!(outcome, Outcome::NewArtifact(format!("main@sha1:{signed}")));
    assert_eq!(
        condition(&obj, conditions::SOURCE_VERIFIED).unwrap(),
        (
            "True".into(),
            "Succeeded".into(),
            format!(
                "verified signature of\n\t- commit '{signed}' with key '{}'",
                trusted.key_id
            )
        )
    );
    assert_eq!(
        obj.status
            .as_ref()
            .unwrap()
            .source_verification_mode
            .as_deref(),
        Some("HEAD")
    );
    let verified_artifact = obj.status.as_ref().unwrap().artifact.clone().unwrap();

    // The next poll with nothing new changes nothing and verifies nothing again.
    let (status, outcome) = reconcile_with(&obj, &inputs, &storage);
    assert_eq!(outcome, Outcome::UpToDate(format!("main@sha1:{signed}")));
    obj.status = Some(status);

    // An unsigned commit: refused, no artifact for it, the last verified one stays.
    let unsigned = r.commit(&[("app.yaml", "a: 2\n")], "unsigned").unwrap();
    r.push(&["main"]).unwrap();
    let (status, outcome) = reconcile_with(&obj, &inputs, &storage);
    obj.status = Some(status);
    let expected = format!(
        "signature verification of commit '{unsigned}' failed: unable to verify Git commit: commit does not have a PGP signature"
    );
    assert_eq!(
        outcome,
        Outcome::Failed {
            reason: "InvalidCommitSignature".into(),
            message: expected.clone()
        }
    );
    assert_eq!(
        condition(&obj, conditions::SOURCE_VERIFIED).unwrap(),
        (
            "False".into(),
            "InvalidCommitSignature".into(),
            expected.clone()
        )
    );
    assert_eq!(
        condition(&obj, conditions::READY).unwrap(),
        ("False".into(), "InvalidCommitSignature".into(), expected)
    );
    assert_eq!(
        obj.status.as_ref().unwrap().artifact.as_ref(),
        Some(&verified_artifact)
    );
    let stored: Vec<_> = std::fs::read_dir(storage.root().join("gitrepository/flux-system/signed"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tar.gz"))
        .collect();
    assert_eq!(
        stored.len(),
        1,
        "only the verified artifact is stored: {stored:?}"
    );

    // Signed by a key that is not in the Secret: refused.
    let foreign = r
        .commit_signed(&[("app.yaml", "a: 3\n")], "foreign", &stranger)
        .unwrap();
    r.push(&["main"]).unwrap();
    let (status, outcome) = reconcile_with(&obj, &inputs, &storage);
    obj.status = Some(status);
    let expected = format!(
        "signature verification of commit '{foreign}' failed: unable to verify Git commit: unable to verify payload with any of the given key rings"
    );
    assert_eq!(
        condition(&obj, conditions::READY).unwrap(),
        (
            "False".into(),
            "InvalidCommitSignature".into(),
            expected.clone()
        )
    );
    assert!(matches!(outcome, Outcome::Failed { .. }));

    // Once the stranger's key is trusted too, the same commit is accepted.
    let both = keys(&[("author.asc", &trusted), ("stranger.asc", &stranger)]);
    let inputs = Inputs {
        verification_keys: Some(Ok(&both)),
        ..Default::default()
    };
    let (status, outcome) = reconcile_with(&obj, &inputs, &storage);
    obj.status = Some(status);
    assert_eq!(
        outcome,
        Outcome::NewArtifact(format!("main@sha1:{foreign}"))
    );
    assert_eq!(
        condition(&obj, conditions::SOURCE_VERIFIED).unwrap().2,
        format!(
            "verified signature of\n\t- commit '{foreign}' with key '{}'",
            stranger.key_id
        )
    );

    // The Secret missing: VerificationError, as Flux says it.
    let fresh = object(&server.url("git", "signed"), branch("main"), "HEAD");
    let inputs = Inputs {
        verification_keys: Some(Err("secrets \"pgp-keys\" not found".into())),
        ..Default::default()
    };
    let (status, _) = reconcile_with(&fresh, &inputs, &storage);
    let c = conditions::find(&status.conditions, conditions::SOURCE_VERIFIED).unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_str(), c.message.as_str()),
        (
            "False",
            "VerificationError",
            "PGP public keys secret error: secrets \"pgp-keys\" not found"
        )
    );
    assert!(status.artifact.is_none());
}

#[test]
fn signed_tags_are_verified_in_tag_mode() {
    let trusted = GpgKey::generate("release@tug.invalid").unwrap();
    let repos = RepoRoot::new().unwrap();
    let r = repos.repo("tagged").unwrap();
    let commit = r.commit(&[("app.yaml", "a: 1\n")], "release").unwrap();
    r.tag_signed("v1.0.0", "release 1.0.0", &trusted).unwrap();
    r.git(&["tag", "-a", "-m", "unsigned", "v1.0.1"]).unwrap();
    r.push_all().unwrap();
    let tag_object = r.git(&["rev-parse", "v1.0.0"]).unwrap();
    let unsigned_tag = r.git(&["rev-parse", "v1.0.1"]).unwrap();
    let server = HttpGitServer::start(&repos).unwrap();
    let (storage, _dir) = storage();
    let secret = keys(&[("release.asc", &trusted)]);
    let inputs = Inputs {
        verification_keys: Some(Ok(&secret)),
        ..Default::default()
    };
    let tag = |t: &str| GitRepositoryRef {
        tag: Some(t.into()),
        ..Default::default()
    };

    // Tag mode: the tag's signature is checked (the commit itself is unsigned).
    let obj = object(&server.url("git", "tagged"), tag("v1.0.0"), "Tag");
    let (status, outcome) = reconcile_with(&obj, &inputs, &storage);
    assert_eq!(
        outcome,
        Outcome::NewArtifact(format!("v1.0.0@sha1:{commit}"))
    );
    let c = conditions::find(&status.conditions, conditions::SOURCE_VERIFIED).unwrap();
    assert_eq!(
        c.message,
        format!(
            "verified signature of\n\t- tag 'v1.0.0@{tag_object}' with key '{}'",
            trusted.key_id
        )
    );
    assert_eq!(status.source_verification_mode.as_deref(), Some("Tag"));

    // TagAndHEAD: the unsigned commit fails after the tag passed.
    let obj = object(&server.url("git", "tagged"), tag("v1.0.0"), "TagAndHEAD");
    let (status, _) = reconcile_with(&obj, &inputs, &storage);
    let c = conditions::find(&status.conditions, conditions::READY).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.clone()),
        (
            "InvalidCommitSignature",
            format!("signature verification of commit '{commit}' failed: unable to verify Git commit: commit does not have a PGP signature")
        )
    );

    // An unsigned annotated tag.
    let obj = object(&server.url("git", "tagged"), tag("v1.0.1"), "Tag");
    let (status, _) = reconcile_with(&obj, &inputs, &storage);
    let c = conditions::find(&status.conditions, conditions::READY).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.clone()),
        (
            "InvalidGitObject",
            format!(
                "cannot verify signature of tag 'v1.0.1@{unsigned_tag}' since it is not signed"
            )
        )
    );

    // Tag mode on a branch: there is no tag to verify; stalled until the spec changes.
    let obj = object(&server.url("git", "tagged"), branch("main"), "Tag");
    let (status, _) = reconcile_with(&obj, &inputs, &storage);
    let c = conditions::find(&status.conditions, conditions::READY).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        (
            "InvalidVerificationMode",
            "cannot verify tag object's signature if a tag reference is not specified"
        )
    );
    assert!(conditions::is_true(&status.conditions, conditions::STALLED));
}
