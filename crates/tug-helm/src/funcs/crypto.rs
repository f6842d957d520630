//! Sprig's hashes, random values and crypto helpers. Random output (`randAlphaNum`, `uuidv4`,
//! `bcrypt` salts, keys) differs from Helm's by nature; its shape and alphabet do not.

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use base64::Engine;
use hmac::Mac;
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha1::Digest;

use super::strings::check_len;
use super::{arg_int, arg_str, fixed};
use crate::func::{Func, FuncError, Ty};
use crate::value::Value;

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    let mut out = vec![
        fixed("sha1sum", &[String], |a| {
            Ok(Value::from(hex(&sha1::Sha1::digest(arg_str(&a, 0)))))
        }),
        fixed("sha256sum", &[String], |a| {
            Ok(Value::from(hex(&sha2::Sha256::digest(arg_str(&a, 0)))))
        }),
        fixed("sha512sum", &[String], |a| {
            Ok(Value::from(hex(&sha2::Sha512::digest(arg_str(&a, 0)))))
        }),
        fixed("adler32sum", &[String], |a| {
            Ok(Value::from(adler32(arg_str(&a, 0).as_bytes()).to_string()))
        }),
        fixed("randAlphaNum", &[Int], |a| {
            random_string(arg_int(&a, 0), |c| c.is_ascii_alphanumeric())
        }),
        fixed("randAlpha", &[Int], |a| {
            random_string(arg_int(&a, 0), |c| c.is_ascii_alphabetic())
        }),
        fixed("randNumeric", &[Int], |a| {
            random_string(arg_int(&a, 0), |c| c.is_ascii_digit())
        }),
        fixed("randAscii", &[Int], |a| {
            random_string(arg_int(&a, 0), |c| (' '..='~').contains(&c))
        }),
        fixed("shuffle", &[String], |a| {
            let mut chars: Vec<char> = arg_str(&a, 0).chars().collect();
            for i in (1..chars.len()).rev() {
                let j = random_below(i as u64 + 1) as usize;
                chars.swap(i, j);
            }
            Ok(Value::from(
                chars.into_iter().collect::<std::string::String>(),
            ))
        }),
        fixed("uuidv4", &[], |_| Ok(Value::from(uuid_v4()))),
        fixed("randBytes", &[Int], |a| {
            let n = arg_int(&a, 0);
            if n < 0 {
                return Err(FuncError::msg("runtime error: makeslice: len out of range"));
            }
            check_len(n as usize)?;
            let mut buf = vec![0u8; n as usize];
            OsRng.fill_bytes(&mut buf);
            Ok(Value::from(
                base64::engine::general_purpose::STANDARD.encode(buf),
            ))
        }),
        fixed("bcrypt", &[String], |a| {
            Ok(Value::from(bcrypt_hash(arg_str(&a, 0))))
        }),
        fixed("htpasswd", &[String, String], |a| {
            let user = arg_str(&a, 0);
            if user.contains(':') {
                return Ok(Value::from(format!("invalid username: {user}")));
            }
            Ok(Value::from(format!(
                "{user}:{}",
                bcrypt_hash(arg_str(&a, 1))
            )))
        }),
        fixed(
            "derivePassword",
            &[Int, String, String, String, String],
            |a| {
                Ok(Value::from(derive_password(
                    arg_int(&a, 0) as u32,
                    arg_str(&a, 1),
                    arg_str(&a, 2),
                    arg_str(&a, 3),
                    arg_str(&a, 4),
                )))
            },
        ),
        fixed("encryptAES", &[String, String], |a| {
            encrypt_aes(arg_str(&a, 0), arg_str(&a, 1))
        }),
        fixed("decryptAES", &[String, String], |a| {
            decrypt_aes(arg_str(&a, 0), arg_str(&a, 1))
        }),
    ];
    out.extend(super::cert::funcs());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// A uniform random number in `0..n` from the operating system's generator (`n > 0`).
pub(crate) fn random_below(n: u64) -> u64 {
    OsRng.gen_range(0..n.max(1))
}

/// goutils' `CryptoRandom`: `count` characters drawn uniformly from the ASCII characters
/// between space and `z` that `keep` accepts (all printable ASCII for `randAscii`). A negative
/// count gives the empty string, as Sprig drops the error.
fn random_string(count: i64, keep: fn(char) -> bool) -> Result<Value, FuncError> {
    if count <= 0 {
        return Ok(Value::from(""));
    }
    check_len(count as usize)?;
    let alphabet: Vec<char> = (' '..='~').filter(|c| keep(*c)).collect();
    let s: String = (0..count)
        .map(|_| alphabet[random_below(alphabet.len() as u64) as usize])
        .collect();
    Ok(Value::from(s))
}

fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// x/crypto's `GenerateFromPassword` at the default cost 10, in its `$2a$` spelling.
fn bcrypt_hash(input: &str) -> String {
    if input.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    match bcrypt::hash_with_result(input, 10) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

const MASTER_PASSWORD_SEED: &str = "com.lyndir.masterpassword";

fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// Sprig's `derivePassword`: the Master Password algorithm (scrypt, then HMAC-SHA256).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2, 64)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            scrypt::scrypt(password.as_bytes(), &salt, &p, &mut key).map_err(|e| e.to_string())
        });
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let mut message = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    message.extend_from_slice(&(site.len() as u32).to_be_bytes());
    message.extend_from_slice(site.as_bytes());
    message.extend_from_slice(&counter.to_be_bytes());
    let Ok(mut mac) = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&key) else {
        return "failed to derive password".into();
    };
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[seed[0] as usize % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_chars(c);
            chars[seed[i + 1] as usize % chars.len()] as char
        })
        .collect()
}

fn aes_key(password: &str) -> aes::Aes256 {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    aes::Aes256::new(GenericArray::from_slice(&key))
}

/// Sprig's `encryptAES`: AES-256-CBC, PKCS#7 padding, random IV prepended, base64.
fn encrypt_aes(password: &str, plaintext: &str) -> Result<Value, FuncError> {
    if plaintext.is_empty() {
        return Ok(Value::from(""));
    }
    let cipher = aes_key(password);
    let mut content = plaintext.as_bytes().to_vec();
    let padding = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(padding as u8, padding));
    let mut out = vec![0u8; 16];
    OsRng.fill_bytes(&mut out);
    let mut prev: [u8; 16] = out[..16].try_into().unwrap_or([0; 16]);
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for (i, b) in chunk.iter().enumerate() {
            block[i] = b ^ prev[i];
        }
        let mut ga = GenericArray::from(block);
        cipher.encrypt_block(&mut ga);
        prev = ga.into();
        out.extend_from_slice(&prev);
    }
    Ok(Value::from(
        base64::engine::general_purpose::STANDARD.encode(out),
    ))
}

fn decrypt_aes(password: &str, crypt64: &str) -> Result<Value, FuncError> {
    if crypt64.is_empty() {
        return Ok(Value::from(""));
    }
    let crypt = base64::engine::general_purpose::STANDARD
        .decode(crypt64)
        .map_err(|_| FuncError::msg("illegal base64 data at input byte 0"))?;
    if crypt.len() < 16 {
        return Err(FuncError::msg(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        )));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err(FuncError::msg("crypto/cipher: input not full blocks"));
    }
    let cipher = aes_key(password);
    let mut prev: [u8; 16] = iv.try_into().unwrap_or([0; 16]);
    let mut plain = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let mut ga = GenericArray::clone_from_slice(chunk);
        cipher.decrypt_block(&mut ga);
        plain.extend(ga.iter().zip(prev.iter()).map(|(a, b)| a ^ b));
        prev.copy_from_slice(chunk);
    }
    let pad = plain.last().copied().unwrap_or(0) as usize;
    if pad > plain.len() {
        return Err(FuncError::msg(format!(
            "runtime error: slice bounds out of range [:{}]",
            plain.len() as i64 - pad as i64
        )));
    }
    plain.truncate(plain.len() - pad);
    Ok(super::bytes_result(plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let f = funcs().into_iter().find(|f| f.name == name).expect(name);
        (f.imp)(args)
    }

    #[test]
    fn hashes() {
        assert_eq!(
            call("sha1sum", vec!["abc".into()]).unwrap().format_v(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(adler32(b"Wikipedia"), 300286872);
        assert_eq!(
            call("adler32sum", vec!["hello".into()]).unwrap().format_v(),
            "103547413"
        );
    }

    #[test]
    fn random_shapes() {
        let s = call("randAlphaNum", vec![Value::Int(32)])
            .unwrap()
            .format_v();
        assert_eq!(s.len(), 32);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(
            call("randNumeric", vec![Value::Int(-1)])
                .unwrap()
                .format_v(),
            ""
        );
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(call("randAlpha", vec![Value::Int(1 << 40)]).is_err());
    }

    #[test]
    fn aes_round_trip() {
        let enc = call("encryptAES", vec!["secretkey".into(), "plaintext".into()]).unwrap();
        let dec = call("decryptAES", vec!["secretkey".into(), enc]).unwrap();
        assert_eq!(dec.format_v(), "plaintext");
    }

    #[test]
    fn master_password() {
        // Sprig's own test vector.
        assert_eq!(
            derive_password(1, "long", "password", "user", "example.com"),
            "ZedaFaxcZaso9*"
        );
    }

    #[test]
    fn bcrypt_shape() {
        let h = bcrypt_hash("pw");
        assert!(h.starts_with("$2a$10$") && h.len() == 60, "{h}");
        assert!(bcrypt::verify("pw", &h).unwrap());
    }
}
