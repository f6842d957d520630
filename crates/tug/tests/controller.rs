//! End to end: the real `tug controller` process against the local control plane, fed by a
//! real Git server. Each test runs its own controller scoped to its own namespace.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tug_testsupport::git::{GitRepo, HttpGitServer, RepoRoot};
use tug_testsupport::{cluster, TestNamespace};

mod common;
use common::{
    condition, create, gitrepositories, install, kustomizations, tug, wait_for, ControllerProcess,
};

fn configmap(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  key: {value}\n")
}

/// The Ready condition of a Kustomization's status.
fn ready(obj: &DynamicObject) -> Option<Value> {
    obj.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
        .cloned()
}

fn revision_of(repo: &GitRepo) -> String {
    format!("main@sha1:{}", repo.head().unwrap())
}

/// Sets `reconcile.fluxcd.io/requestedAt` as `tug reconcile source git` does.
async fn request_reconcile(api: &Api<DynamicObject>, name: &str) {
    let at = format!("{:?}", std::time::SystemTime::now());
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": at}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

struct Setup {
    ns: TestNamespace,
    repo: GitRepo,
    server: HttpGitServer,
    _repos: RepoRoot,
    ctrl: ControllerProcess,
}

impl Setup {
    /// Removes `removed`, commits `files` and pushes `main`; returns the new revision.
    fn commit_and_push(&self, files: &[(&str, &str)], removed: &[&str], message: &str) -> String {
        for path in removed {
            std::fs::remove_file(self.repo.work.join(path)).unwrap();
        }
        self.repo.commit(files, message).unwrap();
        self.repo.push(&["main"]).unwrap();
        revision_of(&self.repo)
    }
}

/// A repository with `files` on `main`, served over HTTP; a GitRepository and a pruning
/// Kustomization of `./deploy` in a fresh namespace; a controller watching that namespace.
async fn setup(test: &str, files: &[(&str, &str)]) -> Setup {
    setup_with(test, files, &[]).await
}

/// [`setup`] with extra arguments for the controller.
async fn setup_with(test: &str, files: &[(&str, &str)], controller_args: &[&str]) -> Setup {
    install();
    let ns = cluster().namespace(test).await.unwrap();
    let repos = RepoRoot::new().unwrap();
    let repo = repos.repo("app").unwrap();
    repo.commit(files, "initial").unwrap();
    repo.push(&["main"]).unwrap();
    let server = HttpGitServer::start(&repos).unwrap();
    let ctrl = ControllerProcess::start_with(&ns.name, "", controller_args);
    create(
        &gitrepositories(&ns),
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": ns.name},
            "spec": {"url": server.url("git", "app"), "interval": "10m", "ref": {"branch": "main"}}
        }),
    )
    .await;
    create(
        &kustomizations(&ns),
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": ns.name},
            "spec": {
                "interval": "10m", "retryInterval": "2s", "prune": true, "path": "./deploy",
                "targetNamespace": ns.name,
                "sourceRef": {"kind": "GitRepository", "name": "app"}
            }
        }),
    )
    .await;
    Setup {
        ns,
        repo,
        server,
        _repos: repos,
        ctrl,
    }
}

async fn data(cms: &Api<ConfigMap>, name: &str) -> Option<String> {
    cms.get_opt(name)
        .await
        .unwrap()
        .and_then(|c| c.data)
        .and_then(|d| d.get("key").cloned())
}

