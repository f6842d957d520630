//! OpenPGP verification of commit and tag signatures (`spec.verify`), as Flux does it.
//!
//! A signed commit carries its signature in the `gpgsig` header (continuation lines start with
//! a space); what was signed is the commit object without that header. A signed annotated tag
//! carries the signature at the end of its message; what was signed is everything before it.
//! The trusted keys come from a Secret: every data value is an ASCII-armored key ring (one or
//! more public keys). A signature is good when some key of the rings — the primary key or a
//! subkey bound to it — verifies it; the key reported is the primary key's 16-hex-digit ID, as
//! Flux reports it.
//!
//! SSH signatures (`-----BEGIN SSH SIGNATURE-----`) are not OpenPGP; Flux's GitRepository does
//! not verify them either, and they are reported as "not a PGP signature".

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::KeyDetails;
use std::collections::BTreeMap;

/// `spec.verify.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The commit the reference points at (`HEAD`, or the legacy `head`).
    Head,
    /// The annotated tag the reference names.
    Tag,
    /// Both.
    TagAndHead,
}

impl Mode {
    /// Parses Flux's mode names; an empty or missing mode means `HEAD` (the CRD's default).
    pub fn parse(mode: Option<&str>) -> Result<Mode, VerifyError> {
        match mode.unwrap_or("") {
            "" | "HEAD" | "head" => Ok(Mode::Head),
            "Tag" => Ok(Mode::Tag),
            "TagAndHEAD" => Ok(Mode::TagAndHead),
            other => Err(VerifyError::InvalidMode(other.to_string())),
        }
    }

    /// The name recorded in `status.sourceVerificationMode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Head => "HEAD",
            Mode::Tag => "Tag",
            Mode::TagAndHead => "TagAndHEAD",
        }
    }

    pub fn verifies_head(self) -> bool {
        matches!(self, Mode::Head | Mode::TagAndHead)
    }

    pub fn verifies_tag(self) -> bool {
        matches!(self, Mode::Tag | Mode::TagAndHead)
    }
}

/// Why a signature could not be verified. The messages follow Flux's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The Secret with the keys could not be read.
    #[error("PGP public keys secret error: {0}")]
    Secret(String),
    #[error("invalid verification mode '{0}'")]
    InvalidMode(String),
    /// Tag verification was asked for, but the reference is not an annotated tag.
    #[error("cannot verify tag object's signature if a tag reference is not specified")]
    NoTag,
    #[error("cannot verify signature of tag '{0}' since it is not signed")]
    UnsignedTag(String),
    #[error("signature verification of tag '{tag}' failed: unable to verify Git tag: {cause}")]
    Tag { tag: String, cause: String },
    #[error(
        "signature verification of commit '{commit}' failed: unable to verify Git commit: {cause}"
    )]
    Commit { commit: String, cause: String },
}

impl VerifyError {
    /// Flux's reason for the `SourceVerified=False` condition.
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::Secret(_) => "VerificationError",
            VerifyError::InvalidMode(_) | VerifyError::NoTag => "InvalidVerificationMode",
            VerifyError::UnsignedTag(_) => "InvalidGitObject",
            VerifyError::Tag { .. } => "InvalidTagSignature",
            VerifyError::Commit { .. } => "InvalidCommitSignature",
        }
    }

    /// Whether retrying cannot help until the spec changes.
    pub fn is_stalling(&self) -> bool {
        matches!(self, VerifyError::InvalidMode(_) | VerifyError::NoTag)
    }
}

/// The trusted keys: one entry per Secret value (a key ring may hold several keys), or the
/// reason a value could not be read.
pub struct KeyRings {
    rings: Vec<Result<Vec<SignedPublicKey>, String>>,
}

impl KeyRings {
    /// Reads every value of the Secret's data as an armored key ring.
    pub fn from_secret(data: &BTreeMap<String, Vec<u8>>) -> KeyRings {
        let rings = data.values().map(|v| parse_ring(v)).collect();
        KeyRings { rings }
    }

