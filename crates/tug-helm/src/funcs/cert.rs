//! Sprig's key and certificate generation: `genPrivateKey`, `genCA`, `genSelfSignedCert`,
//! `genSignedCert` (and their `WithKey` forms) and `buildCustomCert`.
//!
//! Certificates are built as Go's `x509.CreateCertificate` builds Sprig's template: a random
//! 128-bit serial, the common name as subject, validity from now for `days`, key usages
//! (key encipherment, digital signature, and certificate signing for a CA), server and client
//! auth, basic constraints, a subject key id for CAs (truncated SHA-256, as Go 1.25+), the
//! issuer's key id, and the IP and DNS alternative names. Keys: RSA, ECDSA P-256, Ed25519;
//! DSA (`genPrivateKey "dsa"`) is not supported.

use std::any::Any;
use std::net::IpAddr;
use std::rc::Rc;

use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Digest;

use super::{arg, arg_int, arg_str, fixed};
use crate::func::{Func, FuncError, Ty};
use crate::value::{Object, Value};

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        fixed("genPrivateKey", &[String], |a| {
            Ok(Value::from(gen_private_key(arg_str(&a, 0))))
        }),
        fixed("buildCustomCert", &[String, String], |a| {
            build_custom(arg_str(&a, 0), arg_str(&a, 1)).map_err(FuncError::msg)
        }),
        fixed("genCA", &[String, Int], |a| {
            let key = new_rsa(2048)?;
            issue(&a, &key, None, true).map_err(FuncError::msg)
        }),
        fixed("genCAWithKey", &[String, Int, String], |a| {
            let key = parse_key(arg_str(&a, 2))
                .map_err(|e| FuncError::msg(format!("parsing private key: {e}")))?;
            issue(&a, &key, None, true).map_err(FuncError::msg)
        }),
        fixed("genSelfSignedCert", &[String, List, List, Int], |a| {
            let key = new_rsa(2048)?;
            issue(&a, &key, None, false).map_err(FuncError::msg)
        }),
        fixed(
            "genSelfSignedCertWithKey",
            &[String, List, List, Int, String],
            |a| {
                let key = parse_key(arg_str(&a, 4))
                    .map_err(|e| FuncError::msg(format!("parsing private key: {e}")))?;
                issue(&a, &key, None, false).map_err(FuncError::msg)
            },
        ),
        fixed("genSignedCert", &[String, List, List, Int, Any], |a| {
            let key = new_rsa(2048)?;
            let ca = ca_arg(&arg(&a, 4))?;
            issue(&a, &key, Some(&ca), false).map_err(FuncError::msg)
        }),
        fixed(
            "genSignedCertWithKey",
            &[String, List, List, Int, Any, String],
            |a| {
                let key = parse_key(arg_str(&a, 5))
                    .map_err(|e| FuncError::msg(format!("parsing private key: {e}")))?;
                let ca = ca_arg(&arg(&a, 4))?;
                issue(&a, &key, Some(&ca), false).map_err(FuncError::msg)
            },
        ),
    ]
}

