//! End to end in the mode users run: `tug controller` with its defaults — every namespace
//! watched, its lease in its own namespace — and several replicas competing for the lease.
//!
//! A controller watching the whole cluster sees every test's objects, so the tests of this
//! binary take turns (one control plane, one story at a time).

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::SystemTime;
use tokio::sync::{Mutex, MutexGuard};

mod common;
use common::prelude::*;

const LEASE: &str = "tug-controller-leader-election";

/// One story at a time: a cluster-wide controller would reconcile another story's objects.
/// (An async mutex: each test runs on a runtime of its own, and holds its turn across awaits.)
async fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::const_new(());
    TURN.lock().await
}

async fn lease(s: &Scene, namespace: &str) -> Option<Lease> {
    Api::<Lease>::namespaced(s.ns.client.clone(), namespace)
        .get_opt(LEASE)
        .await
        .unwrap()
}

fn holder(lease: &Lease) -> Option<String> {
    lease.spec.as_ref()?.holder_identity.clone()
}

fn transitions(lease: &Lease) -> i32 {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.lease_transitions)
        .unwrap_or(0)
}

#[tokio::test]
async fn one_controller_for_the_whole_cluster_follows_a_source_in_another_namespace_in_dependency_order(
) {
    let _turn = one_at_a_time().await;
    let git = Git::serve(&[
        ("infra/infra.yaml", &configmap("infra", "v1")),
        ("apps/app.yaml", &configmap("app", "v1")),
        ("late/late.yaml", &configmap("late", "v1")),
        ("slow/web.yaml", &deployment_with_deadline("web", 1, 600)),
    ]);
    // The controller's own namespace (as flux-system), a namespace for sources and one for
    // the Kustomizations, as platform teams lay them out.
    let s = Scene::new("default-mode").await;
    let sources = s.namespace("sources").await;
    let apps = s.namespace("apps").await;
    let ctrl = s.launch(&Launch::cluster_wide(s.name()).arg("--concurrent=4"));
    ctrl.wait_ready();
    s.apply(
        GitRepository::new("platform")
            .url(git.url())
            .in_namespace(&sources),
    )
    .await;
    let ks = |name: &str| {
        Kustomization::new(name)
            .in_namespace(&apps)
            .source_in(&sources, "platform")
            .path(&format!("./{name}"))
            .prune(true)
            .retry_interval("1m")
            .target_namespace(&apps)
    };
    let in_apps = |name: &'static str| {
        let api = s.api_in(KUSTOMIZATION, &apps);
        async move { api.get(name).await.unwrap() }
    };

    // A Kustomization that waits five minutes for a Deployment that never becomes available
    // (no kubelet): with --concurrent=4 it holds one worker, not the others.
    s.apply(ks("slow").wait(true).timeout("5m")).await;
    s.eventually("slow running its health checks", secs(60), || async {
        in_apps("slow")
            .await
            .condition("Reconciling")
            .is_some_and(|c| {
                c["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("Running health checks"))
            })
    })
    .await;

    // late → apps → infra, created dependents first.
    s.apply(ks("late").depends_on("apps")).await;
    s.apply(ks("apps").depends_on("infra")).await;
    s.apply(ks("infra")).await;
    let late = s
        .eventually("the chain Ready", secs(60), || async {
            let late = in_apps("late").await;
            late.is_ready().then_some(late)
        })
        .await;
    assert_eq!(late.applied_revision(), Some(git.revision().as_str()));
    let slow = in_apps("slow").await;
    assert!(
        !slow.is_ready(),
        "the chain was applied while slow waited: {:?}",
        slow.data["status"]
    );
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(s.ns.client.clone(), &apps);
    let created = |name: &'static str| {
        let cms = cms.clone();
        async move {
            cms.get(name)
                .await
                .unwrap()
                .metadata
                .creation_timestamp
                .unwrap()
                .0
        }
    };
    let (infra, app, late) = (
        created("infra").await,
        created("app").await,
        created("late").await,
    );
    assert!(infra <= app && app <= late, "{infra} {app} {late}");

    // The lease is in the controller's namespace, held by it; nowhere else.
    let held = lease(&s, s.name())
        .await
        .expect("a lease in the controller's namespace");
    assert_eq!(holder(&held), ctrl.identity(), "{held:?}");
    assert!(lease(&s, &sources).await.is_none());
    assert!(lease(&s, &apps).await.is_none());

    // A push to the source in the other namespace reaches the Kustomizations using it.
    let second = git.push(
        &[("infra/infra.yaml", &configmap("infra", "v2"))],
        &[],
        "v2",
    );
    let repos = s.api_in(GIT_REPOSITORY, &sources);
    repos
        .patch(
            "platform",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "reconcile.fluxcd.io/requestedAt": format!("{:?}", SystemTime::now())
            }}})),
        )
        .await
        .unwrap();
    s.eventually(
        "the push applied by every member of the chain",
        secs(60),
        || async {
            let mut all = true;
            for name in ["infra", "apps", "late"] {
                all &= in_apps(name).await.applied_revision() == Some(second.as_str());
            }
            all
        },
    )
    .await;
    let infra = cms.get("infra").await.unwrap().data.unwrap();
    assert_eq!(infra["key"], "v2");
    drop(ctrl);
    s.clear().await;
}

