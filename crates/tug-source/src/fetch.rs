//! Fetching the commit a reference points at, cheaply.
//!
//! Remote repositories (http, https, ssh, git) are fetched into a fresh bare repository in a
//! temporary directory: one connection lists the remote refs (filtered by the server to the
//! ref in question, protocol v2 `ls-refs`); when the resolved commit is the one of the last
//! artifact, the connection is dropped before any pack is requested, so a no-op poll costs a
//! single ref listing. Otherwise the same connection fetches the ref at depth 1 (full history
//! only for `commit` references, which need it). A pinned commit that is already the last
//! revision needs no network at all.
//!
//! `file://` repositories are opened in place: no copy, no `git` process.

use crate::archive;
use crate::auth::Auth;
use crate::error::{chain, classify, redact_url, Error, Result, Scrubber};
use crate::ignore::IgnoreRules;
use crate::include::Include;
use crate::reference::Reference;
use crate::semver_range::{highest_match, Range};
use crate::storage::Storage;
use gix::remote::Direction;
use gix::ObjectId;
use std::num::NonZeroU32;
use std::sync::atomic::AtomicBool;
use tug_api::meta::Artifact;
use tug_api::revision::Revision;

/// What to fetch.
#[derive(Clone, Debug)]
pub struct FetchRequest<'a> {
    /// The repository URL: `http(s)://`, `ssh://`, `git://` or `file://`.
    pub url: &'a str,
    pub reference: &'a Reference,
    pub auth: &'a Auth,
    /// The revision of the current artifact: when the remote still points there, nothing is
    /// downloaded.
    pub last_revision: Option<&'a Revision>,
}

/// The result of a fetch.
pub enum FetchOutcome {
    /// The reference still points at `last_revision`; nothing was downloaded.
    Unchanged(Revision),
    /// A new commit, ready to be archived.
    Fetched(Box<Checkout>),
}

impl FetchOutcome {
    pub fn revision(&self) -> &Revision {
        match self {
            FetchOutcome::Unchanged(r) => r,
            FetchOutcome::Fetched(c) => &c.revision,
        }
    }
}

/// A fetched commit: its objects are in `repo` (a temporary bare repository, or the local
/// repository of a `file://` URL).
pub struct Checkout {
    repo: gix::Repository,
    commit: ObjectId,
    url: String,
    /// The annotated tag object the reference resolved through, if any (for tag verification).
    tag: Option<ObjectId>,
    pub revision: Revision,
    // Dropped last: the repository lives inside it.
    _dir: Option<tempfile::TempDir>,
}

impl Checkout {
    /// The commit's hex id.
    pub fn commit_id(&self) -> String {
        self.commit.to_string()
    }

    /// The raw commit object (headers, signature and message), for signature verification.
    pub fn commit_object(&self) -> Result<Vec<u8>> {
        self.raw(self.commit)
    }

    /// The annotated tag object's hex id, when the reference resolved through one.
    pub fn tag_id(&self) -> Option<String> {
        self.tag.map(|t| t.to_string())
    }

    /// The raw annotated tag object, when the reference was an annotated tag.
    pub fn tag_object(&self) -> Result<Option<Vec<u8>>> {
        self.tag.map(|t| self.raw(t)).transpose()
    }

    fn raw(&self, id: ObjectId) -> Result<Vec<u8>> {
        self.repo
            .find_object(id)
            .map(|o| o.detach().data)
            .map_err(|e| Error::Git {
                url: self.url.clone(),
                cause: format!("reading object {id}: {e}"),
            })
    }

    /// Archives the commit's tree into `storage` under `dir` (see [`Storage::artifact_dir`]),
    /// filtered by the tree's `.sourceignore` files and `spec_ignore`.
    pub fn archive(
        &self,
        storage: &Storage,
        dir: &str,
        spec_ignore: Option<&str>,
    ) -> Result<Artifact> {
        self.archive_with_includes(storage, dir, spec_ignore, &[])
    }

