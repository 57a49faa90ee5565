//! A till's charge that turns out to be a session's second payment: the shopper paid the
//! PayMe QR code on the screen (which QFPay cannot cancel, so it stays payable) while the till
//! charged their wallet code. The charge, still being confirmed, is reversed, and the till is
//! told its charge did not pay the sale (never a 200 that would hand the goods over twice).

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