#[tokio::test]
async fn ready_then_a_pushed_commit_is_applied_and_a_removed_file_pruned() {
    let mut s = setup(
        "ctrl-apply",
        &[
            ("deploy/a.yaml", &configmap("a", "one")),
            ("deploy/b.yaml", &configmap("b", "one")),
            ("README.md", "not a manifest, outside the path"),
        ],
    )
    .await;
    let kss = kustomizations(&s.ns);
    let cms: Api<ConfigMap> = s.ns.api();
    let first = revision_of(&s.repo);
    let ks = wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(60),
        "Ready",
        |o| ready(o).is_some_and(|c| c["status"] == "True"),
    )
    .await;
    let cond = ready(&ks).unwrap();
    assert_eq!(cond["reason"], "ReconciliationSucceeded");
    assert_eq!(cond["message"], format!("Applied revision: {first}"));
    assert_eq!(ks.data["status"]["lastAppliedRevision"], first);
    assert_eq!(ks.data["status"]["lastAttemptedRevision"], first);
    assert_eq!(
        ks.data["status"]["inventory"]["entries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(ks
        .metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == "finalizers.fluxcd.io")));
    assert_eq!(data(&cms, "a").await.as_deref(), Some("one"));
    assert_eq!(data(&cms, "b").await.as_deref(), Some("one"));
    let labels = cms.get("a").await.unwrap().metadata.labels.unwrap();
    assert_eq!(labels["kustomize.toolkit.fluxcd.io/name"], "app");

    // A no-op reconcile writes nothing: the Kustomization's resourceVersion stays.
    let version = kss.get("app").await.unwrap().metadata.resource_version;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        kss.get("app").await.unwrap().metadata.resource_version,
        version
    );

    // Push a change and a removal; ask the source to reconcile; the Kustomization follows.
    let second = s.commit_and_push(
        &[("deploy/a.yaml", &configmap("a", "two"))],
        &["deploy/b.yaml"],
        "change a, drop b",
    );
    // As a user does: `tug reconcile source git` (it waits for the source to fetch).
    let asked = Instant::now();
    let out = tug(&["reconcile", "source", "git", "app", "-n", &s.ns.name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ks = wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(30),
        "the second revision",
        |o| o.data["status"]["lastAppliedRevision"] == second,
    )
    .await;
    let took = asked.elapsed();
    assert_eq!(
        ready(&ks).unwrap()["message"],
        format!("Applied revision: {second}")
    );
    assert_eq!(data(&cms, "a").await.as_deref(), Some("two"));
    assert_eq!(data(&cms, "b").await, None, "b was pruned");
    assert_eq!(
        ks.data["status"]["inventory"]["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    eprintln!("push → applied after `tug reconcile source git`: {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "applied {took:?} after the request"
    );

    // The GitRepository's status records the handled request, as Flux's CLI waits for.
    let repo = gitrepositories(&s.ns).get("app").await.unwrap();
    assert_eq!(repo.data["status"]["artifact"]["revision"], second);
    assert!(repo.data["status"]["lastHandledReconcileAt"].is_string());

    // Graceful shutdown on SIGTERM.
    let status = s.ctrl.terminate(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "controller did not exit cleanly on SIGTERM: {status:?}\n{}",
        s.ctrl.log()
    );
}

#[tokio::test]
async fn a_failing_manifest_sets_ready_false_naming_it_and_prunes_nothing() {
    let s = setup(
        "ctrl-fail",
        &[
            ("deploy/a.yaml", &configmap("a", "one")),
            ("deploy/b.yaml", &configmap("b", "one")),
        ],
    )
    .await;
    let kss = kustomizations(&s.ns);
    let cms: Api<ConfigMap> = s.ns.api();
    let first = revision_of(&s.repo);
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(60),
        "Ready",
        |o| ready(o).is_some_and(|c| c["status"] == "True"),
    )
    .await;

    // a changed, b removed and an object the apiserver refuses (invalid name) added: the
    // apply fails, so a must keep its value (nothing of the set is written), b must not be
    // pruned and the inventory stays.
    let second = s.commit_and_push(
        &[
            ("deploy/a.yaml", &configmap("a", "two")),
            ("deploy/bad.yaml", &configmap("Bad_Name", "x")),
        ],
        &["deploy/b.yaml"],
        "a bad manifest",
    );
    request_reconcile(&gitrepositories(&s.ns), "app").await;
    let ks = wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(30),
        "Ready=False",
        |o| ready(o).is_some_and(|c| c["status"] == "False"),
    )
    .await;
    let cond = ready(&ks).unwrap();
    assert_eq!(cond["reason"], "ReconciliationFailed", "{cond}");
    assert!(
        cond["message"].as_str().unwrap().contains("Bad_Name"),
        "{cond}"
    );
    assert_eq!(ks.data["status"]["lastAppliedRevision"], first);
    assert_eq!(ks.data["status"]["lastAttemptedRevision"], second);
    assert_eq!(
        ks.data["status"]["inventory"]["entries"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "inventory kept"
    );
    assert_eq!(
        data(&cms, "a").await.as_deref(),
        Some("one"),
        "a valid object of a failed set was written"
    );
    assert_eq!(
        data(&cms, "b").await.as_deref(),
        Some("one"),
        "nothing pruned"
    );

    // A manifest that does not parse: BuildFailed naming the file.
    s.commit_and_push(
        &[(
            "deploy/bad.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n",
        )],
        &[],
        "broken yaml",
    );
    request_reconcile(&gitrepositories(&s.ns), "app").await;
    let ks = wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(30),
        "BuildFailed",
        |o| ready(o).is_some_and(|c| c["reason"] == "BuildFailed"),
    )
    .await;
    let cond = ready(&ks).unwrap();
    assert!(
        cond["message"].as_str().unwrap().contains("bad.yaml"),
        "{cond}"
    );
    assert_eq!(data(&cms, "b").await.as_deref(), Some("one"));

    // Fixed: Ready again, and now b is pruned.
    let fixed = s.commit_and_push(&[], &["deploy/bad.yaml"], "fixed");
    request_reconcile(&gitrepositories(&s.ns), "app").await;
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(30),
        "the fixed revision",
        |o| o.data["status"]["lastAppliedRevision"] == fixed,
    )
    .await;
    assert_eq!(data(&cms, "b").await, None);
}