    /// Like [`Checkout::archive`], with the files of other artifacts (`spec.include`) added.
    pub fn archive_with_includes(
        &self,
        storage: &Storage,
        dir: &str,
        spec_ignore: Option<&str>,
        includes: &[Include],
    ) -> Result<Artifact> {
        let mut included = Vec::with_capacity(includes.len());
        for include in includes {
            let file =
                storage
                    .local_path(&include.artifact.path)
                    .ok_or_else(|| Error::IncludeCopy {
                        name: include.name.clone(),
                        from: include.from().to_string(),
                        to: include.to().to_string(),
                        cause: format!("invalid artifact path '{}'", include.artifact.path),
                    })?;
            included.push(crate::include::read(include, &file)?);
        }
        let tree = self
            .repo
            .find_commit(self.commit)
            .and_then(|c| c.tree_id().map(|id| id.detach()))
            .map_err(|e| Error::Git {
                url: self.url.clone(),
                cause: format!("reading commit {}: {e}", self.commit),
            })?;
        let ignore_files = archive::collect_ignore_files(&self.repo, tree, &self.url)?;
        let rules = IgnoreRules::new(&ignore_files, spec_ignore);
        storage.store(dir, &self.revision.to_string(), |w| {
            archive::write_tar_gz(&self.repo, tree, &rules, &included, &self.url, w)
        })
    }
}

/// Transport settings beyond credentials.
#[derive(Clone, Debug, Default)]
pub struct FetchOptions {
    /// PEM certificates to trust for `https://`, in addition to the system's roots (a Flux
    /// secret's `ca.crt`, or the legacy `caFile`).
    pub ca_bundle: Option<Vec<u8>>,
}

impl FetchOptions {
    /// The options a Flux secret's data gives: `ca.crt`, else the legacy `caFile`.
    pub fn from_secret(data: &std::collections::BTreeMap<String, Vec<u8>>) -> Self {
        let ca = data
            .get("ca.crt")
            .or_else(|| data.get("caFile"))
            .filter(|v| !v.is_empty())
            .cloned();
        FetchOptions { ca_bundle: ca }
    }
}

/// Fetches the commit `request.reference` points at, unless it is `request.last_revision`.
///
/// Blocking: call it from a blocking thread in async code.
pub fn fetch(request: &FetchRequest<'_>) -> Result<FetchOutcome> {
    fetch_with(request, &FetchOptions::default())
}

/// [`fetch`] with transport options (a custom CA for https).
pub fn fetch_with(request: &FetchRequest<'_>, options: &FetchOptions) -> Result<FetchOutcome> {
    request.reference.validate()?;
    let url = request.url.trim();
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    let shown = redact_url(url);
    // A pinned commit names its content: when it is the last revision there is nothing to ask.
    if let (Reference::Commit { sha, .. }, Some(last)) = (request.reference, request.last_revision)
    {
        if last.digest == *sha {
            return Ok(FetchOutcome::Unchanged(revision(
                request.reference,
                None,
                sha,
            )));
        }
    }
    match scheme.as_deref() {
        Some("file") => fetch_local(url, request),
        Some("http" | "https" | "ssh" | "git") => fetch_remote(url, request, options),
        _ => Err(Error::InvalidUrl {
            url: shown,
            reason: "the scheme must be one of http, https, ssh, git or file".into(),
        }),
    }
}

fn revision(reference: &Reference, tag: Option<&str>, commit: &str) -> Revision {
    Revision::git(reference.revision_name(tag).as_deref(), commit)
}

/// One advertised ref: its full name, the commit it peels to, and the tag object on the way.
#[derive(Debug)]
struct RemoteRef {
    name: String,
    commit: ObjectId,
    tag: Option<ObjectId>,
}

/// Where a reference resolved to on the remote.
struct Resolved {
    /// The ref to fetch (`None` for a commit searched in all branches).
    fetch_ref: Option<String>,
    commit: ObjectId,
    tag: Option<ObjectId>,
    /// The tag a semver range selected.
    tag_name: Option<String>,
}

