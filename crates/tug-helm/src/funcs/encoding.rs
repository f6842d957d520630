//! Base64, base32 and JSON. Sprig's decoders return the error text as their result (`b64dec`
//! of bad input prints `illegal base64 data at input byte 0`), so the decoders here follow Go's
//! error offsets.

use base64::Engine;

use super::gojson::{decode, encode, json_kind};
use super::{arg, arg_str, bytes_result, fixed};
use crate::func::{Func, FuncError, Ty};
use crate::value::Value;

pub(super) fn funcs() -> Vec<Func> {
    use Ty::*;
    vec![
        fixed("b64enc", &[String], |a| {
            let s = arg_str(&a, 0);
            Ok(Value::from(
                base64::engine::general_purpose::STANDARD.encode(s),
            ))
        }),
        fixed("b64dec", &[String], |a| {
            Ok(match go_base64_decode(arg_str(&a, 0).as_bytes()) {
                Ok(bytes) => bytes_result(bytes),
                Err(at) => Value::from(format!("illegal base64 data at input byte {at}")),
            })
        }),
        fixed("b32enc", &[String], |a| {
            Ok(Value::from(base32_encode(arg_str(&a, 0).as_bytes())))
        }),
        fixed("b32dec", &[String], |a| {
            Ok(match go_base32_decode(arg_str(&a, 0).as_bytes()) {
                Ok(bytes) => bytes_result(bytes),
                Err(at) => Value::from(format!("illegal base32 data at input byte {at}")),
            })
        }),
        // Helm's toJson/mustToJson replace Sprig's; the output is the same, errors give "".
        fixed("toJson", &[Any], |a| {
            Ok(Value::from(
                encode(&arg(&a, 0), true, false).unwrap_or_default(),
            ))
        }),
        fixed("mustToJson", &[Any], |a| {
            encode(&arg(&a, 0), true, false)
                .map(Value::from)
                .map_err(FuncError::msg)
        }),
        fixed("toPrettyJson", &[Any], |a| {
            Ok(Value::from(
                encode(&arg(&a, 0), true, true).unwrap_or_default(),
            ))
        }),
        fixed("mustToPrettyJson", &[Any], |a| {
            encode(&arg(&a, 0), true, true)
                .map(Value::from)
                .map_err(FuncError::msg)
        }),
        fixed("toRawJson", &[Any], |a| {
            encode(&arg(&a, 0), false, false)
                .map(Value::from)
                .map_err(FuncError::msg)
        }),
        fixed("mustToRawJson", &[Any], |a| {
            encode(&arg(&a, 0), false, false)
                .map(Value::from)
                .map_err(FuncError::msg)
        }),
        fixed("mustFromJson", &[String], |a| {
            decode(arg_str(&a, 0)).map_err(FuncError::msg)
        }),
        // Helm's fromJson: a map, with any error under "Error".
        fixed("fromJson", &[String], |a| {
            let result = decode(arg_str(&a, 0)).and_then(|v| match v {
                Value::Map(_) => Ok(v),
                Value::Nil => Ok(Value::Nil),
                other => Err(format!(
                    "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    json_kind(&other)
                )),
            });
            Ok(result.unwrap_or_else(error_map))
        }),
        fixed("fromJsonArray", &[String], |a| {
            let result = decode(arg_str(&a, 0)).and_then(|v| match v {
                Value::List(_) => Ok(v),
                Value::Nil => Ok(Value::Nil),
                other => Err(format!(
                    "json: cannot unmarshal {} into Go value of type []interface {{}}",
                    json_kind(&other)
                )),
            });
            Ok(result.unwrap_or_else(|e| Value::list(vec![Value::from(e)])))
        }),
    ]
}

/// Helm's way of reporting a parse error from `fromJson`/`fromYaml`/`fromToml`: a map whose
/// only key is `Error`.
pub(crate) fn error_map(message: String) -> Value {
    let mut m = std::collections::BTreeMap::new();
    m.insert("Error".to_string(), Value::from(message));
    Value::map(m)
}

