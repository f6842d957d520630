//! `spec.include`: another GitRepository's artifact copied into this one's, from real
//! repositories served over HTTP.

mod common;

use tug_api::conditions;
use tug_api::meta::LocalObjectReference;
use tug_api::source::GitRepositoryInclude;
use tug_api::GitRepository;
use tug_source::include::Include;
use tug_source::reconcile::{reconcile, reconcile_with, IncludeUnavailable, Inputs, Outcome};
use tug_source::Storage;
use tug_testsupport::git::{HttpGitServer, RepoRoot};

fn object(name: &str, url: &str, include: Vec<GitRepositoryInclude>) -> GitRepository {
    let mut obj = common::git_repository(name, url);
    obj.spec.include = include;
    obj
}

fn include(name: &str, from: Option<&str>, to: Option<&str>) -> GitRepositoryInclude {
    GitRepositoryInclude {
        repository: LocalObjectReference { name: name.into() },
        from_path: from.map(str::to_string),
        to_path: to.map(str::to_string),
    }
}

fn ready(status: &tug_api::GitRepositoryStatus) -> (String, String, String) {
    let c = conditions::find(&status.conditions, conditions::READY).unwrap();
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

#[test]
fn included_artifacts_are_copied_repacked_on_change_and_paths_checked() {
    let repos = RepoRoot::new().unwrap();
    let app = repos.repo("app").unwrap();
    let app_head = app
        .commit(
            &[
                ("deploy/app.yaml", "app: 1\n"),
                ("shared/old.yaml", "replaced: true\n"),
            ],
            "app",
        )
        .unwrap();
    app.push(&["main"]).unwrap();
    let lib = repos.repo("lib").unwrap();
    lib.commit(
        &[
            ("base/cm.yaml", "lib: 1\n"),
            ("base/nested/x.yaml", "x: 1\n"),
            ("README.md", "lib\n"),
        ],
        "lib",
    )
    .unwrap();
    lib.push(&["main"]).unwrap();
    let server = HttpGitServer::start(&repos).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::new(dir.path(), "127.0.0.1:9090").unwrap();

    // The included repository reconciles on its own first.
    let mut lib_obj = object("lib", &server.url("git", "lib"), vec![]);
    let (status, _) = reconcile(&lib_obj, None, &storage);
    lib_obj.status = Some(status);
    let lib_artifact = lib_obj.status.as_ref().unwrap().artifact.clone().unwrap();

    // Not available yet: IncludeUnavailable, nothing fetched.
    let specs = vec![
        include("lib", Some("base"), Some("shared")),
        include("lib", None, None),
    ];
    let mut obj = object("app", &server.url("git", "app"), specs.clone());
    let waiting = Inputs {
        includes: vec![
            Err(IncludeUnavailable::no_artifact("lib")),
            Err(IncludeUnavailable::no_artifact("lib")),
        ],
        ..Default::default()
    };
    let (status, outcome) = reconcile_with(&obj, &waiting, &storage);
    assert_eq!(
        outcome,
        Outcome::Failed {
            reason: "NoArtifact".into(),
            message: "no artifact available for include 'lib'".into()
        }
    );
    let c = conditions::find(&status.conditions, conditions::INCLUDE_UNAVAILABLE).unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("True", "NoArtifact")
    );
    assert_eq!(ready(&status).0, "False");
    assert!(status.artifact.is_none());

    // Available: `base` of lib at `shared` (replacing the app's own `shared`), all of lib at
    // `lib`; the revision stays the app's.
    let inputs = |artifact: &tug_api::meta::Artifact| Inputs {
        includes: specs
            .iter()
            .map(|s| Ok(Include::new(s, artifact.clone())))
            .collect(),
        ..Default::default()
    };
    let (status, outcome) = reconcile_with(&obj, &inputs(&lib_artifact), &storage);
    assert_eq!(
        outcome,
        Outcome::NewArtifact(format!("main@sha1:{app_head}"))
    );
    assert!(conditions::find(&status.conditions, conditions::INCLUDE_UNAVAILABLE).is_none());
    let files = common::files(dir.path(), status.artifact.as_ref().unwrap());
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "deploy/",
            "deploy/app.yaml",
            "lib/",
            "lib/README.md",
            "lib/base/",
            "lib/base/cm.yaml",
            "lib/base/nested/",
            "lib/base/nested/x.yaml",
            "shared/",
            "shared/cm.yaml",
            "shared/nested/",
            "shared/nested/x.yaml",
        ]
    );
    assert_eq!(files["shared/cm.yaml"], "lib: 1\n");
    assert_eq!(status.included_artifacts, vec![lib_artifact.clone(); 2]);
    assert_eq!(status.observed_include, specs);
    obj.status = Some(status);
    let first = obj.status.as_ref().unwrap().artifact.clone().unwrap();

    // Nothing changed: up to date, same artifact.
    let (status, outcome) = reconcile_with(&obj, &inputs(&lib_artifact), &storage);
    assert_eq!(outcome, Outcome::UpToDate(format!("main@sha1:{app_head}")));
    assert_eq!(status.artifact.as_ref(), Some(&first));

    // The included repository moves: the app's artifact is packed again, same revision,
    // new content.
    lib.commit(&[("base/cm.yaml", "lib: 2\n")], "lib 2")
        .unwrap();
    lib.push(&["main"]).unwrap();
    let (status, _) = reconcile(&lib_obj, None, &storage);
    lib_obj.status = Some(status);
    let lib_artifact2 = lib_obj.status.as_ref().unwrap().artifact.clone().unwrap();
    assert_ne!(lib_artifact2.digest, lib_artifact.digest);
    let (status, outcome) = reconcile_with(&obj, &inputs(&lib_artifact2), &storage);
    assert_eq!(
        outcome,
        Outcome::NewArtifact(format!("main@sha1:{app_head}"))
    );
    let second = status.artifact.clone().unwrap();
    assert_eq!(second.revision, first.revision);
    assert_ne!(second.digest, first.digest);
    assert_eq!(
        common::files(dir.path(), &second)["shared/cm.yaml"],
        "lib: 2\n"
    );

    // Paths that leave the artifact root are refused.
    for (from, to) in [(None, Some("../escape")), (Some("../../etc"), Some("x"))] {
        let specs = vec![include("lib", from, to)];
        let obj = object("app", &server.url("git", "app"), specs.clone());
        let inputs = Inputs {
            includes: vec![Ok(Include::new(&specs[0], lib_artifact2.clone()))],
            ..Default::default()
        };
        let (status, outcome) = reconcile_with(&obj, &inputs, &storage);
        let Outcome::Failed { reason, message } = outcome else {
            panic!("{from:?} -> {to:?} accepted");
        };
        assert_eq!(reason, "IllegalPath");
        assert!(
            message.starts_with("path calculation for include 'lib' failed: ")
                && message.contains("leaves the artifact root"),
            "{message}"
        );
        assert!(conditions::is_true(
            &status.conditions,
            conditions::STORAGE_OPERATION_FAILED
        ));
    }

    // A fromPath that the included artifact does not have.
    let specs = vec![include("lib", Some("nope"), None)];
    let obj = object("app", &server.url("git", "app"), specs.clone());
    let inputs = Inputs {
        includes: vec![Ok(Include::new(&specs[0], lib_artifact2.clone()))],
        ..Default::default()
    };
    let (_, outcome) = reconcile_with(&obj, &inputs, &storage);
    assert!(
        matches!(&outcome, Outcome::Failed { reason, .. } if reason == "CopyFailure"),
        "{outcome:?}"
    );
}
