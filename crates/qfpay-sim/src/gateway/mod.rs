//! The gateway's own paths: `/trade/v1/payment`, `query`, `refund`, `close`, `reversal`.
//!
//! One module a job, so each rule has one place: `admission.rs` lets a call in or answers it
//! there, `forms/` reads each path's form, `payment.rs` creates orders, `query.rs` finds them,
//! `refund.rs` refunds them and `order_change.rs` closes and reverses them. This file holds
//! what their answers share: the error answer, a form's fingerprint, a refusal that uses up
//! the merchant's number, and the answer to an `out_trade_no` already taken.
//!
//! Answers are JSON with `respcd`, `respmsg`, `resperr` and the fields of each endpoint page.
//! Answers given once the signature verified are signed with the merchant's key
//! (`answer_sign.rs`). An `out_trade_no` is used once per merchant across payments and
//! refunds, whatever the first request's answer was: an identical retry gets that answer
//! again (or under the `duplicate-exists` fault the gateway's "exists" code), any other
//! request with it is refused as a duplicate.

mod admission;
mod forms;
mod order_change;
mod payment;
mod query;
mod refund;

pub use order_change::{close, reversal};
pub use payment::payment;
pub use query::query;
pub use refund::refund;

use axum::response::{IntoResponse, Response};
use axum::Json;
use qfpay::request::Form;
use qfpay::RespCode;
use serde_json::{json, Value};

use crate::ledger::{Kind, Ledger, NumberUse};
use crate::{lock, Sim};

/// The sorted parameters of a request, kept with the order it created to recognise an
/// identical retry.
type Fingerprint = Vec<(String, String)>;

/// The gateway's error answer: HTTP 200, a respcd, and `resperr` naming the problem.
pub fn error_answer(respcd: &str, resperr: impl Into<String>) -> Response {
    Json(error_value(respcd, resperr)).into_response()
}

/// The body of [`error_answer`].
pub fn error_value(respcd: &str, resperr: impl Into<String>) -> Value {
    let respmsg = RespCode::new(respcd).info().map_or("error", |i| i.text_en);
    json!({"respcd": respcd, "respmsg": respmsg, "resperr": resperr.into()})
}

/// A payment or refund refused: its answer, kept with its `out_trade_no` so the number stays
/// used and an identical retry is answered the same.
fn refuse(
    ledger: &mut Ledger,
    appcode: &str,
    out_trade_no: &str,
    kind: Kind,
    print: Fingerprint,
    answer: Value,
) -> Response {
    let used = NumberUse { kind, fingerprint: print, answer: answer.clone() };
    ledger.record_refusal(appcode, out_trade_no, used);
    Json(answer).into_response()
}

/// The form's pairs, sorted, so the same parameters in another order are the same request.
fn fingerprint(form: &Form) -> Fingerprint {
    let mut pairs: Fingerprint = form.pairs().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
    pairs.sort();
    pairs
}

/// The answer to a call whose `out_trade_no` is taken, by an order or a refused request. An
/// identical retry of the same kind gets the original answer again, or, under the
/// `duplicate-exists` fault, the gateway's "exists" code (`1102` payment, `2011` refund) as a
/// real gateway may answer; any other reuse is refused with that code.
fn answer_taken(sim: &Sim, existing: &NumberUse, kind: Kind, print: &[(String, String)]) -> Response {
    let code = match kind {
        Kind::Payment => RespCode::DUPLICATE_REQUEST,
        Kind::Refund => RespCode::DUPLICATE_SERIAL,
    };
    if existing.kind != kind || existing.fingerprint != print {
        return error_answer(code, "out_trade_no: already used by another payment or refund of this merchant");
    }
    if !lock(&sim.faults).duplicate_exists {
        return Json(existing.answer.clone()).into_response();
    }
    lock(&sim.stats).fault("duplicate_exists");
    error_answer(
        code,
        format!("out_trade_no: this {} exists already (an identical retry); query it for its outcome", kind.name()),
    )
}