/// Sprig's `certificate` struct: `.Cert` and `.Key`, PEM text.
#[derive(Debug, Clone)]
struct Certificate {
    cert: String,
    key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> String {
        "sprig.certificate".into()
    }
    fn member(&self, name: &str, _args: Vec<Value>) -> Option<Result<Value, FuncError>> {
        match name {
            "Cert" => Some(Ok(Value::from(self.cert.as_str()))),
            "Key" => Some(Ok(Value::from(self.key.as_str()))),
            _ => None,
        }
    }
    fn format_v(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
    fn to_data(&self) -> Value {
        let mut m = std::collections::BTreeMap::new();
        m.insert("Cert".to_string(), Value::from(self.cert.as_str()));
        m.insert("Key".to_string(), Value::from(self.key.as_str()));
        Value::map(m)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn ca_arg(v: &Value) -> Result<Certificate, FuncError> {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<Certificate>().cloned(),
        _ => None,
    }
    .ok_or_else(|| {
        FuncError::msg(format!(
            "wrong type for value; expected sprig.certificate; got {}",
            v.type_name()
        ))
    })
}

enum Key {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ec(p256::SecretKey),
    Ed(ed25519_dalek::SigningKey),
}

fn new_rsa(bits: usize) -> Result<Key, FuncError> {
    rsa::RsaPrivateKey::new(&mut OsRng, bits)
        .map(|k| Key::Rsa(Box::new(k)))
        .map_err(|e| FuncError::msg(format!("error generating rsa key: {e}")))
}

fn gen_private_key(kind: &str) -> String {
    let key = match kind {
        "" | "rsa" => match rsa::RsaPrivateKey::new(&mut OsRng, 4096) {
            Ok(k) => Key::Rsa(Box::new(k)),
            Err(e) => return format!("failed to generate private key: {e}"),
        },
        "ecdsa" => Key::Ec(p256::SecretKey::random(&mut OsRng)),
        "ed25519" => Key::Ed(ed25519_dalek::SigningKey::generate(&mut OsRng)),
        "dsa" => return "failed to generate dsa params: DSA keys are not supported by tug".into(),
        other => return format!("Unknown type {other}"),
    };
    key.pem()
        .unwrap_or_else(|e| format!("failed to generate private key: {e}"))
}

impl Key {
    /// The PEM block Sprig writes: PKCS#1 for RSA, SEC 1 for EC, PKCS#8 otherwise.
    fn pem(&self) -> Result<String, String> {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let lf = rsa::pkcs8::LineEnding::LF;
        match self {
            Key::Rsa(k) => k
                .to_pkcs1_pem(lf)
                .map(|s| s.to_string())
                .map_err(|e| e.to_string()),
            Key::Ec(k) => k
                .to_sec1_pem(lf)
                .map(|s| s.to_string())
                .map_err(|e| e.to_string()),
            Key::Ed(k) => k
                .to_pkcs8_pem(lf)
                .map(|s| s.to_string())
                .map_err(|e| e.to_string()),
        }
    }

    fn public_key_info(&self) -> Result<Vec<u8>, String> {
        use rsa::pkcs8::EncodePublicKey;
        let der = match self {
            Key::Rsa(k) => k.to_public_key().to_public_key_der(),
            Key::Ec(k) => k.public_key().to_public_key_der(),
            Key::Ed(k) => k.verifying_key().to_public_key_der(),
        };
        der.map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string())
    }

    /// The signature algorithm identifier and the signature of `tbs`.
    fn sign(&self, tbs: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        use rsa::signature::{SignatureEncoding, Signer};
        match self {
            Key::Rsa(k) => {
                let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k.as_ref().clone());
                let sig = signer.try_sign(tbs).map_err(|e| e.to_string())?;
                let alg = seq(&[oid(&[1, 2, 840, 113549, 1, 1, 11]), vec![0x05, 0x00]]);
                Ok((alg, sig.to_vec()))
            }
            Key::Ec(k) => {
                let signer = p256::ecdsa::SigningKey::from(k);
                let sig: p256::ecdsa::Signature =
                    signer.try_sign(tbs).map_err(|e| e.to_string())?;
                Ok((
                    seq(&[oid(&[1, 2, 840, 10045, 4, 3, 2])]),
                    sig.to_der().as_bytes().to_vec(),
                ))
            }
            Key::Ed(k) => {
                let sig = k.try_sign(tbs).map_err(|e| e.to_string())?;
                Ok((seq(&[oid(&[1, 3, 101, 112])]), sig.to_bytes().to_vec()))
            }
        }
    }
}

