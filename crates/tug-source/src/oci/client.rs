//! A blocking registry client for the distribution spec's v2 API: resolve, manifests, blobs,
//! tags, pushes. Every request goes through [`Client::send`], which answers the registry's
//! 401 challenges once (basic or bearer token) and remembers how it authenticated per
//! registry and repository scope.

use super::auth::{parse_challenge, AuthCache, Authorization, Challenge, TokenResponse};
use super::digest::{check_digest, is_limit_error, sha256_digest, verify_digest, HashingWriter};
use super::error::{Error, Result};
use super::{Credentials, Descriptor, DockerConfig, ImageManifest, OciUrl};
use super::{DOCKER_MANIFEST_LIST_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE};
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Manifests larger than this are refused (the spec suggests registries accept at least 4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Bound of the small JSON answers (tags pages, tokens, errors).
const MAX_JSON_BYTES: u64 = 4 << 20;
const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// How to reach registries.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Talk plain HTTP (the flux CLI's `--insecure-registry`, OCIRepository's `spec.insecure`).
    pub plain_http: bool,
    /// Extra CA certificates (PEM) trusted besides the system's.
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate and its key (PEM), for registries that ask for one.
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
    /// Accept any server certificate.
    pub insecure_skip_verify: bool,
    /// Credentials for every registry this client talks to.
    pub credentials: Option<Credentials>,
    /// Credentials by registry host (from a dockerconfigjson Secret), when `credentials` is unset.
    pub docker_config: Option<DockerConfig>,
    /// Timeout of each request.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            plain_http: false,
            ca_pem: None,
            client_cert_pem: None,
            client_key_pem: None,
            insecure_skip_verify: false,
            credentials: None,
            docker_config: None,
            timeout: Duration::from_secs(60),
        }
    }
}