#[tokio::test]
async fn two_replicas_started_together_elect_one_leader_and_sigterm_hands_over_at_once() {
    let _turn = one_at_a_time().await;
    let git = Git::serve(&[("deploy/a.yaml", &configmap("a", "one"))]);
    let s = Scene::new("two-replicas").await;
    // A lease of a minute: a takeover within the waits below can only come from a release.
    let replica = || {
        Launch::cluster_wide(s.name()).args(&[
            "--leader-election-lease-duration=60s",
            "--leader-election-renew-deadline=50s",
            "--leader-election-retry-period=500ms",
        ])
    };
    let mut replicas = [s.launch(&replica()), s.launch(&replica())];
    for r in &replicas {
        r.wait_ready();
    }
    s.app(&git).await;
    s.ks_until("app", "Ready", secs(60), |o| o.is_ready()).await;
    let leaders: Vec<usize> = (0..2).filter(|i| replicas[*i].is_leader()).collect();
    assert_eq!(leaders.len(), 1, "exactly one leader: {leaders:?}");
    let (leader, standby) = (leaders[0], 1 - leaders[0]);
    let first = lease(&s, s.name()).await.unwrap();
    assert_eq!(holder(&first), replicas[leader].identity());
    assert!(
        !replicas[standby].log().contains("controllers started"),
        "the standby reconciled:\n{}",
        replicas[standby].log()
    );

    // SIGTERM: the leader finishes, releases the lease, and the standby leads at once.
    let status = replicas[leader].terminate(secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        replicas[leader].log()
    );
    s.eventually("the standby leading", secs(20), || async {
        replicas[standby].is_leader()
    })
    .await;
    let second = lease(&s, s.name()).await.unwrap();
    assert_eq!(holder(&second), replicas[standby].identity());
    assert_eq!(transitions(&second), transitions(&first) + 1);
    let revision = git.push(&[("deploy/a.yaml", &configmap("a", "two"))], &[], "two");
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    s.ks_until("app", "the new leader applies", secs(30), |o| {
        o.applied_revision() == Some(revision.as_str())
    })
    .await;
    assert_eq!(s.configmap("a").await.as_deref(), Some("two"));
    drop(replicas);
    s.clear().await;
}