/// Sprig's `parsePrivateKeyPEM`.
fn parse_key(pem_text: &str) -> Result<Key, String> {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let Some(begin) = pem_text.find("-----BEGIN ") else {
        return Err("no PEM data in input".into());
    };
    let label_start = begin + "-----BEGIN ".len();
    let label_end = pem_text[label_start..]
        .find("-----")
        .map(|i| label_start + i)
        .ok_or_else(|| "no PEM data in input".to_string())?;
    let label = &pem_text[label_start..label_end];
    let block = &pem_text[begin..];
    match label {
        "PRIVATE KEY" => {
            if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(block) {
                return Ok(Key::Rsa(Box::new(k)));
            }
            if let Ok(k) = p256::SecretKey::from_pkcs8_pem(block) {
                return Ok(Key::Ec(k));
            }
            ed25519_dalek::SigningKey::from_pkcs8_pem(block)
                .map(Key::Ed)
                .map_err(|e| format!("decoding PEM as PKCS#8: {e}"))
        }
        "RSA PRIVATE KEY" => rsa::RsaPrivateKey::from_pkcs1_pem(block)
            .map(|k| Key::Rsa(Box::new(k)))
            .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
        "EC PRIVATE KEY" => p256::SecretKey::from_sec1_pem(block)
            .map(Key::Ec)
            .map_err(|e| format!("parsing EC private key from PEM: {e}")),
        l if l.ends_with(" PRIVATE KEY") => Err(format!("invalid private key type {l}")),
        l => Err(format!("no private key data in PEM block of type {l}")),
    }
}

fn build_custom(b64cert: &str, b64key: &str) -> Result<Value, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let cert = b64
        .decode(b64cert)
        .map_err(|_| "unable to decode base64 certificate".to_string())?;
    let key = b64
        .decode(b64key)
        .map_err(|_| "unable to decode base64 private key".to_string())?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let der =
        pem_body(&cert, "CERTIFICATE").ok_or_else(|| "unable to decode certificate".to_string())?;
    parse_cert(&der).map_err(|e| format!("error parsing certificate: decodedCert.Bytes: {e}"))?;
    parse_key(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(Value::Object(Rc::new(Certificate { cert, key })))
}

/// The DER inside the first PEM block of `text` with the given label.
fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// What a signed certificate needs from its CA.
struct Issuer {
    subject: Vec<u8>,
    key_id: Option<Vec<u8>>,
    key: Key,
}

fn issue(a: &[Value], key: &Key, ca: Option<&Certificate>, is_ca: bool) -> Result<Value, String> {
    let cn = arg_str(a, 0);
    let (ips, dns, days) = if is_ca {
        (Vec::new(), Vec::new(), arg_int(a, 1))
    } else {
        (ip_list(&arg(a, 1))?, dns_list(&arg(a, 2))?, arg_int(a, 3))
    };
    let issuer = match ca {
        None => None,
        Some(ca) => {
            let der = pem_body(&ca.cert, "CERTIFICATE")
                .ok_or_else(|| "unable to decode certificate".to_string())?;
            let (subject, key_id) = parse_cert(&der)
                .map_err(|e| format!("error parsing certificate: decodedSignerCert.Bytes: {e}"))?;
            let key = parse_key(&ca.key).map_err(|e| format!("error parsing private key: {e}"))?;
            Some(Issuer {
                subject,
                key_id,
                key,
            })
        }
    };
    let cert = create_certificate(cn, &ips, &dns, days, is_ca, key, issuer.as_ref())
        .map_err(|e| format!("error creating certificate: {e}"))?;
    let key_pem = key
        .pem()
        .map_err(|e| format!("error pem-encoding key: {e}"))?;
    Ok(Value::Object(Rc::new(Certificate {
        cert: pem_encode("CERTIFICATE", &cert),
        key: key_pem,
    })))
}

fn ip_list(v: &Value) -> Result<Vec<IpAddr>, String> {
    let Value::List(l) = v else {
        return Ok(Vec::new());
    };
    l.items
        .iter()
        .map(|ip| match ip {
            Value::String(s) => s
                .parse::<IpAddr>()
                .map_err(|_| format!("error parsing ip: {s}")),
            other => Err(format!(
                "error parsing ip: {} is not a string",
                other.format_v()
            )),
        })
        .collect()
}