/// A manifest's bytes, as fetched and verified.
#[derive(Clone, Debug)]
pub struct FetchedManifest {
    pub media_type: String,
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl FetchedManifest {
    /// The manifest as an image manifest; indexes (multi-platform images) are refused.
    pub fn image(&self) -> Result<ImageManifest> {
        let bad = |cause: String| Error::InvalidManifest {
            what: self.digest.clone(),
            cause,
        };
        if matches!(
            self.media_type.as_str(),
            OCI_INDEX_MEDIA_TYPE | DOCKER_MANIFEST_LIST_MEDIA_TYPE
        ) {
            return Err(bad(format!(
                "{} is an index of manifests, not an artifact",
                self.media_type
            )));
        }
        serde_json::from_slice(&self.bytes).map_err(|e| bad(e.to_string()))
    }
}

/// Whether a request reads or writes the repository (the token scope's actions).
#[derive(Clone, Copy)]
enum Access {
    Pull,
    Push,
}

pub struct Client {
    http: reqwest::blocking::Client,
    scheme: &'static str,
    credentials: Option<Credentials>,
    docker_config: Option<DockerConfig>,
    auth: AuthCache,
    requests: AtomicU64,
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Self> {
        let tls = super::tls::client_config(
            options.ca_pem.as_deref(),
            options.client_cert_pem.as_deref(),
            options.client_key_pem.as_deref(),
            options.insecure_skip_verify,
        )?;
        let http = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(concat!("tug/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(Duration::from_secs(30).min(options.timeout))
            .build()
            .map_err(|e| Error::Tls {
                cause: error_chain(&e),
            })?;
        Ok(Client {
            http,
            scheme: if options.plain_http { "http" } else { "https" },
            credentials: options.credentials,
            docker_config: options.docker_config,
            auth: AuthCache::default(),
            requests: AtomicU64::new(0),
        })
    }

    /// How many HTTP requests this client sent (registry and token endpoints).
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn base(&self, repo: &OciUrl) -> String {
        format!("{}://{}/v2/{}", self.scheme, repo.registry, repo.repository)
    }

    fn credentials_for(&self, registry: &str) -> Option<Credentials> {
        self.credentials.clone().or_else(|| {
            self.docker_config
                .as_ref()
                .and_then(|c| c.credentials_for(registry))
        })
    }

    /// Resolves a tag or digest to the manifest's descriptor: a HEAD, or a GET when the
    /// registry's HEAD gives no digest.
    pub fn resolve(&self, repo: &OciUrl, reference: &str) -> Result<Descriptor> {
        let url = format!("{}/manifests/{reference}", self.base(repo));
        let what = manifest_name(repo, reference);
        let resp = self.send(repo, Access::Pull, Method::HEAD, &url, &|r| {
            Ok(r.header(header::ACCEPT, ACCEPT_MANIFESTS))
        })?;
        let resp = check(resp, repo, &what)?;
        let headers = resp.headers();
        let digest =
            header_str(headers, "docker-content-digest").filter(|d| check_digest(d).is_ok());
        let media_type = header_str(headers, header::CONTENT_TYPE.as_str());
        let size =
            header_str(headers, header::CONTENT_LENGTH.as_str()).and_then(|s| s.parse().ok());
        let descriptor = match (digest, media_type, size) {
            (Some(digest), Some(media_type), Some(size)) => Descriptor {
                media_type: media_type.to_string(),
                size,
                digest: digest.to_string(),
                annotations: Default::default(),
            },
            _ => {
                let (bytes, media_type) = self.get_manifest(repo, reference)?;
                Descriptor {
                    media_type,
                    size: bytes.len() as u64,
                    digest: sha256_digest(&bytes),
                    annotations: Default::default(),
                }
            }
        };
        if reference.starts_with("sha256:") {
            verify_digest(&what, reference, &descriptor.digest)?;
        }
        Ok(descriptor)
    }

    /// The manifest with this digest, verified.
    pub fn manifest(&self, repo: &OciUrl, digest: &str) -> Result<FetchedManifest> {
        self.manifest_by(repo, digest, digest)
    }

    /// The manifest at `reference` (a tag or digest), which must hash to `expected_digest`
    /// (the one a resolve returned: a tag moved meanwhile is an error, not a surprise).
    pub fn manifest_by(
        &self,
        repo: &OciUrl,
        reference: &str,
        expected_digest: &str,
    ) -> Result<FetchedManifest> {
        check_digest(expected_digest)?;
        let (bytes, media_type) = self.get_manifest(repo, reference)?;
        let digest = sha256_digest(&bytes);
        verify_digest(&manifest_name(repo, reference), expected_digest, &digest)?;
        Ok(FetchedManifest {
            media_type,
            digest,
            bytes,
        })
    }

    fn get_manifest(&self, repo: &OciUrl, reference: &str) -> Result<(Vec<u8>, String)> {
        let url = format!("{}/manifests/{reference}", self.base(repo));
        let what = manifest_name(repo, reference);
        let resp = self.send(repo, Access::Pull, Method::GET, &url, &|r| {
            Ok(r.header(header::ACCEPT, ACCEPT_MANIFESTS))
        })?;
        let resp = check(resp, repo, &what)?;
        let header_type =
            header_str(resp.headers(), header::CONTENT_TYPE.as_str()).map(str::to_string);
        let bytes = read_bounded(resp, MAX_MANIFEST_BYTES, &what, repo)?;
        // The type the registry declares, else the one the manifest declares.
        let media_type = header_type
            .filter(|t| !t.is_empty() && t != "application/json")
            .or_else(|| {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()?
                    .get("mediaType")?
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| OCI_MANIFEST_MEDIA_TYPE.to_string());
        Ok((bytes, media_type))
    }

    /// The repository's tags, following the registry's `Link` pagination; `page_size` asks
    /// for pages of that many (`n=`), else the registry's default.
    pub fn list_tags(&self, repo: &OciUrl, page_size: Option<u32>) -> Result<Vec<String>> {
        let url = format!("{}/tags/list", self.base(repo));
        let what = format!("tags of {}", repo.repository_name());
        self.paged_list(repo, url, page_size, "tags", &what)
    }

    /// The registry's repositories (`/v2/_catalog`, which many public registries refuse),
    /// following its `Link` pagination.
    pub fn list_repositories(
        &self,
        registry: &OciUrl,
        page_size: Option<u32>,
    ) -> Result<Vec<String>> {
        let url = format!("{}://{}/v2/_catalog", self.scheme, registry.registry);
        let what = format!("catalog of {}", registry.registry);
        self.paged_list(registry, url, page_size, "repositories", &what)
    }

    fn paged_list(
        &self,
        repo: &OciUrl,
        mut url: String,
        page_size: Option<u32>,
        key: &str,
        what: &str,
    ) -> Result<Vec<String>> {
        if let Some(n) = page_size {
            url.push_str(&format!("?n={n}"));
        }
        let mut items = Vec::new();
        for _page in 0..100_000 {
            let resp = self.send(repo, Access::Pull, Method::GET, &url, &|r| Ok(r))?;
            let resp = check(resp, repo, what)?;
            let next = header_str(resp.headers(), header::LINK.as_str()).and_then(next_link);
            let bytes = read_bounded(resp, MAX_JSON_BYTES, what, repo)?;
            let mut page: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&bytes).map_err(|e| Error::InvalidManifest {
                    what: what.to_string(),
                    cause: e.to_string(),
                })?;
            // `null` when empty, for some registries.
            if let Some(list) = page.remove(key).filter(|v| !v.is_null()) {
                let list: Vec<String> =
                    serde_json::from_value(list).map_err(|e| Error::InvalidManifest {
                        what: what.to_string(),
                        cause: e.to_string(),
                    })?;
                items.extend(list);
            }
            match next {
                Some(link) if link.starts_with('/') => {
                    url = format!("{}://{}{link}", self.scheme, repo.registry)
                }
                Some(link) => url = link,
                None => return Ok(items),
            }
        }
        Err(Error::TooLarge {
            what: what.to_string(),
            size: items.len() as u64,
            limit: items.len() as u64,
        })
    }

    /// Downloads a blob into `path`: refused before any download when its declared size is
    /// above `max_bytes`, counted while streaming, verified against its digest at the end.
    /// The file is removed on any failure. Returns the number of bytes written.
    pub fn blob_to_file(
        &self,
        repo: &OciUrl,
        descriptor: &Descriptor,
        path: &Path,
        max_bytes: u64,
    ) -> Result<u64> {
        check_digest(&descriptor.digest)?;
        let what = format!("blob {}@{}", repo.repository_name(), descriptor.digest);
        if descriptor.size > max_bytes {
            return Err(Error::TooLarge {
                what,
                size: descriptor.size,
                limit: max_bytes,
            });
        }
        let result = self.download(repo, descriptor, path, max_bytes, &what);
        if result.is_err() {
            let _ = std::fs::remove_file(path);
        }
        result
    }

    fn download(
        &self,
        repo: &OciUrl,
        descriptor: &Descriptor,
        path: &Path,
        max_bytes: u64,
        what: &str,
    ) -> Result<u64> {
        let url = format!("{}/blobs/{}", self.base(repo), descriptor.digest);
        let resp = self.send(repo, Access::Pull, Method::GET, &url, &|r| Ok(r))?;
        let mut resp = check(resp, repo, what)?;
        if let Some(len) = resp.content_length().filter(|l| *l > max_bytes) {
            return Err(Error::TooLarge {
                what: what.to_string(),
                size: len,
                limit: max_bytes,
            });
        }
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let mut writer = HashingWriter::new(std::io::BufWriter::new(file), max_bytes);
        if let Err(e) = std::io::copy(&mut resp, &mut writer) {
            return Err(if is_limit_error(&e) {
                Error::TooLarge {
                    what: what.to_string(),
                    size: writer.written() + 1,
                    limit: max_bytes,
                }
            } else if e.get_ref().is_some_and(|i| i.is::<reqwest::Error>()) {
                transport(&repo.registry, &e)
            } else {
                Error::io(path, e)
            });
        }
        let written = writer.written();
        let (digest, buffered) = writer.finish();
        buffered
            .into_inner()
            .map_err(|e| Error::io(path, e.into_error()))?
            .sync_all()
            .map_err(|e| Error::io(path, e))?;
        if written != descriptor.size {
            return Err(Error::DigestMismatch {
                what: what.to_string(),
                expected: format!("{} bytes", descriptor.size),
                actual: format!("{written} bytes"),
            });
        }
        verify_digest(what, &descriptor.digest, &digest)?;
        Ok(written)
    }

    /// Uploads `bytes` as a blob (skipped when the registry has it already).
    pub fn push_blob_bytes(
        &self,
        repo: &OciUrl,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<Descriptor> {
        let descriptor = Descriptor {
            media_type: media_type.to_string(),
            size: bytes.len() as u64,
            digest: sha256_digest(&bytes),
            annotations: Default::default(),
        };
        self.push_blob(repo, &descriptor, &|r| Ok(r.body(bytes.clone())))?;
        Ok(descriptor)
    }

    /// Uploads a file as a blob (skipped when the registry has it already).
    pub fn push_blob_file(
        &self,
        repo: &OciUrl,
        path: &Path,
        media_type: &str,
    ) -> Result<Descriptor> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut hasher = HashingWriter::new(std::io::sink(), u64::MAX);
        std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path, e))?;
        let size = hasher.written();
        let (digest, _) = hasher.finish();
        let descriptor = Descriptor {
            media_type: media_type.to_string(),
            size,
            digest,
            annotations: Default::default(),
        };
        self.push_blob(repo, &descriptor, &|r| {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            Ok(r.body(reqwest::blocking::Body::sized(file, size)))
        })?;
        Ok(descriptor)
    }

