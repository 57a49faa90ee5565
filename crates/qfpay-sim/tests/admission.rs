//! The admission order is the same on every gateway path: rate limit, faults, content type,
//! appcode, signature, mchid, then the form's fields.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use qfpay::{ClientKey, GatewayRequest, SignType};
use serde_json::json;

/// The five gateway paths, from the protocol crate's request types.
const PATHS: [&str; 5] = [
    qfpay::PaymentRequest::PATH,
    qfpay::QueryRequest::PATH,
    qfpay::RefundRequest::PATH,
    qfpay::CloseRequest::PATH,
    qfpay::ReversalRequest::PATH,
];

/// A SHA256 signature of `pairs` with the demo key.
fn signed(pairs: &[(&str, &str)]) -> String {
    qfpay::sign::sign(pairs.iter().copied(), &ClientKey::new("DEMOKEY"), SignType::Sha256)
}

/// The demo merchant's headers for a SHA256 signature (the header is required: without it
/// the simulator, like the gateway, reads the signature as MD5).
fn headers(sign: &str) -> [(&str, &str); 3] {
    [("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", sign), ("X-QF-SIGNTYPE", "SHA256")]
}

#[tokio::test]
async fn every_path_admits_in_the_same_order() {
    let app = demo();
    for path in PATHS {
        let wrong_type = Request::post(path).header("Content-Type", "application/json").body(Body::from("{}")).unwrap();
        let (status, a) = json(&app, wrong_type).await;
        assert_eq!((status.as_u16(), a["respcd"].as_str()), (200, Some("1103")), "{path}: content type first: {a}");

        let (_, a) = raw(&app, path, "", &[]).await;
        assert_eq!(a["respcd"], "1108", "{path}: then the appcode: {a}");
        assert!(a["resperr"].as_str().unwrap().contains("X-QF-APPCODE"), "{path}: {a}");

        let (_, a) = raw(&app, path, "", &[("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", "00")]).await;
        assert_eq!(a["respcd"], "1108", "{path}: then the signature: {a}");
        assert!(a["resperr"].as_str().unwrap().contains("X-QF-SIGN"), "{path}: {a}");

        let sign = signed(&[("mchid", "M1")]);
        let (_, a) = raw(&app, path, "mchid=M1", &headers(&sign)).await;
        assert_eq!(a["respcd"], "1104", "{path}: then the mchid rule: {a}");
        assert!(a["resperr"].as_str().unwrap().starts_with("mchid"), "{path}: {a}");

        // Admitted: whatever comes back now is about the request's own fields (a query with
        // none lists the merchant's orders).
        let (_, a) = raw(&app, path, "", &headers(&signed(&[]))).await;
        assert!(!["1103", "1108"].contains(&a["respcd"].as_str().unwrap()), "{path}: past admission: {a}");
    }
    let (_, stats) = control(&app, "GET", "/sim/stats", None).await;
    for path in PATHS {
        assert_eq!(stats["calls_by_path"][path], 5, "{path} counted under its own path: {stats}");
    }
}

#[tokio::test]
async fn the_rate_limit_comes_before_faults_on_every_path() {
    for path in PATHS {
        // One app per path: the limits are per merchant and a minute holds only 400 calls.
        let app = demo();
        let (status, _) = control(&app, "POST", "/sim/faults", Some(json!({"5xx": 1.0}))).await;
        assert_eq!(status.as_u16(), 200);
        let limit = qfpay::ratelimit::Limits::QFPAY.per_second();
        for _ in 0..limit {
            let (status, _, _) = send(&app, Request::post(path).body(Body::empty()).unwrap()).await;
            assert_eq!(status.as_u16(), 503, "{path}: within the limit, the 5xx fault answers");
        }
        let (status, a) = json(&app, Request::post(path).body(Body::empty()).unwrap()).await;
        assert_eq!((status.as_u16(), a["respcd"].as_str()), (429, Some("1100")), "{path}: {a}");
    }
}

#[tokio::test]
async fn answers_are_signed_from_the_moment_the_merchant_is_known() {
    let app = demo();
    for path in PATHS {
        let unsigned: [(&str, &[(&str, &str)]); 4] = [
            ("no appcode", &[]),
            ("unknown appcode", &[("X-QF-APPCODE", "NOPE"), ("X-QF-SIGN", "00")]),
            ("no signature", &[("X-QF-APPCODE", "DEMOAPPCODE")]),
            ("wrong signature", &[("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", "00")]),
        ];
        for (case, headers) in unsigned {
            let (_, body, answer_headers) = raw_full(&app, path, "", headers).await;
            assert_eq!(answer_verifies(&body, &answer_headers), None, "{path}, {case}: unsigned");
        }
        let sign = signed(&[("mchid", "M1")]);
        let (_, body, answer_headers) = raw_full(&app, path, "mchid=M1", &headers(&sign)).await;
        assert_eq!(answer_verifies(&body, &answer_headers), Some(true), "{path}: a refusal after the signature");
        let (_, body, answer_headers) = raw_full(&app, path, "", &headers(&signed(&[]))).await;
        assert_eq!(answer_verifies(&body, &answer_headers), Some(true), "{path}: admitted");
    }
}

#[tokio::test]
async fn a_refund_route_that_is_down_answers_503_and_serves_every_other_path() {
    let app = demo();
    let (status, _) = control(&app, "POST", "/sim/faults", Some(json!({"refund_5xx": 1.0}))).await;
    assert_eq!(status.as_u16(), 200);
    for path in PATHS {
        let (status, _, _) = raw_full(&app, path, "", &headers(&signed(&[]))).await;
        let down = path == qfpay::RefundRequest::PATH;
        assert_eq!(status.as_u16() == 503, down, "{path}: answered {status}");
    }
    let (_, stats) = control(&app, "GET", "/sim/stats", None).await;
    assert_eq!(stats["faults_injected"]["refund_5xx"], 1, "counted as its own fault: {stats}");
}
