//! The worker against the gateway as QFPay's own documentation describes it (the simulator's
//! defaults): Hong Kong orders that nothing can end early, a payment found across a month's
//! boundary, WeChat Pay H5 with its `extend_info`, a `1265` outside the nightly window, and a
//! notification for an order this worker never made.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::{Options, Stack};
use qfpay::{Txdtm, HONG_KONG_OFFSET_SECONDS};
use serde_json::{json, Value};

const PATIENCE: Duration = Duration::from_secs(90);

fn tea(reference: &str, pay_types: &[&str]) -> Value {
    json!({"amount": 3800, "currency": "HKD", "goods_name": "Milk tea set", "reference": reference,
           "pay_types": pay_types})
}

/// Starts an attempt of `pay_type` on a new session, as the widget would; returns (session id,
/// out_trade_no, the pay answer).
async fn attempt(stack: &Stack, body: Value, pay_type: &str) -> (String, String, Value) {
    let (id, secret) = stack.session(body).await;
    let (status, answer, text) =
        stack.widget("POST", &format!("/v1/checkout/{id}/pay"), &secret, Some(json!({"pay_type": pay_type}))).await;
    assert_eq!(status, 201, "pay {pay_type}: {text}");
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    let otn = session["attempts"][0]["out_trade_no"].as_str().expect("an attempt").to_owned();
    (id, otn, answer)
}

/// Gateway calls to `path` so far, from the simulator's own count.
async fn calls(stack: &Stack, path: &str) -> u64 {
    let (_, stats) = stack.sim("GET", "/sim/stats", None).await;
    stats["calls_by_path"][path].as_u64().unwrap_or(0)
}

async fn switches(stack: &Stack, body: Value) {
    let (status, answer) = stack.sim("POST", "/sim/switches", Some(body)).await;
    assert_eq!(status, 200, "the simulator takes the switches: {answer}");
}

async fn faults(stack: &Stack, body: Value) {
    assert_eq!(stack.sim("POST", "/sim/faults", Some(body)).await.0, 200, "the simulator takes the faults");
}

