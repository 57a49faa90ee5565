//! The control API under `/sim/`, off the gateway's paths: the ledger, paying by order number,
//! the clock, faults, switches and counters. JSON in and out.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::Faults;
use crate::switches::Switches;
use crate::{lock, wallet, Sim};

/// `GET /sim/orders`: every order and refund with its state, as of now.
pub async fn orders(State(sim): State<Arc<Sim>>) -> Json<Value> {
    sim.tick();
    let now = sim.clock.now();
    let ledger = lock(&sim.ledger);
    let rows: Vec<Value> = ledger
        .all()
        .iter()
        .map(|o| {
            let mut row = serde_json::to_value(o).unwrap_or(Value::Null);
            row["state"] = json!(match o.state_at(now) {
                crate::ledger::OrderState::Created => "created",
                crate::ledger::OrderState::Processing(_) => "processing",
                crate::ledger::OrderState::Paid => "paid",
                crate::ledger::OrderState::Failed(_) => "failed",
                crate::ledger::OrderState::Closed => "closed",
                crate::ledger::OrderState::Reversed => "reversed",
                crate::ledger::OrderState::Expired => "expired",
            });
            row["respcd"] = json!(o.row_respcd(now));
            row["cancel"] = json!(o.cancel(now));
            row
        })
        .collect();
    Json(json!({"now": now, "orders": rows}))
}

/// `?appcode=` to pick a merchant, `?respcd=` for a decline's code, `?txamt=` for a payment
/// of another amount than the order's (the wallet took that much).
#[derive(Debug, Deserialize, Default)]
pub struct OrderQuery {
    appcode: Option<String>,
    respcd: Option<String>,
    txamt: Option<u64>,
}

/// `POST /sim/orders/{out_trade_no}/pay`.
pub async fn pay(State(sim): State<Arc<Sim>>, Path(otn): Path<String>, Query(q): Query<OrderQuery>) -> Response {
    sim.tick();
    wallet::act_on_out_trade_no(&sim, q.appcode.as_deref(), &otn, true, None, q.txamt)
}

/// `POST /sim/orders/{out_trade_no}/decline`.
pub async fn decline(State(sim): State<Arc<Sim>>, Path(otn): Path<String>, Query(q): Query<OrderQuery>) -> Response {
    sim.tick();
    wallet::act_on_out_trade_no(&sim, q.appcode.as_deref(), &otn, false, q.respcd, None)
}

/// `{"seconds": N}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    seconds: f64,
}

/// `POST /sim/clock/advance`.
pub async fn advance_clock(
    State(sim): State<Arc<Sim>>,
    body: Result<Json<Advance>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(advance)) = body else {
        return bad_request("body must be {\"seconds\": N}");
    };
    if !(advance.seconds.is_finite() && advance.seconds >= 0.0) {
        return bad_request("seconds must be a number of 0 or more");
    }
    sim.clock.advance(advance.seconds);
    sim.tick();
    sim.notifier_wake();
    Json(json!({"now": sim.clock.now()})).into_response()
}

/// `POST /sim/faults`: replaces the faults in force (fields as in [`Faults`]).
pub async fn set_faults(
    State(sim): State<Arc<Sim>>,
    body: Result<Json<Faults>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let faults = match body {
        Ok(Json(f)) => f,
        Err(e) => return bad_request(&format!("faults: {}", e.body_text())),
    };
    if let Err(e) = faults.check() {
        return bad_request(&e);
    }
    *lock(&sim.faults) = faults.clone();
    Json(faults).into_response()
}

/// `GET /sim/faults`.
pub async fn get_faults(State(sim): State<Arc<Sim>>) -> Json<Faults> {
    Json(lock(&sim.faults).clone())
}

/// `POST /sim/switches`: changes the switches named in the JSON object, all or none; answers
/// every switch as it now stands.
pub async fn set_switches(
    State(sim): State<Arc<Sim>>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let patch = match body {
        Ok(Json(Value::Object(patch))) => patch,
        Ok(Json(_)) => return bad_request("switches: the body must be a JSON object of switch names to values"),
        Err(e) => return bad_request(&format!("switches: {}", e.body_text())),
    };
    let mut switches = lock(&sim.switches);
    if let Err(e) = switches.apply(&patch) {
        return bad_request(&e);
    }
    Json(switches.clone()).into_response()
}

/// `GET /sim/switches`.
pub async fn get_switches(State(sim): State<Arc<Sim>>) -> Json<Switches> {
    Json(sim.switches())
}

/// `GET /sim/stats`.
pub async fn stats(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let mut stats = lock(&sim.stats);
    stats.log_lines_dropped = sim.log.dropped();
    let mut value = serde_json::to_value(&*stats).unwrap_or(Value::Null);
    value["peak_calls_per_minute"] = json!(stats.peak_per_minute());
    value["calls_total"] = json!(stats.calls_by_path.values().sum::<u64>());
    Json(value)
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
}
