//! End to end: the real `tug controller` process against the local control plane, fed by a
//! real Git server. Each test runs its own controller scoped to its own namespace (the
//! cluster-wide default mode has its own binary, `default_mode.rs`).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde_json::{json, Value};
use std::time::Instant;

mod common;
use common::prelude::*;

#[tokio::test]
async fn ready_then_a_pushed_commit_is_applied_and_a_removed_file_pruned() {
    let git = Git::serve(&[
        ("deploy/a.yaml", &configmap("a", "one")),
        ("deploy/b.yaml", &configmap("b", "one")),
        ("README.md", "not a manifest, outside the path"),
    ]);
    let s = Scene::new("ctrl-apply").await;
    let mut ctrl = s.controller(&[]);
    s.app(&git).await;
    let first = git.revision();
    let ks = s.ks_until("app", "Ready", secs(60), |o| o.is_ready()).await;
    let cond = ks.ready().unwrap();
    assert_eq!(cond["reason"], "ReconciliationSucceeded");
    assert_eq!(cond["message"], format!("Applied revision: {first}"));
    assert_eq!(ks.data["status"]["lastAppliedRevision"], first);
    assert_eq!(ks.data["status"]["lastAttemptedRevision"], first);
    assert_eq!(ks.inventory_len(), 2);
    assert!(ks
        .metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == "finalizers.fluxcd.io")));
    assert_eq!(s.configmap("a").await.as_deref(), Some("one"));
    assert_eq!(s.configmap("b").await.as_deref(), Some("one"));
    let cms: kube::Api<ConfigMap> = s.ns.api();
    let labels = cms.get("a").await.unwrap().metadata.labels.unwrap();
    assert_eq!(labels["kustomize.toolkit.fluxcd.io/name"], "app");

    // Push a change and a removal; as a user does: `tug reconcile source git` (it waits for
    // the source to fetch); the Kustomization follows.
    let second = git.push(
        &[("deploy/a.yaml", &configmap("a", "two"))],
        &["deploy/b.yaml"],
        "change a, drop b",
    );
    let asked = Instant::now();
    s.tug(&["reconcile", "source", "git", "app"]).await;
    let ks = s
        .ks_until("app", "the second revision", secs(30), |o| {
            o.applied_revision() == Some(second.as_str())
        })
        .await;
    let took = asked.elapsed();
    assert_eq!(ks.ready_message(), format!("Applied revision: {second}"));
    assert_eq!(s.configmap("a").await.as_deref(), Some("two"));
    assert_eq!(s.configmap("b").await, None, "b was pruned");
    assert_eq!(ks.inventory_len(), 1);
    eprintln!("push → applied after `tug reconcile source git`: {took:?}");
    assert!(took < secs(10), "applied {took:?} after the request");

    // The GitRepository's status records the handled request, as Flux's CLI waits for.
    let repo = s.source("app").await;
    assert_eq!(repo.artifact_revision(), Some(second.as_str()));
    assert!(repo.data["status"]["lastHandledReconcileAt"].is_string());

    // Graceful shutdown on SIGTERM.
    let status = ctrl.terminate(secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "controller did not exit cleanly on SIGTERM: {status:?}\n{}",
        ctrl.log()
    );
}

#[tokio::test]
async fn a_periodic_reconcile_that_finds_nothing_to_change_writes_nothing() {
    // Kinds whose live objects differ from their manifests by defaults and conversions: a
    // Secret written with stringData, a Service given a cluster IP, a Deployment filled with
    // defaults (and a status kube-controller-manager writes).
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: hunter2\n";
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n    targetPort: 8080\n";
    let git = Git::serve(&[
        ("deploy/a.yaml", &configmap("a", "one")),
        ("deploy/secret.yaml", secret),
        ("deploy/service.yaml", service),
        ("deploy/web.yaml", &deployment("web", 0)),
    ]);
    let s = Scene::new("ctrl-noop").await;
    let ctrl = s.controller(&[]);
    s.apply(GitRepository::new("app").url(git.url()).interval("2s"))
        .await;
    s.apply(
        Kustomization::new("app")
            .source("app")
            .path("./deploy")
            .prune(true)
            .interval("2s")
            .target_namespace(s.name()),
    )
    .await;
    s.ks_until("app", "Ready", secs(60), |o| o.is_ready()).await;

    // Count from the end of a periodic reconcile that follows the first apply, so that the
    // first apply's own writes (status, events) are behind the mark.
    let audit = AuditLog::open();
    let reconciles = |kind: &str| ctrl.reconciles(kind, s.name(), "app");
    let (ks0, git0) = (reconciles("Kustomization"), reconciles("GitRepository"));
    s.eventually("a periodic reconcile after Ready", secs(30), || async {
        reconciles("Kustomization") > ks0 && reconciles("GitRepository") > git0
    })
    .await;
    let mark = audit.mark();
    let version = s.ks("app").await.metadata.resource_version;
    let (ks1, git1) = (reconciles("Kustomization"), reconciles("GitRepository"));
    s.eventually("three more periods of both", secs(60), || async {
        reconciles("Kustomization") >= ks1 + 3 && reconciles("GitRepository") >= git1 + 3
    })
    .await;
    let writes: Vec<String> = audit
        .since(mark)
        .into_iter()
        .filter(|w| w.namespace() == s.name() && !w.by_controller_manager())
        // The lease is renewed every retry period: leading is not a write about the objects.
        .filter(|w| w.resource() != "leases")
        .map(|w| w.to_string())
        .collect();
    assert!(
        writes.is_empty(),
        "no-op reconciles wrote:\n{}\n{}",
        writes.join("\n"),
        ctrl.log_tail(40)
    );
    // As a user sees it: the Kustomization's resourceVersion stays.
    assert_eq!(s.ks("app").await.metadata.resource_version, version);
}

