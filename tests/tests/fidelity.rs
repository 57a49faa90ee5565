//! Faithful to the guide where money is at stake, under `wrangler dev` against the simulator:
//! a payment reported for another amount is held, never paid; pending codes are never a
//! refusal; a till charges a scanned wallet code (with QFPay's universal CPM type when it names
//! none) and an unconfirmed charge is reversed; a test
//! environment's payments are refunded at once; an answer whose signature does not verify is
//! no answer.

use std::time::Duration;

use e2e::receiver::Receiver;
use e2e::{Options, Stack, CLIENT_KEY};
use serde_json::{json, Value};

fn tea(reference: &str) -> Value {
    json!({"amount": 3800, "currency": "HKD", "goods_name": "Milk tea set", "reference": reference})
}

async fn faults(stack: &Stack, faults: Value) {
    let (status, _) = stack.sim("POST", "/sim/faults", Some(faults)).await;
    assert_eq!(status, 200, "the simulator takes the faults");
}

fn order<'a>(orders: &'a Value, out_trade_no: &str) -> Option<&'a Value> {
    orders["orders"].as_array()?.iter().find(|o| o["out_trade_no"].as_str() == Some(out_trade_no))
}

async fn charge(stack: &Stack, id: &str, auth_code: &str) -> (u16, Value, String) {
    let body = json!({"auth_code": auth_code, "pay_type": "800208"});
    stack.merchant("POST", &format!("/v1/sessions/{id}/charge"), Some(body), None).await
}

/// A notification of `txamt` for `out_trade_no`, signed as the gateway signs it.
async fn notify(stack: &Stack, out_trade_no: &str, txamt: u64) -> u16 {
    let body = format!(
        r#"{{"notify_type": "payment", "status": "1", "syssn": "99990000000777", "out_trade_no": "{out_trade_no}", "txamt": "{txamt}", "txcurrcd": "HKD", "respcd": "0000"}}"#
    );
    let sig = qfpay::sign::sign_notification(body.as_bytes(), &qfpay::ClientKey::new(CLIENT_KEY));
    let url = format!("{}/v1/qfpay/notify", stack.worker_url);
    stack.http.post(url).header("X-QF-SIGN", sig).body(body).send().await.expect("an answer").status().as_u16()
}

