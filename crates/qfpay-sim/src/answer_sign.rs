//! Signed answers: the gateway's answers carry `X-QF-SIGN` (and `X-QF-SIGNTYPE` when it is not
//! MD5) made with the merchant's key. What it covers is the `answer_signature` switch (the
//! guide's "签名验证" reading by default; see [`crate::signing::sign_answer`]).
//!
//! Admission knows the merchant only once the call's signature has verified; it records the
//! key in the call's [`AdmittedKey`] slot, and [`sign_answers`] signs whatever answer then
//! leaves, errors included. An answer given before that (wrong content type, unknown appcode,
//! missing or wrong signature, 429, 503) goes unsigned: no key could honestly sign it.

use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use qfpay::{ClientKey, SignType};

use crate::signing::sign_answer;
use crate::switches::AnswerSignature;
use crate::{lock, Sim};

/// The key a gateway call was admitted with, once admission knows it.
#[derive(Clone, Default)]
pub struct AdmittedKey(Arc<Mutex<Option<ClientKey>>>);

impl AdmittedKey {
    /// Records the key of the merchant whose signature the call carries.
    pub fn record(&self, key: &ClientKey) {
        *lock(&self.0) = Some(key.clone());
    }

    fn take(&self) -> Option<ClientKey> {
        lock(&self.0).take()
    }
}

/// Middleware on every path: gateway calls (`/trade/...`) get an [`AdmittedKey`] slot, and
/// their answer is signed when admission filled it.
pub async fn sign_answers(State(sim): State<Arc<Sim>>, mut req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/trade/") {
        return next.run(req).await;
    }
    let slot = AdmittedKey::default();
    req.extensions_mut().insert(slot.clone());
    let response = next.run(req).await;
    let reading = lock(&sim.switches).answer_signature;
    match slot.take() {
        Some(key) if reading != AnswerSignature::None => {
            sign(&sim, response, &key, reading, sim.config.answer_sign_type).await
        }
        _ => response,
    }
}

/// Adds `X-QF-SIGN` (wrong under the `bad-answer-signature` fault) and, unless MD5,
/// `X-QF-SIGNTYPE`. A body that is not a JSON object is left unsigned by the field readings.
async fn sign(sim: &Sim, response: Response, key: &ClientKey, reading: AnswerSignature, t: SignType) -> Response {
    let (mut parts, body) = response.into_parts();
    // The simulator's own answers are small JSON built in memory; reading them cannot fail.
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    if let Some(mut signature) = sign_answer(reading, &bytes, key, t) {
        if sim.chance(lock(&sim.faults).bad_answer_signature) {
            lock(&sim.stats).fault("bad_answer_signature");
            signature = spoil(&signature);
        }
        if let Ok(value) = HeaderValue::from_str(&signature) {
            parts.headers.insert("x-qf-sign", value);
        }
        if t != SignType::Md5 {
            parts.headers.insert("x-qf-signtype", HeaderValue::from_static(t.header_value()));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A signature of the right length and form that does not verify: the first digit changed.
fn spoil(signature: &str) -> String {
    let first = if signature.starts_with('0') { '1' } else { '0' };
    first.to_string() + signature.get(1..).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spoiled_signature_differs_only_in_value() {
        for signature in ["0ABC", "ABCD", "9"] {
            let spoiled = spoil(signature);
            assert_eq!(spoiled.len(), signature.len());
            assert_ne!(spoiled, signature);
        }
    }
}
