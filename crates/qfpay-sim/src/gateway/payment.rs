//! `POST /trade/v1/payment`: a new order in the ledger and the gateway's answer to it.
//!
//! An MPM order answers a `qrcode`, a WAP or web one a `pay_url`, an in-app one `pay_params`,
//! each leading to the simulated wallet. A CPM order is settled on the spot by the shopper's
//! `auth_code` (see [`cpm_outcome`]). The answer carries the endpoint page's flat fields and
//! the guide's `data` object, and is kept for an identical retry. An order not paid in time
//! expires after its `expired_time` where the pay type takes one, else 30 minutes.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use qfpay::tables::RespClass;
use qfpay::{PayMode, RespCode};
use serde_json::{json, Value};

use super::admission::Admitted;
use super::forms::PaymentForm;
use super::{answer_taken, error_value, fingerprint, refuse, Fingerprint};
use crate::config::Merchant;
use crate::ledger::{hk_time, respcd_text, Kind, Ledger, Order, OrderId, OrderState};
use crate::{lock, Sim};

/// Simulated seconds a CPM code ending in `1143`/`1145` stays pending before it pays.
pub const CPM_PENDING_SECONDS: u64 = 10;

/// `POST /trade/v1/payment`.
pub async fn payment(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, form, request: req }: Admitted<PaymentForm>,
) -> Response {
    let now = sim.clock.now();
    let print = fingerprint(&form);
    let mut ledger = lock(&sim.ledger);
    if let Some(used) = ledger.number_use(&merchant.appcode, &req.out_trade_no) {
        return answer_taken(&sim, &used, Kind::Payment, &print);
    }
    if let Some(refusal) = not_enabled(&sim, &req.pay_type) {
        return refuse(&mut ledger, &merchant.appcode, &req.out_trade_no, Kind::Payment, print, refusal);
    }
    let token = sim.token();
    let id = create_payment(&sim, &mut ledger, &merchant, &req, now, token, print);
    let became_paid = ledger.get(id).is_paid();
    let answer = Json(ledger.get(id).answer.clone()).into_response();
    drop(ledger);
    if became_paid {
        sim.notifier.schedule(&sim, id, now);
    }
    answer
}

/// The gateway's refusal of a pay type QFPay has not enabled for the merchant (its
/// `filter_error`, "获取用户支付通道失败").
fn not_enabled(sim: &Sim, pay_type: &str) -> Option<Value> {
    let enabled = sim.config.pay_types.as_ref()?;
    (!enabled.iter().any(|p| p == pay_type)).then(|| {
        error_value(
            RespCode::STORE_CONFIGURATION_ERROR,
            format!("filter_error: 获取用户支付通道失败 (pay_type {pay_type} is not enabled for this appcode)"),
        )
    })
}

/// What a CPM `auth_code` makes happen (the simulator's rule, documented in the README):
/// ending in `0000` pays at once; `1143` or `1145` is pending for a while, then pays; ending in a
/// declining respcd (`1202`, `2005`, `1201`, ...) fails with that code; anything else pays.
fn cpm_outcome(auth_code: &str) -> Result<bool, String> {
    let tail = auth_code.get(auth_code.len().saturating_sub(4)..).unwrap_or("");
    match tail {
        RespCode::SUCCESS => Ok(true),
        RespCode::AWAITING_PASSWORD | RespCode::PROCESSING => Ok(false),
        code if RespCode::new(code).class() == RespClass::Declined && RespCode::new(code).info().is_some() => {
            Err(code.to_owned())
        }
        _ => Ok(true),
    }
}

/// Adds the order, settles it at once when it is CPM, and keeps its answer on it.
fn create_payment(
    sim: &Sim,
    ledger: &mut Ledger,
    merchant: &Merchant,
    req: &PaymentForm,
    now: f64,
    token: String,
    print: Fingerprint,
) -> OrderId {
    let info = req.info;
    let syssn = ledger.next_syssn(now as i64);
    // The payment's own notify_url counts only under the switch (QFPay registers one URL per
    // appcode); read when the order is made, as the gateway would have stored it then.
    let notify_url = req.notify_url.clone().filter(|_| lock(&sim.switches).per_request_notify_url);
    let id = ledger.insert(new_order(merchant, req, now, syssn, token, print, notify_url));
    if info.mode == PayMode::Cpm {
        settle_cpm(sim, ledger, id, req.auth_code.as_deref().unwrap_or(""), now);
    }
    let answer = payment_answer(sim, ledger.get(id), info.mode, req.udid.as_deref(), now);
    ledger.get_mut(id).answer = answer;
    id
}