    /// Verifies `signature` (armored) over `payload`; returns the signer's primary key ID.
    /// Like Flux, the rings are tried in order and an unreadable ring is an error when reached.
    pub fn verify(&self, payload: &[u8], signature: &[u8]) -> Result<String, String> {
        let mut sig = None;
        for ring in &self.rings {
            let keys = ring
                .as_ref()
                .map_err(|e| format!("unable to read armored key ring: {e}"))?;
            let sig = match &sig {
                Some(s) => s,
                None => sig.insert(
                    DetachedSignature::from_armor_single(signature)
                        .map_err(|e| format!("unable to read the signature: {e}"))?
                        .0,
                ),
            };
            for key in keys {
                if signed_by(key, sig, payload) {
                    return Ok(key_id(key));
                }
            }
        }
        Err("unable to verify payload with any of the given key rings".to_string())
    }
}

fn parse_ring(armored: &[u8]) -> Result<Vec<SignedPublicKey>, String> {
    let (keys, _) = SignedPublicKey::from_armor_many(armored).map_err(|e| e.to_string())?;
    let keys: Vec<SignedPublicKey> = keys.collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    if keys.is_empty() {
        return Err("no armored data found".to_string());
    }
    Ok(keys)
}

/// Whether `key` (its primary key, or a subkey it has bound) made `sig` over `payload`.
fn signed_by(key: &SignedPublicKey, sig: &DetachedSignature, payload: &[u8]) -> bool {
    if sig.verify(&key.primary_key, payload).is_ok() {
        return true;
    }
    key.public_subkeys.iter().any(|sub| {
        sig.verify(&sub.key, payload).is_ok() && sub.verify_bindings(&key.primary_key).is_ok()
    })
}

fn key_id(key: &SignedPublicKey) -> String {
    key.primary_key
        .legacy_key_id()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// Splits a raw commit object into the signed payload and its `gpgsig` signature (if any).
pub fn split_commit(raw: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut payload = Vec::with_capacity(raw.len());
    let mut signature: Option<Vec<u8>> = None;
    let mut in_sig = false;
    let mut in_headers = true;
    for line in raw.split_inclusive(|b| *b == b'\n') {
        if !in_headers {
            payload.extend_from_slice(line);
            continue;
        }
        if line == b"\n" {
            in_headers = false;
            in_sig = false;
            payload.extend_from_slice(line);
            continue;
        }
        if in_sig {
            if let Some(rest) = line.strip_prefix(b" ") {
                if let Some(s) = signature.as_mut() {
                    s.extend_from_slice(rest);
                }
                continue;
            }
            in_sig = false;
        }
        if let Some(rest) = line.strip_prefix(b"gpgsig ") {
            signature = Some(rest.to_vec());
            in_sig = true;
            continue;
        }
        payload.extend_from_slice(line);
    }
    (payload, signature)
}

/// Splits a raw annotated tag object into the signed payload and the signature at the end of
/// its message (if any).
pub fn split_tag(raw: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    const MARKERS: [&[u8]; 3] = [
        b"-----BEGIN PGP SIGNATURE-----",
        b"-----BEGIN SSH SIGNATURE-----",
        b"-----BEGIN SIGNED MESSAGE-----",
    ];
    let mut offset = 0;
    let mut found = None;
    for line in raw.split_inclusive(|b| *b == b'\n') {
        if MARKERS.iter().any(|m| line.starts_with(m)) {
            found = Some(offset);
        }
        offset += line.len();
    }
    match found {
        Some(at) => (raw[..at].to_vec(), Some(raw[at..].to_vec())),
        None => (raw.to_vec(), None),
    }
}

/// A signed object, ready to verify.
pub struct Signed<'a> {
    /// How it is named in messages: the commit's hex id, or `<tag>@<tag object id>`.
    pub name: &'a str,
    /// The raw object.
    pub raw: &'a [u8],
}

