//! Identifiers, made from random bytes the caller draws (so this crate stays pure).
//!
//! Ids are a prefix and lower-case base32 of 15 random bytes (120 bits); client secrets carry 30
//! bytes (240 bits). Gateway order numbers (`out_trade_no`) are upper-case so they read well in
//! QFPay's portal: `QCP` for payments and `QCR` for refunds, then 24 base32 characters.

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Base32 (RFC 4648 alphabet, lower case, no padding).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A request's id, for the `Request-Id` header, error bodies and the log line: `req_` + 16
/// characters (80 bits: unique enough to find one line in a log).
pub fn request_id(random: &[u8; 10]) -> String {
    format!("req_{}", base32(random))
}

/// A session id: `cs_` + 24 characters.
pub fn session_id(random: &[u8; 15]) -> String {
    format!("cs_{}", base32(random))
}

/// A client secret: `cs_secret_` + 48 characters.
pub fn client_secret(random: &[u8; 30]) -> String {
    format!("cs_secret_{}", base32(random))
}

/// A payment attempt id: `pa_` + 24 characters.
pub fn attempt_id(random: &[u8; 15]) -> String {
    format!("pa_{}", base32(random))
}

/// A refund id: `re_` + 24 characters.
pub fn refund_id(random: &[u8; 15]) -> String {
    format!("re_{}", base32(random))
}

/// An event id: `evt_` + 24 characters.
pub fn event_id(random: &[u8; 15]) -> String {
    format!("evt_{}", base32(random))
}

/// A fresh gateway order number for a payment attempt.
pub fn payment_out_trade_no(random: &[u8; 15]) -> String {
    format!("QCP{}", base32(random).to_ascii_uppercase())
}

/// A fresh gateway order number for a refund (unique across payments and refunds).
pub fn refund_out_trade_no(random: &[u8; 15]) -> String {
    format!("QCR{}", base32(random).to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_known_values() {
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32(b""), "");
        assert_eq!(session_id(&[0; 15]).len(), 27);
        assert_eq!(client_secret(&[255; 30]).len(), 10 + 48);
        let otn = payment_out_trade_no(&[7; 15]);
        assert!(otn.starts_with("QCP") && otn.len() == 27 && otn.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(payment_out_trade_no(&[7; 15]), refund_out_trade_no(&[7; 15]));
    }
}
