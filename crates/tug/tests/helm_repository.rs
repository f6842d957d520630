//! End to end: a HelmRepository on a real chart repository (lighttpd on loopback) becomes an
//! index artifact with Flux's revision; polls of an unchanged index are conditional requests
//! the server answers 304; a new chart version is a new revision. `type: oci` repositories
//! are static, as in Flux.

mod common;
use common::prelude::*;
use tug_source::helm::{write_index, IndexEntry};
use tug_testsupport::chartrepo::{write_chart_dir, ChartRepoOptions, ChartRepoServer};

const HELM_REPOSITORY: Kind = Kind {
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    kind: "HelmRepository",
    plural: "helmrepositories",
};

/// Packages `podinfo` at each of `versions` into the served directory, with their index.
fn publish(repo: &ChartRepoServer, versions: &[&str]) {
    let work = tempfile::tempdir().unwrap();
    let mut entries = Vec::new();
    for version in versions {
        let dir = write_chart_dir(work.path(), "podinfo", version, version).unwrap();
        let package = tug_helm::chart::package(&dir).unwrap();
        repo.put(&package.file_name(), &package.bytes).unwrap();
        entries.push(
            IndexEntry::from_archive(&package.bytes, &package.file_name(), "2026-12-08T00:00:00Z")
                .unwrap(),
        );
    }
    let mut index = Vec::new();
    write_index(&mut index, &entries, "2026-12-08T00:00:00Z").unwrap();
    repo.put("index.yaml", &index).unwrap();
}

