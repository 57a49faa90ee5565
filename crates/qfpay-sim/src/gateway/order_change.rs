//! `/trade/v1/close` and `/trade/v1/reversal` (`POST` or `GET`): the two calls that end an
//! order. They share everything but the rule for each state: find the payment by `syssn` or
//! `out_trade_no`, check its amount, apply the rule, answer with a new `syssn`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use qfpay::{CloseRequest, OrderRef, PayMode, RespCode, ReversalRequest};
use serde_json::json;

use super::admission::Admitted;
use super::error_answer;
use crate::ledger::{hk_time, Kind, Ledger, Order, OrderId, OrderState};
use crate::{lock, Sim};

/// What a close or reversal does to the order it targets: a new state, nothing, or a refusal.
type Change = fn(&Order, OrderState) -> Result<Option<OrderState>, Response>;

/// `POST` (or `GET`) `/trade/v1/close`: ends an unpaid order.
pub async fn close(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, request: req, .. }: Admitted<CloseRequest>,
) -> Response {
    change_order(&sim, &merchant.appcode, &req.0, |_, state| match state {
        OrderState::Paid | OrderState::Processing(_) => {
            Err(error_answer(RespCode::ALREADY_PAID, "the order is paid; refund it instead"))
        }
        OrderState::Created | OrderState::Expired => Ok(Some(OrderState::Closed)),
        OrderState::Closed | OrderState::Failed(_) | OrderState::Reversed => Ok(None),
    })
}

/// `POST` (or `GET`) `/trade/v1/reversal`: undoes a CPM payment, or cancels an unpaid order.
pub async fn reversal(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, request: req, .. }: Admitted<ReversalRequest>,
) -> Response {
    change_order(&sim, &merchant.appcode, &req.0, |order, state| match state {
        OrderState::Paid if order.mode != Some(PayMode::Cpm) => {
            Err(error_answer(RespCode::NOT_OPERABLE, "only CPM payments can be reversed; refund this one"))
        }
        OrderState::Paid if order.refunded > 0 => {
            Err(error_answer(RespCode::ALREADY_REFUNDED, "the order has refunds; it cannot be reversed"))
        }
        OrderState::Paid => Ok(Some(OrderState::Reversed)),
        // A CPM charge the shopper is still confirming is cancelled: what a till reverses it for.
        OrderState::Processing(_) if order.mode == Some(PayMode::Cpm) => Ok(Some(OrderState::Reversed)),
        OrderState::Processing(_) => {
            Err(error_answer(RespCode::PROCESSING, "the payment is still processing; try again shortly"))
        }
        OrderState::Created | OrderState::Expired => Ok(Some(OrderState::Closed)),
        OrderState::Closed | OrderState::Failed(_) | OrderState::Reversed => Ok(None),
    })
}

/// The shared body of close and reversal: find the order, apply `change`, answer.
fn change_order(sim: &Sim, appcode: &str, target: &OrderRef, change: Change) -> Response {
    sim.tick();
    let now = sim.clock.now();
    let mut ledger = lock(&sim.ledger);
    let id = match target_order(&ledger, appcode, target) {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let order = ledger.get(id);
    match change(order, order.state_at(now)) {
        Err(answer) => return answer,
        Ok(Some(state)) => ledger.get_mut(id).state = state,
        Ok(None) => {}
    }
    change_answer(&mut ledger, id, now)
}

/// Finds the payment a close or reversal is about, checking its amount.
fn target_order(ledger: &Ledger, appcode: &str, r: &OrderRef) -> Result<OrderId, Response> {
    let id = r
        .syssn
        .as_deref()
        .and_then(|s| ledger.by_syssn(appcode, s))
        .or_else(|| r.out_trade_no.as_deref().and_then(|o| ledger.by_out_trade_no(appcode, o)))
        .filter(|&id| ledger.get(id).kind == Kind::Payment)
        .ok_or_else(|| {
            error_answer(RespCode::NO_SUCH_ORDER, "no payment with this syssn or out_trade_no for this merchant")
        })?;
    if ledger.get(id).txamt != r.txamt {
        return Err(error_answer(
            RespCode::ORDER_MISMATCH,
            format!("txamt: the order's amount is {}", ledger.get(id).txamt),
        ));
    }
    Ok(id)
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