const PATIENCE: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_rules_hold_where_the_guide_says() {
    let receiver = Receiver::start().await;
    let stack = Stack::start(Options { webhook_url: Some(receiver.url.clone()), ..Options::default() }).await;

    // A payment reported for another amount is held, never paid, and the merchant is told.
    let (id, secret) = stack.session(tea("wrong-amount")).await;
    let (status, _, text) =
        stack.widget("POST", &format!("/v1/checkout/{id}/pay"), &secret, Some(json!({"pay_type": "800201"}))).await;
    assert_eq!(status, 201, "{text}");
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    let otn = session["attempts"][0]["out_trade_no"].as_str().expect("an attempt").to_owned();
    assert_eq!(notify(&stack, &otn, 3801).await, 200, "acknowledged, so the gateway stops retrying");
    let (_, held, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_eq!(
        (held["status"].as_str(), held["attempts"][0]["status"].as_str()),
        (Some("open"), Some("held")),
        "{held}"
    );
    receiver.wait_for(PATIENCE, |r| r.kind == "payment.held" && r.session == id).await.expect("payment.held arrives");
    assert_eq!(notify(&stack, &otn, 3800).await, 200);
    let (_, still, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_eq!(still["attempts"][0]["status"], "held", "held is final: later news does not pay it");

    // The till: a code that pays at once, one the wallet refuses, one the shopper confirms.
    let (paid_id, _) = stack.session(tea("till-1")).await;
    let (status, paid, text) = charge(&stack, &paid_id, "134567890120000").await;
    assert_eq!((status, paid["status"].as_str()), (200, Some("paid")), "{text}");
    let (refused_id, _) = stack.session(tea("till-2")).await;
    let (status, refused, text) = charge(&stack, &refused_id, "134567890121202").await;
    assert_eq!((status, refused["error"]["code"].as_str()), (402, Some("payment_refused")), "{text}");
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{refused_id}"), None, None).await;
    assert_eq!(session["attempts"][0]["status"], "failed");
    let (open_id_for_checks, _) = stack.session(tea("till-checks")).await;
    let (confirm_id, _) = stack.session(tea("till-3")).await;
    let (status, confirmed, text) = charge(&stack, &confirm_id, "134567890121145").await;
    assert_eq!((status, confirmed["status"].as_str()), (200, Some("paid")), "1145 waited out by query: {text}");
    let (status, err, _) = stack
        .merchant(
            "POST",
            &format!("/v1/sessions/{open_id_for_checks}/charge"),
            Some(json!({"auth_code": "x y", "pay_type": "800208"})),
            None,
        )
        .await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("auth_code")));
    // A refund the gateway leaves in progress (1145) stays pending and is queried until final.
    faults(&stack, json!({"refund_pending": 6, "notify_drop": 1.0})).await;
    let (status, refund, text) = stack
        .merchant(
            "POST",
            &format!("/v1/sessions/{paid_id}/refunds"),
            Some(json!({"amount": 500})),
            Some("in-progress-1"),
        )
        .await;
    assert_eq!(
        (status, refund["status"].as_str(), refund["respcd"].as_str()),
        (201, Some("pending"), Some("1145")),
        "{text}"
    );
    let settled = stack.wait_session(&paid_id, PATIENCE, |s| s["refunds"][0]["status"] == "succeeded").await;
    assert_eq!(settled["refunds"][0]["status"], "succeeded", "queried until final: {settled}");
    faults(&stack, json!({})).await;

    let (open_id, _) = stack.session(tea("till-4")).await;
    let (status, err, _) = stack
        .merchant(
            "POST",
            &format!("/v1/sessions/{open_id}/charge"),
            Some(json!({"auth_code": "1234", "pay_type": "800201"})),
            None,
        )
        .await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("pay_type")), "a QR pay type is not CPM");

    // No pay type: QFPay's universal CPM type reads the scanned code.
    let (universal_id, _) = stack.session(tea("till-universal")).await;
    let charge_body = json!({"auth_code": "134567890120000"});
    let (status, paid, text) =
        stack.merchant("POST", &format!("/v1/sessions/{universal_id}/charge"), Some(charge_body), None).await;
    assert_eq!(
        (status, paid["status"].as_str(), paid["attempts"][0]["pay_type"].as_str()),
        (200, Some("paid"), Some("800008")),
        "{text}"
    );

    // A charge whose answer was lost but which went through is found by the settler's query
    // before any reversal: it is paid, never reversed blind.
    let mut short = tea("till-lost-answer");
    short["expires_in_seconds"] = json!(15);
    let (lost_id, _) = stack.session(short).await;
    faults(&stack, json!({"answer_drop": 1.0, "notify_drop": 1.0})).await;
    let (status, pending, text) = charge(&stack, &lost_id, "134567890129999").await;
    assert_eq!(status, 202, "unconfirmed after the wait: {text}");
    faults(&stack, json!({"notify_drop": 1.0})).await;
    let otn = pending["attempts"][0]["out_trade_no"].as_str().expect("an attempt").to_owned();
    let found = stack.wait_session(&lost_id, PATIENCE, |s| s["status"] == "paid").await;
    assert_eq!(found["status"], "paid", "queried before reversing: {found}");
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    assert_eq!(order(&orders, &otn).and_then(|o| o["state"].as_str()), Some("paid"), "not reversed: {orders}");
    faults(&stack, json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_environment_payments_are_refunded_at_once() {
    let options = Options { extra_settings: vec!["AUTO_REFUND_TEST_PAYMENTS=true".into()], ..Options::default() };
    let stack = Stack::start(options).await;
    let (id, _) = stack.session(tea("test-env")).await;
    let (status, _, text) = charge(&stack, &id, "134567890120000").await;
    assert_eq!(status, 200, "{text}");
    let refunded = stack.wait_session(&id, PATIENCE, |s| s["refunds"][0]["status"] == "succeeded").await;
    assert_eq!(refunded["status"], "paid");
    assert_eq!(refunded["amount_refunded"], 3800, "{refunded}");
    assert!(refunded["refunds"][0]["reason"].as_str().is_some_and(|r| r.contains("test environment")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_are_not_the_gateways_word_are_settled_by_query() {
    // The worker enforces the reading the simulator signs with (`log`, the default, only logs).
    let options = Options { extra_settings: vec!["QFPAY_ANSWER_SIGNATURE=sorted-data".into()], ..Options::default() };
    let stack = Stack::start(options).await;

    // An answer whose X-QF-SIGN does not verify is no answer: the attempt is not failed, the
    // widget hears "unavailable", and nothing is taken from the answer.
    faults(&stack, json!({"bad_answer_signature": 1.0})).await;
    let (id, secret) = stack.session(tea("bad-signature")).await;
    let (status, err, text) =
        stack.widget("POST", &format!("/v1/checkout/{id}/pay"), &secret, Some(json!({"pay_type": "800201"}))).await;
    assert_eq!((status, err["error"]["code"].as_str()), (503, Some("gateway_unavailable")), "{text}");
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_eq!(session["attempts"][0]["status"], "creating", "never failed on an unverified answer: {session}");
    assert!(session["attempts"][0]["qrcode"].is_null(), "nothing taken from it");
    assert!(stack.worker_log().contains("bad X-QF-SIGN"), "logged");
    assert!(!stack.worker_log().contains(CLIENT_KEY), "without the key");

    // A retry answered "order exists" (1102, 2011) instead of the first answer is settled by
    // query, never taken as a refusal.
    faults(&stack, json!({"answer_drop_first": true, "duplicate_exists": true})).await;
    let (id, _) = stack.session(tea("exists")).await;
    let (status, answer, text) = charge(&stack, &id, "134567890120000").await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("paid")),
        "the first answer was lost, the retry said 1102: {text}"
    );
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    let otn = answer["attempts"][0]["out_trade_no"].as_str().expect("an attempt");
    let payments = orders["orders"].as_array().expect("orders").iter().filter(|o| o["out_trade_no"] == otn).count();
    assert_eq!(payments, 1, "one order at the gateway");
    let (status, refund, text) = stack
        .merchant("POST", &format!("/v1/sessions/{id}/refunds"), Some(json!({"amount": 100})), Some("exists-r1"))
        .await;
    assert_eq!(status, 201, "{text}");
    assert_ne!(refund["status"], "failed", "2011 on the retry is not a refusal: {text}");
    let settled = stack.wait_session(&id, PATIENCE, |s| s["refunds"][0]["status"] == "succeeded").await;
    assert_eq!(settled["refunds"][0]["status"], "succeeded", "{settled}");
    faults(&stack, json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_refused_in_the_blackout_is_sent_again_after_it() {
    // The simulator's clock and the worker's start at 23:45 Hong Kong time, inside 23:30-00:30.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs() as i64;
    let hk_midnight = (now + 8 * 3600) / 86_400 * 86_400 - 8 * 3600;
    let start = hk_midnight + 23 * 3600 + 45 * 60;
    // The worker reads the window on its own clock: it stands where the gateway's does.
    let options = Options {
        sim_refund_blackout: true,
        sim_start_unix: Some(start),
        extra_settings: vec![format!("CLOCK_OFFSET_SECONDS={}", start - now)],
        ..Options::default()
    };
    let mut stack = Stack::start(options).await;
    let (id, _) = stack.session(tea("blackout")).await;
    let (status, _, text) = charge(&stack, &id, "134567890120000").await;
    assert_eq!(status, 200, "{text}");
    let (status, refund, text) = stack
        .merchant("POST", &format!("/v1/sessions/{id}/refunds"), Some(json!({"amount": 3800})), Some("bk-1"))
        .await;
    assert_eq!(
        (status, refund["status"].as_str(), refund["respcd"].as_str()),
        (201, Some("pending"), Some("1265")),
        "{text}"
    );
    // The window ends on both clocks; the worker sends it again after it, under a new number:
    // the simulator answers a refused request's number with its first answer (1265) for ever,
    // so only a new number can succeed.
    let (status, _) = stack.sim("POST", "/sim/clock/advance", Some(json!({"seconds": 3600}))).await;
    assert_eq!(status, 200);
    stack.reconfigure(&[&format!("CLOCK_OFFSET_SECONDS={}", start - now + 3600)]).await;
    let settled = stack.wait_session(&id, Duration::from_secs(100), |s| s["refunds"][0]["status"] == "succeeded").await;
    assert_eq!(settled["refunds"][0]["status"], "succeeded", "sent again after the blackout: {settled}");
    assert_eq!(settled["amount_refunded"], 3800);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_still_unconfirmed_at_its_end_is_reversed() {
    // The simulator's clock runs at a tenth: a shopper "confirming" for 10 simulated seconds
    // takes 100 s, past the session's end.
    let stack = Stack::start(Options { time_scale: 0.1, ..Options::default() }).await;
    let mut short = tea("till-abandoned");
    short["expires_in_seconds"] = json!(25);
    let (id, _) = stack.session(short).await;
    let (status, pending, text) = charge(&stack, &id, "134567890121145").await;
    assert_eq!(status, 202, "still confirming after the wait: {text}");
    let otn = pending["attempts"][0]["out_trade_no"].as_str().expect("an attempt").to_owned();
    let over = stack.wait_session(&id, PATIENCE, |s| s["status"] == "expired").await;
    assert_eq!(over["status"], "expired", "{over}");
    assert_eq!(over["attempts"][0]["status"], "reversed", "{over}");
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    assert_eq!(order(&orders, &otn).and_then(|o| o["state"].as_str()), Some("reversed"), "{orders}");
}