async fn event_types(stack: &Stack, session: &str) -> Vec<String> {
    let (_, feed, _) = stack.merchant("GET", "/v1/events?limit=100", None, None).await;
    feed["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["data"]["session"]["id"] == session)
        .filter_map(|e| e["type"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_gateway_under_its_defaults() {
    let stack = Stack::start(Options::default()).await;

    // 1. AlipayHK WAP (801512) cannot be cancelled: the expired session is followed to the
    //    order's own expiry with no close or reversal call, then ends `expired`.
    let mut short = tea("hk-expiry", &["801512"]);
    short["expires_in_seconds"] = json!(12);
    let (hk_id, hk_otn, answer) = attempt(&stack, short, "801512").await;
    assert!(answer["redirect_url"].as_str().is_some(), "a wallet page: {answer}");
    let closing = stack.wait_session(&hk_id, PATIENCE, |s| s["status"] == "closing").await;
    assert_eq!(closing["status"], "closing", "over, and its order still open at the gateway: {closing}");
    // The order's 5 minutes pass at the gateway.
    stack.sim("POST", "/sim/clock/advance", Some(json!({"seconds": 360}))).await;
    let expired = stack.wait_session(&hk_id, PATIENCE, |s| s["status"] == "expired").await;
    assert_eq!(expired["status"], "expired", "{expired}");
    assert_eq!(expired["attempts"][0]["status"], "expired", "{expired}");
    assert_eq!(calls(&stack, "/trade/v1/close").await + calls(&stack, "/trade/v1/reversal").await, 0);
    assert!(event_types(&stack, &hk_id).await.contains(&"checkout.session.expired".to_owned()));
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    let order = orders["orders"].as_array().into_iter().flatten().find(|o| o["out_trade_no"] == hk_otn.as_str());
    assert!(order.is_some_and(|o| o["state"] != "paid"), "never paid: {order:?}");

    // 2. WeChat Pay H5 (800212) is taken with its extend_info, and paid.
    let (h5_id, h5_otn, answer) = attempt(&stack, tea("h5", &["800212"]), "800212").await;
    assert!(answer["redirect_url"].as_str().is_some(), "the H5 page: {answer}");
    assert_eq!(stack.sim("POST", &format!("/sim/orders/{h5_otn}/pay"), None).await.0, 200);
    let paid = stack.wait_session(&h5_id, PATIENCE, |s| s["status"] == "paid").await;
    assert_eq!(paid["status"], "paid", "{paid}");

    // 3. A refund refused 1265 outside 23:30-00:30 (a special promotion) is final: failed,
    //    sent once, never again.
    switches(&stack, json!({"refund_promotion": true, "refund_blackout": false})).await;
    let refunds_before = calls(&stack, "/trade/v1/refund").await;
    let (status, refund, text) =
        stack.merchant("POST", &format!("/v1/sessions/{h5_id}/refunds"), Some(json!({"amount": 500})), None).await;
    assert_eq!((status, refund["status"].as_str()), (402, Some("failed")), "{text}");
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(calls(&stack, "/trade/v1/refund").await, refunds_before + 1, "a final 1265 is not sent again");
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{h5_id}"), None, None).await;
    assert_eq!(session["refunds"][0]["status"], "failed", "{session}");
    assert!(event_types(&stack, &h5_id).await.contains(&"refund.failed".to_owned()));

    // 4. A notification for an order this worker never made (a till sharing the appcode) is
    //    acknowledged at once, and stored.
    let body = br#"{"notify_type": "payment", "status": "1", "syssn": "20261205990001", "out_trade_no": "TILL-ELSEWHERE-1", "pay_type": "800208", "txamt": "1200", "txcurrcd": "HKD", "respcd": "0000"}"#;
    let signature = qfpay::sign::sign_notification(body, &qfpay::ClientKey::new(e2e::CLIENT_KEY));
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/qfpay/notify", stack.worker_url))
        .header("Content-Type", "application/json")
        .header("X-QF-SIGN", signature)
        .body(body.to_vec())
        .send()
        .await
        .expect("the worker answers");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap_or_default(), "SUCCESS", "acknowledged, so QFPay stops retrying");
    let (status, listed, text) = stack.merchant("GET", "/v1/notifications", None, None).await;
    assert_eq!(status, 200, "{text}");
    let ours: Vec<&Value> = listed["data"].as_array().into_iter().flatten().collect();
    assert_eq!(ours.len(), 1, "only the stranger's notification is listed, not the worker's own: {listed}");
    assert_eq!(
        (ours[0]["syssn"].as_str(), ours[0]["out_trade_no"].as_str()),
        (Some("20261205990001"), Some("TILL-ELSEWHERE-1"))
    );
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let received = ours[0]["received_at"].as_u64().expect("received_at");
    assert!(received.abs_diff(now) < 300, "received_at is Unix seconds, this minute: {received}");
}

/// Unix seconds of the last second of the current Hong Kong month.
fn month_end_unix(now: i64) -> i64 {
    let (_, end) = Txdtm::from_unix(now, HONG_KONG_OFFSET_SECONDS).month_window();
    end.to_unix(HONG_KONG_OFFSET_SECONDS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_made_just_before_a_month_ends_is_found_after_it() {
    // The worker's clock and the gateway's both stand two minutes before the month's end.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("a clock").as_secs() as i64;
    let start = month_end_unix(now) - 120;
    let options = Options {
        sim_start_unix: Some(start),
        extra_settings: vec![format!("CLOCK_OFFSET_SECONDS={}", start - now)],
        ..Options::default()
    };
    let mut stack = Stack::start(options).await;
    let (id, otn, _) = attempt(&stack, tea("month-end", &["800201"]), "800201").await;
    // The notification is lost and the gateway stops answering queries; the shopper pays.
    faults(&stack, json!({"notify_drop": 1.0, "5xx": 1.0})).await;
    assert_eq!(stack.sim("POST", &format!("/sim/orders/{otn}/pay"), None).await.0, 200);
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    let order = orders["orders"].as_array().into_iter().flatten().find(|o| o["out_trade_no"] == otn.as_str()).cloned();
    let made = order.as_ref().and_then(|o| o["created_at"].as_i64()).expect("the order's time");
    assert!(made <= month_end_unix(now), "made before the month ended: {made} vs {}", month_end_unix(now));
    // Both clocks cross into the next month; the gateway answers again.
    stack.sim("POST", "/sim/clock/advance", Some(json!({"seconds": 300}))).await;
    let moved = start - now + 300;
    stack.reconfigure(&[&format!("CLOCK_OFFSET_SECONDS={moved}")]).await;
    faults(&stack, json!({})).await;
    // A query without a window would search the new month only and never find it.
    let paid = stack.wait_session(&id, PATIENCE, |s| s["status"] == "paid").await;
    assert_eq!(paid["status"], "paid", "found in its own month: {paid}");
}
