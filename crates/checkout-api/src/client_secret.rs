//! Client secrets derived from the merchant key: HMAC-SHA256 (the `hmac` crate) of a label and
//! the session id, so an idempotent replay answers the same secret while no secret is stored.
//! Whoever holds the merchant key may do more than a client secret allows anyway.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Domain separation: this HMAC is used for nothing else.
const LABEL: &str = "qfpay-checkout client_secret v1\n";

/// HMAC-SHA256 of `message` under `key` (RFC 2104; any key length).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The client secret of `session_id` under the merchant key `key`: `cs_secret_` and 240 bits
/// of the HMAC.
pub fn derive(key: &str, session_id: &str) -> String {
    let mac = hmac_sha256(key.as_bytes(), format!("{LABEL}{session_id}").as_bytes());
    let mut bytes = [0u8; 30];
    bytes.copy_from_slice(&mac[..30]);
    crate::ids::client_secret(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
    }

    #[test]
    fn rfc_4231_vectors() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../tests/data/rfc4231_hmac_sha256.json")).expect("the vectors");
        let vectors = file["vectors"].as_array().expect("a list");
        assert_eq!(vectors.len(), 6);
        for v in vectors {
            let text = |k: &str| v[k].as_str().expect(k).to_owned();
            let mac = hmac_sha256(&unhex(&text("key_hex")), &unhex(&text("data_hex")));
            let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, text("hmac_sha256_hex"), "RFC 4231 test case {}", text("name"));
        }
    }

    #[test]
    fn secrets_stay_what_they_were() {
        // Derived before the `hmac` crate replaced a hand-written HMAC (and checked with
        // Python's hmac module): sessions created then still open with their secret.
        assert_eq!(
            derive("sk_test_e2e_merchant_key_0123456789abcdef", "cs_aaaaaaaaaaaaaaaaaaaaaaaa"),
            "cs_secret_pau4occffmru4s7odgoo3toojudia2ktry7v55dsz7njpagl"
        );
        assert_ne!(
            derive("another_merchant_key_0123456789abcdef", "cs_aaaaaaaaaaaaaaaaaaaaaaaa"),
            derive("sk_test_e2e_merchant_key_0123456789abcdef", "cs_aaaaaaaaaaaaaaaaaaaaaaaa")
        );
    }
}
