//! Helpers shared by the simulator's in-process tests.
#![allow(dead_code, missing_docs)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use qfpay::{ClientKey, Credentials, GatewayRequest};
use qfpay_sim::{Merchant, SimConfig};
use serde_json::Value;
use tower::ServiceExt;

/// 2023-11-01 10:00:00 Hong Kong time.
pub const START: i64 = 1_698_804_000;
pub const TXDTM: &str = "2023-11-01 10:00:00";

pub fn config(merchants: Vec<Merchant>) -> SimConfig {
    let mut c = SimConfig::new(merchants, START);
    c.public_url = "http://sim.test".into();
    c
}

pub fn demo() -> Router {
    qfpay_sim::app(config(vec![Merchant::demo()]))
}

pub fn demo_credentials() -> Credentials {
    Credentials { appcode: "DEMOAPPCODE".into(), key: ClientKey::new("DEMOKEY"), mchid: None }
}

pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let resp = app.clone().oneshot(req).await.expect("the router answers");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("a body").to_bytes().to_vec();
    (status, body, headers)
}

pub async fn json(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let (status, body, _) = send(app, req).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("JSON answer, got {:?}", String::from_utf8_lossy(&body)));
    (status, value)
}

/// Signs a typed request with our crate and sends it.
pub async fn call<R: GatewayRequest>(app: &Router, creds: &Credentials, req: &R) -> Value {
    let signed = req.sign(creds).expect("valid request");
    let mut builder = Request::post(signed.path);
    for (name, value) in &signed.headers {
        builder = builder.header(*name, value);
    }
    json(app, builder.body(Body::from(signed.body)).unwrap()).await.1
}

/// Sends raw form pairs with the given headers.
pub async fn raw(app: &Router, path: &str, body: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    json(app, raw_request(path, body, headers)).await
}

/// Sends raw form pairs with the given headers; the answer's bytes and headers as sent.
pub async fn raw_full(
    app: &Router,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    send(app, raw_request(path, body, headers)).await
}

fn raw_request(path: &str, body: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::post(path).header("Content-Type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

/// A typed request signed with our crate, sent; the answer's bytes and headers as sent.
pub async fn call_full<R: GatewayRequest>(
    app: &Router,
    creds: &Credentials,
    req: &R,
) -> (Vec<u8>, axum::http::HeaderMap) {
    let signed = req.sign(creds).expect("valid request");
    let mut builder = Request::post(signed.path);
    for (name, value) in &signed.headers {
        builder = builder.header(*name, value);
    }
    let (_, body, headers) = send(app, builder.body(Body::from(signed.body)).unwrap()).await;
    (body, headers)
}

/// A header's value as text, if present.
pub fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn control(app: &Router, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let builder = Request::builder().method(method).uri(path).header("Accept", "application/json");
    let req = match body {
        Some(b) => builder.header("Content-Type", "application/json").body(Body::from(b.to_string())).unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    };
    json(app, req).await
}

pub fn mpm(out_trade_no: &str) -> qfpay::PaymentRequest {
    qfpay::PaymentRequest {
        txamt: 1500,
        txcurrcd: "HKD".into(),
        pay_type: "800201".into(),
        out_trade_no: out_trade_no.into(),
        txdtm: TXDTM.into(),
        goods_name: Some("港式奶茶 x2".into()),
        ..Default::default()
    }
}

/// The path part of a wallet URL (`http://sim.test/sim/wallet/TOKEN` -> `/sim/wallet/TOKEN`).
pub fn wallet_path(url: &str) -> String {
    url.strip_prefix("http://sim.test").expect("a wallet URL on the public URL").to_owned()
}

pub fn query(out_trade_no: &str) -> qfpay::QueryRequest {
    qfpay::QueryRequest { out_trade_no: vec![out_trade_no.into()], txdtm: Some(TXDTM.into()), ..Default::default() }
}

pub fn row_of(answer: &Value) -> &Value {
    &answer["data"][0]
}
