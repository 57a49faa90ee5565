//! `/trade/v1/close` and `/trade/v1/reversal` (`POST` or `GET`): the two calls that end an
//! unpaid order early, by `04-common-api/02-reversal-cancel.md`.
//!
//! Each pay type has one such call or none (`end_order.rs`, with the `end_order` switch over
//! it): the other call, or either call for a type that has none, is answered `1136` naming
//! what would work. A paid order (`0000`) is never ended, only refunded: `1260`. An unpaid one
//! is ended (`0000`) and can no longer be paid; its row then shows `cancel` 1 after a reversal,
//! `cancel` 2 and `1142` after a close. Ending an order that already ended changes nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use qfpay::RespCode;
use serde_json::json;

use super::admission::Admitted;
use super::error_answer;
use super::forms::{CloseForm, OrderRefForm, ReversalForm};
use crate::end_order::{self, EndOrder};
use crate::ledger::{hk_time, Kind, Ledger, Order, OrderId, OrderState};
use crate::{lock, Sim};

/// `POST` (or `GET`) `/trade/v1/close`.
pub async fn close(State(sim): State<Arc<Sim>>, Admitted { merchant, request, .. }: Admitted<CloseForm>) -> Response {
    slow_to_end(&sim).await;
    end_order(&sim, &merchant.appcode, &request.0, EndOrder::Close, None)
}

/// `POST` (or `GET`) `/trade/v1/reversal`.
pub async fn reversal(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, request, .. }: Admitted<ReversalForm>,
) -> Response {
    slow_to_end(&sim).await;
    let crossed = if lock(&sim.faults).reversal_crosses_payment {
        pay_before_reversal(&sim, &merchant.appcode, &request.0).await
    } else {
        None
    };
    end_order(&sim, &merchant.appcode, &request.0, EndOrder::Reversal, crossed)
}

/// The `close-latency` fault: a gateway slow to end orders, whatever else it does.
async fn slow_to_end(sim: &Sim) {
    let wait = lock(&sim.faults).close_latency;
    if wait > 0 {
        lock(&sim.stats).fault("close_latency");
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}

/// How long the `reversal-crosses-payment` fault waits for the client to acknowledge the
/// payment's notification before reversing it anyway.
const CROSSING_WAIT: Duration = Duration::from_secs(5);

/// The `reversal-crosses-payment` fault: the order the reversal names is paid now, if it was
/// not, and its notification is delivered before the reversal goes on. Returns that order.
async fn pay_before_reversal(sim: &Arc<Sim>, appcode: &str, target: &OrderRefForm) -> Option<OrderId> {
    let now = sim.clock.now();
    let id = {
        let mut ledger = lock(&sim.ledger);
        let id = target_order(&ledger, appcode, target).ok()?;
        ledger.complete_now(id, now).then_some(id)?
    };
    lock(&sim.stats).fault("reversal_crosses_payment");
    sim.notifier.schedule(sim, id, now);
    let deadline = tokio::time::Instant::now() + CROSSING_WAIT;
    while !lock(&sim.ledger).get(id).notification_acknowledged && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Some(id)
}

/// The shared body of close and reversal: find the order, check the call suits its pay type
/// and its amount, then end it unless it is paid.
/// `crossed`: the order the `reversal-crosses-payment` fault paid a moment ago, which this
/// reversal undoes.
fn end_order(sim: &Sim, appcode: &str, target: &OrderRefForm, call: EndOrder, crossed: Option<OrderId>) -> Response {
    sim.tick();
    let now = sim.clock.now();
    let overrides = lock(&sim.switches).end_order.clone();
    let mut ledger = lock(&sim.ledger);
    let id = match target_order(&ledger, appcode, target) {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let order = ledger.get(id);
    if let Err(answer) = check_call(order, call, end_order::effective(&order.pay_type, &overrides)) {
        return answer;
    }
    if order.txamt != target.txamt {
        return error_answer(RespCode::ORDER_MISMATCH, format!("txamt: the order's amount is {}", order.txamt));
    }
    let ended = if call == EndOrder::Close { OrderState::Closed } else { OrderState::Reversed };
    match order.state_at(now) {
        OrderState::Paid if crossed == Some(id) => ledger.get_mut(id).state = ended,
        OrderState::Paid => {
            return error_answer(
                RespCode::ALREADY_PAID,
                "the order is paid (0000): a paid order is never reversed or cancelled; refund it instead",
            )
        }
        // A close finds a payment the gateway is still confirming as good as paid; a reversal
        // is the documented way to cancel a transaction "currently in progress".
        OrderState::Processing(_) if call == EndOrder::Close => {
            return error_answer(RespCode::ALREADY_PAID, "the order is being paid; query it, and refund it once paid")
        }
        OrderState::Processing(_) | OrderState::Created | OrderState::Expired => ledger.get_mut(id).state = ended,
        OrderState::Closed | OrderState::Failed(_) | OrderState::Reversed => {}
    }
    change_answer(&mut ledger, id, now)
}

/// `1136` unless `call` is the one that ends an order of this pay type (`allowed`).
fn check_call(order: &Order, call: EndOrder, allowed: EndOrder) -> Result<(), Response> {
    if allowed == call {
        return Ok(());
    }
    let path = call.path().unwrap_or_default();
    match allowed.path() {
        None => Err(error_answer(
            RespCode::NOT_OPERABLE,
            format!(
                "pay_type {} does not support cancel: an unpaid order of it cannot be ended early and ends when it expires",
                order.pay_type
            ),
        )),
        Some(right) => Err(error_answer(
            RespCode::NOT_OPERABLE,
            format!("pay_type {} is not ended by {path}: use {right}", order.pay_type),
        )),
    }
}

/// Finds the payment a close or reversal is about.
fn target_order(ledger: &Ledger, appcode: &str, r: &OrderRefForm) -> Result<OrderId, Response> {
    r.syssn
        .as_deref()
        .and_then(|s| ledger.by_syssn(appcode, s))
        .or_else(|| r.out_trade_no.as_deref().and_then(|o| ledger.by_out_trade_no(appcode, o)))
        .filter(|&id| ledger.get(id).kind == Kind::Payment)
        .ok_or_else(|| {
            error_answer(RespCode::NO_SUCH_ORDER, "no payment with this syssn or out_trade_no for this merchant")
        })
}

/// The answer to a close or reversal that went through: the order and a `syssn` of its own.
fn change_answer(ledger: &mut Ledger, id: OrderId, now: f64) -> Response {
    let syssn = ledger.next_syssn(now as i64);
    let order = ledger.get(id);
    Json(json!({
        "respcd": RespCode::SUCCESS, "respmsg": "", "resperr": "",
        "orig_syssn": order.syssn, "syssn": syssn, "txamt": order.txamt.to_string(),
        "out_trade_no": order.out_trade_no, "sysdtm": hk_time(now as i64),
    }))
    .into_response()
}