#[tokio::test]
async fn depends_on_waits_substitutes_variables_and_deletion_prunes() {
    let s = setup(
        "ctrl-deps",
        &[
            ("deploy/a.yaml", &configmap("a", "one")),
            (
                "later/c.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-${suffix}\ndata:\n  key: ${greeting:=hello}\n  from: ${colour}\n  script: echo $HOME\n",
            ),
        ],
    )
    .await;
    let kss = kustomizations(&s.ns);
    let cms: Api<ConfigMap> = s.ns.api();
    cms.create(
        &Default::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "vars"}, "data": {"colour": "blue", "suffix": "from-cm"}
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    create(
        &kss,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "later", "namespace": s.ns.name},
            "spec": {
                "interval": "10m", "retryInterval": "1m", "prune": true, "path": "./later",
                "targetNamespace": s.ns.name,
                "dependsOn": [{"name": "base"}],
                "postBuild": {
                    "substitute": {"suffix": "x"},
                    "substituteFrom": [
                        {"kind": "ConfigMap", "name": "vars"},
                        {"kind": "Secret", "name": "absent", "optional": true}
                    ]
                },
                "sourceRef": {"kind": "GitRepository", "name": "app"}
            }
        }),
    )
    .await;
    let ks = wait_for(
        &kss,
        "later",
        &s.ctrl,
        Duration::from_secs(60),
        "DependencyNotReady",
        |o| ready(o).is_some_and(|c| c["reason"] == "DependencyNotReady"),
    )
    .await;
    let message = ready(&ks).unwrap()["message"].to_string();
    assert!(message.contains("base"), "{message}");
    assert_eq!(cms.get_opt("c-x").await.unwrap(), None);

    // The dependency appears and becomes Ready: the dependent follows without waiting for
    // its retry interval (1m).
    create(
        &kss,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "base", "namespace": s.ns.name},
            "spec": {
                "interval": "10m", "prune": true, "path": "./deploy",
                "targetNamespace": s.ns.name,
                "sourceRef": {"kind": "GitRepository", "name": "app"}
            }
        }),
    )
    .await;
    wait_for(
        &kss,
        "later",
        &s.ctrl,
        Duration::from_secs(30),
        "Ready after its dependency",
        |o| ready(o).is_some_and(|c| c["status"] == "True"),
    )
    .await;
    let c = cms.get("c-x").await.unwrap().data.unwrap();
    assert_eq!(c["key"], "hello", "default used");
    assert_eq!(c["from"], "blue", "from the ConfigMap");
    assert_eq!(c["script"], "echo $HOME", "$var is not substituted");

    // Deleting a pruning Kustomization deletes its objects, then the object goes.
    kss.delete("later", &Default::default()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while kss.get_opt("later").await.unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "Kustomization not deleted\n{}",
            s.ctrl.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        cms.get_opt("c-x").await.unwrap(),
        None,
        "pruned on deletion"
    );
    assert_eq!(data(&cms, "a").await.as_deref(), Some("one"), "others kept");
}

