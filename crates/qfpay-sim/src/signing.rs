//! The gateway's signatures, written here from QFPay's documentation and not taken from the
//! client's crate, so a mistake on one side cannot hide the same mistake on the other.
//!
//! Requests (`01-preparation/01-introduction.md`, the guide's `generate_signature`): every
//! parameter but `sign` and `sign_type`, empty values dropped, sorted by name in byte order,
//! `name=value` joined by `&`, the client key appended, MD5 or SHA256 of the UTF-8 bytes in
//! upper-case hex. Notifications: MD5 of the raw body followed by the key. Answers: the
//! documentation does not say what their `X-QF-SIGN` covers, so each plausible reading is an
//! [`AnswerSignature`] switch value.

use md5::Md5;
use qfpay::{ClientKey, SignType};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::switches::AnswerSignature;

/// Hex digits of a SHA256 signature (MD5 has 32).
pub const SHA256_HEX_LEN: usize = 64;

/// The hash `X-QF-SIGNTYPE` names: `SHA256` or `MD5`, in any case; `None` for anything else.
/// (The header's absence means MD5; that is the caller's to decide, see `admission.rs`.)
pub fn signtype_header(text: &str) -> Option<SignType> {
    match text.trim().to_ascii_uppercase().as_str() {
        "SHA256" => Some(SignType::Sha256),
        "MD5" => Some(SignType::Md5),
        _ => None,
    }
}

/// Upper-case hex of the hash of `parts`, fed in order.
fn digest_hex(sign_type: SignType, parts: &[&[u8]]) -> String {
    fn feed<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
        let mut hasher = D::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().to_vec()
    }
    let bytes = match sign_type {
        SignType::Md5 => feed::<Md5>(parts),
        SignType::Sha256 => feed::<Sha256>(parts),
    };
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The signed text without the key: the pairs that count, sorted, as `name=value&...`.
/// Pairs with the same name keep the order they came in (a stable sort), which the gateway
/// never meets but keeps this total.
pub fn canonical<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut kept: Vec<(&str, &str)> = pairs
        .into_iter()
        .filter(|(name, value)| *name != "sign" && *name != "sign_type" && !value.is_empty())
        .collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    kept.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("&")
}

/// The signature of request-style pairs.
pub fn sign_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, key: &ClientKey, t: SignType) -> String {
    digest_hex(t, &[canonical(pairs).as_bytes(), key.expose().as_bytes()])
}

/// Whether `signature` signs `pairs`: compared without regard to case and in time that does
/// not depend on where the first difference is.
pub fn verify<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    key: &ClientKey,
    t: SignType,
    signature: &str,
) -> bool {
    same_hex(&sign_pairs(pairs, key, t), signature)
}

/// Constant-time, case-insensitive comparison of two hex strings of the same length.
fn same_hex(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a.to_ascii_uppercase() ^ b.to_ascii_uppercase()))
            == 0
}

/// A notification's signature: MD5 over the body bytes as sent, then the key.
pub fn sign_notification(body: &[u8], key: &ClientKey) -> String {
    digest_hex(SignType::Md5, &[body, key.expose().as_bytes()])
}

/// An answer's `X-QF-SIGN` under `reading`; `None` when the reading sends none, or needs a
/// JSON object and the body is not one.
pub fn sign_answer(reading: AnswerSignature, body: &[u8], key: &ClientKey, t: SignType) -> Option<String> {
    let fields = |object: &Map<String, Value>| -> Vec<(String, String)> {
        object
            .iter()
            .filter_map(|(name, value)| match value {
                Value::String(text) => Some((name.clone(), text.clone())),
                Value::Number(number) => Some((name.clone(), number.to_string())),
                _ => None,
            })
            .collect()
    };
    let signed = |pairs: Vec<(String, String)>| sign_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())), key, t);
    match reading {
        AnswerSignature::None => None,
        AnswerSignature::RawBody => Some(digest_hex(t, &[body, key.expose().as_bytes()])),
        AnswerSignature::SortedData | AnswerSignature::TopLevel => {
            let Ok(Value::Object(top)) = serde_json::from_slice::<Value>(body) else { return None };
            match (reading, top.get("data")) {
                (AnswerSignature::SortedData, Some(Value::Object(data))) => Some(signed(fields(data))),
                _ => Some(signed(fields(&top))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_rules() {
        let key = ClientKey::new("K");
        assert_eq!(canonical([("b", "2"), ("sign", "x"), ("a", "1"), ("c", ""), ("sign_type", "MD5")]), "a=1&b=2");
        assert_eq!(canonical([("B", "1"), ("a", "2")]), "B=1&a=2", "byte order: upper case first");
        let md5 = sign_pairs([("a", "1")], &key, SignType::Md5);
        assert_eq!(md5, digest_hex(SignType::Md5, &[b"a=1K"]));
        assert!(verify([("a", "1")], &key, SignType::Md5, &md5.to_lowercase()));
        assert!(!verify([("a", "2")], &key, SignType::Md5, &md5));
        assert!(!verify([("a", "1")], &key, SignType::Sha256, &md5), "the length must match the hash");
    }

    #[test]
    fn answer_readings_differ_where_they_should() {
        let key = ClientKey::new("K");
        let body = br#"{"respcd":"0000","page":1,"data":{"txamt":"100","ok":true}}"#;
        let data = sign_answer(AnswerSignature::SortedData, body, &key, SignType::Md5).unwrap();
        assert_eq!(data, sign_pairs([("txamt", "100")], &key, SignType::Md5));
        let top = sign_answer(AnswerSignature::TopLevel, body, &key, SignType::Md5).unwrap();
        assert_eq!(top, sign_pairs([("page", "1"), ("respcd", "0000")], &key, SignType::Md5));
        let raw = sign_answer(AnswerSignature::RawBody, body, &key, SignType::Md5).unwrap();
        assert_eq!(raw, sign_notification(body, &key));
        assert_eq!(sign_answer(AnswerSignature::None, body, &key, SignType::Md5), None);
        assert_eq!(sign_answer(AnswerSignature::SortedData, b"[]", &key, SignType::Md5), None);
    }
}