fn dns_list(v: &Value) -> Result<Vec<String>, String> {
    let Value::List(l) = v else {
        return Ok(Vec::new());
    };
    l.items
        .iter()
        .map(|d| match d {
            Value::String(s) => Ok(s.to_string()),
            other => Err(format!(
                "error processing alternate dns name: {} is not a string",
                other.format_v()
            )),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn create_certificate(
    cn: &str,
    ips: &[IpAddr],
    dns: &[String],
    days: i64,
    is_ca: bool,
    key: &Key,
    issuer: Option<&Issuer>,
) -> Result<Vec<u8>, String> {
    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
    let subject = name(cn);
    let spki = key.public_key_info()?;
    let signer = issuer.map_or(key, |i| &i.key);
    let issuer_name = issuer.map_or_else(|| subject.clone(), |i| i.subject.clone());
    let now = jiff::Timestamp::now();
    let not_after = now
        .checked_add(jiff::SignedDuration::from_hours(24 * days))
        .map_err(|e| e.to_string())?;
    let (alg, _) = signer.sign(b"")?;

    let mut exts = Vec::new();
    let key_usage = if is_ca {
        vec![0x03, 0x02, 0x02, 0xa4]
    } else {
        vec![0x03, 0x02, 0x05, 0xa0]
    };
    exts.push(extension(&[2, 5, 29, 15], true, key_usage));
    let server_client = seq(&[
        oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
        oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
    ]);
    exts.push(extension(&[2, 5, 29, 37], false, server_client));
    let basic = if is_ca {
        seq(&[vec![0x01, 0x01, 0xff]])
    } else {
        seq(&[])
    };
    exts.push(extension(&[2, 5, 29, 19], true, basic));
    if is_ca {
        exts.push(extension(
            &[2, 5, 29, 14],
            false,
            tlv(0x04, &key_id(&spki)?),
        ));
    }
    if let Some(id) = issuer.and_then(|i| i.key_id.as_ref()) {
        if issuer_name != subject {
            exts.push(extension(&[2, 5, 29, 35], false, seq(&[tlv(0x80, id)])));
        }
    }
    if !ips.is_empty() || !dns.is_empty() {
        let mut names: Vec<Vec<u8>> = dns.iter().map(|d| tlv(0x82, d.as_bytes())).collect();
        names.extend(ips.iter().map(|ip| match ip {
            IpAddr::V4(v4) => tlv(0x87, &v4.octets()),
            IpAddr::V6(v6) => tlv(0x87, &v6.octets()),
        }));
        exts.push(extension(&[2, 5, 29, 17], cn.is_empty(), seq(&names)));
    }

    let tbs = seq(&[
        tlv(0xa0, &integer(&[2])),
        integer(&serial),
        alg.clone(),
        issuer_name,
        seq(&[time(now), time(not_after)]),
        subject,
        spki,
        tlv(0xa3, &seq(&exts)),
    ]);
    let (alg, signature) = signer.sign(&tbs)?;
    let mut bits = vec![0u8];
    bits.extend_from_slice(&signature);
    Ok(seq(&[tbs, alg, tlv(0x03, &bits)]))
}

/// Go's generated subject key id: the first 20 bytes of SHA-256 of the public key bits.
fn key_id(spki: &[u8]) -> Result<Vec<u8>, String> {
    let (_, body, _) = read_tlv(spki)?;
    let (_, _, rest) = read_tlv(body)?;
    let (_, bits, _) = read_tlv(rest)?;
    let key_bits = bits.get(1..).unwrap_or(&[]);
    Ok(sha2::Sha256::digest(key_bits)[..20].to_vec())
}

fn extension(id: &[u64], critical: bool, value: Vec<u8>) -> Vec<u8> {
    let mut parts = vec![oid(id)];
    if critical {
        parts.push(vec![0x01, 0x01, 0xff]);
    }
    parts.push(tlv(0x04, &value));
    seq(&parts)
}

/// A subject with only a common name (empty when the name is), as Go's `pkix.Name` marshals
/// it: PrintableString when the text allows, else UTF8String.
fn name(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return seq(&[]);
    }
    let printable = cn
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?*".contains(&b));
    let value = tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes());
    seq(&[tlv(0x31, &seq(&[oid(&[2, 5, 4, 3]), value]))])
}

fn time(t: jiff::Timestamp) -> Vec<u8> {
    let dt = jiff::tz::Offset::UTC.to_datetime(t);
    let year = i32::from(dt.year());
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if (1950..2050).contains(&year) {
        tlv(0x17, format!("{:02}{rest}", year % 100).as_bytes())
    } else {
        tlv(0x18, format!("{year:04}{rest}").as_bytes())
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A non-negative INTEGER from big-endian bytes.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = if trimmed.is_empty() { vec![0] } else { trimmed };
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.insert(0, 0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        content.extend(chunk);
    }
    tlv(0x06, &content)
}

/// One DER element: tag, content, and what follows it.
fn read_tlv(der: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let malformed = || "x509: malformed certificate".to_string();
    let tag = *der.first().ok_or_else(malformed)?;
    let first = *der.get(1).ok_or_else(malformed)?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err(malformed());
        }
        let bytes = der.get(2..2 + n).ok_or_else(malformed)?;
        (
            bytes.iter().fold(0usize, |acc, b| acc << 8 | *b as usize),
            2 + n,
        )
    };
    let content = der.get(header..header + len).ok_or_else(malformed)?;
    Ok((tag, content, &der[header + len..]))
}

