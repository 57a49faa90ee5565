//! The simulated wallet: the page a `qrcode` or `pay_url` opens, standing in for the
//! shopper's phone. Pay and Decline `POST` to the page's URL + `/pay` and + `/decline`; with
//! `Accept: application/json` they answer JSON, otherwise a page (or, for WAP/web orders with a
//! `return_url`, a redirect back to the shop).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use qfpay::RespCode;
use serde::Deserialize;
use serde_json::json;

use crate::ledger::{Order, OrderId, OrderState, PayRefusal};
use crate::{lock, Sim};

/// The respcd a shopper's "Decline" gives the order unless the form says otherwise.
pub const DECLINE_RESPCD: &str = RespCode::INSUFFICIENT_BALANCE;

/// Optional `?respcd=NNNN` on decline, to fail with a chosen code.
#[derive(Debug, Deserialize, Default)]
pub struct DeclineQuery {
    respcd: Option<String>,
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn amount_text(order: &Order) -> String {
    match qfpay::tables::currency(&order.txcurrcd) {
        Some(info) => format!("{} {}", order.txcurrcd, info.format_minor(order.txamt)),
        None => format!("{} {} (minor units)", order.txcurrcd, order.txamt),
    }
}

fn status_text(state: &OrderState) -> &'static str {
    match state {
        OrderState::Created => "waiting for payment",
        OrderState::Processing(_) => "processing",
        OrderState::Paid => "paid",
        OrderState::Failed(_) => "declined",
        OrderState::Closed | OrderState::Reversed => "closed",
        OrderState::Expired => "expired",
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
}

fn page_html(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem}}\
.amount{{font-size:2rem;font-weight:700}}button{{font-size:1.1rem;padding:.6rem 1.4rem;margin:.3rem}}\
.note{{color:#666;font-size:.85rem}}</style></head><body>{body}</body></html>",
        escape(title)
    ))
}

/// `GET /sim/wallet/{token}`.
pub async fn page(State(sim): State<Arc<Sim>>, Path(token): Path<String>) -> Response {
    sim.tick();
    let now = sim.clock.now();
    let ledger = lock(&sim.ledger);
    let Some(id) = ledger.by_token(&token) else {
        return (
            StatusCode::NOT_FOUND,
            page_html("Unknown order", "<h1>Unknown order</h1><p>This QR code is not known to the simulator.</p>"),
        )
            .into_response();
    };
    let order = ledger.get(id);
    let merchant = sim.config.merchants.get(&order.appcode).map_or(order.appcode.as_str(), |m| m.name.as_str());
    let wallet = qfpay::tables::pay_type(&order.pay_type).map_or("Wallet", |p| p.wallet.display_name());
    let state = order.state_at(now);
    let buttons = if state == OrderState::Created {
        format!(
            "<form method=\"post\" action=\"/sim/wallet/{t}/pay\"><button id=\"pay\" type=\"submit\">Pay</button></form>\
<form method=\"post\" action=\"/sim/wallet/{t}/decline\"><button id=\"decline\" type=\"submit\">Decline</button></form>",
            t = escape(&token)
        )
    } else {
        String::new()
    };
    let body = format!(
        "<p class=\"note\">QFPay simulator: {wallet}</p><h1>{merchant}</h1><p>{goods}</p><p class=\"amount\" id=\"amount\">{amount}</p>\
<p>Order <code>{otn}</code>: <strong id=\"status\">{status}</strong></p>{buttons}",
        wallet = escape(wallet),
        merchant = escape(merchant),
        goods = escape(&order.goods_name),
        amount = escape(&amount_text(order)),
        otn = escape(&order.out_trade_no),
        status = status_text(&state),
    );
    page_html(&format!("Pay {merchant}"), &body).into_response()
}

pub(crate) enum Action {
    Pay,
    Decline(String),
}

/// Pays or declines an order; shared by the wallet page and the control API.
pub(crate) fn act(sim: &Sim, id: OrderId, action: &Action) -> Result<(), PayRefusal> {
    let now = sim.clock.now();
    let pending = lock(&sim.faults).pending;
    let became_paid = {
        let mut ledger = lock(&sim.ledger);
        match action {
            Action::Pay => ledger.pay(id, now, pending)?,
            Action::Decline(code) => {
                ledger.fail(id, now, code)?;
                false
            }
        }
    };
    if became_paid {
        sim.notifier.schedule(sim, id, now);
    }
    Ok(())
}

