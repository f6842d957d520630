//! Benchmark of a large Helm repository index (bench/sources/helm-index.sh runs it).
//!
//! `helm_index_bench generate DIR CHARTS VERSIONS` writes `DIR/index.yaml` with CHARTS charts
//! of VERSIONS versions each, with the fields real indexes carry (description, maintainers,
//! keywords, annotations, dependencies, home, sources, urls, digest, created), through tug's
//! index writer.
//!
//! `helm_index_bench fetch URL CHART RANGE` fetches `URL/index.yaml` into a temporary
//! directory, validates it, stores it as an artifact and resolves RANGE for CHART, printing
//! the time of each step (run it under `/usr/bin/time -f %M` for the peak RSS).

use std::collections::BTreeMap;
use std::time::Instant;
use tug_source::helm::{
    fetch_index, store_index, write_index, Fetched, HttpOptions, IndexEntry, IndexQuery,
    Validators, DEFAULT_MAX_INDEX_SIZE,
};

fn generate(dir: &str, charts: usize, versions: usize) {
    let mut entries = Vec::with_capacity(charts * versions);
    for c in 0..charts {
        let name = format!("chart-{c:03}");
        for v in 0..versions {
            let version = format!("{}.{}.{}", v / 20, (v / 5) % 4, v % 5);
            let mut annotations = BTreeMap::new();
            annotations.insert(
                "artifacthub.io/license".to_string(),
                "Apache-2.0".to_string(),
            );
            annotations.insert(
                "artifacthub.io/changes".to_string(),
                format!(
                    "- kind: changed\n  description: Update {name} to {version}\n- kind: fixed\n  description: \
                     Handle empty values in the deployment template and the service account token mount\n\
                     - kind: added\n  description: Support for topology spread constraints and pod disruption budgets\n"
                ),
            );
            annotations.insert(
                "artifacthub.io/images".to_string(),
                format!(
                    "- name: {name}\n  image: registry.example.com/org/{name}:{version}\n- name: sidecar\n  \
                     image: registry.example.com/org/sidecar:1.{v}.0\n"
                ),
            );
            annotations.insert("category".to_string(), "Infrastructure".to_string());
            let metadata = tug_helm::chart::Metadata {
                name: name.clone(),
                version: version.clone(),
                api_version: "v2".into(),
                app_version: format!("{}.{}.0", 10 + v / 10, v % 10),
                description: format!(
                    "{name} is a generated chart that deploys a web application with its \
                     configuration, service account, autoscaler and ingress on Kubernetes. \
                     Version {version} of a long-lived series used to size the index benchmark."
                ),
                home: format!("https://example.com/charts/{name}"),
                icon: format!("https://example.com/charts/{name}/icon.svg"),
                sources: vec![
                    format!("https://github.com/example/{name}"),
                    format!("https://github.com/example/charts/tree/main/charts/{name}"),
                ],
                keywords: vec![
                    "web".into(),
                    "http".into(),
                    name.clone(),
                    "generated".into(),
                ],
                maintainers: vec![
                    tug_helm::chart::Maintainer {
                        name: "Example Maintainers".into(),
                        email: "maintainers@example.com".into(),
                        url: "https://example.com/team".into(),
                    },
                    tug_helm::chart::Maintainer {
                        name: "Jane Doe".into(),
                        email: "jane@example.com".into(),
                        url: String::new(),
                    },
                ],
                annotations: Some(annotations),
                kube_version: ">=1.23.0-0".into(),
                dependencies: vec![tug_helm::chart::Dependency {
                    name: "common".into(),
                    version: "2.x.x".into(),
                    repository: "oci://registry.example.com/charts".into(),
                    ..Default::default()
                }],
                chart_type: "application".into(),
                ..Default::default()
            };
            let digest: String = (0..64)
                .map(|i| b"0123456789abcdef"[(c * 31 + v * 7 + i * 13) % 16] as char)
                .collect();
            entries.push(IndexEntry {
                metadata,
                urls: vec![format!(
                    "https://charts.example.com/{name}/{name}-{version}.tgz"
                )],
                digest,
                created: format!(
                    "2024-{:02}-{:02}T10:{:02}:00.123456789Z",
                    1 + v % 12,
                    1 + c % 28,
                    v % 60
                ),
            });
        }
    }
    std::fs::create_dir_all(dir).unwrap();
    let path = std::path::Path::new(dir).join("index.yaml");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write_index(&mut f, &entries, "2024-12-01T00:00:00Z").unwrap();
    drop(f);
    println!(
        "wrote {} ({} versions, {} bytes)",
        path.display(),
        entries.len(),
        std::fs::metadata(&path).unwrap().len()
    );
}

fn fetch(url: &str, chart: &str, range: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let storage = tug_source::Storage::new(tmp.path().join("storage"), "127.0.0.1:9090").unwrap();
    let t0 = Instant::now();
    let fetched = fetch_index(
        url,
        &HttpOptions::default(),
        &Validators::default(),
        tmp.path(),
        DEFAULT_MAX_INDEX_SIZE,
    )
    .unwrap();
    let Fetched::Index(index) = fetched else {
        panic!("not modified")
    };
    let t_fetch = t0.elapsed();
    let t1 = Instant::now();
    let artifact = store_index(&storage, "flux-system", "bench", &index).unwrap();
    let t_store = t1.elapsed();
    let t2 = Instant::now();
    let stored = storage.local_path(&artifact.path).unwrap();
    let entry = IndexQuery::find(&stored, chart, range).unwrap();
    let t_query = t2.elapsed();
    println!(
        "index {} bytes, {} charts, {} versions, revision {}",
        index.size, index.summary.charts, index.summary.versions, artifact.revision
    );
    println!(
        "resolved {chart} {range:?} -> {} ({})",
        entry.version, entry.urls[0]
    );
    println!(
        "fetch+validate {:.1} ms, store {:.1} ms, resolve {:.1} ms, total {:.1} ms",
        t_fetch.as_secs_f64() * 1e3,
        t_store.as_secs_f64() * 1e3,
        t_query.as_secs_f64() * 1e3,
        t0.elapsed().as_secs_f64() * 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("generate") if args.len() == 5 => {
            generate(&args[2], args[3].parse().unwrap(), args[4].parse().unwrap())
        }
        Some("fetch") if args.len() == 5 => fetch(&args[2], &args[3], &args[4]),
        _ => {
            eprintln!(
                "usage: helm_index_bench generate DIR CHARTS VERSIONS | fetch URL CHART RANGE"
            );
            std::process::exit(2);
        }
    }
}
