//! Helm HTTP repositories against a real chart repository (lighttpd on loopback, with basic
//! auth and TLS), holding charts packaged by tug and an index tug generated; Helm's own client
//! (the oracle, helm-python-sdk) reads the same repository.

use std::path::Path;
use std::time::Duration;
use tug_source::helm::{
    download_chart, fetch_index, store_index, write_index, ChartVersionEntry, Fetched,
    FetchedIndex, HelmError, HttpOptions, IndexEntry, IndexQuery, Validators,
    DEFAULT_MAX_CHART_SIZE, DEFAULT_MAX_INDEX_SIZE,
};
use tug_source::Storage;
use tug_testsupport::chartrepo::{write_chart_dir, ChartRepoOptions, ChartRepoServer};
use tug_testsupport::git::{HTTP_PASSWORD, HTTP_USER};

const VERSIONS: &[&str] = &["1.0.0", "1.2.3", "1.2.4", "1.3.0", "2.0.0", "2.1.0-rc.1"];
const CREATED: &str = "2024-05-01T10:00:00Z";

/// Packages podinfo in every version of [`VERSIONS`] (plus `other` 0.1.0) with tug, puts the
/// archives and tug's index on the server; returns the index entries written.
fn publish(server: &ChartRepoServer, versions: &[&str]) -> Vec<IndexEntry> {
    let work = tempfile::tempdir().unwrap();
    let mut entries = Vec::new();
    let mut charts: Vec<(&str, &str)> = versions.iter().map(|v| ("podinfo", *v)).collect();
    charts.push(("other", "0.1.0"));
    for (name, version) in charts {
        let dir = write_chart_dir(work.path(), name, version, "6.5.0").unwrap();
        let package = tug_helm::chart::package(&dir).unwrap();
        let file = format!("charts/{}", package.file_name());
        server.put(&file, &package.bytes).unwrap();
        entries.push(IndexEntry::from_archive(&package.bytes, &file, CREATED).unwrap());
    }
    let mut index = Vec::new();
    write_index(&mut index, &entries, CREATED).unwrap();
    server.put("index.yaml", &index).unwrap();
    entries
}

fn auth() -> HttpOptions {
    HttpOptions {
        basic_auth: Some((HTTP_USER.into(), HTTP_PASSWORD.into())),
        ..Default::default()
    }
}

fn fetch(
    url: &str,
    o: &HttpOptions,
    previous: &Validators,
    dir: &Path,
) -> Result<Fetched, HelmError> {
    fetch_index(url, o, previous, dir, DEFAULT_MAX_INDEX_SIZE)
}

fn fetched(f: Fetched) -> FetchedIndex {
    match f {
        Fetched::Index(i) => i,
        Fetched::NotModified => panic!("expected an index, got NotModified"),
    }
}

