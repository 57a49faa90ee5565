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

/// Upper-case hex of MD5 or SHA256, computed here with the hash crates directly: the tests'
/// signatures come from neither the simulator nor the client's crate.
pub fn hex_digest(bytes: &[u8], sha256: bool) -> String {
    use md5::Md5;
    use sha2::{Digest, Sha256};
    let digest: Vec<u8> = if sha256 { Sha256::digest(bytes).to_vec() } else { Md5::digest(bytes).to_vec() };
    digest.iter().map(|b| format!("{b:02X}")).collect()
}

/// The guide's `generate_signature`: sorted keys, skip sign/sign_type and empty values,
/// `k=v` joined by `&`, key appended, upper-case hex.
pub fn guide_signature(params: &[(&str, &str)], key: &str, sha256: bool) -> String {
    let mut keys: Vec<&(&str, &str)> = params.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    let query: Vec<String> = keys
        .iter()
        .filter(|(k, v)| *k != "sign" && *k != "sign_type" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    hex_digest((query.join("&") + key).as_bytes(), sha256)
}

/// `application/x-www-form-urlencoded`, written out by hand.
pub fn urlencode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// Posts `pairs` to a gateway path as the demo merchant, signed the guide's way with MD5 (no
/// `X-QF-SIGNTYPE`, which means MD5): no client crate decides what may be sent.
pub async fn post_form_full(app: &Router, path: &str, pairs: &[(&str, &str)]) -> (Vec<u8>, axum::http::HeaderMap) {
    let sign = guide_signature(pairs, "DEMOKEY", false);
    let headers = [("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", sign.as_str())];
    let (_, body, headers) = raw_full(app, path, &urlencode(pairs), &headers).await;
    (body, headers)
}

/// [`post_form_full`], the answer as JSON.
pub async fn post_form(app: &Router, path: &str, pairs: &[(&str, &str)]) -> Value {
    let (body, _) = post_form_full(app, path, pairs).await;
    serde_json::from_slice(&body).unwrap_or_else(|_| panic!("JSON answer, got {:?}", String::from_utf8_lossy(&body)))
}

/// Changes switches through `POST /sim/switches`, which must accept them; the switches after.
pub async fn set_switches(app: &Router, switches: Value) -> Value {
    let (status, now) = control(app, "POST", "/sim/switches", Some(switches.clone())).await;
    assert_eq!(status.as_u16(), 200, "{switches} accepted: {now}");
    now
}

/// Moves the simulated clock forward.
pub async fn advance(app: &Router, seconds: u64) {
    let (status, _) = control(app, "POST", "/sim/clock/advance", Some(serde_json::json!({"seconds": seconds}))).await;
    assert_eq!(status.as_u16(), 200);
}

/// The demo app with the switches given (a JSON object) in force from the start.
pub async fn demo_with(switches: Value) -> Router {
    let app = demo();
    set_switches(&app, switches).await;
    app
}

/// What an answer's `X-QF-SIGN` is under each reading, computed here from the body as
/// received: `sorted-data` (the `data` object's string and number fields when `data` is an
/// object, else the top level's), `top-level`, `raw-body` (body bytes + key).
pub fn answer_reading(reading: &str, body: &[u8], key: &str, sha256: bool) -> Option<String> {
    if reading == "raw-body" {
        let mut bytes = body.to_vec();
        bytes.extend_from_slice(key.as_bytes());
        return Some(hex_digest(&bytes, sha256));
    }
    let top: Value = serde_json::from_slice(body).ok()?;
    let object = match (reading, top.get("data")) {
        ("sorted-data", Some(Value::Object(data))) => data.clone(),
        _ => top.as_object()?.clone(),
    };
    let fields: Vec<(String, String)> = object
        .iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k.clone(), s.clone())),
            Value::Number(n) => Some((k.clone(), n.to_string())),
            _ => None,
        })
        .collect();
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Some(guide_signature(&pairs, key, sha256))
}

/// Whether the answer's `X-QF-SIGN` is the `sorted-data` MD5 signature with the demo key;
/// `None` when it carries none.
pub fn answer_verifies(body: &[u8], headers: &axum::http::HeaderMap) -> Option<bool> {
    let signature = header(headers, "x-qf-sign")?;
    Some(answer_reading("sorted-data", body, "DEMOKEY", false).is_some_and(|s| s.eq_ignore_ascii_case(signature)))
}