/// The raw subject and the subject key id of a DER certificate.
fn parse_cert(der: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
    let (_, cert, _) = read_tlv(der)?;
    let (_, tbs, _) = read_tlv(cert)?;
    let mut rest = tbs;
    let mut fields = Vec::new();
    while !rest.is_empty() {
        let (tag, content, next) = read_tlv(rest)?;
        fields.push((tag, &rest[..rest.len() - next.len()], content));
        rest = next;
    }
    let offset = usize::from(fields.first().is_some_and(|f| f.0 == 0xa0));
    let subject = fields
        .get(offset + 4)
        .ok_or("x509: malformed tbs certificate")?
        .1
        .to_vec();
    let mut key_id = None;
    if let Some((_, _, exts)) = fields.iter().find(|f| f.0 == 0xa3) {
        let (_, mut list, _) = read_tlv(exts)?;
        let ski = oid(&[2, 5, 29, 14]);
        while !list.is_empty() {
            let (_, ext, next) = read_tlv(list)?;
            if ext.starts_with(&ski) {
                let mut inner = &ext[ski.len()..];
                loop {
                    let (tag, content, after) = read_tlv(inner)?;
                    if tag == 0x04 {
                        let (_, id, _) = read_tlv(content)?;
                        key_id = Some(id.to_vec());
                        break;
                    }
                    inner = after;
                }
            }
            list = next;
        }
    }
    Ok((subject, key_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let f = funcs().into_iter().find(|f| f.name == name).expect(name);
        (f.imp)(args)
    }

    fn field(v: &Value, name: &str) -> String {
        let Value::Object(o) = v else {
            panic!("not an object")
        };
        o.member(name, vec![]).unwrap().unwrap().format_v()
    }

    #[test]
    fn ca_signs_a_certificate() {
        let ec_key = gen_private_key("ecdsa");
        assert!(
            ec_key.starts_with("-----BEGIN EC PRIVATE KEY-----\n"),
            "{ec_key}"
        );
        let ca = call(
            "genCAWithKey",
            vec!["my-ca".into(), Value::Int(30), ec_key.into()],
        )
        .unwrap();
        let ca_cert = field(&ca, "Cert");
        let (subject, ski) = parse_cert(&pem_body(&ca_cert, "CERTIFICATE").unwrap()).unwrap();
        assert_eq!(subject, name("my-ca"));
        assert_eq!(ski.as_ref().map(Vec::len), Some(20));
        let ed_key = gen_private_key("ed25519");
        let leaf = call(
            "genSignedCertWithKey",
            vec![
                "leaf".into(),
                Value::list(vec!["10.0.0.1".into()]),
                Value::list(vec!["leaf.example".into()]),
                Value::Int(1),
                ca,
                ed_key.into(),
            ],
        )
        .unwrap();
        assert!(field(&leaf, "Cert").starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(field(&leaf, "Key").starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let bad = call(
            "genSelfSignedCertWithKey",
            vec![
                "x".into(),
                Value::list(vec!["nope".into()]),
                Value::Nil,
                Value::Int(1),
                gen_private_key("ecdsa").into(),
            ],
        );
        assert_eq!(bad.unwrap_err().to_string(), "error parsing ip: nope");
        assert_eq!(gen_private_key("other"), "Unknown type other");
    }
}
