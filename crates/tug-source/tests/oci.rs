//! The OCI client against a real registry (CNCF distribution, Debian's docker-registry):
//! Flux artifacts pushed and pulled, unchanged digests, tags and pagination, basic auth over
//! TLS, limits and digest checks, and Helm's own OCI charts (the Helm oracle pushes them).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use tug_source::oci::{self, Client, ClientOptions, Credentials, DockerConfig, Error, OciUrl};
use tug_testsupport::registry::{Registry, RegistryOptions};

fn plain_client() -> Client {
    Client::new(ClientOptions {
        plain_http: true,
        ..Default::default()
    })
    .unwrap()
}

fn fixture(dir: &Path) {
    fs::create_dir_all(dir.join("deploy/nested")).unwrap();
    fs::write(dir.join("kustomization.yaml"), "resources: [deploy]\n").unwrap();
    fs::write(dir.join("deploy/app.yaml"), "kind: ConfigMap\n").unwrap();
    fs::write(dir.join("deploy/nested/b.yaml"), "b: 2\n").unwrap();
    fs::write(dir.join("logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
    fs::create_dir_all(dir.join(".git")).unwrap();
    fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let script = dir.join("run.sh");
    fs::write(&script, "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Files under `dir`, relative, with their contents.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn flux_ignore() -> Vec<String> {
    [".git/", "*.png"].iter().map(|s| s.to_string()).collect()
}

fn blob_gets(registry: &Registry) -> usize {
    registry
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/blobs/"))
        .count()
}

#[test]
fn a_flux_artifact_round_trips_and_an_unchanged_digest_costs_one_head() {
    let registry = Registry::start_plain().unwrap();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    fixture(&src);
    let client = plain_client();
    let url = OciUrl::parse(&format!("{}:v1", registry.url("org/app"))).unwrap();
    let meta = oci::PushMeta {
        source: "https://github.com/org/app".into(),
        revision: "main@sha1:0123456789abcdef0123456789abcdef01234567".into(),
        annotations: BTreeMap::from([("org.opencontainers.image.licenses".into(), "MIT".into())]),
        created: Some("2026-01-02T03:04:05Z".into()),
    };
    let digest = oci::push_artifact(&client, &url, &src, &flux_ignore(), &meta).unwrap();

    // The manifest is Flux's.
    let descriptor = client.resolve(&url, "v1").unwrap();
    assert_eq!(descriptor.digest, digest);
    assert_eq!(descriptor.media_type, oci::OCI_MANIFEST_MEDIA_TYPE);
    let manifest = client.manifest(&url, &digest).unwrap().image().unwrap();
    assert_eq!(manifest.config.media_type, oci::FLUX_CONFIG_MEDIA_TYPE);
    assert_eq!(manifest.layers.len(), 1);
    assert_eq!(manifest.layers[0].media_type, oci::FLUX_CONTENT_MEDIA_TYPE);
    assert_eq!(
        manifest.annotations[oci::SOURCE_ANNOTATION],
        "https://github.com/org/app"
    );
    assert_eq!(
        manifest.annotations[oci::CREATED_ANNOTATION],
        "2026-01-02T03:04:05Z"
    );
    assert_eq!(
        manifest.annotations["org.opencontainers.image.licenses"],
        "MIT"
    );

    // The same content gives the same digest (deterministic layer and config).
    let again = oci::push_artifact(&client, &url, &src, &flux_ignore(), &meta).unwrap();
    assert_eq!(again, digest);

    let out = work.path().join("out");
    let pulled = oci::pull_artifact(&client, &url, None, None, &out, Default::default()).unwrap();
    assert_eq!(pulled.digest, digest);
    assert_eq!(pulled.revision, format!("v1@{digest}"));
    assert_eq!(pulled.source_revision(), Some(meta.revision.as_str()));
    let mut expected = tree(&src);
    expected.remove("logo.png");
    expected.remove(".git/HEAD");
    assert_eq!(tree(&out), expected);
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(out.join("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "the executable bit is kept");

    // Unchanged: one HEAD of the manifest, no blob download.
    let (gets, requests) = (blob_gets(&registry), client.request_count());
    let out2 = work.path().join("out2");
    let r = oci::pull_if_changed(
        &client,
        &url,
        Some(&digest),
        None,
        &out2,
        Default::default(),
    )
    .unwrap();
    assert!(r.is_none());
    assert_eq!(client.request_count() - requests, 1);
    assert_eq!(blob_gets(&registry), gets);
    assert!(!out2.exists());
    let last = registry.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("HEAD", "/v2/org/app/manifests/v1")
    );

    // A pinned digest resolves to itself.
    let pinned = OciUrl::parse(&format!("{}@{digest}", registry.url("org/app"))).unwrap();
    let p = oci::pull_artifact(
        &client,
        &pinned,
        None,
        None,
        &work.path().join("o3"),
        Default::default(),
    )
    .unwrap();
    assert_eq!(p.revision, digest);
}

#[test]
fn tags_are_listed_across_pages_and_tagging_points_at_the_same_digest() {
    let registry = Registry::start_plain().unwrap();
    let work = tempfile::tempdir().unwrap();
    fixture(&work.path().join("src"));
    let client = plain_client();
    let url = OciUrl::parse(&format!("{}:v1.0.0", registry.url("org/tags"))).unwrap();
    let digest = oci::push_artifact(
        &client,
        &url,
        &work.path().join("src"),
        &[],
        &Default::default(),
    )
    .unwrap();
    for tag in ["v1.1.0", "v2.0.0", "latest", "stable"] {
        assert_eq!(client.tag(&url, &digest, tag).unwrap(), digest);
    }
    assert_eq!(client.resolve(&url, "stable").unwrap().digest, digest);
    let mut tags = client.list_tags(&url, Some(2)).unwrap();
    tags.sort();
    assert_eq!(tags, ["latest", "stable", "v1.0.0", "v1.1.0", "v2.0.0"]);
    // distribution 2.8 answers the whole tag list whatever `n` says (tag pagination came
    // with distribution 3), so the `Link` pages are followed on its catalog, which pages.
    // A blob is enough to make a repository appear in the catalog.
    for name in ["org/a", "org/b", "org/c", "org/d"] {
        let other = OciUrl::parse(&registry.url(name)).unwrap();
        client
            .push_blob_bytes(&other, b"{}".to_vec(), oci::FLUX_CONFIG_MEDIA_TYPE)
            .unwrap();
    }
    let before = registry.requests().len();
    let repositories = client.list_repositories(&url, Some(2)).unwrap();
    assert_eq!(
        repositories,
        ["org/a", "org/b", "org/c", "org/d", "org/tags"]
    );
    let pages: Vec<_> = registry.requests()[before..]
        .iter()
        .filter(|r| r.path.starts_with("/v2/_catalog"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(
        pages[1].contains("last=org%2Fb") || pages[1].contains("last=org/b"),
        "{pages:?}"
    );
    assert_eq!(client.list_tags(&url, None).unwrap().len(), 5);

    let missing = OciUrl::parse(&registry.url("org/none")).unwrap();
    let err = client.resolve(&missing, "v1").unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(err.to_string().contains(&registry.host()), "{err}");
    assert!(client.tag(&url, &digest, "-bad").is_err());
}

#[test]
fn basic_auth_over_tls_with_the_registry_ca() {
    let registry = Registry::start(RegistryOptions {
        auth: Some(("flux".into(), "s3cret".into())),
        tls: true,
    })
    .unwrap();
    let ca = registry.ca_pem().unwrap().as_bytes().to_vec();
    let work = tempfile::tempdir().unwrap();
    fixture(&work.path().join("src"));
    let url = OciUrl::parse(&format!("{}:v1", registry.url("private/app"))).unwrap();
    let with = |creds: Option<Credentials>, config: Option<DockerConfig>| {
        Client::new(ClientOptions {
            ca_pem: Some(ca.clone()),
            credentials: creds,
            docker_config: config,
            ..Default::default()
        })
        .unwrap()
    };

    let anonymous = with(None, None);
    let err = anonymous.resolve(&url, "v1").unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains(&registry.host()), "{err}");
    assert!(err.to_string().contains("requires credentials"), "{err}");

    let wrong = with(Some(Credentials::new("flux", "wrong-password")), None);
    let err = wrong
        .resolve(&url, "v1")
        .or_else(|_| {
            oci::push_artifact(
                &wrong,
                &url,
                &work.path().join("src"),
                &[],
                &Default::default(),
            )
            .map(|_| unreachable!())
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Unauthorized { .. }), "{text}");
    assert!(
        text.contains(&registry.host()) && text.contains("refused the credentials"),
        "{text}"
    );
    assert!(!text.contains("wrong-password"), "{text}");

    let right = with(Some(Credentials::new("flux", "s3cret")), None);
    let digest = oci::push_artifact(
        &right,
        &url,
        &work.path().join("src"),
        &[],
        &Default::default(),
    )
    .unwrap();
    // After the first challenge, basic auth is sent up front: one request per resolve.
    let before = right.request_count();
    assert_eq!(right.resolve(&url, "v1").unwrap().digest, digest);
    assert_eq!(right.request_count() - before, 1);

    // The same credentials from a dockerconfigjson Secret.
    let json = format!(
        r#"{{"auths":{{"https://{}":{{"username":"flux","password":"s3cret"}}}}}}"#,
        registry.host()
    );
    let secret = BTreeMap::from([(".dockerconfigjson".to_string(), json.into_bytes())]);
    let from_secret = with(None, Some(DockerConfig::from_secret(&secret).unwrap()));
    let out = work.path().join("out");
    let pulled =
        oci::pull_artifact(&from_secret, &url, None, None, &out, Default::default()).unwrap();
    assert_eq!(pulled.digest, digest);
    assert!(out.join("deploy/app.yaml").is_file());

    // Without the CA the certificate is not trusted; skipping verification works.
    let untrusted = Client::new(ClientOptions {
        credentials: Some(Credentials::new("flux", "s3cret")),
        ..Default::default()
    })
    .unwrap();
    let err = untrusted.resolve(&url, "v1").unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    let skip = Client::new(ClientOptions {
        credentials: Some(Credentials::new("flux", "s3cret")),
        insecure_skip_verify: true,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(skip.resolve(&url, "v1").unwrap().digest, digest);
}

#[test]
fn limits_and_digests_are_enforced_before_and_after_download() {
    let registry = Registry::start_plain().unwrap();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    fixture(&src);
    fs::write(src.join("big.yaml"), "x".repeat(200_000)).unwrap();
    let client = plain_client();
    let url = OciUrl::parse(&format!("{}:v1", registry.url("org/limits"))).unwrap();
    let digest = oci::push_artifact(&client, &url, &src, &[], &Default::default()).unwrap();
    let manifest = client.manifest(&url, &digest).unwrap().image().unwrap();
    let layer = &manifest.layers[0];

    // A declared size above the limit: refused with no blob request at all.
    let gets = blob_gets(&registry);
    let file = work.path().join("blob");
    let err = client
        .blob_to_file(&url, layer, &file, layer.size - 1)
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert_eq!(blob_gets(&registry), gets);
    assert!(!file.exists());

    // A descriptor that lies about the size: the count while streaming catches it.
    let mut small = layer.clone();
    small.size = 10;
    let err = client.blob_to_file(&url, &small, &file, 100).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert!(!file.exists(), "the partial file is removed");

    // Extraction is bounded too.
    let limits = oci::PullLimits {
        max_layer_bytes: 1 << 20,
        extract: oci::untar::ExtractLimits {
            max_bytes: 100_000,
            max_entries: 100,
        },
    };
    let err =
        oci::pull_artifact(&client, &url, None, None, &work.path().join("o"), limits).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");

    // A manifest asked by tag while expecting another digest.
    let other = oci::digest::sha256_digest(b"something else");
    let err = client.manifest_by(&url, "v1", &other).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains(&digest), "{err}");

    // A manifest declaring a huge layer: the registry takes it or not; either way nothing
    // that large is downloaded.
    let mut huge = manifest.clone();
    huge.layers[0].size = 50 << 30;
    let bytes = serde_json::to_vec(&huge).unwrap();
    let pushed = client.push_manifest(&url, "huge", &bytes, oci::OCI_MANIFEST_MEDIA_TYPE);
    eprintln!(
        "a manifest declaring a 50 GiB layer: {:?}",
        pushed.as_ref().map(|_| "accepted")
    );
    if pushed.is_ok() {
        let gets = blob_gets(&registry);
        let huge_url = url.with_tag("huge");
        let err = oci::pull_artifact(
            &client,
            &huge_url,
            None,
            None,
            &work.path().join("h"),
            Default::default(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
        assert_eq!(blob_gets(&registry), gets);
    }
}

#[test]
fn a_layer_with_parent_paths_is_refused() {
    let registry = Registry::start_plain().unwrap();
    let work = tempfile::tempdir().unwrap();
    let client = plain_client();
    let url = OciUrl::parse(&format!("{}:evil", registry.url("org/evil"))).unwrap();
    // A tarball whose entry is `../x`, written header by header.
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..4].copy_from_slice(b"../x");
    h.set_size(5);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, &b"pwned"[..]).unwrap();
    let layer_bytes = b.into_inner().unwrap().finish().unwrap();
    let layer = client
        .push_blob_bytes(&url, layer_bytes, oci::FLUX_CONTENT_MEDIA_TYPE)
        .unwrap();
    let config = client
        .push_blob_bytes(&url, b"{}".to_vec(), oci::FLUX_CONFIG_MEDIA_TYPE)
        .unwrap();
    let manifest = oci::ImageManifest {
        schema_version: 2,
        media_type: Some(oci::OCI_MANIFEST_MEDIA_TYPE.into()),
        artifact_type: None,
        config,
        layers: vec![layer],
        annotations: Default::default(),
    };
    client
        .push_manifest(
            &url,
            "evil",
            &serde_json::to_vec(&manifest).unwrap(),
            oci::OCI_MANIFEST_MEDIA_TYPE,
        )
        .unwrap();
    let dest = work.path().join("a/out");
    let err = oci::pull_artifact(&client, &url, None, None, &dest, Default::default()).unwrap_err();
    assert!(matches!(err, Error::UnsafeEntry { .. }), "{err}");
    assert!(err.to_string().contains("../x"), "{err}");
    assert!(!work.path().join("a/x").exists());
}

/// Helm's own client packages and pushes a chart; tug resolves it and copies the chart layer,
/// byte for byte the archive Helm packaged.
#[test]
fn a_chart_pushed_by_helm_is_pulled_byte_identical() {
    if let Err(why) = tug_testsupport::oracle::python() {
        panic!("{why}");
    }
    let registry = Registry::start_plain().unwrap();
    let work = tempfile::tempdir().unwrap();
    let chart = work.path().join("hello");
    fs::create_dir_all(chart.join("templates")).unwrap();
    fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: hello\nversion: 0.3.1\n",
    )
    .unwrap();
    fs::write(chart.join("values.yaml"), "greeting: hi\n").unwrap();
    fs::write(
        chart.join("templates/cm.yaml"),
        "kind: ConfigMap\ndata:\n  g: {{ .Values.greeting }}\n",
    )
    .unwrap();
    let script = r#"
import sys, json, helm_python
from helm_python import registry
tgz = helm_python.package(sys.argv[1], destination=sys.argv[2])
res = registry.push(tgz, sys.argv[3], plain_http=True)
print(json.dumps({"tgz": tgz, "push": res}, default=str))
"#;
    let remote = format!("oci://{}/charts", registry.host());
    let out = tug_testsupport::oracle::run(
        script,
        &[
            chart.to_str().unwrap(),
            work.path().to_str().unwrap(),
            &remote,
        ],
    )
    .unwrap();
    let result: serde_json::Value =
        serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    eprintln!("helm push: {result}");
    let tgz = fs::read(result["tgz"].as_str().unwrap()).unwrap();

    let client = plain_client();
    let url = OciUrl::parse(&format!("{remote}/hello:0.3.1")).unwrap();
    let descriptor = client.resolve(&url, "0.3.1").unwrap();
    let manifest = client
        .manifest(&url, &descriptor.digest)
        .unwrap()
        .image()
        .unwrap();
    assert_eq!(manifest.config.media_type, oci::HELM_CONFIG_MEDIA_TYPE);
    let dest = work.path().join("pulled/hello-0.3.1.tgz");
    let selector = oci::LayerSelector {
        media_type: oci::HELM_CHART_MEDIA_TYPE.into(),
        operation: oci::Operation::Copy,
    };
    let pulled = oci::pull_artifact(
        &client,
        &url,
        Some(&descriptor),
        Some(&selector),
        &dest,
        Default::default(),
    )
    .unwrap();
    assert_eq!(pulled.layer.media_type, oci::HELM_CHART_MEDIA_TYPE);
    assert_eq!(fs::read(&dest).unwrap(), tgz);
    assert_eq!(client.list_tags(&url, None).unwrap(), ["0.3.1"]);
}