#[tokio::test]
async fn a_failing_manifest_sets_ready_false_naming_it_and_prunes_nothing() {
    let git = Git::serve(&[
        ("deploy/a.yaml", &configmap("a", "one")),
        ("deploy/b.yaml", &configmap("b", "one")),
    ]);
    let s = Scene::new("ctrl-fail").await;
    let _ctrl = s.controller(&[]);
    s.app(&git).await;
    let first = git.revision();
    s.ks_until("app", "Ready", secs(60), |o| o.is_ready()).await;

    // a changed, b removed and an object the apiserver refuses (invalid name) added: the
    // apply fails, so a must keep its value (nothing of the set is written), b must not be
    // pruned and the inventory stays.
    let second = git.push(
        &[
            ("deploy/a.yaml", &configmap("a", "two")),
            ("deploy/bad.yaml", &configmap("Bad_Name", "x")),
        ],
        &["deploy/b.yaml"],
        "a bad manifest",
    );
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    let ks = s
        .ks_until("app", "Ready=False", secs(30), |o| {
            o.ready().is_some_and(|c| c["status"] == "False")
        })
        .await;
    let cond = ks.ready().unwrap();
    assert_eq!(cond["reason"], "ReconciliationFailed", "{cond}");
    assert!(ks.ready_message().contains("Bad_Name"), "{cond}");
    assert_eq!(ks.data["status"]["lastAppliedRevision"], first);
    assert_eq!(ks.data["status"]["lastAttemptedRevision"], second);
    assert_eq!(ks.inventory_len(), 2, "inventory kept");
    assert_eq!(
        s.configmap("a").await.as_deref(),
        Some("one"),
        "a valid object of a failed set was written"
    );
    assert_eq!(
        s.configmap("b").await.as_deref(),
        Some("one"),
        "nothing pruned"
    );

    // A manifest that does not parse: BuildFailed naming the file.
    git.push(
        &[(
            "deploy/bad.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n",
        )],
        &[],
        "broken yaml",
    );
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    let ks = s
        .ks_until("app", "BuildFailed", secs(30), |o| {
            o.ready_reason().as_deref() == Some("BuildFailed")
        })
        .await;
    assert!(ks.ready_message().contains("bad.yaml"), "{:?}", ks.ready());
    assert_eq!(s.configmap("b").await.as_deref(), Some("one"));

    // Fixed: Ready again, and now b is pruned.
    let fixed = git.push(&[], &["deploy/bad.yaml"], "fixed");
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    s.ks_until("app", "the fixed revision", secs(30), |o| {
        o.applied_revision() == Some(fixed.as_str())
    })
    .await;
    assert_eq!(s.configmap("b").await, None);
}

#[tokio::test]
async fn depends_on_waits_substitutes_variables_and_deletion_prunes() {
    let git = Git::serve(&[
        ("deploy/a.yaml", &configmap("a", "one")),
        (
            "later/c.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-${suffix}\ndata:\n  key: ${greeting:=hello}\n  from: ${colour}\n  script: echo $HOME\n",
        ),
    ]);
    let s = Scene::new("ctrl-deps").await;
    let _ctrl = s.controller(&[]);
    s.apply(GitRepository::new("app").url(git.url())).await;
    let cms: kube::Api<ConfigMap> = s.ns.api();
    cms.create(
        &Default::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "vars"}, "data": {"colour": "blue", "suffix": "from-cm"}
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    s.apply(
        Kustomization::new("later")
            .source("app")
            .path("./later")
            .prune(true)
            .retry_interval("1m")
            .target_namespace(s.name())
            .depends_on("base")
            .spec(
                "postBuild",
                json!({
                    "substitute": {"suffix": "x"},
                    "substituteFrom": [
                        {"kind": "ConfigMap", "name": "vars"},
                        {"kind": "Secret", "name": "absent", "optional": true}
                    ]
                }),
            ),
    )
    .await;
    let ks = s
        .ks_until("later", "DependencyNotReady", secs(60), |o| {
            o.ready_reason().as_deref() == Some("DependencyNotReady")
        })
        .await;
    let message = ks.ready_message();
    assert!(message.contains("base"), "{message}");
    assert_eq!(cms.get_opt("c-x").await.unwrap(), None);

    // The dependency appears and becomes Ready: the dependent follows without waiting for
    // its retry interval (1m).
    s.apply(
        Kustomization::new("base")
            .source("app")
            .path("./deploy")
            .prune(true)
            .target_namespace(s.name()),
    )
    .await;
    s.ks_until("later", "Ready after its dependency", secs(30), |o| {
        o.is_ready()
    })
    .await;
    let c = cms.get("c-x").await.unwrap().data.unwrap();
    assert_eq!(c["key"], "hello", "default used");
    assert_eq!(c["from"], "blue", "from the ConfigMap");
    assert_eq!(c["script"], "echo $HOME", "$var is not substituted");

    // Deleting a pruning Kustomization deletes its objects, then the object goes.
    s.kustomizations()
        .delete("later", &Default::default())
        .await
        .unwrap();
    s.eventually("the Kustomization deleted", secs(30), || async {
        s.kustomizations().get_opt("later").await.unwrap().is_none()
    })
    .await;
    assert_eq!(
        cms.get_opt("c-x").await.unwrap(),
        None,
        "pruned on deletion"
    );
    assert_eq!(
        s.configmap("a").await.as_deref(),
        Some("one"),
        "others kept"
    );
}