#[test]
fn fetches_stores_and_queries_an_index() {
    let server = ChartRepoServer::start(ChartRepoOptions::default()).unwrap();
    publish(&server, VERSIONS);
    let tmp = tempfile::tempdir().unwrap();
    let storage = Storage::new(tmp.path().join("storage"), "127.0.0.1:9090").unwrap();
    let index = fetched(
        fetch(
            &server.url(),
            &HttpOptions::default(),
            &Validators::default(),
            tmp.path(),
        )
        .unwrap(),
    );
    assert_eq!(
        (index.summary.charts, index.summary.versions),
        (2, VERSIONS.len() + 1)
    );
    assert!(index.validators.etag.is_some() && index.validators.last_modified.is_some());
    let bytes = std::fs::read(server.dir().join("index.yaml")).unwrap();
    assert_eq!(index.size, bytes.len() as u64);

    let artifact = store_index(&storage, "flux-system", "podinfo", &index).unwrap();
    let hex = index.digest.strip_prefix("sha256:").unwrap();
    assert_eq!(
        artifact.revision, index.digest,
        "Flux's revision: the index's sha256"
    );
    assert_eq!(artifact.digest.as_deref(), Some(index.digest.as_str()));
    assert_eq!(
        artifact.path,
        format!("helmrepository/flux-system/podinfo/index-{hex}.yaml")
    );
    let stored = storage.local_path(&artifact.path).unwrap();
    assert_eq!(std::fs::read(&stored).unwrap(), bytes);

    let pick = |c: &str| IndexQuery::find(&stored, "podinfo", c).map(|e| e.version);
    assert_eq!(pick("*").unwrap(), "2.0.0");
    assert_eq!(pick("").unwrap(), "2.0.0");
    assert_eq!(pick(">=1.0.0 <2.0.0").unwrap(), "1.3.0");
    assert_eq!(pick("~1.2").unwrap(), "1.2.4");
    assert_eq!(pick("1.2.3").unwrap(), "1.2.3");
    assert_eq!(pick(">=2.1.0-0").unwrap(), "2.1.0-rc.1");
    let e = pick(">=3.0.0").unwrap_err();
    assert_eq!(e.to_string(), "no chart version found for podinfo->=3.0.0");
    let e = IndexQuery::find(&stored, "nginx", "*").unwrap_err();
    assert!(matches!(e, HelmError::NoChartName { .. }), "{e}");
    assert_eq!(e.to_string(), "no chart name found");
    let entry = IndexQuery::find(&stored, "podinfo", "~1.2").unwrap();
    assert_eq!(entry.urls, ["charts/podinfo-1.2.4.tgz"]);
    assert_eq!(entry.api_version, "v2");
    assert_eq!(entry.app_version.as_deref(), Some("6.5.0"));

    // Unchanged: the server answers 304 and nothing is downloaded.
    let again = fetch(
        &server.url(),
        &HttpOptions::default(),
        &index.validators,
        tmp.path(),
    )
    .unwrap();
    assert!(matches!(again, Fetched::NotModified), "{again:?}");

    // Changed: a new version published gives a new digest.
    std::thread::sleep(Duration::from_millis(1100));
    let mut more = VERSIONS.to_vec();
    more.push("2.1.0");
    publish(&server, &more);
    let changed = fetched(
        fetch(
            &server.url(),
            &HttpOptions::default(),
            &index.validators,
            tmp.path(),
        )
        .unwrap(),
    );
    assert_ne!(changed.digest, index.digest);
    let artifact2 = store_index(&storage, "flux-system", "podinfo", &changed).unwrap();
    let stored2 = storage.local_path(&artifact2.path).unwrap();
    assert_eq!(
        IndexQuery::find(&stored2, "podinfo", "*").unwrap().version,
        "2.1.0"
    );
}

#[test]
fn basic_auth_is_sent_and_a_wrong_password_is_a_clear_error() {
    let server = ChartRepoServer::start(ChartRepoOptions {
        basic_auth: true,
        tls: false,
    })
    .unwrap();
    publish(&server, VERSIONS);
    let tmp = tempfile::tempdir().unwrap();
    fetched(fetch(&server.url(), &auth(), &Validators::default(), tmp.path()).unwrap());
    let wrong = HttpOptions {
        basic_auth: Some((HTTP_USER.into(), "wrong-password".into())),
        ..Default::default()
    };
    let e = fetch(&server.url(), &wrong, &Validators::default(), tmp.path()).unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    assert_eq!(e.reason(), "AuthenticationFailed");
    let msg = e.to_string();
    assert_eq!(
        msg,
        format!(
            "failed to fetch {}/index.yaml : 401 Unauthorized",
            server.url()
        )
    );
    let e = fetch(
        &server.url(),
        &HttpOptions::default(),
        &Validators::default(),
        tmp.path(),
    )
    .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
}