fn base64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// Go's `base64.StdEncoding.DecodeString`; the error is the offset Go reports. Line breaks
/// are skipped, padding is required.
fn go_base64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let is_newline = |c: u8| c == b'\n' || c == b'\r';
    let mut si = 0;
    loop {
        let mut buf = [0u32; 4];
        let mut dlen = 4;
        let mut j = 0;
        let mut trailing_error = None;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = base64_value(c) {
                buf[j] = v;
                j += 1;
                continue;
            }
            if is_newline(c) {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(si - 1);
            }
            if j == 2 {
                while si < src.len() && is_newline(src[si]) {
                    si += 1;
                }
                if si == src.len() {
                    return Err(src.len());
                }
                if src[si] != b'=' {
                    return Err(si - 1);
                }
                si += 1;
            }
            while si < src.len() && is_newline(src[si]) {
                si += 1;
            }
            if si < src.len() {
                trailing_error = Some(si);
            }
            dlen = j;
            break;
        }
        let val = buf[0] << 18 | buf[1] << 12 | buf[2] << 6 | buf[3];
        let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if let Some(at) = trailing_error {
            return Err(at);
        }
        if dlen < 4 {
            return Ok(out);
        }
    }
}

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(src: &[u8]) -> String {
    let mut out = String::with_capacity(src.len().div_ceil(5) * 8);
    for chunk in src.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(BASE32_ALPHABET[((bits >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's `base32.StdEncoding.DecodeString`; the error is the offset Go reports.
fn go_base32_decode(input: &[u8]) -> Result<Vec<u8>, usize> {
    let src: Vec<u8> = input
        .iter()
        .copied()
        .filter(|c| *c != b'\n' && *c != b'\r')
        .collect();
    let olen = src.len();
    let mut rest: &[u8] = &src;
    let mut out = Vec::new();
    let mut end = false;
    while !rest.is_empty() && !end {
        let mut buf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0;
        while j < 8 {
            if rest.is_empty() {
                return Err(olen - j);
            }
            let c = rest[0];
            rest = &rest[1..];
            if c == b'=' && j >= 2 && rest.len() < 8 {
                if rest.len() + j < 7 {
                    return Err(olen);
                }
                for k in 0..7 - j {
                    if rest.len() > k && rest[k] != b'=' {
                        return Err(olen - rest.len() + k - 1);
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(olen - rest.len() - 1);
                }
                break;
            }
            match BASE32_ALPHABET.iter().position(|a| *a == c) {
                Some(v) => buf[j] = v as u8,
                None => return Err(olen - rest.len() - 1),
            }
            j += 1;
        }
        let bits = buf.iter().fold(0u64, |acc, b| acc << 5 | u64::from(*b));
        let bytes = bits.to_be_bytes();
        let produced = match dlen {
            2 => 1,
            4 => 2,
            5 => 3,
            7 => 4,
            _ => 5,
        };
        out.extend_from_slice(&bytes[3..3 + produced]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_go() {
        assert_eq!(
            go_base64_decode(b"aGVsbG8gd29ybGQ=").unwrap(),
            b"hello world"
        );
        assert_eq!(go_base64_decode(b"aGVsbG8=\n").unwrap(), b"hello");
        assert_eq!(go_base64_decode(b"!!not base64"), Err(0));
        assert_eq!(go_base64_decode(b"aGVsbG8"), Err(4));
        assert_eq!(go_base64_decode(b"aGVsbG8=x"), Err(8));
        assert_eq!(go_base64_decode(b"YQ=="), Ok(b"a".to_vec()));
    }

    #[test]
    fn base32_like_go() {
        assert_eq!(base32_encode(b"hello"), "NBSWY3DP");
        assert_eq!(base32_encode(b"a"), "ME======");
        assert_eq!(go_base32_decode(b"NBSWY3DP").unwrap(), b"hello");
        assert_eq!(go_base32_decode(b"ME======").unwrap(), b"a");
        assert_eq!(go_base32_decode(b"ME"), Err(0));
        assert_eq!(go_base32_decode(b"M1======"), Err(1));
    }
}
