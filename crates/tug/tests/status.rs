//! End to end: what a user reads of a Kustomization (its conditions and Events) after what the
//! controller concluded, and the CLI commands that behave as Flux's do, on the real control
//! plane with a real Git server.

use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tug_testsupport::git::{GitRepo, HttpGitServer, RepoRoot};
use tug_testsupport::{cluster, TestNamespace};

mod common;
use common::{
    condition, create, gitrepositories, install, kustomizations, wait_for, ControllerProcess,
};

fn configmap(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  key: {value}\n")
}

fn ready(obj: &DynamicObject) -> Option<Value> {
    condition(obj, "Ready")
}

/// A repository holding `files` on `main`, served over HTTP, a GitRepository `app` on it in
/// a fresh namespace, and a controller watching that namespace.
struct Source {
    ns: TestNamespace,
    repo: GitRepo,
    _server: HttpGitServer,
    _repos: RepoRoot,
    ctrl: ControllerProcess,
}

impl Source {
    async fn new(test: &str, files: &[(&str, &str)]) -> Source {
        install();
        let ns = cluster().namespace(test).await.unwrap();
        let repos = RepoRoot::new().unwrap();
        let repo = repos.repo("app").unwrap();
        repo.commit(files, "initial").unwrap();
        repo.push(&["main"]).unwrap();
        let server = HttpGitServer::start(&repos).unwrap();
        let ctrl = ControllerProcess::start_with(&ns.name, "", &[]);
        create(
            &gitrepositories(&ns),
            json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": "app", "namespace": ns.name},
                "spec": {"url": server.url("git", "app"), "interval": "10m", "ref": {"branch": "main"}}
            }),
        )
        .await;
        Source {
            ns,
            repo,
            _server: server,
            _repos: repos,
            ctrl,
        }
    }

    /// Creates a Kustomization of `path` on the source, with `spec` merged in.
    async fn kustomization(&self, name: &str, path: &str, spec: Value) {
        let mut full = json!({
            "interval": "10m", "prune": true, "path": path, "targetNamespace": self.ns.name,
            "sourceRef": {"kind": "GitRepository", "name": "app"}
        });
        for (k, v) in spec.as_object().unwrap() {
            full[k] = v.clone();
        }
        create(
            &kustomizations(&self.ns),
            json!({
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": name, "namespace": self.ns.name},
                "spec": full
            }),
        )
        .await;
    }

    /// How many reconciles of Kustomization `name` the controller has finished, from its
    /// `gotk_reconcile_duration_seconds_count` metric.
    fn reconciles(&self, name: &str) -> u64 {
        let series = format!(
            "gotk_reconcile_duration_seconds_count{{kind=\"Kustomization\",name=\"{name}\",namespace=\"{}\"}} ",
            self.ns.name
        );
        self.ctrl
            .metrics()
            .lines()
            .find_map(|l| l.strip_prefix(&series).and_then(|n| n.trim().parse().ok()))
            .unwrap_or(0)
    }

    /// Waits until more than `than` reconciles of `name` have finished.
    async fn wait_for_reconciles(&self, name: &str, than: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.reconciles(name) <= than {
            assert!(
                Instant::now() < deadline,
                "{name} was not reconciled again\n{}",
                self.ctrl.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// How many times Events of `reason` were published about Kustomization `name`
    /// (repeats of one Event are counted in its series).
    async fn events(&self, name: &str, reason: &str) -> i32 {
        let events: Api<Event> = self.ns.api();
        events
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|e| {
                e.reason.as_deref() == Some(reason)
                    && e.regarding.as_ref().is_some_and(|r| {
                        r.kind.as_deref() == Some("Kustomization")
                            && r.name.as_deref() == Some(name)
                    })
            })
            .map(|e| e.series.as_ref().map_or(1, |s| s.count))
            .sum()
    }
}

/// Two failing reconciles of one Kustomization within one second end with the failure on
/// the object, not with the "Reconciliation in progress" the second one wrote on its way,
/// and each failure is published as an Event (alerts are built on them).
#[tokio::test]
async fn a_failure_repeated_within_a_second_stays_ready_false_with_its_event() {
    let s = Source::new(
        "status-repeat",
        &[
            ("infra/a.yaml", &configmap("a", "one")),
            ("apps/kustomization.yaml", "resources:\n- missing.yaml\n"),
        ],
    )
    .await;
    let kss = kustomizations(&s.ns);
    s.kustomization("infra", "./infra", json!({})).await;
    // No retryInterval: a failure is retried only at the interval (10m), so only what the
    // test triggers reconciles `apps`.
    s.kustomization("apps", "./apps", json!({"dependsOn": [{"name": "infra"}]}))
        .await;
    wait_for(
        &kss,
        "apps",
        &s.ctrl,
        Duration::from_secs(60),
        "BuildFailed",
        |o| ready(o).is_some_and(|c| c["reason"] == "BuildFailed"),
    )
    .await;

    // Every change of `infra` queues its dependent `apps` at once; each of these reconciles
    // fails the same way moments after the one before, most within the same second.
    for round in 0..6 {
        let before = s.reconciles("apps");
        let events_before = s.events("apps", "BuildFailed").await;
        let label = json!({"metadata": {"labels": {"round": round.to_string()}}});
        kss.patch("infra", &PatchParams::default(), &Patch::Merge(&label))
            .await
            .unwrap();
        s.wait_for_reconciles("apps", before).await;

        // The reconcile that ended may have had another queued behind it (infra's own
        // writes queue `apps` too): what the last one concluded must show, not its progress.
        let apps = wait_for(
            &kss,
            "apps",
            &s.ctrl,
            Duration::from_secs(20),
            &format!("round {round}: Ready=False after the reconcile"),
            |o| ready(o).is_some_and(|c| c["status"] == "False"),
        )
        .await;
        let cond = ready(&apps).unwrap();
        assert_eq!(cond["reason"], "BuildFailed", "round {round}: {cond}");
        let message = cond["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("kustomize build of ./apps failed")
                && message.contains("missing.yaml"),
            "round {round}: {message}"
        );
        let reconciling = condition(&apps, "Reconciling").unwrap();
        assert_eq!(
            reconciling["reason"], "ProgressingWithRetry",
            "{reconciling}"
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let published = s.events("apps", "BuildFailed").await;
            if published > events_before {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: the failure was not published as an Event ({published} so far)\n{}",
                s.ctrl.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `tug build kustomization` and `tug diff kustomization` substitute `spec.postBuild`
/// variables as the controller does (`substitute`, then ConfigMaps and Secrets read from the
/// cluster), as `flux build kustomization` does: the preview shows what will be applied.
#[tokio::test]
async fn build_and_diff_substitute_post_build_variables_from_the_cluster() {
    install();
    let ns = cluster().namespace("status-build-vars").await.unwrap();
    let n = ns.name.as_str();
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = ns.api();
    cms.create(
        &Default::default(),
        &serde_json::from_value(
            json!({"metadata": {"name": "vars"}, "data": {"colour": "blue", "suffix": "from-cm"}}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = ns.api();
    secrets
        .create(
            &Default::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "secret-vars"}, "stringData": {"size": "large\n"}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    create(
        &kustomizations(&ns),
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": n},
            "spec": {
                "interval": "10m", "prune": true, "path": "./deploy", "targetNamespace": n,
                "suspend": true,
                "sourceRef": {"kind": "GitRepository", "name": "app"},
                "postBuild": {
                    "substitute": {"suffix": "x"},
                    "substituteFrom": [
                        {"kind": "ConfigMap", "name": "vars"},
                        {"kind": "Secret", "name": "secret-vars"},
                        {"kind": "Secret", "name": "absent", "optional": true}
                    ]
                }
            }
        }),
    )
    .await;
    let dir = std::env::temp_dir().join(format!("tug-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-${suffix}\ndata:\n  colour: ${colour}\n  size: ${size}\n  greeting: ${greeting:=hello}\n",
    )
    .unwrap();
    let path = dir.to_str().unwrap();

    let out = common::tug(&["build", "kustomization", "app", "--path", path, "-n", n]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built: Value = serde_yaml::from_str(stdout.trim_start_matches("---\n")).unwrap();
    assert_eq!(
        built["metadata"]["name"], "c-x",
        "substitute wins: {stdout}"
    );
    assert_eq!(
        built["data"]["colour"], "blue",
        "from the ConfigMap: {stdout}"
    );
    assert_eq!(built["data"]["size"], "large", "from the Secret: {stdout}");
    assert_eq!(built["data"]["greeting"], "hello", "default: {stdout}");

    // diff compares the substituted object: created first, unchanged once applied.
    let out = common::tug(&["diff", "kustomization", "app", "--path", path, "-n", n]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("ConfigMap/{n}/c-x created")),
        "{stdout}"
    );
    let out = common::tug(&["apply", "kustomization", "app", "--path", path, "-n", n]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        cms.get("c-x").await.unwrap().data.unwrap()["size"],
        "large",
        "applied substituted"
    );
    let out = common::tug(&["diff", "kustomization", "app", "--path", path, "-n", n]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // --strict-substitute: a variable without a value or default is an error.
    std::fs::write(
        dir.join("more.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\ndata:\n  key: ${undefined}\n",
    )
    .unwrap();
    let out = common::tug(&[
        "build",
        "kustomization",
        "app",
        "--path",
        path,
        "-n",
        n,
        "--strict-substitute",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("undefined"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `tug resume kustomization` keeps waiting while the Kustomization waits for its
/// dependencies, and succeeds once they are Ready and it applied, as `flux resume` does.
#[tokio::test]
async fn resume_waits_through_dependency_not_ready_until_ready() {
    let s = Source::new(
        "status-resume",
        &[
            ("infra/a.yaml", &configmap("a", "one")),
            ("apps/b.yaml", &configmap("b", "one")),
        ],
    )
    .await;
    let kss = kustomizations(&s.ns);
    let n = s.ns.name.clone();
    s.kustomization("infra", "./infra", json!({"suspend": true}))
        .await;
    s.kustomization(
        "apps",
        "./apps",
        json!({"suspend": true, "dependsOn": [{"name": "infra"}]}),
    )
    .await;

    let mut resume = std::process::Command::new(env!("CARGO_BIN_EXE_tug"))
        .args([
            "resume",
            "kustomization",
            "apps",
            "-n",
            &n,
            "--timeout",
            "90s",
        ])
        .env("KUBECONFIG", cluster().kubeconfig())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The resume was handled and found the dependency not ready...
    wait_for(
        &kss,
        "apps",
        &s.ctrl,
        Duration::from_secs(60),
        "DependencyNotReady after the resume",
        |o| {
            o.data["status"]["lastHandledReconcileAt"].is_string()
                && ready(o).is_some_and(|c| c["reason"] == "DependencyNotReady")
        },
    )
    .await;
    // ...and the dependency is resumed: both become Ready, and the first resume ends well.
    let out = common::tug(&["resume", "kustomization", "infra", "-n", &n]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = resume.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "tug resume did not end\n{}",
            s.ctrl.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = resume.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(status.success(), "{stderr}\n{}", s.ctrl.log());
    let revision = format!("main@sha1:{}", s.repo.head().unwrap());
    assert!(
        stderr.contains(&format!("applied revision {revision}")),
        "{stderr}"
    );
}

/// A new revision of a source queues every Kustomization that applies it: ten on one
/// GitRepository all apply a pushed change without waiting for their interval.
#[tokio::test]
async fn ten_kustomizations_on_one_source_all_apply_a_pushed_revision() {
    let files: Vec<(String, String)> = (0..10)
        .map(|i| {
            (
                format!("app{i}/cm.yaml"),
                configmap(&format!("cm{i}"), "one"),
            )
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let s = Source::new("status-fan-out", &borrowed).await;
    let kss = kustomizations(&s.ns);
    for i in 0..10 {
        s.kustomization(&format!("app{i}"), &format!("./app{i}"), json!({}))
            .await;
    }
    let first = format!("main@sha1:{}", s.repo.head().unwrap());
    wait_until_all_applied(&s, &kss, &first).await;

    let changed: Vec<(String, String)> = (0..10)
        .map(|i| {
            (
                format!("app{i}/cm.yaml"),
                configmap(&format!("cm{i}"), "two"),
            )
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = changed
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    s.repo.commit(&borrowed, "two").unwrap();
    s.repo.push(&["main"]).unwrap();
    let second = format!("main@sha1:{}", s.repo.head().unwrap());
    // As `tug reconcile source git` does: the source fetches now, not at its interval.
    let at = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "fan-out"}}});
    gitrepositories(&s.ns)
        .patch("app", &PatchParams::default(), &Patch::Merge(&at))
        .await
        .unwrap();
    wait_until_all_applied(&s, &kss, &second).await;
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = s.ns.api();
    for i in 0..10 {
        let cm = cms.get(&format!("cm{i}")).await.unwrap();
        assert_eq!(cm.data.unwrap()["key"], "two", "cm{i}");
    }
}

/// Waits until the ten Kustomizations of the fan-out test applied `revision`.
async fn wait_until_all_applied(s: &Source, kss: &Api<DynamicObject>, revision: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = kss.list(&Default::default()).await.unwrap();
        let behind: Vec<String> = list
            .items
            .iter()
            .filter(|k| k.data["status"]["lastAppliedRevision"] != revision)
            .map(|k| {
                format!(
                    "{}: {}",
                    k.metadata.name.as_deref().unwrap_or_default(),
                    k.data["status"]
                )
            })
            .collect();
        if behind.is_empty() && list.items.len() == 10 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not applied {revision}:\n{}\n{}",
            behind.join("\n"),
            s.ctrl.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