#[tokio::test]
async fn suspend_holds_a_push_resume_applies_it_and_drift_is_corrected_at_the_interval() {
    let web = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n";
    let s = setup(
        "ctrl-suspend",
        &[
            ("deploy/a.yaml", &configmap("a", "one")),
            ("deploy/web.yaml", web),
        ],
    )
    .await;
    let kss = kustomizations(&s.ns);
    let repos = gitrepositories(&s.ns);
    let cms: Api<ConfigMap> = s.ns.api();
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(60),
        "Ready",
        |o| ready(o).is_some_and(|c| c["status"] == "True"),
    )
    .await;
    let first = revision_of(&s.repo);

    let suspend = |on: bool| json!({"spec": {"suspend": on}});
    kss.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(&suspend(true)),
    )
    .await
    .unwrap();
    let second = s.commit_and_push(&[("deploy/a.yaml", &configmap("a", "two"))], &[], "two");
    request_reconcile(&repos, "app").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while repos.get("app").await.unwrap().data["status"]["artifact"]["revision"] != second {
        assert!(
            Instant::now() < deadline,
            "source never fetched\n{}",
            s.ctrl.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        kss.get("app").await.unwrap().data["status"]["lastAppliedRevision"],
        first,
        "a suspended Kustomization applied a push"
    );
    assert_eq!(data(&cms, "a").await.as_deref(), Some("one"));

    // Resume (after shortening the interval) as a user does: `tug resume` waits for the
    // reconcile and prints the revision applied; then drift is corrected at the interval.
    let interval = json!({"spec": {"interval": "2s"}});
    kss.patch("app", &PatchParams::default(), &Patch::Merge(&interval))
        .await
        .unwrap();
    let out = tug(&["resume", "ks", "app", "-n", &s.ns.name]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{}", s.ctrl.log());
    assert!(
        stderr.contains(&format!("applied revision {second}")),
        "{stderr}"
    );
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(30),
        "the held revision after resume",
        |o| o.data["status"]["lastAppliedRevision"] == second,
    )
    .await;
    assert_eq!(data(&cms, "a").await.as_deref(), Some("two"));

    let drift = json!({"data": {"key": "edited by hand"}});
    cms.patch("a", &PatchParams::default(), &Patch::Merge(&drift))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while data(&cms, "a").await.as_deref() != Some("two") {
        assert!(
            Instant::now() < deadline,
            "drift not corrected\n{}",
            s.ctrl.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // `kubectl scale` (the scale subresource) is drift too: Git says one replica.
    let deployments: Api<Deployment> = s.ns.api();
    let replicas = |d: Deployment| d.spec.replicas;
    deployments
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(replicas(deployments.get("web").await.unwrap()), Some(3));
    let deadline = Instant::now() + Duration::from_secs(20);
    while replicas(deployments.get("web").await.unwrap()) != Some(1) {
        assert!(
            Instant::now() < deadline,
            "scaled Deployment not corrected\n{}",
            s.ctrl.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn applied_revision(obj: &DynamicObject) -> Option<&str> {
    obj.data["status"]["lastAppliedRevision"].as_str()
}

#[tokio::test]
async fn git_server_down_keeps_the_last_revision_applied_and_recovers_by_itself() {
    let mut s = setup("ctrl-gitdown", &[("deploy/a.yaml", &configmap("a", "one"))]).await;
    let kss = kustomizations(&s.ns);
    let repos = gitrepositories(&s.ns);
    let cms: Api<ConfigMap> = s.ns.api();
    let first = revision_of(&s.repo);
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(60),
        "Ready",
        |o| applied_revision(o) == Some(first.as_str()),
    )
    .await;

    // The server goes away; a commit is pushed to the repository behind it meanwhile.
    s.server.process.kill();
    let second = s.commit_and_push(&[("deploy/a.yaml", &configmap("a", "two"))], &[], "two");
    request_reconcile(&repos, "app").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let failed = loop {
        let repo = repos.get("app").await.unwrap();
        if let Some(c) = condition(&repo, "Ready").filter(|c| c["status"] == "False") {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "GitRepository not failed\n{}",
            s.ctrl.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let message = failed["message"].as_str().unwrap();
    assert!(
        message.contains("127.0.0.1") || message.to_lowercase().contains("connect"),
        "the cause is named: {message}"
    );
    // The last artifact is still served: the Kustomization stays Ready on it, and a
    // reconcile meanwhile still applies it (drift is corrected while Git is down).
    let repo = repos.get("app").await.unwrap();
    assert_eq!(
        repo.data["status"]["artifact"]["revision"].as_str(),
        Some(first.as_str())
    );
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(&json!({"data": {"key": "drifted"}})),
    )
    .await
    .unwrap();
    request_reconcile(&kss, "app").await;
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(30),
        "reconcile while Git is down",
        |o| {
            o.data["status"]["lastHandledReconcileAt"].is_string()
                && ready(o).is_some_and(|c| c["status"] == "True")
        },
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while data(&cms, "a").await.as_deref() != Some("one") {
        assert!(
            Instant::now() < deadline,
            "drift not corrected\n{}",
            s.ctrl.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The server comes back: the GitRepository recovers by itself (retries with back-off)
    // and the new revision is applied.
    s.server.process.restart().unwrap();
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(60),
        "the new revision after recovery",
        |o| applied_revision(o) == Some(second.as_str()),
    )
    .await;
    assert_eq!(data(&cms, "a").await.as_deref(), Some("two"));
    let repo = repos.get("app").await.unwrap();
    assert_eq!(condition(&repo, "Ready").unwrap()["status"], "True");
}

#[tokio::test]
async fn a_dependency_chain_of_three_is_applied_in_order_and_prune_false_keeps_objects() {
    let s = setup(
        "ctrl-chain",
        &[
            ("deploy/a.yaml", &configmap("a", "one")),
            ("first/first.yaml", &configmap("first", "v1")),
            ("second/second.yaml", &configmap("second", "v2")),
            ("second/kept.yaml", &configmap("kept", "k")),
            ("third/third.yaml", &configmap("third", "v3")),
        ],
    )
    .await;
    let kss = kustomizations(&s.ns);
    let cms: Api<ConfigMap> = s.ns.api();
    let ks = |name: &str, depends: Option<&str>, suspend: bool, prune: bool| {
        let mut spec = json!({
            "interval": "10m", "retryInterval": "1m", "prune": prune, "suspend": suspend,
            "path": format!("./{name}"), "targetNamespace": s.ns.name,
            "sourceRef": {"kind": "GitRepository", "name": "app"}
        });
        if let Some(dep) = depends {
            spec["dependsOn"] = json!([{"name": dep}]);
        }
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": s.ns.name}, "spec": spec
        })
    };
    // third → second → first; first is suspended, so nothing further down may apply.
    create(&kss, ks("third", Some("second"), false, true)).await;
    create(&kss, ks("second", Some("first"), false, false)).await;
    create(&kss, ks("first", None, true, true)).await;
    for name in ["second", "third"] {
        wait_for(
            &kss,
            name,
            &s.ctrl,
            Duration::from_secs(60),
            "DependencyNotReady",
            |o| ready(o).is_some_and(|c| c["reason"] == "DependencyNotReady"),
        )
        .await;
    }
    for name in ["first", "second", "third"] {
        assert_eq!(
            cms.get_opt(name).await.unwrap(),
            None,
            "{name} applied too early"
        );
    }

    // Resumed, the head of the chain applies, then each dependent in turn — without
    // waiting for their one-minute retry interval.
    kss.patch(
        "first",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"suspend": false}})),
    )
    .await
    .unwrap();
    wait_for(
        &kss,
        "third",
        &s.ctrl,
        Duration::from_secs(30),
        "the chain Ready",
        |o| ready(o).is_some_and(|c| c["status"] == "True"),
    )
    .await;
    let created = |cm: ConfigMap| cm.metadata.creation_timestamp.unwrap().0;
    let first = created(cms.get("first").await.unwrap());
    let second = created(cms.get("second").await.unwrap());
    let third = created(cms.get("third").await.unwrap());
    assert!(
        first <= second && second <= third,
        "{first} {second} {third}"
    );
    let log = s.ctrl.log();
    let position = |name: &str| {
        let key = format!("key={}/{name} ", s.ns.name);
        log.lines()
            .position(|l| l.contains(" reconciled") && l.contains(&key))
            .unwrap_or_else(|| panic!("{name} not reconciled\n{log}"))
    };
    assert!(position("first") < position("second"), "{log}");
    assert!(position("second") < position("third"), "{log}");

    // prune: false — a file removed from Git leaves its object in the cluster.
    let revision = s.commit_and_push(&[], &["second/kept.yaml"], "remove kept");
    request_reconcile(&gitrepositories(&s.ns), "app").await;
    wait_for(
        &kss,
        "second",
        &s.ctrl,
        Duration::from_secs(30),
        "the new revision",
        |o| applied_revision(o) == Some(revision.as_str()),
    )
    .await;
    assert_eq!(
        data(&cms, "kept").await.as_deref(),
        Some("k"),
        "kept without prune"
    );
}

