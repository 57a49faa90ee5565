//! A till's charge that turns out to be a session's second payment: the shopper paid the
//! PayMe QR code on the screen (which QFPay cannot cancel, so it stays payable) while the till
//! charged their wallet code. The charge, still being confirmed, is reversed, and the till is
//! told its charge did not pay the sale (never a 200 that would hand the goods over twice).
//!
//! And a charge whose payment landed while its reversal was on the way: recorded paid, then
//! reversed by the gateway. The money went back, so the session is `reversed`, never `paid`, and
//! the merchant hears `payment.reversed`.

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
async fn a_charge_reversed_after_it_was_recorded_paid_does_not_stay_paid() {
    let stack = Stack::start(Options::default()).await;
    let (id, _) =
        stack.session(json!({"amount": 4200, "currency": "HKD", "goods_name": "Cake", "reference": "crossed"})).await;
    // Being confirmed in the wallet (the simulator's rule: a code ending in 1145) while the
    // merchant closes the sale; the reversal that follows crosses the payment.
    let (status, _) = stack.sim("POST", "/sim/faults", Some(json!({"reversal_crosses_payment": true}))).await;
    assert_eq!(status, 200);
    let path = format!("/v1/sessions/{id}/charge");
    let charge =
        stack.merchant("POST", &path, Some(json!({"auth_code": "284567890121145", "pay_type": "800108"})), None);
    let close = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        stack.merchant("POST", &format!("/v1/sessions/{id}/close"), None, None).await
    };
    let ((status, answer, text), (closed, _, close_text)) = tokio::join!(charge, close);
    assert!(closed < 300, "{close_text}");
    assert_eq!((status, answer["error"]["code"].as_str()), (402, Some("payment_refused")), "{text}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("reversed")), "{text}");
    let view = stack.wait_session(&id, Duration::from_secs(20), |v| v["status"] == "reversed").await;
    assert_eq!(view["attempts"][0]["status"], "reversed", "{view}");
    // The sale was recorded paid on the way (its notification came first), then reversed.
    let (_, feed, text) = stack.merchant("GET", "/v1/events?limit=100", None, None).await;
    let kinds: Vec<&str> = feed["data"].as_array().expect(&text).iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(kinds.iter().any(|k| k.starts_with("checkout.session.")), "the payment was heard of: {kinds:?}");
    let reversed = feed["data"].as_array().unwrap().iter().find(|e| e["type"] == "payment.reversed");
    let reversed = reversed.unwrap_or_else(|| panic!("payment.reversed is sent: {kinds:?}"));
    assert_eq!(reversed["data"]["session"]["status"], "reversed", "{reversed}");
    // A till polling the session is never told to hand over the goods.
    let (_, polled, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_ne!(polled["status"], "paid", "{polled}");
    let (_, refund, _) =
        stack.merchant("POST", &format!("/v1/sessions/{id}/refunds"), Some(json!({"amount": 4200})), None).await;
    assert_ne!(refund["status"], "pending", "nothing to refund: the money went back: {refund}");
}