fn not_found(url: &str, reference: &Reference) -> Error {
    Error::ReferenceNotFound {
        url: redact_url(url),
        what: reference.describe(),
    }
}

fn resolve(url: &str, reference: &Reference, refs: &[RemoteRef]) -> Result<Resolved> {
    let by_name = |name: &str| refs.iter().find(|r| r.name == name);
    let found = |r: &RemoteRef| Resolved {
        fetch_ref: Some(r.name.clone()),
        commit: r.commit,
        tag: r.tag,
        tag_name: None,
    };
    match reference {
        Reference::Branch(b) => by_name(&format!("refs/heads/{b}"))
            .map(found)
            .ok_or_else(|| not_found(url, reference)),
        Reference::Tag(t) => by_name(&format!("refs/tags/{t}"))
            .map(found)
            .ok_or_else(|| not_found(url, reference)),
        Reference::Name(n) => by_name(n)
            .map(found)
            .ok_or_else(|| not_found(url, reference)),
        Reference::Semver(range) => {
            let range: Range = range
                .parse()
                .map_err(|e: crate::semver_range::RangeError| {
                    Error::InvalidReference(e.to_string())
                })?;
            let tags = refs
                .iter()
                .filter_map(|r| r.name.strip_prefix("refs/tags/"));
            let tag = highest_match(&range, tags).ok_or_else(|| not_found(url, reference))?;
            let r =
                by_name(&format!("refs/tags/{tag}")).ok_or_else(|| not_found(url, reference))?;
            Ok(Resolved {
                tag_name: Some(tag.to_string()),
                ..found(r)
            })
        }
        Reference::Commit { sha, branch } => {
            let commit = ObjectId::from_hex(sha.as_bytes())
                .map_err(|e| Error::InvalidReference(format!("commit {sha:?}: {e}")))?;
            let fetch_ref = match branch {
                Some(b) => Some(
                    by_name(&format!("refs/heads/{b}"))
                        .ok_or_else(|| not_found(url, &Reference::Branch(b.clone())))?
                        .name
                        .clone(),
                ),
                None => None,
            };
            Ok(Resolved {
                fetch_ref,
                commit,
                tag: None,
                tag_name: None,
            })
        }
    }
}

/// Whether the resolved commit is the one of the last artifact.
fn unchanged(last: Option<&Revision>, commit: &ObjectId) -> bool {
    last.is_some_and(|l| {
        l.algorithm == "sha1" && l.digest.parse::<ObjectId>().is_ok_and(|d| d == *commit)
    })
}

// ---------------------------------------------------------------------------------------------
// file://

