//! Refunds of payments that did not pay their session, through the API rather than QFPay's
//! portal: a payment held because the wallet took another amount, and a second payment when
//! automatic refunds are off. Each is refunded by naming it (`attempt_id`), at most what it
//! took, and never out of the session's own payment.

use std::time::Duration;

use e2e::{Options, Stack};
use serde_json::{json, Value};

const PATIENCE: Duration = Duration::from_secs(30);

fn cake(reference: &str) -> Value {
    json!({"amount": 3800, "currency": "HKD", "goods_name": "Cake", "reference": reference})
}

/// Starts a QR payment of `pay_type`; its attempt id and order number.
async fn qr(stack: &Stack, id: &str, secret: &str, pay_type: &str) -> (String, String) {
    let (status, _, text) =
        stack.widget("POST", &format!("/v1/checkout/{id}/pay"), secret, Some(json!({"pay_type": pay_type}))).await;
    assert_eq!(status, 201, "{text}");
    let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    let attempt = view["attempts"].as_array().and_then(|a| a.last()).expect("an attempt").clone();
    (attempt["id"].as_str().unwrap().to_owned(), attempt["out_trade_no"].as_str().unwrap().to_owned())
}

async fn refund(stack: &Stack, id: &str, body: Value) -> (u16, Value, String) {
    stack.merchant("POST", &format!("/v1/sessions/{id}/refunds"), Some(body), None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_payment_is_refunded_up_to_what_it_took() {
    let stack = Stack::start(Options::default()).await;
    let (id, secret) = stack.session(cake("held")).await;
    let (attempt, otn) = qr(&stack, &id, &secret, "800201").await;
    let (status, _) = stack.sim("POST", &format!("/sim/orders/{otn}/pay?txamt=3900"), None).await;
    assert_eq!(status, 200);
    let view = stack.wait_session(&id, PATIENCE, |v| v["attempts"][0]["status"] == "held").await;
    assert_eq!(view["status"], "open", "a held payment never pays the session: {view}");

    let (status, body, text) = refund(&stack, &id, json!({"amount": 3800})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("not_paid")), "{text}");
    let (status, body, text) = refund(&stack, &id, json!({"amount": 3901, "attempt_id": attempt})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("refund_exceeds_payment")), "{text}");
    let (status, body, text) =
        refund(&stack, &id, json!({"amount": 3900, "attempt_id": attempt, "reason": "took too much"})).await;
    assert_eq!(status, 201, "{text}");
    assert_eq!(
        (body["status"].as_str(), body["attempt_id"].as_str()),
        (Some("succeeded"), Some(attempt.as_str())),
        "{text}"
    );
    let (status, body, text) = refund(&stack, &id, json!({"amount": 1, "attempt_id": attempt})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("refund_exceeds_payment")), "{text}");
    let (status, body, text) = refund(&stack, &id, json!({"amount": 1, "attempt_id": "pa_nosuchpayment"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("attempt_id")), "{text}");
    // Another session's payment is not this session's to refund, even a paid one.
    let (other_id, other_secret) = stack.session(cake("other")).await;
    let (other_attempt, other_otn) = qr(&stack, &other_id, &other_secret, "800201").await;
    assert_eq!(stack.sim("POST", &format!("/sim/orders/{other_otn}/pay"), None).await.0, 200);
    stack.wait_session(&other_id, PATIENCE, |v| v["status"] == "paid").await;
    let (status, body, text) = refund(&stack, &id, json!({"amount": 1, "attempt_id": other_attempt})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("attempt_id")), "{text}");
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    let refunded: Vec<&Value> = orders["orders"].as_array().unwrap().iter().filter(|o| o["kind"] == "refund").collect();
    assert_eq!(refunded.len(), 1, "one refund at the gateway: {refunded:?}");
    assert_eq!(refunded[0]["txamt"], 3900, "{refunded:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_payment_is_refunded_by_name_when_automatic_refunds_are_off() {
    let options = Options { extra_settings: vec!["AUTO_REFUND_DOUBLE_PAYMENTS=false".into()], ..Options::default() };
    let stack = Stack::start(options).await;
    let (id, secret) = stack.session(cake("twice")).await;
    // Two Hong Kong codes, which QFPay cannot cancel: the shopper pays both.
    let (first, first_otn) = qr(&stack, &id, &secret, "805801").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (second, second_otn) = qr(&stack, &id, &secret, "801501").await;
    for otn in [&first_otn, &second_otn] {
        assert_eq!(stack.sim("POST", &format!("/sim/orders/{otn}/pay"), None).await.0, 200);
    }
    let view = stack
        .wait_session(&id, PATIENCE, |v| {
            v["attempts"].as_array().is_some_and(|a| a.iter().all(|a| a["status"] == "paid"))
        })
        .await;
    assert_eq!(view["refunds"], json!([]), "automatic refunds are off: {view}");
    let paid_by = view["paid_attempt_id"].as_str().expect("the session names the payment that paid it").to_owned();
    let other = if paid_by == first { second } else { first };

    let (status, body, text) = refund(&stack, &id, json!({"amount": 3800, "attempt_id": other})).await;
    assert_eq!((status, body["status"].as_str()), (201, Some("succeeded")), "{text}");
    let (status, body, text) = refund(&stack, &id, json!({"amount": 1, "attempt_id": other})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("refund_exceeds_payment")), "{text}");
    // The session's own payment is untouched: all of it is still refundable.
    let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_eq!((view["status"].as_str(), view["amount_refunded"].as_u64()), (Some("paid"), Some(0)), "{view}");
    let (status, body, text) = refund(&stack, &id, json!({"amount": 3800, "attempt_id": paid_by})).await;
    assert_eq!((status, body["status"].as_str()), (201, Some("succeeded")), "{text}");
    let (status, body, text) = refund(&stack, &id, json!({"amount": 1})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("refund_exceeds_payment")), "{text}");
}