    /// A monolithic upload: HEAD (exists?), POST to open an upload, PUT `?digest=` with the
    /// content.
    fn push_blob(
        &self,
        repo: &OciUrl,
        descriptor: &Descriptor,
        body: &dyn Fn(RequestBuilder) -> Result<RequestBuilder>,
    ) -> Result<()> {
        let what = format!("blob {}@{}", repo.repository_name(), descriptor.digest);
        let url = format!("{}/blobs/{}", self.base(repo), descriptor.digest);
        let head = self.send(repo, Access::Push, Method::HEAD, &url, &|r| Ok(r))?;
        if head.status().is_success() {
            return Ok(());
        }
        let url = format!("{}/blobs/uploads/", self.base(repo));
        let resp = self.send(repo, Access::Push, Method::POST, &url, &|r| {
            Ok(r.header(header::CONTENT_LENGTH, "0"))
        })?;
        let resp = check(resp, repo, &format!("upload of {what}"))?;
        let location = header_str(resp.headers(), header::LOCATION.as_str())
            .ok_or_else(|| Error::Status {
                registry: repo.registry.clone(),
                request: format!("upload of {what}"),
                status: resp.status().as_u16(),
                message: "no Location for the upload".into(),
            })?
            .to_string();
        let mut upload = if location.starts_with('/') {
            format!("{}://{}{location}", self.scheme, repo.registry)
        } else {
            location
        };
        upload.push(if upload.contains('?') { '&' } else { '?' });
        upload.push_str("digest=");
        upload.push_str(&descriptor.digest);
        let size = descriptor.size;
        let resp = self.send(repo, Access::Push, Method::PUT, &upload, &|r| {
            body(
                r.header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(header::CONTENT_LENGTH, size),
            )
        })?;
        check(resp, repo, &format!("upload of {what}"))?;
        Ok(())
    }