#[tokio::test]
async fn kustomize_fields_common_metadata_and_secret_substitution_shape_what_is_applied() {
    let s = setup(
        "ctrl-fields",
        &[
            ("deploy/a.yaml", &configmap("a", "one")),
            (
                "web/deploy.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.0\n        env:\n        - name: TOKEN\n          value: ${token}\n",
            ),
            ("web/cm.yaml", &configmap("settings", "${colour}")),
        ],
    )
    .await;
    let kss = kustomizations(&s.ns);
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = s.ns.api();
    secrets
        .create(
            &Default::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "vars"},
                "stringData": {"token": "s3cr3t", "colour": "green"}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    create(
        &kss,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "web", "namespace": s.ns.name},
            "spec": {
                "interval": "10m", "retryInterval": "2s", "prune": true, "path": "./web",
                "targetNamespace": s.ns.name, "namePrefix": "staging-",
                "commonMetadata": {"labels": {"team": "blue"}, "annotations": {"owner": "ops"}},
                "images": [{"name": "nginx", "newName": "registry.local/nginx", "newTag": "1.25"}],
                "patches": [{
                    "patch": "- op: add\n  path: /data/patched\n  value: \"yes\"\n",
                    "target": {"kind": "ConfigMap"}
                }],
                "postBuild": {"substituteFrom": [{"kind": "Secret", "name": "vars"}]},
                "sourceRef": {"kind": "GitRepository", "name": "app"}
            }
        }),
    )
    .await;
    let ks = wait_for(
        &kss,
        "web",
        &s.ctrl,
        Duration::from_secs(60),
        "Ready",
        |o| ready(o).is_some_and(|c| c["status"] == "True"),
    )
    .await;
    let cms: Api<ConfigMap> = s.ns.api();
    let cm = cms.get("staging-settings").await.unwrap();
    let data = cm.data.clone().unwrap();
    assert_eq!(data["key"], "green", "substituted from the Secret");
    assert_eq!(data["patched"], "yes", "patched");
    let labels = cm.metadata.labels.clone().unwrap();
    assert_eq!(labels["team"], "blue");
    assert_eq!(cm.metadata.annotations.clone().unwrap()["owner"], "ops");
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = s.ns.api();
    let web = deployments.get("staging-web").await.unwrap();
    let pod = web.spec.template.spec.unwrap();
    let container = &pod.containers[0];
    assert_eq!(
        container.image.as_deref(),
        Some("registry.local/nginx:1.25")
    );
    assert_eq!(
        container.env.as_ref().unwrap()[0].value.as_deref(),
        Some("s3cr3t")
    );
    // The inventory records the prefixed names; no secret value reaches status or events.
    let inventory = ks.data["status"]["inventory"].to_string();
    assert!(inventory.contains("staging-web"), "{inventory}");
    assert!(!ks.data["status"].to_string().contains("s3cr3t"));
    assert!(!s.ctrl.log().contains("s3cr3t"));
}