#[test]
fn tls_with_the_repository_ca_or_insecure() {
    let server = ChartRepoServer::start(ChartRepoOptions {
        basic_auth: true,
        tls: true,
    })
    .unwrap();
    publish(&server, VERSIONS);
    let tmp = tempfile::tempdir().unwrap();
    let e = fetch(&server.url(), &auth(), &Validators::default(), tmp.path()).unwrap_err();
    assert!(matches!(e, HelmError::Certificate { .. }), "{e}");
    let with_ca = HttpOptions {
        ca_pem: Some(server.ca_pem().unwrap().as_bytes().to_vec()),
        ..auth()
    };
    let index =
        fetched(fetch(&server.url(), &with_ca, &Validators::default(), tmp.path()).unwrap());
    let insecure = HttpOptions {
        insecure_skip_verify: true,
        ..auth()
    };
    let same =
        fetched(fetch(&server.url(), &insecure, &Validators::default(), tmp.path()).unwrap());
    assert_eq!(index.digest, same.digest);
    // A chart over TLS too.
    let storage = Storage::new(tmp.path().join("s"), "h").unwrap();
    let a = store_index(&storage, "ns", "r", &index).unwrap();
    let entry = IndexQuery::find(&storage.local_path(&a.path).unwrap(), "podinfo", "1.x").unwrap();
    let c = download_chart(
        &entry,
        &server.url(),
        &with_ca,
        tmp.path(),
        DEFAULT_MAX_CHART_SIZE,
    )
    .unwrap();
    assert_eq!(c.metadata.version, "1.3.0");
}

#[test]
fn downloads_and_verifies_a_chart() {
    let server = ChartRepoServer::start(ChartRepoOptions {
        basic_auth: true,
        tls: false,
    })
    .unwrap();
    let entries = publish(&server, VERSIONS);
    let tmp = tempfile::tempdir().unwrap();
    let index = fetched(fetch(&server.url(), &auth(), &Validators::default(), tmp.path()).unwrap());
    let entry = IndexQuery::find(&index.path, "podinfo", ">=1.0.0 <2.0.0").unwrap();
    let dest = tmp.path().join("charts");
    let c = download_chart(
        &entry,
        &server.url(),
        &auth(),
        &dest,
        DEFAULT_MAX_CHART_SIZE,
    )
    .unwrap();
    assert_eq!(c.path, dest.join("podinfo-1.3.0.tgz"));
    let served = std::fs::read(server.dir().join("charts/podinfo-1.3.0.tgz")).unwrap();
    assert_eq!(std::fs::read(&c.path).unwrap(), served);
    let want = entries
        .iter()
        .find(|e| e.metadata.version == "1.3.0")
        .unwrap();
    assert_eq!(c.digest, format!("sha256:{}", want.digest));
    assert_eq!(c.url, format!("{}/charts/podinfo-1.3.0.tgz", server.url()));

    // An absolute URL on another host name (localhost, not 127.0.0.1): the credentials are
    // only sent with passCredentials.
    let port = server.url().rsplit(':').next().unwrap().to_string();
    let elsewhere = ChartVersionEntry {
        urls: vec![format!("http://localhost:{port}/charts/podinfo-1.3.0.tgz")],
        ..entry.clone()
    };
    let e = download_chart(
        &elsewhere,
        &server.url(),
        &auth(),
        &dest,
        DEFAULT_MAX_CHART_SIZE,
    )
    .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    let pass = HttpOptions {
        pass_credentials: true,
        ..auth()
    };
    download_chart(
        &elsewhere,
        &server.url(),
        &pass,
        &dest,
        DEFAULT_MAX_CHART_SIZE,
    )
    .unwrap();
}

/// A gzipped tar with one entry whose name is written raw (the tar crate refuses `..`).
fn tgz_with_raw_entry(name: &str, kind: tar::EntryType, link: Option<&str>) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut add = |name: &str, kind: tar::EntryType, link: Option<&str>, data: &[u8]| {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, data).unwrap();
    };
    add(
        "evil/Chart.yaml",
        tar::EntryType::Regular,
        None,
        b"apiVersion: v2\nname: evil\nversion: 1.0.0\n",
    );
    add(
        name,
        kind,
        link,
        if link.is_some() { b"" } else { b"x: 1\n" },
    );
    b.into_inner().unwrap().finish().unwrap()
}

