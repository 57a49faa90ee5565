//! The URL map: gateway paths, the wallet page, the control API, and a one-line log per request.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use qfpay::RespCode;
use serde_json::json;

use crate::{answer_sign, control, gateway, wallet, Sim};

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/trade/v1/payment", post(gateway::payment))
        .route("/trade/v1/query", post(gateway::query))
        .route("/trade/v1/refund", post(gateway::refund))
        .route("/trade/v1/close", post(gateway::close).get(gateway::close))
        .route("/trade/v1/reversal", post(gateway::reversal).get(gateway::reversal))
        .route("/sim/wallet/{token}", get(wallet::page))
        .route("/sim/wallet/{token}/pay", post(wallet::pay))
        .route("/sim/wallet/{token}/decline", post(wallet::decline))
        .route("/sim/orders", get(control::orders))
        .route("/sim/orders/{out_trade_no}/pay", post(control::pay))
        .route("/sim/orders/{out_trade_no}/decline", post(control::decline))
        .route("/sim/clock/advance", post(control::advance_clock))
        .route("/sim/faults", post(control::set_faults).get(control::get_faults))
        .route("/sim/stats", get(control::stats))
        .route("/sim/switches", post(control::set_switches).get(control::get_switches))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_found)
        // Bodies are read and size-checked by the handlers, so an oversized one still gets
        // the gateway's JSON answer instead of a bare 413.
        .layer(DefaultBodyLimit::disable())
        // Inside `drop_answers`: an answer is signed as the gateway sends it, then maybe lost.
        .layer(middleware::from_fn_with_state(sim.clone(), answer_sign::sign_answers))
        .layer(middleware::from_fn_with_state(sim.clone(), drop_answers))
        .layer(middleware::from_fn(control_from_this_machine))
        .layer(middleware::from_fn_with_state(sim.clone(), log_line))
        .with_state(sim)
}

async fn not_found() -> Response {
    let body = json!({"respcd": RespCode::MALFORMED_REQUEST, "respmsg": "not found", "resperr": "no such path"});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// The `answer-drop` fault: a gateway call is carried out, then its answer is lost, as when a
/// connection breaks after the gateway acted. The caller cannot tell what happened.
/// With `answer-drop-first`, the first call of each distinct request (path and body) loses its
/// answer and an identical retry is answered: the way to test a client's retry path.
async fn drop_answers(axum::extract::State(sim): axum::extract::State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let gateway_call = req.uri().path().starts_with("/trade/");
    let (share, first_only) = {
        let faults = crate::lock(&sim.faults);
        (faults.answer_drop, faults.answer_drop_first)
    };
    let (req, first_time) = if gateway_call && first_only { first_time(&sim, req).await } else { (req, false) };
    let response = next.run(req).await;
    if gateway_call && (first_time || sim.chance(share)) {
        crate::lock(&sim.stats).fault("answer_drop");
        return (StatusCode::SERVICE_UNAVAILABLE, "").into_response();
    }
    response
}

/// Whether this exact request (path and body) is new; the request comes back whole.
async fn first_time(sim: &Sim, req: Request) -> (Request, bool) {
    use std::hash::{Hash, Hasher};
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (parts.uri.path(), &bytes[..]).hash(&mut hasher);
    let new = crate::lock(&sim.seen_requests).insert(hasher.finish());
    (Request::from_parts(parts, axum::body::Body::from(bytes)), new)
}

/// The control API (`/sim/...` but the wallet pages) can pay any order, move the clock and
/// turn faults on, so it answers only this machine: a caller on loopback, naming a loopback
/// host. The first keeps out the network when the simulator listens on every interface (so a
/// phone can open the wallet pages); the second keeps out web pages that reach loopback
/// through a DNS name of their own (DNS rebinding). Chosen over a token printed at start: the
/// tests and `cargo xtask dev` need nothing new, and no token can leak. A router driven
/// in-process (no socket) is this machine.
async fn control_from_this_machine(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let control = path.starts_with("/sim/") && !path.starts_with("/sim/wallet/");
    if control && !from_this_machine(&req) {
        let body = json!({"error": "the control API answers only on loopback (127.0.0.1, ::1 or localhost)"});
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    next.run(req).await
}

fn from_this_machine(req: &Request) -> bool {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if peer.is_some_and(|ip| !ip.is_loopback()) {
        return false;
    }
    match req.headers().get(header::HOST).map(|h| h.to_str()) {
        None => true,
        Some(Ok(host)) => loopback_host(host),
        Some(Err(_)) => false,
    }
}

/// `127.0.0.1`, `[::1]` or `localhost`, with or without a port.
fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// One line per request: method, path, status, milliseconds. Never headers or bodies, which
/// carry signatures and keys' work. Handed to the log's own thread, never written here.
async fn log_line(axum::extract::State(sim): axum::extract::State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let started = Instant::now();
    let response = next.run(req).await;
    sim.log.line(format!("{method} {path} {} {}ms", response.status().as_u16(), started.elapsed().as_millis()));
    response
}
