//! Request and notification signatures, exactly as the guide's reference code computes them.
//!
//! 1. every parameter except `sign` and `sign_type`, dropping empty values;
//! 2. sorted by name in ascending byte order;
//! 3. joined as `name=value` with `&`, values raw (not URL-encoded);
//! 4. the client key appended with no separator;
//! 5. MD5 or SHA256 of the UTF-8 bytes, upper-case hex.
//!
//! Verification accepts either case and compares in constant time.

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::secret::ClientKey;

/// The hash a signature is made with (`X-QF-SIGNTYPE`; absent means MD5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignType {
    /// MD5, the gateway's default when no `X-QF-SIGNTYPE` is sent.
    Md5,
    /// SHA256, what this project sends.
    Sha256,
}

impl SignType {
    /// The value of the `X-QF-SIGNTYPE` header.
    pub fn header_value(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::Sha256 => "SHA256",
        }
    }

    /// Reads a header or command-line value, in any case.
    pub fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("md5") {
            Some(SignType::Md5)
        } else if text.eq_ignore_ascii_case("sha256") {
            Some(SignType::Sha256)
        } else {
            None
        }
    }

    /// How many hex digits a signature of this type has.
    pub fn hex_len(self) -> usize {
        match self {
            SignType::Md5 => 32,
            SignType::Sha256 => 64,
        }
    }
}

/// The parameters that are signed, sorted: every pair but `sign`, `sign_type` and empty
/// values, in ascending byte order of the name. Repeated names keep their given order (the
/// gateway never sends them; keeping them makes the function total).
fn signed_pairs<'a, I>(params: I) -> Vec<(&'a str, &'a str)>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut kept: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(name, value)| !value.is_empty() && *name != "sign" && *name != "sign_type")
        .collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    kept
}

/// Feeds `name=value&name=value` to `sink` piece by piece, so hashing needs no string.
fn write_canonical(pairs: &[(&str, &str)], mut sink: impl FnMut(&[u8])) {
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            sink(b"&");
        }
        sink(name.as_bytes());
        sink(b"=");
        sink(value.as_bytes());
    }
}

/// The string that is hashed, without the key: sorted `name=value` pairs joined by `&`.
pub fn canonical_string<'a, I>(params: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut out = Vec::new();
    write_canonical(&signed_pairs(params), |piece| out.extend_from_slice(piece));
    String::from_utf8(out).expect("pieces of str are UTF-8")
}

/// Signs request parameters: upper-case hex of the hash of the canonical string + key.
pub fn sign<'a, I>(params: I, key: &ClientKey, sign_type: SignType) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let pairs = signed_pairs(params);
    let feed = |hasher: &mut dyn FnMut(&[u8])| {
        write_canonical(&pairs, &mut *hasher);
        hasher(key.expose().as_bytes());
    };
    match sign_type {
        SignType::Md5 => {
            let mut h = Md5::new();
            feed(&mut |piece| h.update(piece));
            upper_hex(&h.finalize())
        }
        SignType::Sha256 => {
            let mut h = Sha256::new();
            feed(&mut |piece| h.update(piece));
            upper_hex(&h.finalize())
        }
    }
}

/// Checks a request signature; case-insensitive, constant-time in the signature's content.
pub fn verify<'a, I>(params: I, key: &ClientKey, sign_type: SignType, signature: &str) -> bool
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    hex_eq_ignore_case(&sign(params, key, sign_type), signature)
}

/// Signs a notification body: upper-case MD5 of the raw body bytes followed by the key.
pub fn sign_notification(body: &[u8], key: &ClientKey) -> String {
    md5_hex(&[body, key.expose().as_bytes()])
}

/// Checks a notification's `X-QF-SIGN` over the body exactly as received.
pub fn verify_notification(body: &[u8], key: &ClientKey, signature: &str) -> bool {
    hex_eq_ignore_case(&sign_notification(body, key), signature)
}

/// The fields of a gateway answer that its `X-QF-SIGN` covers (guide, "签名验证": the data
/// fields, in name order, as `name=value` joined by `&`): the answer's top-level fields whose
/// value is a string or a number, as text. Nested objects and arrays (the guide's `data`
/// wrapper, query rows) are not fields of the answer itself and are left out; empty values
/// are dropped as in request signing. `None` when the body is not a JSON object.
pub fn answer_fields(body: &[u8]) -> Option<Vec<(String, String)>> {
    let serde_json::Value::Object(map) = serde_json::from_slice(body).ok()? else { return None };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Some(map.iter().filter_map(|(k, v)| text(v).map(|t| (k.clone(), t))).collect())
}

/// Signs a gateway answer as the guide describes (what the simulator sends as `X-QF-SIGN`).
pub fn sign_answer(body: &[u8], key: &ClientKey, sign_type: SignType) -> Option<String> {
    let fields = answer_fields(body)?;
    Some(sign(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())), key, sign_type))
}