fn fetch_local(url: &str, request: &FetchRequest<'_>) -> Result<FetchOutcome> {
    let shown = redact_url(url);
    let parsed =
        gix::url::parse(gix::bstr::BStr::new(url.as_bytes())).map_err(|e| Error::InvalidUrl {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
    let path = gix::path::from_bstr(gix::bstr::BStr::new(parsed.path.as_slice()))
        .map_err(|e| Error::InvalidUrl {
            url: shown.clone(),
            reason: e.to_string(),
        })?
        .into_owned();
    let repo = gix::open_opts(&path, gix::open::Options::isolated()).map_err(|e| {
        Error::RepositoryNotFound {
            url: shown.clone(),
            cause: chain(&e),
        }
    })?;
    let git_err = |e: &dyn std::fmt::Display| Error::Git {
        url: shown.clone(),
        cause: e.to_string(),
    };
    let mut refs = Vec::new();
    let platform = repo.references().map_err(|e| git_err(&e))?;
    for r in platform.all().map_err(|e| git_err(&e))? {
        let Ok(mut r) = r else { continue };
        let name = r.name().as_bstr().to_string();
        let direct = r.target().try_id().map(|id| id.to_owned());
        let Ok(commit) = r.peel_to_id().map(|id| id.detach()) else {
            continue;
        };
        let tag = direct.filter(|d| *d != commit);
        refs.push(RemoteRef { name, commit, tag });
    }
    if refs.is_empty() {
        return Err(Error::EmptyRepository { url: shown });
    }
    let resolved = resolve(url, request.reference, &refs)?;
    let rev = revision(
        request.reference,
        resolved.tag_name.as_deref(),
        &resolved.commit.to_string(),
    );
    if unchanged(request.last_revision, &resolved.commit) {
        return Ok(FetchOutcome::Unchanged(rev));
    }
    if repo.find_commit(resolved.commit).is_err() {
        return Err(not_found(url, request.reference));
    }
    if let (Reference::Commit { .. }, Some(branch_ref)) = (request.reference, &resolved.fetch_ref) {
        // A commit pinned on a branch must be part of that branch's history.
        let head = refs
            .iter()
            .find(|r| &r.name == branch_ref)
            .map(|r| r.commit);
        let reachable = head.is_some_and(|h| {
            repo.rev_walk([h])
                .all()
                .is_ok_and(|mut walk| walk.any(|info| info.is_ok_and(|i| i.id == resolved.commit)))
        });
        if !reachable {
            return Err(not_found(url, request.reference));
        }
    }
    Ok(FetchOutcome::Fetched(Box::new(Checkout {
        repo,
        commit: resolved.commit,
        url: shown,
        tag: resolved.tag,
        revision: rev,
        _dir: None,
    })))
}

// ---------------------------------------------------------------------------------------------
// http, https, ssh, git

/// Installs the process-wide TLS provider reqwest needs (ring, as the rest of the workspace).
pub(crate) fn ensure_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only when another provider was installed first, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn tls_builder() -> Option<rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>> {
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .ok()
}

fn config_with_roots(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    match tls_builder() {
        Some(b) => b.with_root_certificates(roots).with_no_client_auth(),
        None => rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    }
}

/// A TLS configuration that trusts nothing, for plain `http://` remotes: reqwest otherwise loads
/// every system root certificate (a hundred-odd files) each time a client is built, which is
/// most of the cost of a no-op poll. Built once per process.
pub(crate) fn no_tls() -> std::sync::Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<std::sync::Arc<rustls::ClientConfig>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| std::sync::Arc::new(config_with_roots(rustls::RootCertStore::empty())))
        .clone()
}

/// The system's root certificates, loaded once per process.
pub(crate) fn system_roots() -> &'static rustls::RootCertStore {
    static ROOTS: std::sync::OnceLock<rustls::RootCertStore> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let loaded = rustls_native_certs::load_native_certs();
        let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
        tracing::debug!(added, ignored, "loaded the system's root certificates");
        roots
    })
}

/// The TLS configuration for `https://` remotes: the system's roots, plus `ca_bundle` when
/// given. Built once per distinct CA bundle and shared by every fetch (a few bundles at most
/// in practice), instead of once per request.
fn https_tls(url: &str, ca_bundle: Option<&[u8]>) -> Result<std::sync::Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    use sha2::Digest;
    type Cache = std::sync::Mutex<
        std::collections::HashMap<Option<[u8; 32]>, std::sync::Arc<rustls::ClientConfig>>,
    >;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let key: Option<[u8; 32]> = ca_bundle.map(|ca| sha2::Sha256::digest(ca).into());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(config) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(config);
    }
    let mut roots = system_roots().clone();
    if let Some(ca) = ca_bundle {
        let bad = |cause: String| Error::Authentication {
            url: redact_url(url),
            cause: format!("invalid CA certificate in secret: {cause}"),
        };
        let certs = CertificateDer::pem_slice_iter(ca)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no PEM certificate found".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
    }
    let config = std::sync::Arc::new(config_with_roots(roots));
    if let Ok(mut c) = cache.lock() {
        // Bounded: CA bundles rotate rarely; drop everything if a pathological number appears.
        if c.len() >= 64 {
            c.clear();
        }
        c.insert(key, config.clone());
    }
    Ok(config)
}