fn revision(o: &kube::api::DynamicObject) -> String {
    o.data["status"]["artifact"]["revision"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn an_index_becomes_an_artifact_unchanged_polls_are_304_and_new_versions_new_revisions() {
    let repo = ChartRepoServer::start(ChartRepoOptions::default()).unwrap();
    publish(&repo, &["1.0.0"]);

    let s = Scene::new("helm-repository").await;
    let ctrl = s.controller(&[]);
    s.apply(
        Object::new(HELM_REPOSITORY, "podinfo")
            .with_spec(serde_json::json!({"url": repo.url(), "interval": "2s"})),
    )
    .await;
    let first = s
        .until(HELM_REPOSITORY, "podinfo", "Ready", secs(60), |o| {
            o.is_ready()
        })
        .await;
    let rev = revision(&first);
    assert!(rev.starts_with("sha256:") && rev.len() == 71, "{rev}");
    assert_eq!(
        first.ready_message(),
        format!("stored artifact: revision '{rev}'")
    );
    let path = first.data["status"]["artifact"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    let stored = std::fs::read(ctrl.storage_path().join(&path)).unwrap();
    assert!(
        String::from_utf8_lossy(&stored).contains("podinfo-1.0.0.tgz"),
        "the artifact is the index"
    );

    // The next polls ask for changes only: the server answers 304 and nothing is downloaded.
    s.eventually("a conditional poll answered 304", secs(30), || async {
        repo.access_log()
            .lines()
            .any(|l| l.contains("GET /index.yaml") && l.contains("\" 304 "))
    })
    .await;

    publish(&repo, &["1.0.0", "1.1.0"]);
    let second = s
        .until(
            HELM_REPOSITORY,
            "podinfo",
            "a new revision",
            secs(60),
            |o| o.is_ready() && revision(o) != rev && !revision(o).is_empty(),
        )
        .await;
    let path = second.data["status"]["artifact"]["path"].as_str().unwrap();
    let stored = std::fs::read(ctrl.storage_path().join(path)).unwrap();
    assert!(String::from_utf8_lossy(&stored).contains("podinfo-1.1.0.tgz"));
}

#[tokio::test]
async fn oci_helm_repositories_are_static_and_bad_urls_are_reported() {
    let s = Scene::new("helm-repository-static").await;
    let _ctrl = s.controller(&[]);
    s.apply(
        Object::new(HELM_REPOSITORY, "oci").with_spec(serde_json::json!({
            "url": "oci://127.0.0.1:9/charts", "type": "oci", "interval": "1m"
        })),
    )
    .await;
    let oci = s
        .until(HELM_REPOSITORY, "oci", "observed", secs(60), |o| {
            o.data["status"]["observedGeneration"] == 1
        })
        .await;
    assert!(
        oci.ready().is_none(),
        "no conditions: {}",
        oci.data["status"]
    );
    assert!(oci.data["status"]["artifact"].is_null());

    s.apply(
        Object::new(HELM_REPOSITORY, "down").with_spec(serde_json::json!({
            "url": "http://127.0.0.1:9/charts", "interval": "1m"
        })),
    )
    .await;
    let down = s
        .until(HELM_REPOSITORY, "down", "Ready=False", secs(60), |o| {
            o.ready().is_some_and(|c| c["status"] == "False")
        })
        .await;
    let message = down.ready_message();
    assert!(
        message.starts_with("failed to fetch Helm repository index: ")
            && message.contains("127.0.0.1:9"),
        "{message}"
    );
}

const HELM_CHART: Kind = Kind {
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    kind: "HelmChart",
    plural: "helmcharts",
};

/// What Helm's own engine (the oracle) renders for the chart at `path` (a directory or a
/// `.tgz`), as `helm template rel PATH -n ns`.
fn oracle_render(path: &std::path::Path) -> String {
    tug_testsupport::oracle::run(
        "import sys, helm_python as helm\n\
         with helm.Config(namespace='ns') as cfg:\n\
         \x20   rel = cfg.install(sys.argv[1], 'rel', {}, dry_run='client', namespace='ns')\n\
         sys.stdout.write(rel['manifest'])\n",
        &[path.to_str().unwrap()],
    )
    .unwrap()
}

#[tokio::test]
async fn helm_charts_from_a_repository_and_from_git_are_artifacts_helm_renders_as_the_originals() {
    // A repository with three versions: the range picks 1.1.0, pulled as served.
    let repo = ChartRepoServer::start(ChartRepoOptions::default()).unwrap();
    publish(&repo, &["1.0.0", "1.1.0", "2.0.0"]);
    // A Git repository holding the chart's files under charts/podinfo.
    let work = tempfile::tempdir().unwrap();
    let chart_dir = write_chart_dir(work.path(), "podinfo", "3.0.0", "3.0.0").unwrap();
    let mut files: Vec<(String, String)> = Vec::new();
    for entry in walk(&chart_dir) {
        let rel = entry
            .strip_prefix(&chart_dir)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        files.push((
            format!("charts/podinfo/{rel}"),
            std::fs::read_to_string(&entry).unwrap(),
        ));
    }
    let git = Git::serve(
        &files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect::<Vec<_>>(),
    );

    let s = Scene::new("helm-chart").await;
    let ctrl = s.controller(&[]);
    s.apply(
        Object::new(HELM_REPOSITORY, "podinfo")
            .with_spec(serde_json::json!({"url": repo.url(), "interval": "1m"})),
    )
    .await;
    s.apply(GitRepository::new("charts").url(git.url())).await;
    s.apply(
        Object::new(HELM_CHART, "from-repo").with_spec(serde_json::json!({
            "chart": "podinfo", "version": ">=1.0.0 <2.0.0", "interval": "2s",
            "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}
        })),
    )
    .await;
    s.apply(
        Object::new(HELM_CHART, "from-git").with_spec(serde_json::json!({
            "chart": "./charts/podinfo", "interval": "2s",
            "sourceRef": {"kind": "GitRepository", "name": "charts"}
        })),
    )
    .await;

    let pulled = s
        .until(HELM_CHART, "from-repo", "Ready", secs(60), |o| o.is_ready())
        .await;
    assert_eq!(revision(&pulled), "1.1.0");
    assert_eq!(
        pulled.ready_message(),
        "pulled 'podinfo' chart with version '1.1.0'"
    );
    let artifact = ctrl
        .storage_path()
        .join(pulled.data["status"]["artifact"]["path"].as_str().unwrap());
    assert_eq!(
        std::fs::read(&artifact).unwrap(),
        std::fs::read(repo.dir().join("podinfo-1.1.0.tgz")).unwrap(),
        "a chart from a repository is stored as served"
    );

    let packaged = s
        .until(HELM_CHART, "from-git", "Ready", secs(60), |o| o.is_ready())
        .await;
    assert_eq!(revision(&packaged), "3.0.0");
    assert_eq!(
        packaged.ready_message(),
        "packaged 'podinfo' chart with version '3.0.0'"
    );
    let artifact = ctrl.storage_path().join(
        packaged.data["status"]["artifact"]["path"]
            .as_str()
            .unwrap(),
    );
    let rendered = oracle_render(&artifact);
    assert!(rendered.contains("kind: ConfigMap"), "{rendered}");
    assert_eq!(
        rendered,
        oracle_render(&chart_dir),
        "Helm renders the packaged artifact as it renders the chart's directory"
    );
}

#[tokio::test]
async fn a_helm_chart_from_an_oci_helm_repository_is_the_chart_helm_pushed() {
    // Helm's own client packages two versions and pushes them to a real registry.
    let registry = tug_testsupport::registry::Registry::start_plain().unwrap();
    let work = tempfile::tempdir().unwrap();
    let remote = format!("oci://{}/charts", registry.host());
    let mut packaged = std::collections::BTreeMap::new();
    for version in ["1.0.0", "1.1.0"] {
        let dir = write_chart_dir(work.path(), "podinfo", version, version).unwrap();
        let tgz = tug_testsupport::oracle::run(
            "import sys, helm_python\n\
             from helm_python import registry\n\
             tgz = helm_python.package(sys.argv[1], destination=sys.argv[2])\n\
             registry.push(tgz, sys.argv[3], plain_http=True)\n\
             sys.stdout.write(tgz)\n",
            &[
                dir.to_str().unwrap(),
                work.path().to_str().unwrap(),
                &remote,
            ],
        )
        .unwrap();
        packaged.insert(version, std::fs::read(tgz.trim()).unwrap());
    }

    let s = Scene::new("helm-chart-oci").await;
    let ctrl = s.controller(&[]);
    s.apply(
        Object::new(HELM_REPOSITORY, "charts").with_spec(serde_json::json!({
            "url": remote, "type": "oci", "insecure": true, "interval": "1m"
        })),
    )
    .await;
    s.apply(
        Object::new(HELM_CHART, "podinfo").with_spec(serde_json::json!({
            "chart": "podinfo", "version": "1.x", "interval": "2s",
            "sourceRef": {"kind": "HelmRepository", "name": "charts"}
        })),
    )
    .await;
    let chart = s
        .until(HELM_CHART, "podinfo", "Ready", secs(60), |o| o.is_ready())
        .await;
    assert_eq!(revision(&chart), "1.1.0");
    assert_eq!(
        chart.ready_message(),
        "pulled 'podinfo' chart with version '1.1.0'"
    );
    let artifact = ctrl
        .storage_path()
        .join(chart.data["status"]["artifact"]["path"].as_str().unwrap());
    assert_eq!(
        std::fs::read(&artifact).unwrap(),
        packaged["1.1.0"],
        "the artifact is the archive Helm pushed"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