/// The order as the gateway takes it: created, expiring after the form's minutes.
fn new_order(
    merchant: &Merchant,
    req: &PaymentForm,
    now: f64,
    syssn: String,
    token: String,
    print: Fingerprint,
    notify_url: Option<String>,
) -> Order {
    Order {
        appcode: merchant.appcode.clone(),
        kind: Kind::Payment,
        out_trade_no: req.out_trade_no.clone(),
        syssn,
        pay_type: req.pay_type.clone(),
        mode: Some(req.info.mode),
        txamt: req.txamt,
        txcurrcd: req.txcurrcd.clone(),
        txdtm: req.txdtm.clone(),
        created_at: now as i64,
        paid_at: None,
        expires_at: Some(now + f64::from(req.expired_minutes) * 60.0),
        goods_name: req.goods_name.clone().unwrap_or_default(),
        notify_url,
        return_url: req.return_url.clone(),
        state: OrderState::Created,
        refunded: 0,
        orig_syssn: None,
        token,
        fingerprint: print,
        answer: Value::Null,
        notifications_sent: 0,
        notification_acknowledged: false,
    }
}

/// Pays, pends or fails a CPM order as its `auth_code` says, with the `pending` fault on top.
fn settle_cpm(sim: &Sim, ledger: &mut Ledger, id: OrderId, auth_code: &str, now: f64) {
    let pending = lock(&sim.faults).pending;
    // A fresh order is `Created`, which both rules accept, so neither can refuse here.
    let _ = match cpm_outcome(auth_code) {
        Ok(true) => ledger.pay(id, now, pending).map(drop),
        Ok(false) => ledger.pay(id, now, pending + CPM_PENDING_SECONDS).map(drop),
        Err(code) => ledger.fail(id, now, &code),
    };
}

/// The answer to a new order: the endpoint page's flat fields, where the shopper pays, and
/// the guide's `data` object. Only a CPM order can answer other than success.
fn payment_answer(sim: &Sim, order: &Order, mode: PayMode, udid: Option<&str>, now: f64) -> Value {
    let respcd = match mode {
        PayMode::Cpm => RespCode::new(order.row_respcd(now)),
        _ => RespCode::new(RespCode::SUCCESS),
    };
    let mut answer = json!({
        "respcd": respcd.code(),
        "respmsg": respcd_text(&respcd),
        "resperr": "",
        "txamt": order.txamt.to_string(),
        "txcurrcd": order.txcurrcd,
        "pay_type": order.pay_type,
        "out_trade_no": order.out_trade_no,
        "syssn": order.syssn,
        "sysdtm": hk_time(order.created_at),
        "txdtm": order.txdtm,
        "udid": udid.unwrap_or_default(),
        "chnlsn": "",
        "chnlsn2": "",
        "cardcd": "",
    });
    add_pay_target(sim, &mut answer, order, mode);
    answer["data"] = json!({
        "txamt": order.txamt.to_string(),
        "out_trade_no": order.out_trade_no,
        "txcurrcd": order.txcurrcd,
        "txstatus": txstatus(mode, &respcd),
        "qf_trade_no": order.syssn,
        "pay_type": order.pay_type,
        "txdtm": order.txdtm,
    });
    answer
}

/// Where the shopper pays, in the field the pay mode's page names; the `bad-pay-url` fault
/// answers a `javascript:` URL that a client must refuse.
fn add_pay_target(sim: &Sim, answer: &mut Value, order: &Order, mode: PayMode) {
    let wallet_url = format!("{}/sim/wallet/{}", sim.config.public_url.trim_end_matches('/'), order.token);
    match mode {
        PayMode::Mpm => answer["qrcode"] = json!(wallet_url),
        PayMode::Wap | PayMode::Web | PayMode::CardOnline if lock(&sim.faults).bad_pay_url => {
            lock(&sim.stats).fault("bad_pay_url");
            answer["pay_url"] = json!(format!("javascript:alert(document.domain)//{}", order.token));
        }
        PayMode::Wap | PayMode::Web | PayMode::CardOnline => answer["pay_url"] = json!(wallet_url),
        PayMode::InApp | PayMode::Jsapi | PayMode::MiniProgram => {
            answer["pay_params"] =
                json!({"sim_wallet_url": wallet_url, "package": format!("prepay_id={}", order.syssn)})
        }
        PayMode::Cpm | PayMode::CardOffline => {}
    }
}

/// The `data.txstatus` of a new order: a CPM order's outcome, else pending until paid.
fn txstatus(mode: PayMode, respcd: &RespCode) -> &'static str {
    match mode {
        PayMode::Cpm if respcd.is_success() => "SUCCESS",
        PayMode::Cpm if respcd.class() == RespClass::PendingAskAgain => "PENDING",
        PayMode::Cpm => "FAILED",
        _ => "PENDING",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpm_codes_decide_the_outcome() {
        assert_eq!(cpm_outcome("2850000000000000"), Ok(true));
        assert_eq!(cpm_outcome("285000000000001143"), Ok(false));
        assert_eq!(cpm_outcome("28500000001202"), Err("1202".into()));
        assert_eq!(cpm_outcome("28500000002005"), Err("2005".into()));
        assert_eq!(cpm_outcome("1234"), Ok(true));
    }
}