/// Verifies what `mode` asks for; returns Flux's success message.
pub fn verify(
    mode: Mode,
    keys: &KeyRings,
    commit: Signed<'_>,
    tag: Option<Signed<'_>>,
) -> Result<String, VerifyError> {
    let mut message = String::from("verified signature of");
    if mode.verifies_tag() {
        let tag = tag.ok_or(VerifyError::NoTag)?;
        let (payload, signature) = split_tag(tag.raw);
        let signature = signature.ok_or_else(|| VerifyError::UnsignedTag(tag.name.to_string()))?;
        let key = check(keys, &payload, &signature).map_err(|cause| VerifyError::Tag {
            tag: tag.name.to_string(),
            cause,
        })?;
        message.push_str(&format!("\n\t- tag '{}' with key '{key}'", tag.name));
    }
    if mode.verifies_head() {
        let (payload, signature) = split_commit(commit.raw);
        let fail = |cause: String| VerifyError::Commit {
            commit: commit.name.to_string(),
            cause,
        };
        let signature =
            signature.ok_or_else(|| fail("commit does not have a PGP signature".into()))?;
        let key = check(keys, &payload, &signature).map_err(fail)?;
        message.push_str(&format!("\n\t- commit '{}' with key '{key}'", commit.name));
    }
    Ok(message)
}

fn check(keys: &KeyRings, payload: &[u8], signature: &[u8]) -> Result<String, String> {
    if !signature.starts_with(b"-----BEGIN PGP SIGNATURE-----") {
        return Err("not a PGP signature".to_string());
    }
    keys.verify(payload, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_signature_header_off_a_commit() {
        let raw = b"tree abc\nparent def\nauthor A <a> 1 +0000\ncommitter A <a> 1 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQ==\n -----END PGP SIGNATURE-----\n\nmessage\n gpgsig in body\n";
        let (payload, sig) = split_commit(raw);
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            "tree abc\nparent def\nauthor A <a> 1 +0000\ncommitter A <a> 1 +0000\n\nmessage\n gpgsig in body\n"
        );
        assert_eq!(
            String::from_utf8(sig.unwrap()).unwrap(),
            "-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n"
        );
        let (payload, sig) = split_commit(b"tree abc\n\nmsg\n");
        assert_eq!(payload, b"tree abc\n\nmsg\n");
        assert!(sig.is_none());
    }

    #[test]
    fn splits_the_signature_off_a_tag() {
        let raw = b"object abc\ntype commit\ntag v1\ntagger A <a> 1 +0000\n\nrelease\n-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n";
        let (payload, sig) = split_tag(raw);
        assert_eq!(
            payload,
            b"object abc\ntype commit\ntag v1\ntagger A <a> 1 +0000\n\nrelease\n"
        );
        assert!(sig.unwrap().starts_with(b"-----BEGIN PGP SIGNATURE-----"));
    }

    #[test]
    fn parses_modes_as_flux() {
        assert_eq!(Mode::parse(None).unwrap(), Mode::Head);
        assert_eq!(Mode::parse(Some("head")).unwrap(), Mode::Head);
        assert_eq!(Mode::parse(Some("TagAndHEAD")).unwrap(), Mode::TagAndHead);
        assert!(Mode::parse(Some("tag")).is_err());
    }

    #[test]
    fn unreadable_key_rings_are_reported() {
        let keys = KeyRings::from_secret(&[("k".to_string(), b"not a key".to_vec())].into());
        let sig = b"-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n";
        let err = verify(
            Mode::Head,
            &keys,
            Signed {
                name: "abc",
                raw: &[b"tree x\ngpgsig ".as_slice(), &sig[..], b"\nmsg\n"].concat(),
            },
            None,
        )
        .unwrap_err();
        assert_eq!(err.reason(), "InvalidCommitSignature");
        assert!(
            err.to_string()
                .starts_with("signature verification of commit 'abc' failed: unable to verify Git commit: unable to read armored key ring: "),
            "{err}"
        );
    }
}
