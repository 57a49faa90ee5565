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

/// What a gateway answer's `X-QF-SIGN` covers. QFPay's documentation "encourages" verifying
/// it but never says over what (spec, "What QFPay's own documentation corrects"), so each
/// plausible reading is named; `qfpay gateway check` tells which one a real gateway uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnswerReading {
    /// The guide's 签名验证: the `data` object's fields when `data` is an object, otherwise the
    /// answer's own top-level fields; sorted `name=value` joined by `&`, the key appended.
    SortedData,
    /// The answer's top-level fields only (string and number values), `data` ignored.
    TopLevel,
    /// The raw body bytes followed by the key, as notifications are signed.
    RawBody,
}

impl AnswerReading {
    /// Every reading, in the order a client tries them.
    pub const ALL: [AnswerReading; 3] = [AnswerReading::SortedData, AnswerReading::TopLevel, AnswerReading::RawBody];

    /// The name used in settings, switches and reports (`sorted-data`, `top-level`, `raw-body`).
    pub fn name(self) -> &'static str {
        match self {
            AnswerReading::SortedData => "sorted-data",
            AnswerReading::TopLevel => "top-level",
            AnswerReading::RawBody => "raw-body",
        }
    }

    /// Reads a name as [`AnswerReading::name`] writes it.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name().eq_ignore_ascii_case(text.trim()))
    }

    /// The signature this reading expects for `body`; `None` when the body is not a JSON object
    /// (the field readings need one).
    pub fn expected(self, body: &[u8], key: &ClientKey, sign_type: SignType) -> Option<String> {
        if self == AnswerReading::RawBody {
            return Some(match sign_type {
                SignType::Md5 => md5_hex(&[body, key.expose().as_bytes()]),
                SignType::Sha256 => {
                    let mut hasher = Sha256::new();
                    hasher.update(body);
                    hasher.update(key.expose().as_bytes());
                    upper_hex(&hasher.finalize())
                }
            });
        }
        let serde_json::Value::Object(top) = serde_json::from_slice(body).ok()? else { return None };
        let fields = match (self, top.get("data")) {
            (AnswerReading::SortedData, Some(serde_json::Value::Object(data))) => scalar_fields(data),
            _ => scalar_fields(&top),
        };
        Some(sign(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())), key, sign_type))
    }

    /// Whether `signature` is what this reading expects (case-insensitive, constant-time).
    pub fn holds(self, body: &[u8], key: &ClientKey, sign_type: SignType, signature: &str) -> bool {
        self.expected(body, key, sign_type).is_some_and(|expected| hex_eq_ignore_case(&expected, signature))
    }
}

/// The readings under which an answer's signature verifies (empty: none does).
pub fn matching_readings(body: &[u8], key: &ClientKey, sign_type: SignType, signature: &str) -> Vec<AnswerReading> {
    AnswerReading::ALL.into_iter().filter(|r| r.holds(body, key, sign_type, signature)).collect()
}

/// An object's string and number values as text (numbers as their JSON text); nested objects,
/// arrays, booleans and nulls are not signed fields.
fn scalar_fields(map: &serde_json::Map<String, serde_json::Value>) -> Vec<(String, String)> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    map.iter().filter_map(|(k, v)| text(v).map(|t| (k.clone(), t))).collect()
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
mod answer_reading_tests {
    use super::*;

    fn key() -> ClientKey {
        ClientKey::new("KEY")
    }

    #[test]
    fn each_reading_signs_what_it_names() {
        let body = br#"{"respcd":"0000","page":1,"data":{"txamt":"100","txcurrcd":"HKD"},"empty":""}"#;
        let sorted = AnswerReading::SortedData.expected(body, &key(), SignType::Md5).unwrap();
        assert_eq!(sorted, md5_hex(&[b"txamt=100&txcurrcd=HKDKEY"]));
        let top = AnswerReading::TopLevel.expected(body, &key(), SignType::Md5).unwrap();
        assert_eq!(top, md5_hex(&[b"page=1&respcd=0000KEY"]));
        let raw = AnswerReading::RawBody.expected(body, &key(), SignType::Md5).unwrap();
        assert_eq!(raw, md5_hex(&[body, b"KEY"]));
        assert_eq!(matching_readings(body, &key(), SignType::Md5, &sorted.to_lowercase()), [AnswerReading::SortedData]);
        assert_eq!(matching_readings(body, &key(), SignType::Md5, &raw), [AnswerReading::RawBody]);
    }

    #[test]
    fn a_flat_answer_reads_the_same_sorted_or_top_level() {
        let body = br#"{"respcd":"0000","syssn":"S1","txamt":100}"#;
        let signature = AnswerReading::TopLevel.expected(body, &key(), SignType::Sha256).unwrap();
        assert_eq!(signature.len(), 64);
        let both = matching_readings(body, &key(), SignType::Sha256, &signature);
        assert_eq!(both, [AnswerReading::SortedData, AnswerReading::TopLevel]);
        let tampered = br#"{"respcd":"0000","syssn":"S1","txamt":101}"#;
        assert!(matching_readings(tampered, &key(), SignType::Sha256, &signature).is_empty());
        assert!(!AnswerReading::TopLevel.holds(b"not json", &key(), SignType::Md5, &signature));
    }

    #[test]
    fn names_round_trip() {
        for reading in AnswerReading::ALL {
            assert_eq!(AnswerReading::parse(reading.name()), Some(reading));
        }
        assert_eq!(AnswerReading::parse("none"), None);
    }
}
