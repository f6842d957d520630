//! The TLS configuration of a registry client: the system's roots plus an optional CA, an
//! optional client certificate, or no verification at all when asked (`insecure`, as Flux's
//! `spec.insecure` for HTTPS registries with self-signed certificates).

use super::error::{Error, Result};
use crate::fetch::{ensure_tls_provider, system_roots, tls_builder};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// Builds the configuration.
pub(crate) fn client_config(
    ca_pem: Option<&[u8]>,
    client_cert_pem: Option<&[u8]>,
    client_key_pem: Option<&[u8]>,
    insecure_skip_verify: bool,
) -> Result<rustls::ClientConfig> {
    ensure_tls_provider();
    let bad = |cause: String| Error::Tls { cause };
    let mut roots = system_roots().clone();
    if let Some(ca) = ca_pem {
        let certs = CertificateDer::pem_slice_iter(ca)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("invalid CA certificate: {e}")))?;
        if certs.is_empty() {
            return Err(bad("no PEM certificate in the CA".into()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| bad(format!("invalid CA certificate: {e}")))?;
        }
    }
    let builder = match tls_builder() {
        Some(b) => b.with_root_certificates(roots),
        None => rustls::ClientConfig::builder().with_root_certificates(roots),
    };
    let mut config = match (client_cert_pem, client_key_pem) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| bad(format!("invalid client certificate: {e}")))?;
            // Never quote the key, even in errors.
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|_| bad("the client key is not a PEM private key".into()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad(format!("client certificate and key: {e}")))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(bad(
                "a client certificate needs its key, and a key its certificate".into(),
            ))
        }
    };
    if insecure_skip_verify {
        let provider = rustls::crypto::ring::default_provider();
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(NoVerification {
                schemes: provider.signature_verification_algorithms,
            }));
    }
    Ok(config)
}

/// Accepts any certificate, still checking the handshake signatures with it.
#[derive(Debug)]
struct NoVerification {
    schemes: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.schemes)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.schemes)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.supported_schemes()
    }
}
