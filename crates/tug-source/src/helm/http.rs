//! HTTP for Helm repositories: one blocking reqwest client per request with the repository's
//! TLS material (rustls, ring), basic auth sent where Helm sends it, and bodies streamed to a
//! file with a size cap and a SHA-256 computed on the way.

use super::error::{HelmError, Result};
use crate::error::{chain, redact_url};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Flux's default `spec.timeout` for Helm repositories.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach a Helm repository: `spec.secretRef` (basic auth), `spec.certSecretRef`
/// (`ca.crt`, `tls.crt`, `tls.key`), `spec.insecure`, `spec.passCredentials`, `spec.timeout`.
#[derive(Clone)]
pub struct HttpOptions {
    /// Basic auth (username, password).
    pub basic_auth: Option<(String, String)>,
    /// PEM CA certificates trusted in addition to the system's.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM client certificate chain and key, for mutual TLS.
    pub cert_pem: Option<Vec<u8>>,
    pub key_pem: Option<Vec<u8>>,
    /// Accept any server certificate (`insecureSkipTLSverify`).
    pub insecure_skip_verify: bool,
    /// Send the credentials to chart URLs on other hosts than the repository's.
    pub pass_credentials: bool,
    /// Limit on each whole request (connect, headers and body).
    pub timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            basic_auth: None,
            ca_pem: None,
            cert_pem: None,
            key_pem: None,
            insecure_skip_verify: false,
            pass_credentials: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Secrets are never printed, even by `{:?}`.
impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("username", &self.basic_auth.as_ref().map(|(u, _)| u))
            .field("password", &self.basic_auth.as_ref().map(|_| "***"))
            .field("ca_pem", &self.ca_pem.as_ref().map(|c| c.len()))
            .field("client_cert", &self.cert_pem.is_some())
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("pass_credentials", &self.pass_credentials)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl HttpOptions {
    /// Options from the data of Flux's secrets: `secretRef` (`username`, `password`, and, as
    /// Flux still accepts there, TLS keys) and `certSecretRef` (`ca.crt`, `tls.crt`,
    /// `tls.key`; the deprecated `caFile`, `certFile`, `keyFile` too).
    pub fn from_secrets(
        auth: Option<&BTreeMap<String, Vec<u8>>>,
        cert: Option<&BTreeMap<String, Vec<u8>>>,
    ) -> std::result::Result<Self, String> {
        let mut o = HttpOptions::default();
        if let Some(data) = auth {
            let text = |k: &str| {
                data.get(k)
                    .map(|v| String::from_utf8_lossy(v).trim_end().to_string())
            };
            match (text("username"), text("password")) {
                (Some(u), Some(p)) => o.basic_auth = Some((u, p)),
                (None, None) => {}
                _ => return Err("secret must contain both 'username' and 'password'".into()),
            }
        }
        for data in [auth, cert].into_iter().flatten() {
            let get = |a: &str, b: &str| data.get(a).or_else(|| data.get(b)).cloned();
            o.ca_pem = get("ca.crt", "caFile").or(o.ca_pem);
            o.cert_pem = get("tls.crt", "certFile").or(o.cert_pem);
            o.key_pem = get("tls.key", "keyFile").or(o.key_pem);
        }
        if o.cert_pem.is_some() != o.key_pem.is_some() {
            return Err("secret must contain both 'tls.crt' and 'tls.key'".into());
        }
        Ok(o)
    }
}

/// Accepts every server certificate: `insecure: true`.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS configuration for an https URL with these options.
fn tls_config(url: &str, o: &HttpOptions) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |cause: String| HelmError::Config {
        url: redact_url(url),
        cause,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?;
    let builder = if o.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
    } else {
        let mut roots = crate::fetch::system_roots().clone();
        if let Some(ca) = &o.ca_pem {
            let certs = CertificateDer::pem_slice_iter(ca)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| bad(format!("invalid CA certificate: {e}")))?;
            if certs.is_empty() {
                return Err(bad("no PEM certificate found in the CA".into()));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| bad(format!("invalid CA certificate: {e}")))?;
            }
        }
        builder.with_root_certificates(roots)
    };
    match (&o.cert_pem, &o.key_pem) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| bad(format!("invalid client certificate: {e}")))?;
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| bad(format!("invalid client key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad(format!("invalid client certificate: {e}")))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(bad(
            "both a client certificate and its key are needed".into()
        )),
    }
}

/// A client for `url` with these options.
pub(crate) fn client(url: &reqwest::Url, o: &HttpOptions) -> Result<reqwest::blocking::Client> {
    crate::fetch::ensure_tls_provider();
    let shown = redact_url(url.as_str());
    let tls = match url.scheme() {
        "http" => rustls::ClientConfig::clone(&crate::fetch::no_tls()),
        "https" => tls_config(url.as_str(), o)?,
        other => {
            return Err(HelmError::InvalidUrl {
                url: shown,
                reason: format!("scheme {other:?} is not supported (http or https)"),
            })
        }
    };
    reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(o.timeout)
        .connect_timeout(o.timeout.min(Duration::from_secs(30)))
        .user_agent(concat!("tug/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| HelmError::Config {
            url: shown,
            cause: chain(&e),
        })
}

/// Parses an absolute http(s) URL.
pub(crate) fn parse_url(url: &str) -> Result<reqwest::Url> {
    let u = reqwest::Url::parse(url).map_err(|e| HelmError::InvalidUrl {
        url: redact_url(url),
        reason: e.to_string(),
    })?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(HelmError::InvalidUrl {
            url: redact_url(url),
            reason: "must be an http(s) URL with a host".into(),
        });
    }
    Ok(u)
}