fn outcome(sim: &Sim, id: OrderId, result: Result<(), PayRefusal>, headers: &HeaderMap) -> Response {
    let now = sim.clock.now();
    let order = lock(&sim.ledger).get(id).clone();
    let state = order.state_at(now);
    if wants_json(headers) {
        let body = json!({
            "ok": result.is_ok(),
            "error": result.as_ref().err().map(PayRefusal::message),
            "status": status_text(&state),
            "respcd": order.row_respcd(now),
            "out_trade_no": order.out_trade_no,
            "syssn": order.syssn,
        });
        let code = if result.is_ok() { StatusCode::OK } else { StatusCode::CONFLICT };
        return (code, Json(body)).into_response();
    }
    if let (Ok(()), Some(url)) = (&result, &order.return_url) {
        return Redirect::to(url).into_response();
    }
    let (code, heading) = match &result {
        Ok(()) => (StatusCode::OK, format!("Payment {}", status_text(&state))),
        Err(refusal) => (StatusCode::CONFLICT, refusal.message()),
    };
    let body = format!("<h1 id=\"result\">{}</h1><p>{}</p>", escape(&heading), escape(&amount_text(&order)));
    (code, page_html(&heading, &body)).into_response()
}

fn by_token(sim: &Sim, token: &str) -> Option<OrderId> {
    lock(&sim.ledger).by_token(token)
}

fn unknown(headers: &HeaderMap) -> Response {
    if wants_json(headers) {
        return (StatusCode::NOT_FOUND, Json(json!({"ok": false, "error": "unknown wallet token"}))).into_response();
    }
    (StatusCode::NOT_FOUND, page_html("Unknown order", "<h1>Unknown order</h1>")).into_response()
}

/// `POST /sim/wallet/{token}/pay`.
pub async fn pay(State(sim): State<Arc<Sim>>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    sim.tick();
    let Some(id) = by_token(&sim, &token) else { return unknown(&headers) };
    let result = act(&sim, id, &Action::Pay);
    outcome(&sim, id, result, &headers)
}

/// `POST /sim/wallet/{token}/decline`.
pub async fn decline(
    State(sim): State<Arc<Sim>>,
    Path(token): Path<String>,
    Query(q): Query<DeclineQuery>,
    headers: HeaderMap,
) -> Response {
    sim.tick();
    let Some(id) = by_token(&sim, &token) else { return unknown(&headers) };
    let result = act(&sim, id, &Action::Decline(q.respcd.unwrap_or_else(|| DECLINE_RESPCD.into())));
    outcome(&sim, id, result, &headers)
}

/// Pays or declines by merchant number (the control API's way in).
pub fn act_on_out_trade_no(
    sim: &Sim,
    appcode: Option<&str>,
    out_trade_no: &str,
    pay: bool,
    respcd: Option<String>,
    took: Option<u64>,
) -> Response {
    let found: Vec<OrderId> = {
        let ledger = lock(&sim.ledger);
        let merchants: Vec<&String> = match appcode {
            Some(a) => sim.config.merchants.keys().filter(|k| *k == a).collect(),
            None => sim.config.merchants.keys().collect(),
        };
        merchants.into_iter().filter_map(|m| ledger.by_out_trade_no(m, out_trade_no)).collect()
    };
    let id = match found.as_slice() {
        [id] => *id,
        [] => {
            return (StatusCode::NOT_FOUND, Json(json!({"ok": false, "error": "no order with this out_trade_no"})))
                .into_response()
        }
        _ => {
            return (
                StatusCode::CONFLICT,
                Json(json!({"ok": false, "error": "several merchants have this out_trade_no; add ?appcode="})),
            )
                .into_response()
        }
    };
    let action = if pay { Action::Pay } else { Action::Decline(respcd.unwrap_or_else(|| DECLINE_RESPCD.into())) };
    // The wallet took another amount than the order asked (a test of clients' "held" path):
    // the gateway then reports, and refunds against, what was taken.
    if let Some(took) = took.filter(|_| pay) {
        lock(&sim.ledger).get_mut(id).txamt = took;
    }
    let result = act(sim, id, &action);
    let mut json_headers = HeaderMap::new();
    json_headers.insert(header::ACCEPT, header::HeaderValue::from_static("application/json"));
    outcome(sim, id, result, &json_headers)
}