#[tokio::test]
async fn two_controllers_only_the_leader_reconciles_and_a_standby_takes_over_when_it_is_killed() {
    let timings = [
        "--leader-election-lease-duration=3s",
        "--leader-election-renew-deadline=2s",
        "--leader-election-retry-period=500ms",
    ];
    let mut s = setup_with(
        "ctrl-leader",
        &[("deploy/a.yaml", &configmap("a", "one"))],
        &timings,
    )
    .await;
    let kss = kustomizations(&s.ns);
    let cms: Api<ConfigMap> = s.ns.api();
    let first = revision_of(&s.repo);
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(60),
        "Ready",
        |o| applied_revision(o) == Some(first.as_str()),
    )
    .await;
    let standby = ControllerProcess::start_with(&s.ns.name, "-standby", &timings);

    // The standby is up (ready for probes) but does not lead and does not reconcile.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", standby.health_port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "standby not listening\n{}",
            standby.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(standby.readyz(), 200);
    let leader_line = |ctrl: &ControllerProcess, v: u8| {
        ctrl.metrics().lines().any(|l| {
            l == format!(
                "leader_election_master_status{{name=\"tug-controller-leader-election\"}} {v}"
            )
        })
    };
    assert!(leader_line(&s.ctrl, 1), "{}", s.ctrl.metrics());
    assert!(leader_line(&standby, 0), "{}", standby.metrics());
    let metrics = s.ctrl.metrics();
    assert!(
        metrics.contains(&format!(
            "gotk_reconcile_duration_seconds_count{{kind=\"Kustomization\",name=\"app\",namespace=\"{}\"}}",
            s.ns.name
        )),
        "{metrics}"
    );
    // tug's own: the one ConfigMap applied so far was created.
    assert!(
        metrics
            .lines()
            .any(|l| l == "tug_objects_total{action=\"created\"} 1"),
        "{metrics}"
    );
    let second = s.commit_and_push(&[("deploy/a.yaml", &configmap("a", "two"))], &[], "two");
    request_reconcile(&gitrepositories(&s.ns), "app").await;
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(30),
        "the leader applies",
        |o| applied_revision(o) == Some(second.as_str()),
    )
    .await;
    assert!(
        !standby.log().contains("controllers started"),
        "the standby reconciled:\n{}",
        standby.log()
    );

    // The leader dies without releasing the lease: the standby takes over once the lease
    // expires, and applies the next push.
    s.ctrl.child.kill().unwrap();
    let third = s.commit_and_push(&[("deploy/a.yaml", &configmap("a", "three"))], &[], "three");
    request_reconcile(&gitrepositories(&s.ns), "app").await;
    wait_for(
        &kss,
        "app",
        &standby,
        Duration::from_secs(60),
        "the standby applies",
        |o| applied_revision(o) == Some(third.as_str()),
    )
    .await;
    assert_eq!(data(&cms, "a").await.as_deref(), Some("three"));
    assert!(
        standby.log().contains("lease acquired"),
        "{}",
        standby.log()
    );
    assert!(leader_line(&standby, 1));
}