    /// Uploads a manifest under `reference` (a tag, or its digest); returns its digest.
    pub fn push_manifest(
        &self,
        repo: &OciUrl,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<String> {
        let digest = sha256_digest(bytes);
        let what = manifest_name(repo, reference);
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(Error::TooLarge {
                what,
                size: bytes.len() as u64,
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let url = format!("{}/manifests/{reference}", self.base(repo));
        let resp = self.send(repo, Access::Push, Method::PUT, &url, &|r| {
            Ok(r.header(header::CONTENT_TYPE, media_type)
                .body(bytes.to_vec()))
        })?;
        let resp = check(resp, repo, &format!("upload of {what}"))?;
        if let Some(theirs) = header_str(resp.headers(), "docker-content-digest") {
            verify_digest(&what, &digest, theirs)?;
        }
        Ok(digest)
    }

    /// Tags the manifest `digest` as `new_tag` (the manifest is fetched and put again).
    pub fn tag(&self, repo: &OciUrl, digest: &str, new_tag: &str) -> Result<String> {
        if !super::url::valid_tag(new_tag) {
            return Err(Error::InvalidUrl {
                url: format!("{}:{new_tag}", repo.repository_name()),
                reason: "invalid tag".into(),
            });
        }
        let manifest = self.manifest(repo, digest)?;
        self.push_manifest(repo, new_tag, &manifest.bytes, &manifest.media_type)
    }

    /// Sends a request, answering one 401 challenge (basic or bearer) and retrying once.
    fn send(
        &self,
        repo: &OciUrl,
        access: Access,
        method: Method,
        url: &str,
        prepare: &dyn Fn(RequestBuilder) -> Result<RequestBuilder>,
    ) -> Result<Response> {
        let registry = repo.registry.as_str();
        let scope = match access {
            Access::Pull => format!("repository:{}:pull", repo.repository),
            Access::Push => format!("repository:{}:pull,push", repo.repository),
        };
        let unauthorized = |cause: String| Error::Unauthorized {
            registry: registry.to_string(),
            repository: repo.repository.clone(),
            cause,
        };
        let mut challenged = false;
        loop {
            let mut request = prepare(self.http.request(method.clone(), url))?;
            match self.auth.get(registry, &scope) {
                Some(Authorization::Basic) => {
                    if let Some(creds) = self.credentials_for(registry) {
                        request = request.header(header::AUTHORIZATION, creds.basic_header());
                    }
                }
                Some(Authorization::Bearer { token, .. }) => request = request.bearer_auth(token),
                None => {}
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let resp = request.send().map_err(|e| transport(registry, &e))?;
            if resp.status() != StatusCode::UNAUTHORIZED {
                return Ok(resp);
            }
            let creds = self.credentials_for(registry);
            if challenged {
                self.auth.forget(registry, &scope);
                return Err(unauthorized(match &creds {
                    Some(c) => format!(
                        "the registry refused the credentials of user {:?} (401 Unauthorized)",
                        c.username
                    ),
                    None => "the registry refused the anonymous token (401 Unauthorized)".into(),
                }));
            }
            challenged = true;
            let challenge = header_str(resp.headers(), header::WWW_AUTHENTICATE.as_str())
                .and_then(parse_challenge)
                .ok_or_else(|| {
                    unauthorized("401 Unauthorized without a Basic or Bearer challenge".into())
                })?;
            match challenge {
                Challenge::Basic { .. } => {
                    if creds.is_none() {
                        return Err(unauthorized(
                            "the registry requires credentials and none were given".into(),
                        ));
                    }
                    self.auth.put(registry, &scope, Authorization::Basic);
                }
                Challenge::Bearer {
                    realm,
                    service,
                    scope: asked,
                } => {
                    let token_scope = asked.unwrap_or_else(|| scope.clone());
                    let (token, ttl) = self
                        .fetch_token(&realm, service.as_deref(), &token_scope, creds.as_ref())
                        .map_err(unauthorized)?;
                    let until = Instant::now() + ttl.saturating_sub(Duration::from_secs(5));
                    self.auth
                        .put(registry, &scope, Authorization::Bearer { token, until });
                }
            }
        }
    }

    /// GETs a token from the challenge's realm, with the credentials when there are some.
    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        creds: Option<&Credentials>,
    ) -> std::result::Result<(String, Duration), String> {
        if creds.is_some() && self.scheme == "https" && !realm.starts_with("https://") {
            return Err(format!(
                "the token realm {realm} is not https: credentials are not sent there"
            ));
        }
        let mut url = reqwest::Url::parse(realm)
            .map_err(|e| format!("invalid token realm {realm:?}: {e}"))?;
        if let Some(service) = service {
            url.query_pairs_mut().append_pair("service", service);
        }
        url.query_pairs_mut().append_pair("scope", scope);
        let mut request = self.http.get(url);
        if let Some(c) = creds {
            request = request.header(header::AUTHORIZATION, c.basic_header());
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = request
            .send()
            .map_err(|e| format!("token request to {realm}: {}", error_chain(&e)))?;
        let status = resp.status();
        let mut body = Vec::new();
        let _ = resp.take(MAX_JSON_BYTES).read_to_end(&mut body);
        if !status.is_success() {
            return Err(format!(
                "the token service {realm} answered {status}{}",
                match &creds {
                    Some(c) => format!(" for user {:?}", c.username),
                    None => " to an anonymous request".into(),
                }
            ));
        }
        serde_json::from_slice::<TokenResponse>(&body)
            .ok()
            .and_then(TokenResponse::into_token)
            .ok_or_else(|| format!("the token service {realm} answered no token"))
    }
}

fn manifest_name(repo: &OciUrl, reference: &str) -> String {
    let sep = if reference.starts_with("sha256:") {
        '@'
    } else {
        ':'
    };
    format!("manifest {}{sep}{reference}", repo.repository_name())
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok()
}

/// The target of a `Link: <url>; rel="next"` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"))
            .then(|| target.to_string())
    })
}

/// The response when it is a success; a typed error otherwise.
fn check(resp: Response, repo: &OciUrl, what: &str) -> Result<Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    if status == StatusCode::NOT_FOUND {
        return Err(Error::NotFound {
            registry: repo.registry.clone(),
            what: what.to_string(),
        });
    }
    let mut body = Vec::new();
    let _ = resp.take(64 << 10).read_to_end(&mut body);
    Err(Error::Status {
        registry: repo.registry.clone(),
        request: what.to_string(),
        status: status.as_u16(),
        message: registry_message(&body),
    })
}

/// The registry's `{"errors":[{"code","message"}]}`, else the start of the body.
fn registry_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(errors) = serde_json::from_slice::<Errors>(body) {
        let parts: Vec<String> = errors
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.message))
            .collect();
        if !parts.is_empty() {
            return parts.join("; ");
        }
    }
    let text = String::from_utf8_lossy(body);
    text.chars()
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

fn read_bounded(resp: Response, limit: u64, what: &str, repo: &OciUrl) -> Result<Vec<u8>> {
    if let Some(len) = resp.content_length().filter(|l| *l > limit) {
        return Err(Error::TooLarge {
            what: what.to_string(),
            size: len,
            limit,
        });
    }
    let mut bytes = Vec::new();
    resp.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| transport(&repo.registry, &e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            what: what.to_string(),
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

fn transport(registry: &str, e: &(dyn std::error::Error + 'static)) -> Error {
    Error::Transport {
        registry: registry.to_string(),
        cause: error_chain(e),
    }
}

/// An error and its sources on one line, each text once.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        cause = c.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_page_link() {
        assert_eq!(
            next_link(r#"</v2/app/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/app/tags/list?n=2&last=b")
        );
        assert_eq!(next_link(r#"<https://x/a>; rel="prev""#), None);
    }

    #[test]
    fn registry_errors_are_summarised() {
        assert_eq!(
            registry_message(
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
            ),
            "MANIFEST_UNKNOWN: manifest unknown"
        );
        assert_eq!(registry_message(b" plain text "), "plain text");
    }
}
