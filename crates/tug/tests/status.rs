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
            (
                "apps/kustomization.yaml",
                "resources:\n- missing.yaml\n",
            ),
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

        let apps = kss.get("apps").await.unwrap();
        let cond = ready(&apps).unwrap();
        assert_eq!(
            (cond["status"].as_str(), cond["reason"].as_str()),
            (Some("False"), Some("BuildFailed")),
            "round {round}: {}\n{}",
            serde_json::to_string_pretty(&apps.data["status"]).unwrap(),
            s.ctrl.log()
        );
        let message = cond["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("kustomize build of ./apps failed") && message.contains("missing.yaml"),
            "round {round}: {message}"
        );
        let reconciling = condition(&apps, "Reconciling").unwrap();
        assert_eq!(reconciling["reason"], "ProgressingWithRetry", "{reconciling}");
        let published = s.events("apps", "BuildFailed").await;
        assert!(
            published > events_before,
            "round {round}: the failure was not published as an Event ({published} so far)"
        );
    }
}