struct Session {
    /// The TLS configuration for this URL's scheme (none for ssh and git).
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    url: String,
    shown: String,
    scrubber: Scrubber,
    repo: gix::Repository,
    dir: tempfile::TempDir,
}

impl Session {
    fn open(url: &str, auth: &Auth, options: &FetchOptions) -> Result<Self> {
        ensure_tls_provider();
        let shown = redact_url(url);
        let lower = url.to_ascii_lowercase();
        let tls = if lower.starts_with("http://") {
            Some(no_tls())
        } else if lower.starts_with("https://") {
            Some(https_tls(url, options.ca_bundle.as_deref())?)
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("tug-git-")
            .tempdir()
            .map_err(|e| Error::storage(std::env::temp_dir(), e))?;
        let ssh_dir = dir.path().join("ssh");
        if matches!(auth, Auth::Ssh(_)) {
            std::fs::create_dir(&ssh_dir).map_err(|e| Error::storage(&ssh_dir, e))?;
        }
        let mut overrides = vec![
            "protocol.version=2".to_string(),
            "gitoxide.userAgent=tug".to_string(),
            "gitoxide.http.connectTimeout=30s".to_string(),
            "credential.helper=".to_string(),
        ];
        overrides.extend(auth.config_overrides(url, &ssh_dir)?);
        let mut scrubber = auth.scrubber();
        // A password written into the URL itself is a secret too.
        if let Some(password) = url_password(url) {
            scrubber.add(password);
        }
        let git_dir = dir.path().join("repo.git");
        let repo = init_scratch(&git_dir)
            .map_err(|e| Error::storage(&git_dir, e))
            .and_then(|()| {
                gix::open_opts(
                    &git_dir,
                    gix::open::Options::isolated().config_overrides(overrides),
                )
                .map_err(|e| Error::Git {
                    url: shown.clone(),
                    cause: scrubber.scrub(&format!("opening the fetch repository: {}", chain(&e))),
                })
            })?;
        Ok(Session {
            tls,
            url: url.to_string(),
            shown,
            scrubber,
            repo,
            dir,
        })
    }

    /// The transport options from the repository's configuration, with a TLS configuration
    /// built once per process instead of reqwest loading root certificates for each client
    /// (see [`no_tls`] and [`https_tls`]).
    fn transport_options(&self) -> Option<Box<dyn std::any::Any>> {
        use gix::protocol::transport::client::blocking_io::http;
        let tls = self.tls.clone()?;
        let mut options = self
            .repo
            .transport_options(gix::bstr::BStr::new(self.url.as_bytes()), None)
            .ok()??;
        let http_options = options.downcast_mut::<http::Options>()?;
        let backend = http::reqwest::Options {
            configure_client: Some(Box::new(move |builder| {
                Ok(builder.tls_backend_preconfigured(rustls::ClientConfig::clone(&tls)))
            })),
            configure_request: None,
        };
        http_options.backend = Some(std::sync::Arc::new(std::sync::Mutex::new(backend)));
        Some(options)
    }

    /// Connects for fetching, with credentials and transport options applied.
    fn connect<'s>(
        &'s self,
        remote: &'s gix::Remote<'s>,
        auth: &Auth,
    ) -> Result<
        gix::remote::Connection<
            's,
            's,
            's,
            Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>,
        >,
    > {
        let mut connection = remote
            .connect(Direction::Fetch)
            .map_err(|e| self.error(&e))?
            .with_credentials(credentials(auth));
        if let Some(options) = self.transport_options() {
            connection = connection.with_transport_options(options);
        }
        Ok(connection)
    }

