//! `POST /trade/v1/refund`: the gateway's refund rules and the refund's own row.
//!
//! A refund is checked in the gateway's order (a new `out_trade_no`, a payment of this
//! merchant, a refundable pay type, paid, no blackout or promotion, enough volume today, partial
//! refunds allowed, within what is left), then recorded as its own order linked by
//! `orig_syssn`. It succeeds at once, or under the `refund-pending` fault stays in progress
//! (`1145`) for a while first; its amount counts against the payment either way. A refused
//! refund uses up its `out_trade_no` like any other (`04-common-api/03-refunds.md`).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use qfpay::tables::{pay_type, RespClass, RESP_CODES};
use qfpay::RespCode;
use serde_json::{json, Value};

use super::admission::Admitted;
use super::forms::RefundForm;
use super::{answer_taken, error_value, fingerprint, refuse, Fingerprint};
use crate::calendar::HkTime;
use crate::ledger::{hk_time, respcd_text, Kind, Ledger, Order, OrderId, OrderState};
use crate::switches::Switches;
use crate::{lock, Sim};

/// `1269`: the merchant's unsettled volume today is too low to refund (`02-paycode.md`).
const LOW_VOLUME: u16 = 1269;
/// `1270`: the currency allows no partial refund.
const NO_PARTIAL_CURRENCY: u16 = 1270;
/// `1271`: the transaction allows no partial refund.
const NO_PARTIAL: u16 = 1271;

/// A refund rule's code from the guide's table, by number. `qfpay::RespCode` names only the
/// codes the client reacts to one by one; these three it reads by their class, so the
/// simulator takes them from the table instead of writing them as text.
fn refund_rule(code: u16) -> &'static str {
    RESP_CODES
        .iter()
        .find(|r| r.class == RespClass::RefundRule && r.code.parse() == Ok(code))
        .map_or(RespCode::REFUND_REFUSED, |r| r.code)
}

/// Whether `now` is inside the gateway's 23:30-00:30 Hong Kong refund blackout.
fn in_refund_blackout(now: i64) -> bool {
    !(30..23 * 60 + 30).contains(&HkTime::from_unix(now).minute_of_day())
}

/// `POST /trade/v1/refund`.
pub async fn refund(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, form, request: req }: Admitted<RefundForm>,
) -> Response {
    sim.tick();
    let now = sim.clock.now();
    let appcode = merchant.appcode;
    let print = fingerprint(&form);
    let switches = sim.switches();
    let mut ledger = lock(&sim.ledger);
    if let Some(used) = ledger.number_use(&appcode, &req.out_trade_no) {
        return answer_taken(&sim, &used, Kind::Refund, &print);
    }
    let payment = ledger.by_syssn(&appcode, &req.syssn).filter(|&id| ledger.get(id).kind == Kind::Payment);
    let checked = match payment {
        None => Err(error_value(RespCode::NO_SUCH_ORDER, "syssn: no payment with this number for this merchant")),
        Some(id) => check_refund(&switches, ledger.get(id), &req, now).map(|()| id),
    };
    let paid_id = match checked {
        Ok(id) => id,
        Err(refusal) => return refuse(&mut ledger, &appcode, &req.out_trade_no, Kind::Refund, print, refusal),
    };
    let payment = ledger.get(paid_id).clone();
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

/// The gateway's refund rules, in its order: refundable pay type, paid, neither the blackout
/// nor a promotion (`1265`), enough volume today (`1269`), a partial refund only where the
/// currency (`1270`) and the transaction (`1271`) allow one, within what is left (`1272`).
fn check_refund(switches: &Switches, payment: &Order, req: &RefundForm, now: f64) -> Result<(), Value> {
    if let Some(info) = pay_type(&payment.pay_type).filter(|i| !i.refundable) {
        return Err(error_value(
            RespCode::REFUND_REFUSED,
            format!("syssn: payments of pay type {} ({}) cannot be refunded", info.code, info.name_en),
        ));
    }
    if !payment.is_paid() {
        return Err(error_value(RespCode::NOT_PAID, "syssn: the payment is not paid"));
    }
    if switches.refund_blackout && in_refund_blackout(now as i64) {
        return Err(error_value(RespCode::REFUND_BLACKOUT, "no refunds between 23:30 and 00:30 Hong Kong time"));
    }
    if switches.refund_promotion {
        return Err(error_value(
            RespCode::REFUND_BLACKOUT,
            "this transaction cannot be refunded: special promotion (refund_promotion switch)",
        ));
    }
    if switches.refund_low_volume {
        return Err(error_value(
            refund_rule(LOW_VOLUME),
            "today's unsettled transaction amount is too low to refund (refund_low_volume switch)",
        ));
    }
    let partial = req.txamt < payment.txamt;
    if partial && switches.refund_no_partial_currency {
        return Err(error_value(
            refund_rule(NO_PARTIAL_CURRENCY),
            format!(
                "txamt: {} allows no partial refund; refund all {} (refund_no_partial_currency switch)",
                payment.txcurrcd, payment.txamt
            ),
        ));
    }
    if partial && switches.refund_no_partial {
        return Err(error_value(
            refund_rule(NO_PARTIAL),
            format!(
                "txamt: this transaction allows no partial refund; refund all {} (refund_no_partial switch)",
                payment.txamt
            ),
        ));
    }
    if payment.refunded + req.txamt > payment.txamt {
        let left = payment.txamt - payment.refunded;
        return Err(error_value(
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
    req: &RefundForm,
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
fn refund_answer(payment: &Order, req: &RefundForm, syssn: &str, respcd: &RespCode, now: f64) -> Value {
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

    #[test]
    fn the_refund_rule_codes_come_from_the_table() {
        for code in [LOW_VOLUME, NO_PARTIAL_CURRENCY, NO_PARTIAL] {
            assert_eq!(refund_rule(code), code.to_string(), "{code} is a refund rule of the guide's table");
        }
    }
}
