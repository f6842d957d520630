//! Errors of the OCI client. Each names what it was working on (the URL, the registry and
//! repository, the digest) and never contains credentials or tokens.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `oci://` URL cannot be parsed.
    #[error("invalid OCI URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// A digest is not `sha256:` followed by 64 lowercase hex digits.
    #[error("invalid digest {digest:?}: only sha256 digests of 64 hex digits are supported")]
    InvalidDigest { digest: String },

    /// Credentials cannot be read (a malformed `.dockerconfigjson`, an empty user).
    #[error("invalid registry credentials: {0}")]
    Credentials(String),

    /// The TLS settings (CA, client certificate) are unusable.
    #[error("invalid TLS configuration: {cause}")]
    Tls { cause: String },

    /// The registry could not be reached, or the connection broke.
    #[error("cannot reach registry {registry}: {cause}")]
    Transport { registry: String, cause: String },

    /// The registry refused the credentials (or asked for some and there are none).
    #[error("authentication to registry {registry} failed for {repository}: {cause}")]
    Unauthorized {
        registry: String,
        repository: String,
        cause: String,
    },

    /// The repository, tag or digest does not exist.
    #[error("{what} not found in registry {registry}")]
    NotFound { registry: String, what: String },

    /// Any other unexpected answer.
    #[error("registry {registry} answered {status} to {request}: {message}")]
    Status {
        registry: String,
        request: String,
        status: u16,
        message: String,
    },

    /// A manifest, blob or extracted tree is larger than allowed.
    #[error("{what} is too large: {size} bytes, the limit is {limit}")]
    TooLarge { what: String, size: u64, limit: u64 },

    /// Content does not hash to the digest it was asked for.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },

    /// A manifest or registry answer that cannot be parsed, or is not what was expected.
    #[error("invalid manifest {what}: {cause}")]
    InvalidManifest { what: String, cause: String },

    /// The artifact has no layer of the requested media type.
    #[error("no layer with media type {media_type:?} in {url}")]
    NoLayer { url: String, media_type: String },

    /// A tarball entry that would escape the destination, or that tug does not extract.
    #[error("unsafe archive entry {entry:?} in {what}: {reason}")]
    UnsafeEntry {
        what: String,
        entry: String,
        reason: String,
    },

    /// A tarball that cannot be read.
    #[error("invalid archive {what}: {cause}")]
    Archive { what: String, cause: String },

    /// A local file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