#[test]
fn bad_input_is_a_typed_error() {
    let server = ChartRepoServer::start(ChartRepoOptions::default()).unwrap();
    let entries = publish(&server, VERSIONS);
    let tmp = tempfile::tempdir().unwrap();
    let url = server.url();
    let none = Validators::default();
    let o = HttpOptions::default();

    // Malformed: a tab where YAML wants indentation.
    server
        .put(
            "index.yaml",
            b"apiVersion: v1\nentries:\n  podinfo:\n\t- name: podinfo\n",
        )
        .unwrap();
    let e = fetch(&url, &o, &none, tmp.path()).unwrap_err();
    assert!(
        matches!(e, HelmError::InvalidIndex { line: Some(4), .. }),
        "{e}"
    );
    assert!(e.to_string().contains("index.yaml (line 4)"), "{e}");
    // Truncated in the middle of a value.
    let mut good = Vec::new();
    write_index(&mut good, &entries, CREATED).unwrap();
    let cut = good.len() * 2 / 3;
    let text = String::from_utf8(good.clone()).unwrap();
    let cut = text[cut..].find("digest: \"").unwrap() + cut + 20;
    server.put("index.yaml", &good[..cut]).unwrap();
    let e = fetch(&url, &o, &none, tmp.path()).unwrap_err();
    assert!(
        matches!(e, HelmError::InvalidIndex { line: Some(_), .. }),
        "{e}"
    );
    // Not an index: no apiVersion, entries not a map.
    server.put("index.yaml", b"entries: {}\n").unwrap();
    let e = fetch(&url, &o, &none, tmp.path()).unwrap_err();
    assert!(e.to_string().ends_with("no API version specified"), "{e}");
    server
        .put("index.yaml", b"apiVersion: v1\nentries: [a, b]\n")
        .unwrap();
    assert!(matches!(
        fetch(&url, &o, &none, tmp.path()),
        Err(HelmError::InvalidIndex { .. })
    ));
    // Over the size cap: refused, nothing left behind.
    let mut big = good.clone();
    big.extend(std::iter::repeat_n(b'#', 300_000));
    server.put("index.yaml", &big).unwrap();
    let before = std::fs::read_dir(tmp.path()).unwrap().count();
    let e = fetch_index(&url, &o, &none, tmp.path(), 256 * 1024).unwrap_err();
    assert!(
        matches!(e, HelmError::TooLarge { limit: 262144, .. }),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), before);

    // A chart whose digest does not match the index.
    server.put("index.yaml", &good).unwrap();
    let index = fetched(fetch(&url, &o, &none, tmp.path()).unwrap());
    let mut entry = IndexQuery::find(&index.path, "podinfo", "1.0.0").unwrap();
    entry.digest = Some("0".repeat(64));
    let e = download_chart(&entry, &url, &o, tmp.path(), DEFAULT_MAX_CHART_SIZE).unwrap_err();
    assert!(matches!(e, HelmError::DigestMismatch { .. }), "{e}");
    // Archives with a `..` path or a link.
    for (file, bytes) in [
        (
            "evil-dotdot.tgz",
            tgz_with_raw_entry("evil/../../etc/x.yaml", tar::EntryType::Regular, None),
        ),
        (
            "evil-link.tgz",
            tgz_with_raw_entry(
                "evil/templates/l.yaml",
                tar::EntryType::Symlink,
                Some("/etc/passwd"),
            ),
        ),
        ("not-gzip.tgz", b"apiVersion: v1\n".to_vec()),
    ] {
        server.put(file, &bytes).unwrap();
        let bad = ChartVersionEntry {
            name: "evil".into(),
            version: "1.0.0".into(),
            urls: vec![file.into()],
            ..Default::default()
        };
        let e = download_chart(&bad, &url, &o, tmp.path(), DEFAULT_MAX_CHART_SIZE).unwrap_err();
        assert!(matches!(e, HelmError::InvalidChart { .. }), "{file}: {e}");
        eprintln!("{file}: {e}");
    }
    let e = download_chart(&entry, &url, &o, tmp.path(), 100).unwrap_err();
    assert!(matches!(e, HelmError::TooLarge { .. }), "{e}");
    assert!(!tmp.path().join("evil-1.0.0.tgz").exists());
}