/// Checks a gateway answer's `X-QF-SIGN` (MD5 unless `X-QF-SIGNTYPE` says otherwise).
pub fn verify_answer(body: &[u8], key: &ClientKey, sign_type: SignType, signature: &str) -> bool {
    sign_answer(body, key, sign_type).is_some_and(|expected| hex_eq_ignore_case(&expected, signature))
}

/// The guide's 签名验证 can also be read as covering the fields of the answer's `data` object
/// (the "数据对象字段" it follows). Until the real gateway settles which, a client accepts either:
/// `Some("top")` or `Some("data")` says which reading matched, `None` that neither did.
pub fn verify_answer_either(
    body: &[u8],
    key: &ClientKey,
    sign_type: SignType,
    signature: &str,
) -> Option<&'static str> {
    if verify_answer(body, key, sign_type, signature) {
        return Some("top");
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let data = serde_json::to_vec(value.get("data")?).ok()?;
    verify_answer(&data, key, sign_type, signature).then_some("data")
}

fn md5_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Md5::new();
    parts.iter().for_each(|p| hasher.update(p));
    upper_hex(&hasher.finalize())
}

fn upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Compares two hex strings ignoring ASCII case. The time taken depends only on the
/// lengths, never on where the first difference is, so a forger learns nothing from it.
pub fn hex_eq_ignore_case(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x.to_ascii_uppercase() ^ y.to_ascii_uppercase()));
    diff == 0
}

/// Lower-case hex SHA256 of bytes (for storing a secret's fingerprint instead of the secret).
pub fn sha256_hex(bytes: &[u8]) -> String {
    upper_hex(&Sha256::digest(bytes)).to_ascii_lowercase()
}

/// Compares two secrets (bearer keys, client secrets) in constant time for equal lengths.
pub fn secret_eq(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_seed_example_canonical_string() {
        let params = [("txcurrcd", "HKD"), ("mchid", "ZaMVg12345"), ("txamt", "100")];
        assert_eq!(canonical_string(params), "mchid=ZaMVg12345&txamt=100&txcurrcd=HKD");
    }

    #[test]
    fn hex_comparison_ignores_case_only() {
        assert!(hex_eq_ignore_case("ABCDEF01", "abcdef01"));
        assert!(!hex_eq_ignore_case("ABCDEF01", "abcdef02"));
        assert!(!hex_eq_ignore_case("ABCDEF01", "ABCDEF0"));
        assert!(secret_eq("sk_1", "sk_1"));
        assert!(!secret_eq("sk_1", "SK_1"));
    }

    #[test]
    fn sign_type_parses_any_case() {
        assert_eq!(SignType::parse("sha256"), Some(SignType::Sha256));
        assert_eq!(SignType::parse("MD5"), Some(SignType::Md5));
        assert_eq!(SignType::parse("sha1"), None);
    }
}

#[cfg(test)]
mod answer_signature_tests {
    use super::*;

    #[test]
    fn an_answer_is_signed_over_its_own_fields_in_name_order() {
        let key = ClientKey::new("abcd1234");
        let body = br#"{"respcd":"0000","txamt":"100","data":{"x":"1"},"resperr":"","page":2}"#;
        let fields = answer_fields(body).unwrap();
        let text = canonical_string(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(text, "page=2&respcd=0000&txamt=100", "nested and empty values are not signed");
        let signature = sign_answer(body, &key, SignType::Md5).unwrap();
        assert!(verify_answer(body, &key, SignType::Md5, &signature.to_lowercase()));
        let tampered = br#"{"respcd":"0000","txamt":"1000","data":{"x":"1"},"resperr":"","page":2}"#;
        assert!(!verify_answer(tampered, &key, SignType::Md5, &signature));
        assert!(!verify_answer(b"not json", &key, SignType::Md5, &signature));
    }
}

#[cfg(test)]
mod answer_reading_tests {
    use super::*;

    #[test]
    fn either_reading_of_the_guide_verifies() {
        let key = ClientKey::new("abcd1234");
        let body = br#"{"respcd":"0000","data":{"txamt":"100","txcurrcd":"HKD"}}"#;
        let top = sign_answer(body, &key, SignType::Md5).unwrap();
        assert_eq!(verify_answer_either(body, &key, SignType::Md5, &top), Some("top"));
        let data = sign_answer(br#"{"txamt":"100","txcurrcd":"HKD"}"#, &key, SignType::Md5).unwrap();
        assert_eq!(verify_answer_either(body, &key, SignType::Md5, &data), Some("data"));
        assert_eq!(verify_answer_either(body, &key, SignType::Md5, &"0".repeat(32)), None);
    }
}