#[tokio::test]
async fn a_sharded_controller_reconciles_only_objects_with_its_label() {
    let s = setup_with(
        "ctrl-shard",
        &[("deploy/a.yaml", &configmap("a", "one"))],
        &["--watch-label-selector=sharding.fluxcd.io/key=shard1"],
    )
    .await;
    let kss = kustomizations(&s.ns);
    let repos = gitrepositories(&s.ns);
    let cms: Api<ConfigMap> = s.ns.api();
    // Without the label neither the source nor the Kustomization is touched.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        ready(&kss.get("app").await.unwrap()),
        None,
        "{}",
        s.ctrl.log()
    );
    assert_eq!(condition(&repos.get("app").await.unwrap(), "Ready"), None);
    assert_eq!(cms.get_opt("a").await.unwrap(), None);

    let label = json!({"metadata": {"labels": {"sharding.fluxcd.io/key": "shard1"}}});
    for api in [&repos, &kss] {
        api.patch("app", &PatchParams::default(), &Patch::Merge(&label))
            .await
            .unwrap();
    }
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(60),
        "Ready once labelled",
        |o| ready(o).is_some_and(|c| c["status"] == "True"),
    )
    .await;
    assert_eq!(data(&cms, "a").await.as_deref(), Some("one"));
}

/// A Deployment whose rollout kube-controller-manager gives up on after `deadline` seconds
/// without progress.
fn deployment_with_deadline(name: &str, replicas: u32, deadline: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: {replicas}\n  progressDeadlineSeconds: {deadline}\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n"
    )
}

fn deployment(name: &str, replicas: u32) -> String {
    deployment_with_deadline(name, replicas, 1)
}

#[tokio::test]
async fn wait_reports_an_unhealthy_deployment_then_healthy_once_fixed() {
    // No kubelet runs here: a Deployment of one replica never becomes available, and with a
    // progress deadline of one second kube-controller-manager soon reports it failed.
    let s = setup("ctrl-health", &[("deploy/web.yaml", &deployment("web", 1))]).await;
    let kss = kustomizations(&s.ns);
    kss.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"wait": true, "timeout": "2m"}})),
    )
    .await
    .unwrap();
    let ks = wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(90),
        "HealthCheckFailed",
        |o| ready(o).is_some_and(|c| c["reason"] == "HealthCheckFailed"),
    )
    .await;
    let healthy = condition(&ks, "Healthy").expect("a Healthy condition");
    assert_eq!(healthy["status"], "False", "{healthy}");
    assert_eq!(healthy["reason"], "HealthCheckFailed", "{healthy}");
    let message = ready(&ks).unwrap()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains(&format!("Deployment/{}/web", s.ns.name)),
        "the message names the object: {message}"
    );
    // Still in progress for kstatus, as Flux leaves it: Reconciling with a retry.
    let reconciling = condition(&ks, "Reconciling").expect("a Reconciling condition");
    assert_eq!(
        reconciling["reason"], "ProgressingWithRetry",
        "{reconciling}"
    );

    // Scaled to zero in Git: healthy, Ready.
    let fixed = s.commit_and_push(
        &[("deploy/web.yaml", &deployment("web", 0))],
        &[],
        "scale to zero",
    );
    request_reconcile(&gitrepositories(&s.ns), "app").await;
    let ks = wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(60),
        "Ready on the fixed revision",
        |o| {
            o.data["status"]["lastAppliedRevision"] == fixed
                && ready(o).is_some_and(|c| c["status"] == "True")
        },
    )
    .await;
    let healthy = condition(&ks, "Healthy").expect("a Healthy condition");
    assert_eq!(healthy["status"], "True", "{healthy}");
    assert!(
        healthy["message"]
            .as_str()
            .unwrap()
            .starts_with("Health check passed"),
        "{healthy}"
    );
    assert!(
        condition(&ks, "Reconciling").is_none(),
        "{:?}",
        ks.data["status"]
    );
}