    fn error(&self, e: &(dyn std::error::Error + 'static)) -> Error {
        let mut cause = chain(e);
        if let Some(ssh) = self.ssh_stderr() {
            cause = format!("{ssh} ({cause})");
        }
        classify(&self.url, self.scrubber.scrub(&cause))
    }

    /// What ssh said on stderr, without its banners, if anything.
    fn ssh_stderr(&self) -> Option<String> {
        let text =
            std::fs::read_to_string(self.dir.path().join("ssh").join(crate::auth::SSH_STDERR))
                .ok()?;
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| {
                !l.is_empty()
                    && !l.starts_with('@')
                    && !l.starts_with("IT IS POSSIBLE")
                    && !l.contains("ssh-keygen")
            })
            .collect();
        // The last lines carry the verdict ("Host key verification failed.", "Permission denied").
        let tail = &lines[lines.len().saturating_sub(3)..];
        (!tail.is_empty()).then(|| tail.join(" "))
    }

    /// A remote fetching `patterns` into same-named local refs, without tags.
    fn remote(&self, patterns: &[String]) -> Result<gix::Remote<'_>> {
        let specs: Vec<String> = patterns.iter().map(|p| format!("+{p}:{p}")).collect();
        self.repo
            .remote_at(self.url.as_str())
            .map_err(|e| Error::InvalidUrl {
                url: self.shown.clone(),
                reason: self.scrubber.scrub(&chain(&e)),
            })?
            .with_fetch_tags(gix::remote::fetch::Tags::None)
            .with_refspecs(specs.iter().map(String::as_str), Direction::Fetch)
            .map_err(|e| Error::InvalidReference(chain(&e)))
    }
}

/// The password part of `scheme://user:password@host/...`, if any.
fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let userinfo = &authority[..authority.rfind('@')?];
    userinfo.split_once(':').map(|(_, p)| p)
}

/// Lays out a minimal bare repository by hand. `gix::init` also writes hook samples and
/// probes the filesystem (symlinks, case, executable bit), which costs more than the whole ref
/// listing of a no-op poll on slow disks; a fetch target needs none of it.
fn init_scratch(git_dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(git_dir.join("objects").join("pack"))?;
    std::fs::create_dir(git_dir.join("refs"))?;
    std::fs::write(git_dir.join("HEAD"), "ref: refs/heads/main\n")?;
    std::fs::write(
        git_dir.join("config"),
        "[core]\n\trepositoryformatversion = 0\n\tbare = true\n",
    )
}

type Credentials = Box<
    dyn FnMut(
        gix::credentials::helper::Action,
    ) -> gix::Result<Option<gix::credentials::protocol::Outcome>>,
>;

/// Answers authentication challenges with the basic credentials, and with nothing otherwise
/// (never a prompt, never a helper).
fn credentials(auth: &Auth) -> Credentials {
    let basic = auth.basic();
    Box::new(move |action| match (action, &basic) {
        (gix::credentials::helper::Action::Get(ctx), Some((username, password))) => {
            Ok(Some(gix::credentials::protocol::Outcome {
                identity: gix::sec::identity::Account {
                    username: username.clone(),
                    password: password.clone(),
                    oauth_refresh_token: None,
                },
                next: ctx.into(),
            }))
        }
        _ => Ok(None),
    })
}

fn to_remote_refs(refs: &[gix::protocol::handshake::Ref]) -> Vec<RemoteRef> {
    use gix::protocol::handshake::Ref;
    refs.iter()
        .filter_map(|r| match r {
            Ref::Direct {
                full_ref_name,
                object,
            } => Some(RemoteRef {
                name: full_ref_name.to_string(),
                commit: *object,
                tag: None,
            }),
            Ref::Peeled {
                full_ref_name,
                tag,
                object,
            } => Some(RemoteRef {
                name: full_ref_name.to_string(),
                commit: *object,
                tag: Some(*tag),
            }),
            Ref::Symbolic {
                full_ref_name,
                tag,
                object,
                ..
            } => Some(RemoteRef {
                name: full_ref_name.to_string(),
                commit: *object,
                tag: *tag,
            }),
            Ref::Unborn { .. } => None,
        })
        .collect()
}