#[tokio::test]
async fn a_fresh_replica_takes_a_lease_left_by_a_killed_leader_only_once_it_expires() {
    let _turn = one_at_a_time().await;
    let git = Git::serve(&[("deploy/a.yaml", &configmap("a", "one"))]);
    let s = Scene::new("sigkill-takeover").await;
    let mut old = s.launch(&Launch::cluster_wide(s.name()).args(&FAST_LEASES));
    old.wait_ready();
    s.app(&git).await;
    s.ks_until("app", "Ready", secs(60), |o| o.is_ready()).await;
    let left = lease(&s, s.name()).await.unwrap();
    assert_eq!(holder(&left), old.identity());

    // SIGKILL: nothing is released; the lease record stays as the dead leader left it.
    old.kill();
    let started = SystemTime::now();
    let fresh = s.launch(&Launch::cluster_wide(s.name()).args(&FAST_LEASES));
    fresh.wait_ready();
    s.eventually("the fresh replica leading", secs(30), || async {
        fresh.is_leader()
    })
    .await;
    let taken = lease(&s, s.name()).await.unwrap();
    assert_eq!(holder(&taken), fresh.identity());
    assert_eq!(transitions(&taken), transitions(&left) + 1);
    // It waited for the lease to expire on its own clock (3 s from when it first saw the
    // record) rather than trusting the dead holder's renew time.
    let acquired = taken.spec.as_ref().unwrap().acquire_time.clone().unwrap().0;
    let started_ms = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let waited_ms = acquired.as_millisecond() - started_ms;
    assert!(
        waited_ms >= 2_900,
        "took the lease {waited_ms} ms after starting"
    );

    let revision = git.push(&[("deploy/a.yaml", &configmap("a", "two"))], &[], "two");
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    s.ks_until("app", "the fresh leader applies", secs(30), |o| {
        o.applied_revision() == Some(revision.as_str())
    })
    .await;
    drop(fresh);
    s.clear().await;
}

/// Makes every update of a Lease in `namespace` fail, as an API server that cannot reach a
/// (failing closed) admission webhook does. Returns the webhook's name.
async fn refuse_lease_updates(s: &Scene, namespace: &str) -> String {
    let label = "tug.test/refuse-lease-updates";
    Api::<Namespace>::all(s.ns.client.clone())
        .patch(
            namespace,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {label: "true"}}})),
        )
        .await
        .unwrap();
    let name = format!("refuse-leases-{namespace}");
    let webhook: ValidatingWebhookConfiguration = serde_json::from_value(json!({
        "metadata": {"name": name},
        "webhooks": [{
            "name": "refuse-leases.tug.test",
            // Nothing listens on the discard port: the call fails, and the policy is Fail.
            "clientConfig": {"url": "https://127.0.0.1:9/refuse"},
            "rules": [{
                "apiGroups": ["coordination.k8s.io"], "apiVersions": ["v1"],
                "operations": ["UPDATE"], "resources": ["leases"]
            }],
            "namespaceSelector": {"matchLabels": {label: "true"}},
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 2
        }]
    }))
    .unwrap();
    Api::<ValidatingWebhookConfiguration>::all(s.ns.client.clone())
        .create(&PostParams::default(), &webhook)
        .await
        .unwrap();
    name
}

#[tokio::test]
async fn a_leader_that_cannot_renew_its_lease_stops_reconciling() {
    let _turn = one_at_a_time().await;
    let git = Git::serve(&[("deploy/a.yaml", &configmap("a", "one"))]);
    let s = Scene::new("renew-fails").await;
    let mut leader = s.launch(&Launch::cluster_wide(s.name()).args(&FAST_LEASES));
    leader.wait_ready();
    s.app(&git).await;
    s.ks_until("app", "Ready", secs(60), |o| o.is_ready()).await;
    assert!(leader.is_leader());

    // The API server starts refusing the renewals: past its renew deadline (2 s) the leader
    // gives up leading, and the process exits so that it reconciles nothing more.
    let webhook = refuse_lease_updates(&s, s.name()).await;
    let status = leader.exit_status(secs(30));
    let log = leader.log();
    assert!(
        status.is_some_and(|s| !s.success()),
        "the leader kept running without its lease: {status:?}\n{log}"
    );
    assert!(log.contains("renewing the lease failed"), "{log}");
    assert!(log.contains("not renewed within"), "{log}");

    // Once the lease can be written again, a new replica leads and applies what was pushed
    // while nobody led.
    let revision = git.push(&[("deploy/a.yaml", &configmap("a", "two"))], &[], "two");
    s.request_reconcile(GIT_REPOSITORY, "app").await;
    Api::<ValidatingWebhookConfiguration>::all(s.ns.client.clone())
        .delete(&webhook, &Default::default())
        .await
        .unwrap();
    let next = s.launch(&Launch::cluster_wide(s.name()).args(&FAST_LEASES));
    next.wait_ready();
    s.ks_until("app", "the next leader applies", secs(60), |o| {
        o.applied_revision() == Some(revision.as_str())
    })
    .await;
    assert!(next.is_leader());
    drop(next);
    s.clear().await;
}