/// Helm's `ResolveReferenceURL`: `reference` as is when absolute, otherwise relative to `base`
/// taken as a directory (a trailing slash added), keeping `base`'s query.
pub(crate) fn resolve_reference(base: &str, reference: &str) -> Result<reqwest::Url> {
    if let Ok(abs) = reqwest::Url::parse(reference) {
        return Ok(abs);
    }
    let mut dir = parse_url(base)?;
    let query = dir.query().map(str::to_string);
    let path = format!("{}/", dir.path().trim_end_matches('/'));
    dir.set_path(&path);
    dir.set_query(None);
    let mut joined = dir.join(reference).map_err(|e| HelmError::InvalidUrl {
        url: redact_url(reference),
        reason: e.to_string(),
    })?;
    joined.set_query(query.as_deref());
    Ok(joined)
}

/// Sends a GET, with basic auth when `credentials`, and extra headers.
pub(crate) fn get(
    client: &reqwest::blocking::Client,
    url: &reqwest::Url,
    o: &HttpOptions,
    credentials: bool,
    headers: &[(&str, &str)],
) -> Result<reqwest::blocking::Response> {
    let mut req = client.get(url.clone());
    if credentials {
        if let Some((u, p)) = &o.basic_auth {
            req = req.basic_auth(u, Some(p));
        }
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().map_err(|e| transport_error(url, o, &e))?;
    let status = resp.status();
    if status.is_success() || status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(resp);
    }
    Err(HelmError::Status {
        url: redact_url(url.as_str()),
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_string(),
    })
}

/// A transport failure, classified, with any password scrubbed from its text.
fn transport_error(url: &reqwest::Url, o: &HttpOptions, e: &reqwest::Error) -> HelmError {
    let shown = redact_url(url.as_str());
    let mut cause = chain(e);
    if let Some((_, p)) = &o.basic_auth {
        if p.len() >= 4 {
            cause = cause.replace(p.as_str(), "***");
        }
    }
    let lower = cause.to_ascii_lowercase();
    if e.is_timeout() {
        HelmError::Timeout {
            url: shown,
            timeout: o.timeout,
        }
    } else if [
        "certificate",
        "unknownissuer",
        "notvalidforname",
        "invalid peer",
    ]
    .iter()
    .any(|n| lower.contains(n))
    {
        HelmError::Certificate { url: shown, cause }
    } else {
        HelmError::Unreachable { url: shown, cause }
    }
}

/// A body written to a temporary file: its digest and size.
pub(crate) struct Downloaded {
    pub file: tempfile::NamedTempFile,
    pub sha256_hex: String,
    pub size: u64,
}

/// Streams `resp`'s body into a new temporary file in `dir`, refusing more than `max_bytes`
/// (the partial file is removed).
pub(crate) fn download(
    mut resp: reqwest::blocking::Response,
    url: &reqwest::Url,
    o: &HttpOptions,
    dir: &Path,
    max_bytes: u64,
) -> Result<Downloaded> {
    let shown = redact_url(url.as_str());
    let too_large = || HelmError::TooLarge {
        url: shown.clone(),
        limit: max_bytes,
    };
    if resp.content_length().is_some_and(|n| n > max_bytes) {
        return Err(too_large());
    }
    std::fs::create_dir_all(dir).map_err(|e| HelmError::storage(dir, e))?;
    let file = tempfile::Builder::new()
        .prefix(".tmp-download-")
        .tempfile_in(dir)
        .map_err(|e| HelmError::storage(dir, e))?;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, file.as_file());
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match resp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                    || e.to_string().to_ascii_lowercase().contains("timed out");
                return Err(if timed_out {
                    HelmError::Timeout {
                        url: shown,
                        timeout: o.timeout,
                    }
                } else {
                    HelmError::Unreachable {
                        url: shown,
                        cause: format!("reading the body: {}", chain(&e)),
                    }
                });
            }
        };
        size += n as u64;
        if size > max_bytes {
            return Err(too_large());
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| HelmError::storage(file.path(), e))?;
    }
    out.flush()
        .map_err(|e| HelmError::storage(file.path(), e))?;
    drop(out);
    Ok(Downloaded {
        sha256_hex: crate::storage::hex(&hasher.finalize()),
        size,
        file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_helm() {
        let r = |b: &str, u: &str| resolve_reference(b, u).unwrap().to_string();
        assert_eq!(
            r("https://h/charts", "index.yaml"),
            "https://h/charts/index.yaml"
        );
        assert_eq!(
            r("https://h/charts/", "index.yaml"),
            "https://h/charts/index.yaml"
        );
        assert_eq!(
            r("https://h/charts", "a/b-1.0.0.tgz"),
            "https://h/charts/a/b-1.0.0.tgz"
        );
        assert_eq!(r("https://h/c?tok=1", "x.tgz"), "https://h/c/x.tgz?tok=1");
        assert_eq!(r("https://h/c", "https://o/x.tgz"), "https://o/x.tgz");
        assert_eq!(r("https://h/c/d", "/x.tgz"), "https://h/x.tgz");
    }

    #[test]
    fn reads_flux_secrets_and_hides_them() {
        let data: BTreeMap<String, Vec<u8>> = [
            ("username".to_string(), b"u".to_vec()),
            ("password".to_string(), b"hunter22\n".to_vec()),
        ]
        .into();
        let o = HttpOptions::from_secrets(Some(&data), None).unwrap();
        assert_eq!(o.basic_auth, Some(("u".into(), "hunter22".into())));
        assert!(!format!("{o:?}").contains("hunter22"));
        let half: BTreeMap<String, Vec<u8>> = [("tls.crt".to_string(), b"x".to_vec())].into();
        assert!(HttpOptions::from_secrets(None, Some(&half)).is_err());
    }
}
