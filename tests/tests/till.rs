//! A till's charge that turns out to be a session's second payment: the shopper paid the
//! PayMe QR code on the screen (which QFPay cannot cancel, so it stays payable) while the till
//! charged their wallet code. The charge, still being confirmed, is reversed, and the till is
//! told its charge did not pay the sale (never a 200 that would hand the goods over twice).
//!
//! And a charge whose payment lands while its reversal is on the way (the simulator's
//! `reversal-crosses-payment` fault: the payment's notification is acknowledged before the
//! reversal answers `0000`): the money went back, so neither the till nor the merchant is ever
//! told the sale is paid.

use std::time::Duration;

use e2e::{Options, Stack};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_that_comes_second_is_told_so() {
    let stack = Stack::start(Options::default()).await;
    let (id, secret) =
        stack.session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": "both"})).await;
    let (status, qr, text) =
        stack.widget("POST", &format!("/v1/checkout/{id}/pay"), &secret, Some(json!({"pay_type": "805801"}))).await;
    assert_eq!(status, 201, "{text}");
    let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    let qr_otn = view["attempts"][0]["out_trade_no"].as_str().expect("the QR's order").to_owned();
    assert!(qr["qrcode"].is_string(), "{qr}");
    // One attempt a second per session.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The till charges a code the shopper confirms for a few seconds; meanwhile they pay the QR.
    let body = json!({"auth_code": "134567890121145", "pay_type": "800208"});
    let path = format!("/v1/sessions/{id}/charge");
    let charge = stack.merchant("POST", &path, Some(body), None);
    let pay_qr = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        stack.sim("POST", &format!("/sim/orders/{qr_otn}/pay"), None).await.0
    };
    let ((status, answer, text), qr_paid) = tokio::join!(charge, pay_qr);
    assert_eq!(qr_paid, 200, "the QR was paid");
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("already_paid")), "{text}");
    // Paying the QR reversed the charge still being confirmed: the shopper pays once.
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("not taken")), "{text}");
    let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_eq!(view["status"], "paid");
    assert_eq!(view["attempts"][0]["status"], "paid", "the QR paid the session: {view}");
    assert_eq!(view["attempts"][1]["status"], "reversed", "the charge was reversed: {view}");
    assert_eq!(view["refunds"], json!([]), "nothing to refund: {view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_crossing_its_reversal_is_never_shown_paid() {
    let stack = Stack::start(Options::default()).await;
    let (id, _) =
        stack.session(json!({"amount": 4200, "currency": "HKD", "goods_name": "Cake", "reference": "crossed"})).await;
    let (status, _) = stack.sim("POST", "/sim/faults", Some(json!({"reversal_crosses_payment": true}))).await;
    assert_eq!(status, 200);
    // Being confirmed in the wallet (a code ending in 1145) while the merchant closes the sale.
    let path = format!("/v1/sessions/{id}/charge");
    let charge =
        stack.merchant("POST", &path, Some(json!({"auth_code": "284567890121145", "pay_type": "800108"})), None);
    let watched = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (closed, _, text) = stack.merchant("POST", &format!("/v1/sessions/{id}/close"), None, None).await;
        assert!(closed < 300, "{text}");
        // The till polls the session meanwhile: it must never read "paid".
        let mut seen = Vec::new();
        for _ in 0..20 {
            let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
            seen.push(view["status"].as_str().unwrap_or_default().to_owned());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        seen
    };
    let ((status, answer, text), seen) = tokio::join!(charge, watched);
    assert!(!seen.iter().any(|s| s == "paid"), "the session was shown paid: {seen:?}");
    assert_eq!((status, answer["error"]["code"].as_str()), (402, Some("payment_refused")), "{text}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("reversed")), "{text}");
    let view = stack.wait_session(&id, Duration::from_secs(30), |v| v["status"] == "closed").await;
    assert_eq!(view["attempts"][0]["status"], "reversed", "{view}");
    // The gateway did send the payment's notification, and the worker acknowledged it.
    let (_, stats) = stack.sim("GET", "/sim/stats", None).await;
    assert!(stats["notifications_acknowledged"].as_u64() >= Some(1), "{stats}");
    let (_, feed, text) = stack.merchant("GET", "/v1/events?limit=100", None, None).await;
    let kinds: Vec<&str> = feed["data"].as_array().expect(&text).iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, vec!["checkout.session.closed"], "the merchant never hears of a payment: {kinds:?}");
    let (status, refund, text) =
        stack.merchant("POST", &format!("/v1/sessions/{id}/refunds"), Some(json!({"amount": 4200})), None).await;
    assert_eq!((status, refund["error"]["code"].as_str()), (409, Some("not_paid")), "{text}");
}