const ORACLE_PULL: &str = r#"
import os, sys, json
url, chart, version, dest, user, password, ca = sys.argv[1:8]
if ca:
    os.environ["SSL_CERT_FILE"] = ca
import helm_python as helm
index = helm.repo_index(url, username=user, password=password)
pulled = helm.pull(chart, repo_url=url, version=version, destination=dest, username=user, password=password)
entries = {n: sorted(v["version"] for v in vs) for n, vs in index["entries"].items()}
print(json.dumps({"entries": entries, "pulled": pulled, "files": sorted(os.listdir(dest))}))
"#;

const ORACLE_INDEX: &str = r#"
import sys, json
import helm_python as helm
print(json.dumps(helm.repo_index_generate(sys.argv[1], base_url=sys.argv[2])))
"#;

#[test]
fn helm_reads_the_repository_tug_serves() {
    if let Err(why) = tug_testsupport::oracle::python() {
        panic!("{why}");
    }
    let server = ChartRepoServer::start(ChartRepoOptions {
        basic_auth: true,
        tls: true,
    })
    .unwrap();
    let entries = publish(&server, VERSIONS);
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca.crt");
    std::fs::write(&ca, server.ca_pem().unwrap()).unwrap();
    let o = HttpOptions {
        ca_pem: Some(server.ca_pem().unwrap().as_bytes().to_vec()),
        ..auth()
    };
    let dest = tmp.path().join("helm");
    std::fs::create_dir_all(&dest).unwrap();
    let out = tug_testsupport::oracle::run(
        ORACLE_PULL,
        &[
            &server.url(),
            "podinfo",
            ">=1.0.0 <2.0.0",
            &dest.to_string_lossy(),
            HTTP_USER,
            HTTP_PASSWORD,
            &ca.to_string_lossy(),
        ],
    )
    .unwrap();
    eprintln!("oracle: {out}");
    assert!(
        out.contains(r#""podinfo": ["1.0.0", "1.2.3", "1.2.4", "1.3.0", "2.0.0", "2.1.0-rc.1"]"#),
        "{out}"
    );
    assert!(out.contains(r#""files": ["podinfo-1.3.0.tgz"]"#), "{out}");

    let index = fetched(fetch(&server.url(), &o, &Validators::default(), tmp.path()).unwrap());
    let entry = IndexQuery::find(&index.path, "podinfo", ">=1.0.0 <2.0.0").unwrap();
    let ours = tmp.path().join("tug");
    let c = download_chart(&entry, &server.url(), &o, &ours, DEFAULT_MAX_CHART_SIZE).unwrap();
    assert_eq!(
        std::fs::read(&c.path).unwrap(),
        std::fs::read(dest.join("podinfo-1.3.0.tgz")).unwrap(),
        "Helm and tug pick and download the same archive"
    );

    // `helm repo index` over the same archives agrees with tug's index on every field but
    // the times.
    let generated = tug_testsupport::oracle::run(
        ORACLE_INDEX,
        &[
            &server.dir().join("charts").to_string_lossy(),
            "https://charts.example",
        ],
    )
    .unwrap();
    for e in &entries {
        let m = &e.metadata;
        let file = e.urls[0].trim_start_matches("charts/");
        for needle in [
            format!(r#""digest": "{}""#, e.digest),
            format!(r#""urls": ["https://charts.example/{file}"]"#),
            format!(r#""version": "{}""#, m.version),
        ] {
            assert!(
                generated.contains(&needle),
                "{needle} not in Helm's index: {generated}"
            );
        }
    }
}