#[tokio::test]
async fn sigterm_abandons_a_health_wait_after_the_grace_period() {
    // One replica and the default ten-minute progress deadline: without a kubelet the health
    // check waits for the whole timeout.
    let mut s = setup_with(
        "ctrl-grace",
        &[("deploy/web.yaml", &deployment_with_deadline("web", 1, 600))],
        &["--graceful-shutdown-timeout=2s"],
    )
    .await;
    let kss = kustomizations(&s.ns);
    kss.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"wait": true, "timeout": "5m"}})),
    )
    .await
    .unwrap();
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(60),
        "health checks running",
        |o| {
            condition(o, "Reconciling").is_some_and(|c| {
                c["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("Running health checks"))
            })
        },
    )
    .await;
    let status = s.ctrl.terminate(Duration::from_secs(20));
    assert!(
        status.is_some_and(|s| s.success()),
        "the controller did not stop after its grace period: {status:?}\n{}",
        s.ctrl.log()
    );
    assert!(
        s.ctrl
            .log()
            .contains("abandoning the reconciles still in flight"),
        "{}",
        s.ctrl.log()
    );
}

#[tokio::test]
async fn cli_reconcile_with_source_events_json_logs_stalled_and_delete() {
    let s = setup_with(
        "ctrl-cli",
        &[("deploy/a.yaml", &configmap("a", "one"))],
        &["--log-encoding=json"],
    )
    .await;
    let kss = kustomizations(&s.ns);
    let cms: Api<ConfigMap> = s.ns.api();
    let n = s.ns.name.as_str();
    wait_for(
        &kss,
        "app",
        &s.ctrl,
        Duration::from_secs(60),
        "Ready",
        |o| ready(o).is_some_and(|c| c["status"] == "True"),
    )
    .await;

    // An Event with the change set, from kustomize-controller, on the Kustomization.
    let events: Api<k8s_openapi::api::core::v1::Event> = s.ns.api();
    let deadline = Instant::now() + Duration::from_secs(20);
    let created = format!("ConfigMap/{n}/a created");
    loop {
        let list = events.list(&Default::default()).await.unwrap();
        let found = list.items.iter().any(|e| {
            e.involved_object.kind.as_deref() == Some("Kustomization")
                && e.involved_object.name.as_deref() == Some("app")
                && e.message.as_deref().is_some_and(|m| m.contains(&created))
        });
        if found {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no event saying '{created}': {:?}",
            list.items.iter().map(|e| &e.message).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // JSON logs: every line is a JSON object; the reconcile is among them.
    let log = s.ctrl.log();
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "reconciled" && l["level"] == "INFO"),
        "{log}"
    );

    // `tug reconcile kustomization --with-source` fetches the push, then applies it.
    let second = s.commit_and_push(&[("deploy/a.yaml", &configmap("a", "two"))], &[], "two");
    let out = tug(&[
        "reconcile",
        "kustomization",
        "app",
        "--with-source",
        "-n",
        n,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{}", s.ctrl.log());
    assert!(
        stderr.contains(&format!("fetched revision {second}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("applied revision {second}")),
        "{stderr}"
    );
    assert_eq!(data(&cms, "a").await.as_deref(), Some("two"));

    // A source kind tug does not serve yet: Stalled, saying so.
    create(
        &kss,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "oci", "namespace": n},
            "spec": {"interval": "10m", "prune": true, "path": "./",
                "sourceRef": {"kind": "OCIRepository", "name": "app"}}
        }),
    )
    .await;
    let oci = wait_for(
        &kss,
        "oci",
        &s.ctrl,
        Duration::from_secs(30),
        "Stalled",
        |o| condition(o, "Stalled").is_some_and(|c| c["status"] == "True"),
    )
    .await;
    let message = ready(&oci).unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("not supported yet"), "{message}");

    // `tug delete kustomization`: the finalizer prunes what it applied.
    let out = tug(&["delete", "kustomization", "app", "-n", n]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while data(&cms, "a").await.is_some() || kss.get_opt("app").await.unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "not pruned and deleted\n{}",
            s.ctrl.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