fn fetch_remote(
    url: &str,
    request: &FetchRequest<'_>,
    options: &FetchOptions,
) -> Result<FetchOutcome> {
    let session = Session::open(url, request.auth, options)?;
    let reference = request.reference;
    let patterns = reference.remote_patterns();
    let remote = session.remote(&patterns)?;
    let connection = session.connect(&remote, request.auth)?;
    let prepare = connection
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| session.error(&e))?;
    let refs = to_remote_refs(&prepare.ref_map().remote_refs);
    let resolved = match resolve(url, reference, &refs) {
        Ok(r) => r,
        Err(e @ Error::ReferenceNotFound { .. }) => {
            drop(prepare);
            return Err(if remote_is_empty(&session, request.auth) {
                Error::EmptyRepository {
                    url: session.shown.clone(),
                }
            } else {
                e
            });
        }
        Err(e) => return Err(e),
    };
    let rev = revision(
        reference,
        resolved.tag_name.as_deref(),
        &resolved.commit.to_string(),
    );
    if unchanged(request.last_revision, &resolved.commit) {
        // Dropping the prepared fetch ends the conversation before any pack is negotiated.
        return Ok(FetchOutcome::Unchanged(rev));
    }
    let interrupt = AtomicBool::new(false);
    let depth = if reference.needs_history() {
        None
    } else {
        NonZeroU32::new(1)
    };
    let shallow = |d: Option<NonZeroU32>| {
        d.map(gix::remote::fetch::Shallow::DepthAtRemote)
            .unwrap_or_default()
    };
    match (&resolved.tag_name, &resolved.fetch_ref) {
        // A semver range listed every tag; fetch only the selected one.
        (Some(_), Some(fetch_ref)) => {
            drop(prepare);
            let remote = session.remote(std::slice::from_ref(fetch_ref))?;
            let connection = session.connect(&remote, request.auth)?;
            let prepare = connection
                .prepare_fetch(gix::progress::Discard, Default::default())
                .map_err(|e| session.error(&e))?;
            prepare
                .with_shallow(shallow(depth))
                .receive(gix::progress::Discard, &interrupt)
                .map_err(|e| session.error(&e))?;
        }
        _ => {
            prepare
                .with_shallow(shallow(depth))
                .receive(gix::progress::Discard, &interrupt)
                .map_err(|e| session.error(&e))?;
        }
    }
    if session.repo.find_commit(resolved.commit).is_err() {
        return Err(not_found(url, reference));
    }
    let Session {
        repo, dir, shown, ..
    } = session;
    Ok(FetchOutcome::Fetched(Box::new(Checkout {
        repo,
        commit: resolved.commit,
        url: shown,
        tag: resolved.tag,
        revision: rev,
        _dir: Some(dir),
    })))
}

/// Whether the remote advertises no refs at all (only asked after a ref was not found, to tell
/// an empty repository from a missing branch).
fn remote_is_empty(session: &Session, auth: &Auth) -> bool {
    let Ok(remote) = session.remote(&["refs/*".to_string()]) else {
        return false;
    };
    let Ok(connection) = session.connect(&remote, auth) else {
        return false;
    };
    let options = gix::remote::ref_map::Options {
        prefix_from_spec_as_filter_on_remote: false,
        ..Default::default()
    };
    match connection.ref_map(gix::progress::Discard, options) {
        Ok((map, _)) => map
            .remote_refs
            .iter()
            .all(|r| matches!(r, gix::protocol::handshake::Ref::Unborn { .. })),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_passwords_written_into_urls() {
        assert_eq!(
            url_password("https://bob:hunter22@h/r.git"),
            Some("hunter22")
        );
        assert_eq!(url_password("https://bob@h/r.git"), None);
        assert_eq!(url_password("https://h/a@b"), None);
        assert_eq!(url_password("ssh://git@h:22/r"), None);
    }
}