#[tokio::test]
async fn suspend_holds_a_push_resume_applies_it_and_drift_is_corrected_at_the_interval() {
    let web = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n";
    let git = Git::serve(&[
        ("deploy/a.yaml", &configmap("a", "one")),
        ("deploy/web.yaml", web),
    ]);
    let s = Scene::new("ctrl-suspend").await;
    let ctrl = s.controller(&[]);
    s.app(&git).await;
    s.ks_until("app", "Ready", secs(60), |o| o.is_ready()).await;
    let first = git.revision();

    // Counted before the change: the controller may have handled it by the time the merge
    // call returns.
    let reconciles = || ctrl.reconciles("Kustomization", s.name(), "app");
    let before = reconciles();
    s.merge(KUSTOMIZATION, "app", json!({"spec": {"suspend": true}}))
        .await;
    s.eventually("the suspend seen", secs(30), || async {
        reconciles() > before && ctrl.log().contains("suspended; skipping")
    })
    .await;
    let second = git.push(&[("deploy/a.yaml", &configmap("a", "two"))], &[], "two");
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    s.until(GIT_REPOSITORY, "app", "the push fetched", secs(30), |o| {
        o.artifact_revision() == Some(second.as_str())
    })
    .await;
    // Evidence instead of a pause: a reconcile that starts after the new revision is
    // available has finished, and left the Kustomization alone.
    let fetched = reconciles();
    s.request_reconcile(KUSTOMIZATION, "app").await;
    s.eventually("a reconcile after the fetch", secs(30), || async {
        reconciles() > fetched
    })
    .await;
    assert_eq!(
        s.ks("app").await.applied_revision(),
        Some(first.as_str()),
        "a suspended Kustomization applied a push"
    );
    assert_eq!(s.configmap("a").await.as_deref(), Some("one"));

    // Resume (after shortening the interval) as a user does: `tug resume` waits for the
    // reconcile and prints the revision applied; then drift is corrected at the interval.
    s.merge(KUSTOMIZATION, "app", json!({"spec": {"interval": "2s"}}))
        .await;
    let stderr = s.tug(&["resume", "ks", "app"]).await;
    assert!(
        stderr.contains(&format!("applied revision {second}")),
        "{stderr}"
    );
    s.ks_until("app", "the held revision after resume", secs(30), |o| {
        o.applied_revision() == Some(second.as_str())
    })
    .await;
    assert_eq!(s.configmap("a").await.as_deref(), Some("two"));

    let cms: kube::Api<ConfigMap> = s.ns.api();
    let drift = json!({"data": {"key": "edited by hand"}});
    cms.patch("a", &Default::default(), &kube::api::Patch::Merge(&drift))
        .await
        .unwrap();
    s.eventually("drift corrected", secs(20), || async {
        s.configmap("a").await.as_deref() == Some("two")
    })
    .await;

    // `kubectl scale` (the scale subresource) is drift too: Git says one replica.
    let deployments: kube::Api<Deployment> = s.ns.api();
    let replicas = |d: Deployment| d.spec.replicas;
    deployments
        .patch_scale(
            "web",
            &Default::default(),
            &kube::api::Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(replicas(deployments.get("web").await.unwrap()), Some(3));
    s.eventually("the scaled Deployment corrected", secs(20), || async {
        replicas(deployments.get("web").await.unwrap()) == Some(1)
    })
    .await;
}

#[tokio::test]
async fn git_server_down_keeps_the_last_revision_applied_and_recovers_by_itself() {
    let mut git = Git::serve(&[("deploy/a.yaml", &configmap("a", "one"))]);
    let s = Scene::new("ctrl-gitdown").await;
    let _ctrl = s.controller(&[]);
    s.app(&git).await;
    let first = git.revision();
    s.ks_until("app", "Ready", secs(60), |o| {
        o.applied_revision() == Some(first.as_str())
    })
    .await;

    // The server goes away; a commit is pushed to the repository behind it meanwhile.
    git.server.process.kill();
    let second = git.push(&[("deploy/a.yaml", &configmap("a", "two"))], &[], "two");
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    let repo = s
        .until(GIT_REPOSITORY, "app", "Ready=False", secs(30), |o| {
            o.ready().is_some_and(|c| c["status"] == "False")
        })
        .await;
    let message = repo.ready_message();
    assert!(
        message.contains("127.0.0.1") || message.to_lowercase().contains("connect"),
        "the cause is named: {message}"
    );
    // The last artifact is still served: the Kustomization stays Ready on it, and a
    // reconcile meanwhile still applies it (drift is corrected while Git is down).
    assert_eq!(repo.artifact_revision(), Some(first.as_str()));
    let cms: kube::Api<ConfigMap> = s.ns.api();
    cms.patch(
        "a",
        &Default::default(),
        &kube::api::Patch::Merge(&json!({"data": {"key": "drifted"}})),
    )
    .await
    .unwrap();
    s.request_reconcile(KUSTOMIZATION, "app").await;
    s.ks_until("app", "reconcile while Git is down", secs(30), |o| {
        o.data["status"]["lastHandledReconcileAt"].is_string() && o.is_ready()
    })
    .await;
    s.eventually("drift corrected", secs(30), || async {
        s.configmap("a").await.as_deref() == Some("one")
    })
    .await;

    // The server comes back: the GitRepository recovers by itself (retries with back-off)
    // and the new revision is applied.
    git.server.process.restart().unwrap();
    s.ks_until("app", "the new revision after recovery", secs(60), |o| {
        o.applied_revision() == Some(second.as_str())
    })
    .await;
    assert_eq!(s.configmap("a").await.as_deref(), Some("two"));
    assert!(s.source("app").await.is_ready());
}

#[tokio::test]
async fn a_dependency_chain_of_three_is_applied_in_order_and_prune_false_keeps_objects() {
    let git = Git::serve(&[
        ("deploy/a.yaml", &configmap("a", "one")),
        ("first/first.yaml", &configmap("first", "v1")),
        ("second/second.yaml", &configmap("second", "v2")),
        ("second/kept.yaml", &configmap("kept", "k")),
        ("third/third.yaml", &configmap("third", "v3")),
    ]);
    let s = Scene::new("ctrl-chain").await;
    let ctrl = s.controller(&[]);
    s.apply(GitRepository::new("app").url(git.url())).await;
    let ks = |name: &str| {
        Kustomization::new(name)
            .source("app")
            .path(&format!("./{name}"))
            .retry_interval("1m")
            .target_namespace(s.name())
    };
    // third → second → first; first is suspended, so nothing further down may apply.
    s.apply(ks("third").depends_on("second").prune(true)).await;
    s.apply(ks("second").depends_on("first").prune(false)).await;
    s.apply(ks("first").suspend(true).prune(true)).await;
    for name in ["second", "third"] {
        s.ks_until(name, "DependencyNotReady", secs(60), |o| {
            o.ready_reason().as_deref() == Some("DependencyNotReady")
        })
        .await;
    }
    for name in ["first", "second", "third"] {
        assert_eq!(s.configmap(name).await, None, "{name} applied too early");
    }

    // Resumed, the head of the chain applies, then each dependent in turn — without
    // waiting for their one-minute retry interval.
    s.merge(KUSTOMIZATION, "first", json!({"spec": {"suspend": false}}))
        .await;
    s.ks_until("third", "the chain Ready", secs(30), |o| o.is_ready())
        .await;
    let cms: kube::Api<ConfigMap> = s.ns.api();
    let created = |cm: ConfigMap| cm.metadata.creation_timestamp.unwrap().0;
    let first = created(cms.get("first").await.unwrap());
    let second = created(cms.get("second").await.unwrap());
    let third = created(cms.get("third").await.unwrap());
    assert!(
        first <= second && second <= third,
        "{first} {second} {third}"
    );
    let log = ctrl.log();
    let position = |name: &str| {
        let key = format!("key={}/{name} ", s.name());
        log.lines()
            .position(|l| l.contains(" reconciled") && l.contains(&key))
            .unwrap_or_else(|| panic!("{name} not reconciled\n{log}"))
    };
    assert!(position("first") < position("second"), "{log}");
    assert!(position("second") < position("third"), "{log}");

    // prune: false — a file removed from Git leaves its object in the cluster.
    let revision = git.push(&[], &["second/kept.yaml"], "remove kept");
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    s.ks_until("second", "the new revision", secs(30), |o| {
        o.applied_revision() == Some(revision.as_str())
    })
    .await;
    assert_eq!(
        s.configmap("kept").await.as_deref(),
        Some("k"),
        "kept without prune"
    );
}

#[tokio::test]
async fn kustomize_fields_common_metadata_and_secret_substitution_shape_what_is_applied() {
    let git = Git::serve(&[
        ("deploy/a.yaml", &configmap("a", "one")),
        (
            "web/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.0\n        env:\n        - name: TOKEN\n          value: ${token}\n",
        ),
        ("web/cm.yaml", &configmap("settings", "${colour}")),
    ]);
    let s = Scene::new("ctrl-fields").await;
    let ctrl = s.controller(&[]);
    s.apply(GitRepository::new("app").url(git.url())).await;
    let secrets: kube::Api<Secret> = s.ns.api();
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
    s.apply(
        Kustomization::new("web")
            .source("app")
            .path("./web")
            .prune(true)
            .retry_interval("2s")
            .target_namespace(s.name())
            .spec("namePrefix", "staging-")
            .spec(
                "commonMetadata",
                json!({"labels": {"team": "blue"}, "annotations": {"owner": "ops"}}),
            )
            .spec(
                "images",
                json!([{"name": "nginx", "newName": "registry.local/nginx", "newTag": "1.25"}]),
            )
            .spec(
                "patches",
                json!([{
                    "patch": "- op: add\n  path: /data/patched\n  value: \"yes\"\n",
                    "target": {"kind": "ConfigMap"}
                }]),
            )
            .spec(
                "postBuild",
                json!({"substituteFrom": [{"kind": "Secret", "name": "vars"}]}),
            ),
    )
    .await;
    let ks = s.ks_until("web", "Ready", secs(60), |o| o.is_ready()).await;
    let cms: kube::Api<ConfigMap> = s.ns.api();
    let cm = cms.get("staging-settings").await.unwrap();
    let data = cm.data.clone().unwrap();
    assert_eq!(data["key"], "green", "substituted from the Secret");
    assert_eq!(data["patched"], "yes", "patched");
    let labels = cm.metadata.labels.clone().unwrap();
    assert_eq!(labels["team"], "blue");
    assert_eq!(cm.metadata.annotations.clone().unwrap()["owner"], "ops");
    let deployments: kube::Api<Deployment> = s.ns.api();
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
    assert!(!ctrl.log().contains("s3cr3t"));
}

#[tokio::test]
async fn two_controllers_only_the_leader_reconciles_and_a_standby_takes_over_when_it_is_killed() {
    let git = Git::serve(&[("deploy/a.yaml", &configmap("a", "one"))]);
    let s = Scene::new("ctrl-leader").await;
    let mut leader = s.controller(&FAST_LEASES);
    s.app(&git).await;
    let first = git.revision();
    s.ks_until("app", "Ready", secs(60), |o| {
        o.applied_revision() == Some(first.as_str())
    })
    .await;
    // The standby is up (ready for probes) but does not lead and does not reconcile.
    let standby = s.controller(&FAST_LEASES);
    assert_eq!(standby.readyz(), 200);
    assert!(leader.is_leader(), "{}", leader.metrics());
    assert!(!standby.is_leader(), "{}", standby.metrics());
    let metrics = leader.metrics();
    assert!(
        metrics.contains(&format!(
            "gotk_reconcile_duration_seconds_count{{kind=\"Kustomization\",name=\"app\",namespace=\"{}\"}}",
            s.name()
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
    let second = git.push(&[("deploy/a.yaml", &configmap("a", "two"))], &[], "two");
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    s.ks_until("app", "the leader applies", secs(30), |o| {
        o.applied_revision() == Some(second.as_str())
    })
    .await;
    assert!(
        !standby.log().contains("controllers started"),
        "the standby reconciled:\n{}",
        standby.log()
    );

    // The leader dies without releasing the lease: the standby takes over once the lease
    // expires, and applies the next push.
    leader.kill();
    let third = git.push(&[("deploy/a.yaml", &configmap("a", "three"))], &[], "three");
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    s.ks_until("app", "the standby applies", secs(60), |o| {
        o.applied_revision() == Some(third.as_str())
    })
    .await;
    assert_eq!(s.configmap("a").await.as_deref(), Some("three"));
    assert!(
        standby.log().contains("lease acquired"),
        "{}",
        standby.log()
    );
    assert!(standby.is_leader());
}

#[tokio::test]
async fn a_sharded_controller_reconciles_only_objects_with_its_label() {
    let git = Git::serve(&[
        ("deploy/a.yaml", &configmap("a", "one")),
        ("other/o.yaml", &configmap("o", "one")),
    ]);
    let s = Scene::new("ctrl-shard").await;
    let ctrl = s.controller(&["--watch-label-selector=sharding.fluxcd.io/key=shard1"]);
    s.app(&git).await;
    // A labelled pair next to the unlabelled one: once it is Ready, the controller has
    // listed and reconciled this namespace, so the unlabelled pair was passed over.
    let (key, value) = ("sharding.fluxcd.io/key", "shard1");
    s.apply(
        GitRepository::new("labelled")
            .url(git.url())
            .label(key, value),
    )
    .await;
    s.apply(
        Kustomization::new("labelled")
            .source("labelled")
            .path("./other")
            .target_namespace(s.name())
            .label(key, value),
    )
    .await;
    s.ks_until("labelled", "Ready", secs(60), |o| o.is_ready())
        .await;
    // Without the label neither the source nor the Kustomization is touched.
    assert_eq!(s.ks("app").await.ready(), None, "{}", ctrl.log());
    assert_eq!(s.source("app").await.ready(), None);
    assert_eq!(s.configmap("a").await, None);
    assert_eq!(ctrl.reconciles("Kustomization", s.name(), "app"), 0);
    assert_eq!(ctrl.reconciles("GitRepository", s.name(), "app"), 0);

    let label = json!({"metadata": {"labels": {"sharding.fluxcd.io/key": "shard1"}}});
    for kind in [GIT_REPOSITORY, KUSTOMIZATION] {
        s.merge(kind, "app", label.clone()).await;
    }
    s.ks_until("app", "Ready once labelled", secs(60), |o| o.is_ready())
        .await;
    assert_eq!(s.configmap("a").await.as_deref(), Some("one"));
}

#[tokio::test]
async fn wait_reports_an_unhealthy_deployment_then_healthy_once_fixed() {
    // No kubelet runs here: a Deployment of one replica never becomes available, and with a
    // progress deadline of one second kube-controller-manager soon reports it failed.
    let git = Git::serve(&[("deploy/web.yaml", &deployment("web", 1))]);
    let s = Scene::new("ctrl-health").await;
    let _ctrl = s.controller(&[]);
    s.app(&git).await;
    s.merge(
        KUSTOMIZATION,
        "app",
        json!({"spec": {"wait": true, "timeout": "2m"}}),
    )
    .await;
    let ks = s
        .ks_until("app", "HealthCheckFailed", secs(90), |o| {
            o.ready_reason().as_deref() == Some("HealthCheckFailed")
        })
        .await;
    let healthy = ks.condition("Healthy").expect("a Healthy condition");
    assert_eq!(healthy["status"], "False", "{healthy}");
    assert_eq!(healthy["reason"], "HealthCheckFailed", "{healthy}");
    let message = ks.ready_message();
    assert!(
        message.contains(&format!("Deployment/{}/web", s.name())),
        "the message names the object: {message}"
    );
    // Still in progress for kstatus, as Flux leaves it: Reconciling with a retry.
    let reconciling = ks
        .condition("Reconciling")
        .expect("a Reconciling condition");
    assert_eq!(
        reconciling["reason"], "ProgressingWithRetry",
        "{reconciling}"
    );

    // Scaled to zero in Git: healthy, Ready.
    let fixed = git.push(
        &[("deploy/web.yaml", &deployment("web", 0))],
        &[],
        "scale to zero",
    );
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    let ks = s
        .ks_until("app", "Ready on the fixed revision", secs(60), |o| {
            o.applied_revision() == Some(fixed.as_str()) && o.is_ready()
        })
        .await;
    let healthy = ks.condition("Healthy").expect("a Healthy condition");
    assert_eq!(healthy["status"], "True", "{healthy}");
    assert!(
        healthy["message"]
            .as_str()
            .unwrap()
            .starts_with("Health check passed"),
        "{healthy}"
    );
    assert!(
        ks.condition("Reconciling").is_none(),
        "{:?}",
        ks.data["status"]
    );
}

#[tokio::test]
async fn sigterm_abandons_a_health_wait_after_the_grace_period() {
    // One replica and the default ten-minute progress deadline: without a kubelet the health
    // check waits for the whole timeout.
    let git = Git::serve(&[("deploy/web.yaml", &deployment_with_deadline("web", 1, 600))]);
    let s = Scene::new("ctrl-grace").await;
    let mut ctrl = s.controller(&["--graceful-shutdown-timeout=2s"]);
    s.app(&git).await;
    s.merge(
        KUSTOMIZATION,
        "app",
        json!({"spec": {"wait": true, "timeout": "5m"}}),
    )
    .await;
    s.ks_until("app", "health checks running", secs(60), |o| {
        o.condition("Reconciling").is_some_and(|c| {
            c["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Running health checks"))
        })
    })
    .await;
    let status = ctrl.terminate(secs(20));
    assert!(
        status.is_some_and(|s| s.success()),
        "the controller did not stop after its grace period: {status:?}\n{}",
        ctrl.log()
    );
    assert!(
        ctrl.log()
            .contains("abandoning the reconciles still in flight"),
        "{}",
        ctrl.log()
    );
}

#[tokio::test]
async fn cli_reconcile_with_source_events_json_logs_stalled_and_delete() {
    let git = Git::serve(&[("deploy/a.yaml", &configmap("a", "one"))]);
    let s = Scene::new("ctrl-cli").await;
    let ctrl = s.controller(&["--log-encoding=json"]);
    s.app(&git).await;
    let n = s.name();
    s.ks_until("app", "Ready", secs(60), |o| o.is_ready()).await;

    // An Event with the change set, from kustomize-controller, on the Kustomization.
    let events: kube::Api<k8s_openapi::api::core::v1::Event> = s.ns.api();
    let created = format!("ConfigMap/{n}/a created");
    s.eventually(
        &format!("an event saying '{created}'"),
        secs(20),
        || async {
            let list = events.list(&Default::default()).await.unwrap();
            let found = list.items.iter().any(|e| {
                e.involved_object.kind.as_deref() == Some("Kustomization")
                    && e.involved_object.name.as_deref() == Some("app")
                    && e.message.as_deref().is_some_and(|m| m.contains(&created))
            });
            found.then_some(()).ok_or_else(|| {
                format!(
                    "{:?}",
                    list.items.iter().map(|e| &e.message).collect::<Vec<_>>()
                )
            })
        },
    )
    .await;

    // JSON logs: every line is a JSON object; the reconcile is among them.
    let log = ctrl.log();
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
    let second = git.push(&[("deploy/a.yaml", &configmap("a", "two"))], &[], "two");
    let stderr = s
        .tug(&["reconcile", "kustomization", "app", "--with-source"])
        .await;
    assert!(
        stderr.contains(&format!("fetched revision {second}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("applied revision {second}")),
        "{stderr}"
    );
    assert_eq!(s.configmap("a").await.as_deref(), Some("two"));

    // A source kind tug does not serve yet: Stalled, saying so.
    s.apply(
        Kustomization::new("bucket")
            .prune(true)
            .path("./")
            .spec("sourceRef", json!({"kind": "Bucket", "name": "app"})),
    )
    .await;
    let bucket = s
        .ks_until("bucket", "Stalled", secs(30), |o| {
            o.condition("Stalled")
                .is_some_and(|c| c["status"] == "True")
        })
        .await;
    let message = bucket.ready_message();
    assert!(
        message.contains("'Bucket' is not supported yet"),
        "{message}"
    );

    // A field tug does not implement yet: Stalled, naming it, and nothing applied.
    s.apply(
        Kustomization::new("sops")
            .source("app")
            .path("./")
            .target_namespace(s.name())
            .spec("decryption", json!({"provider": "sops"})),
    )
    .await;
    let sops = s
        .ks_until("sops", "Stalled", secs(30), |o| {
            o.condition("Stalled")
                .is_some_and(|c| c["status"] == "True")
        })
        .await;
    assert_eq!(
        sops.ready_message(),
        "spec.decryption (SOPS) is not supported by tug yet"
    );
    assert!(sops.applied_revision().is_none(), "nothing applied");

    // A served kind whose object is missing: not Stalled, retried until it appears.
    s.apply(
        Kustomization::new("oci")
            .prune(true)
            .path("./")
            .spec("sourceRef", json!({"kind": "OCIRepository", "name": "app"})),
    )
    .await;
    let oci = s
        .ks_until("oci", "Ready=False", secs(30), |o| {
            o.ready().is_some_and(|c| c["status"] == "False")
        })
        .await;
    assert!(
        oci.ready_message().contains("Source 'OCIRepository/")
            && oci.ready_message().ends_with("/app' not found"),
        "{}",
        oci.ready_message()
    );
    assert!(
        oci.condition("Stalled").is_none(),
        "a missing source is retried"
    );

    // `tug delete kustomization`: the finalizer prunes what it applied.
    s.tug(&["delete", "kustomization", "app"]).await;
    s.eventually("pruned and deleted", secs(30), || async {
        s.configmap("a").await.is_none()
            && s.kustomizations().get_opt("app").await.unwrap().is_none()
    })
    .await;
}

#[tokio::test]
async fn prune_removes_cluster_scoped_objects_namespaces_after_their_contents_and_crds_after_their_resources(
) {
    let s = Scene::new("ctrl-prune-order").await;
    let n = s.name().to_string();
    // Cluster-scoped names carry the test's namespace, unique on the shared control plane.
    let team = format!("{n}-team");
    let group = format!("{n}.tug.test");
    let files = [
        ("deploy/a.yaml".to_string(), configmap_in(&n, "a", "kept")),
        (
            "deploy/role.yaml".into(),
            format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {n}-reader\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get]\n"),
        ),
        (
            "deploy/namespace.yaml".into(),
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {team}\n"),
        ),
        ("deploy/inside.yaml".into(), configmap_in(&team, "inside", "x")),
        (
            "deploy/crd.yaml".into(),
            format!("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.{group}\nspec:\n  group: {group}\n  scope: Namespaced\n  names: {{plural: widgets, singular: widget, kind: Widget}}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}\n"),
        ),
        (
            "deploy/widget.yaml".into(),
            format!("apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: {n}\nsize: 3\n"),
        ),
    ];
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let git = Git::serve(&files);
    let _ctrl = s.controller(&[]);
    s.apply(GitRepository::new("app").url(git.url())).await;
    // No targetNamespace: kustomize would rename the Namespace object to it.
    s.apply(
        Kustomization::new("app")
            .source("app")
            .path("./deploy")
            .prune(true)
            .retry_interval("2s"),
    )
    .await;
    let ks = s.ks_until("app", "Ready", secs(60), |o| o.is_ready()).await;
    assert_eq!(ks.inventory_len(), 6, "{}", ks.data["status"]["inventory"]);
    let widget = Kind::custom(&group, "v1", "Widget", "widgets");
    assert_eq!(s.get_in(widget, &n, "w1").await.unwrap().data["size"], 3);

    // Everything but `a` leaves Git: pruned, contents before their Namespace and custom
    // resources before their CRD, each deleted by the controller itself (not left to the
    // namespace controller or the CRD's finalizer).
    let audit = AuditLog::open();
    let mark = audit.mark();
    let gone = [
        "deploy/role.yaml",
        "deploy/namespace.yaml",
        "deploy/inside.yaml",
        "deploy/crd.yaml",
        "deploy/widget.yaml",
    ];
    let revision = git.push(&[], &gone, "only a is left");
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    let ks = s
        .ks_until("app", "the pruning revision", secs(60), |o| {
            o.applied_revision() == Some(revision.as_str())
        })
        .await;
    assert_eq!(ks.inventory_len(), 1);
    let deletes: Vec<_> = audit
        .since(mark)
        .into_iter()
        .filter(|w| w.verb() == "delete" && !w.by_controller_manager() && w.succeeded())
        .collect();
    let position = |resource: &str, name: &str| {
        deletes
            .iter()
            .position(|w| w.resource() == resource && w.name() == name)
            .unwrap_or_else(|| {
                let seen: Vec<String> = deletes.iter().map(|w| w.to_string()).collect();
                panic!("no delete of {resource} {name}:\n{}", seen.join("\n"))
            })
    };
    let listing = deletes
        .iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        position("configmaps", "inside") < position("namespaces", &team),
        "{listing}"
    );
    assert!(
        position("widgets", "w1")
            < position("customresourcedefinitions", &format!("widgets.{group}")),
        "{listing}"
    );
    position("clusterroles", &format!("{n}-reader"));

    let roles: kube::Api<k8s_openapi::api::rbac::v1::ClusterRole> =
        kube::Api::all(s.ns.client.clone());
    assert!(roles
        .get_opt(&format!("{n}-reader"))
        .await
        .unwrap()
        .is_none());
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(s.ns.client.clone());
    // The namespace controller finishes what the delete started.
    s.eventually("the Namespace gone", secs(60), || async {
        namespaces.get_opt(&team).await.unwrap().is_none()
    })
    .await;
    s.eventually("the CRD gone", secs(30), || async {
        let crds: kube::Api<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        > = kube::Api::all(s.ns.client.clone());
        crds.get_opt(&format!("widgets.{group}")).await.unwrap().is_none()
    })
    .await;
    assert_eq!(s.configmap("a").await.as_deref(), Some("kept"));
}

#[tokio::test]
async fn immutable_fields_fail_naming_each_object_until_force_recreates_them() {
    // A Job's pod template, a Service's clusterIP and a Deployment's selector cannot change
    // in place.
    let job = |image: &str| {
        format!("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: migrate\n        image: {image}\n")
    };
    let service = |ip: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  clusterIP: {ip}\n  selector: {{app: web}}\n  ports:\n  - port: 80\n")
    };
    let deployment = |app: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 0\n  selector:\n    matchLabels: {{app: {app}}}\n  template:\n    metadata:\n      labels: {{app: {app}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n")
    };
    let git = Git::serve(&[
        ("deploy/job.yaml", &job("busybox:1")),
        ("deploy/service.yaml", &service("10.0.200.10")),
        ("deploy/deployment.yaml", &deployment("web")),
    ]);
    let s = Scene::new("ctrl-immutable").await;
    let _ctrl = s.controller(&[]);
    s.app(&git).await;
    s.ks_until("app", "Ready", secs(60), |o| o.is_ready()).await;
    let jobs: kube::Api<k8s_openapi::api::batch::v1::Job> = s.ns.api();
    let services: kube::Api<k8s_openapi::api::core::v1::Service> = s.ns.api();
    let deployments: kube::Api<Deployment> = s.ns.api();
    let uids = || async {
        [
            jobs.get("migrate").await.unwrap().metadata.uid,
            services.get("web").await.unwrap().metadata.uid,
            deployments.get("web").await.unwrap().metadata.uid,
        ]
    };
    let before = uids().await;

    // Without force: Ready=False naming each object and the way out; nothing changed.
    let second = git.push(
        &[
            ("deploy/job.yaml", &job("busybox:2")),
            ("deploy/service.yaml", &service("10.0.200.11")),
            ("deploy/deployment.yaml", &deployment("web2")),
        ],
        &[],
        "change immutable fields",
    );
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    let ks = s
        .ks_until("app", "Ready=False on the new revision", secs(30), |o| {
            o.data["status"]["lastAttemptedRevision"] == second
                && o.ready().is_some_and(|c| c["status"] == "False")
        })
        .await;
    let message = ks.ready_message();
    let n = s.name();
    for object in [
        format!("Job/{n}/migrate"),
        format!("Service/{n}/web"),
        format!("Deployment/{n}/web"),
    ] {
        assert!(message.contains(&object), "{object} not named: {message}");
    }
    assert!(message.contains("immutable"), "{message}");
    assert!(message.contains("spec.force"), "{message}");
    assert_eq!(uids().await, before, "an object was replaced without force");
    assert_eq!(
        services
            .get("web")
            .await
            .unwrap()
            .spec
            .unwrap()
            .cluster_ip
            .as_deref(),
        Some("10.0.200.10")
    );

    // With force: each is deleted and created again from Git.
    s.merge(KUSTOMIZATION, "app", json!({"spec": {"force": true}}))
        .await;
    s.ks_until("app", "Ready with force", secs(90), |o| {
        o.applied_revision() == Some(second.as_str()) && o.is_ready()
    })
    .await;
    let after = uids().await;
    for (old, new) in before.iter().zip(&after) {
        assert_ne!(old, new, "not recreated");
    }
    let job = jobs.get("migrate").await.unwrap();
    let image = job.spec.unwrap().template.spec.unwrap().containers[0]
        .image
        .clone();
    assert_eq!(image.as_deref(), Some("busybox:2"));
    assert_eq!(
        services
            .get("web")
            .await
            .unwrap()
            .spec
            .unwrap()
            .cluster_ip
            .as_deref(),
        Some("10.0.200.11")
    );
    let selector = deployments
        .get("web")
        .await
        .unwrap()
        .spec
        .selector
        .match_labels;
    assert_eq!(selector.unwrap()["app"], "web2");
}
