//! `POST /trade/v1/refund`: the gateway's refund rules and the refund's own row.
//!
//! A refund is checked in the gateway's order (refundable pay type, paid, outside the Hong
//! Kong 23:30-00:30 blackout, within what is left), then recorded as its own order linked by
//! `orig_syssn`. It succeeds at once, or under the `refund-pending` fault stays in progress
//! (`1145`) for a while first; its amount counts against the payment either way.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use qfpay::tables::pay_type;
use qfpay::{RefundRequest, RespCode, HONG_KONG_OFFSET_SECONDS};
use serde_json::{json, Value};

use super::admission::Admitted;
use super::{answer_taken, error_answer, fingerprint, Fingerprint};
use crate::ledger::{hk_time, respcd_text, Kind, Ledger, Order, OrderId, OrderState};
use crate::{lock, Sim};

/// Whether `now` is inside the gateway's 23:30-00:30 Hong Kong refund blackout.
fn in_refund_blackout(now: i64) -> bool {
    let minute_of_day = (now + HONG_KONG_OFFSET_SECONDS).rem_euclid(86_400) / 60;
    !(30..23 * 60 + 30).contains(&minute_of_day)
}

/// `POST /trade/v1/refund`.
pub async fn refund(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, form, request: req }: Admitted<RefundRequest>,
) -> Response {
    sim.tick();
    let now = sim.clock.now();
    let appcode = merchant.appcode;
    let print = fingerprint(&form);
    let mut ledger = lock(&sim.ledger);
    if let Some(id) = ledger.by_out_trade_no(&appcode, &req.out_trade_no) {
        return answer_taken(&sim, ledger.get(id), Kind::Refund, &print);
    }
    let Some(paid_id) = ledger.by_syssn(&appcode, &req.syssn).filter(|&id| ledger.get(id).kind == Kind::Payment) else {
        return error_answer(RespCode::NO_SUCH_ORDER, "syssn: no payment with this number for this merchant");
    };
    let payment = ledger.get(paid_id).clone();
    if let Err(refusal) = check_refund(&sim, &payment, &req, now) {
        return refusal;
    }
    let pending = lock(&sim.faults).refund_pending;
    let refund_id = record_refund(&mut ledger, &payment, &req, print, now, pending);
    ledger.get_mut(paid_id).refunded += req.txamt;
    let answer = ledger.get(refund_id).answer.clone();
    drop(ledger);
    // A refund in progress is notified when it succeeds (`Sim::tick`), like a pending payment.
    if pending == 0 {
        sim.notifier.schedule(&sim, refund_id, now);
    }
    Json(answer).into_response()
}

/// The gateway's refund rules, in its order: refundable pay type, paid, outside the blackout,
/// within what is left of the payment.
fn check_refund(sim: &Sim, payment: &Order, req: &RefundRequest, now: f64) -> Result<(), Response> {
    if let Some(info) = pay_type(&payment.pay_type).filter(|i| !i.refundable) {
        return Err(error_answer(
            RespCode::REFUND_REFUSED,
            format!("syssn: payments of pay type {} ({}) cannot be refunded", info.code, info.name_en),
        ));
    }
    if !payment.is_paid() {
        return Err(error_answer(RespCode::NOT_PAID, "syssn: the payment is not paid"));
    }
    if sim.config.refund_blackout && in_refund_blackout(now as i64) {
        return Err(error_answer(RespCode::REFUND_BLACKOUT, "no refunds between 23:30 and 00:30 Hong Kong time"));
    }
    if payment.refunded + req.txamt > payment.txamt {
        let left = payment.txamt - payment.refunded;
        return Err(error_answer(
            RespCode::REFUND_EXCEEDS_PAYMENT,
            format!(
                "txamt: {} more would exceed the payment; {left} of {} is left to refund",
                req.txamt, payment.txamt
            ),
        ));
    }
    Ok(())
}

/// Adds the refund's own row: paid at once, or in progress (`1145`) for `pending` simulated
/// seconds. Its answer is kept for an identical retry. The amount counts against the payment
/// either way, so refunds in progress can never add up past it.
fn record_refund(
    ledger: &mut Ledger,
    payment: &Order,
    req: &RefundRequest,
    print: Fingerprint,
    now: f64,
    pending: u64,
) -> OrderId {
    let syssn = ledger.next_syssn(now as i64);
    let (state, paid_at, respcd) = match pending {
        0 => (OrderState::Paid, Some(now as i64), RespCode::new(RespCode::SUCCESS)),
        _ => (OrderState::Processing(now + pending as f64), None, RespCode::new(RespCode::PROCESSING)),
    };
    let answer = refund_answer(payment, req, &syssn, &respcd, now);
    ledger.insert(Order {
        kind: Kind::Refund,
        out_trade_no: req.out_trade_no.clone(),
        syssn,
        txamt: req.txamt,
        txdtm: req.txdtm.clone(),
        created_at: now as i64,
        paid_at,
        expires_at: None,
        return_url: None,
        state,
        refunded: 0,
        orig_syssn: Some(payment.syssn.clone()),
        token: String::new(),
        fingerprint: print,
        answer,
        notifications_sent: 0,
        notification_acknowledged: false,
        ..payment.clone()
    })
}

/// The refund endpoint page's answer for a refund just recorded.
fn refund_answer(payment: &Order, req: &RefundRequest, syssn: &str, respcd: &RespCode, now: f64) -> Value {
    json!({
        "respcd": respcd.code(), "respmsg": respcd_text(respcd), "resperr": "",
        "orig_syssn": payment.syssn, "syssn": syssn, "txamt": req.txamt.to_string(),
        "out_trade_no": req.out_trade_no, "txcurrcd": payment.txcurrcd,
        "txdtm": req.txdtm, "sysdtm": hk_time(now as i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_blackout_is_hong_kong_time() {
        // 2023-11-01 15:45 UTC is 23:45 in Hong Kong.
        assert!(in_refund_blackout(1_698_853_500));
        // 2023-11-01 16:35 UTC is 00:35 in Hong Kong.
        assert!(!in_refund_blackout(1_698_856_500));
    }
}
