//! `signature_types`: which request signatures the gateway takes. The guide reads a request
//! without `X-QF-SIGNTYPE` as MD5 and recommends SHA256; whether a given appcode accepts both is
//! not written anywhere, so the same harmless call (a query for a number nobody used) is sent
//! once each way, and `1108` (or anything but HTTP 200) counts as a refusal.

use qfpay::{QueryRequest, RespCode, SignType};

use super::client::{Answer, Gateway};
use super::{fresh_out_trade_no, now_txdtm};
use crate::Failure;

/// What the gateway said to each signature type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureTypes {
    /// The types it accepted, MD5 first.
    pub accepted: Vec<SignType>,
    /// Why the others were refused (`respcd 1108` or `HTTP 403`), by type.
    pub refused: Vec<(SignType, String)>,
}

/// Sends the probe query signed each way. Fails when neither is accepted: nothing else can be
/// checked, and it almost always means credentials of another environment.
pub fn probe(gateway: &Gateway) -> Result<SignatureTypes, Failure> {
    let mut found = SignatureTypes { accepted: Vec::new(), refused: Vec::new() };
    for sign_type in [SignType::Md5, SignType::Sha256] {
        let query = QueryRequest::by_out_trade_no(fresh_out_trade_no(), &now_txdtm());
        let answer = gateway.call_signed_with(&query, sign_type)?;
        match refusal(&answer, gateway)? {
            None => found.accepted.push(sign_type),
            Some(why) => found.refused.push((sign_type, why)),
        }
    }
    if found.accepted.is_empty() {
        let reasons: Vec<String> =
            found.refused.iter().map(|(t, why)| format!("{}: {why}", t.header_value())).collect();
        return Err(Failure::Remote(format!(
            "the gateway refused the check's signed query both ways ({}); check that QFPAY_APPCODE and \
             QFPAY_KEY are the ones QFPay issued for QFPAY_ENV={} (another environment's credentials fail this way)",
            reasons.join("; "),
            gateway.config().environment.name()
        )));
    }
    Ok(found)
}

/// `None` when the call was accepted, else why not.
fn refusal(answer: &Answer, gateway: &Gateway) -> Result<Option<String>, Failure> {
    if answer.status != 200 {
        return Ok(Some(format!("HTTP {}", answer.status)));
    }
    match answer.respcd() {
        Some(code) if code == RespCode::SIGNATURE_ERROR => Ok(Some(format!("respcd {code}"))),
        Some(_) => Ok(None),
        None => Err(super::garbage(gateway, "/trade/v1/query", answer)),
    }
}
