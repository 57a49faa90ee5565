//! Every refund ends, even when the gateway never gives a final word: with the worker's clock
//! moved past a refund's days (`REFUND_GIVE_UP_AFTER_DAYS`), one still in progress at the
//! gateway becomes `unresolved` (its amount kept reserved, `refund.unresolved` sent) and one the
//! gateway has no record of (its refund route down for every send) `failed` with `no_record`
//! (its amount free again). A late notification of the unresolved one's success still ends it
//! `succeeded`.

use std::time::Duration;

use e2e::{Options, Stack};
use serde_json::{json, Value};

const PATIENCE: Duration = Duration::from_secs(60);

async fn faults(stack: &Stack, faults: Value) {
    let (status, body) = stack.sim("POST", "/sim/faults", Some(faults)).await;
    assert_eq!(status, 200, "{body}");
}

async fn refund(stack: &Stack, id: &str, amount: u64) -> (u16, Value, String) {
    stack.merchant("POST", &format!("/v1/sessions/{id}/refunds"), Some(json!({"amount": amount})), None).await
}

/// The feed's events about `refund_id`, by type, oldest first.
async fn refund_events(stack: &Stack, refund_id: &str) -> Vec<String> {
    let (status, feed, text) = stack.merchant("GET", "/v1/events?limit=100", None, None).await;
    assert_eq!(status, 200, "{text}");
    let events = feed["data"].as_array().cloned().unwrap_or_default();
    events
        .iter()
        .filter(|e| e["data"]["refund"]["id"] == refund_id)
        .filter_map(|e| e["type"].as_str().map(str::to_owned))
        .collect()
}

fn refund_in<'a>(view: &'a Value, id: &str) -> &'a Value {
    view["refunds"].as_array().and_then(|r| r.iter().find(|r| r["id"] == id)).unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_with_no_final_word_ends_after_its_days() {
    let mut stack = Stack::start(Options::default()).await;
    let (id, _) =
        stack.session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Cake", "reference": "ends"})).await;
    let body = json!({"auth_code": "134567890120000", "pay_type": "800208"});
    let (status, _, text) = stack.merchant("POST", &format!("/v1/sessions/{id}/charge"), Some(body), None).await;
    assert_eq!(status, 200, "{text}");

    // A: in progress at the gateway for a month. B: the refund route is down for every send.
    faults(&stack, json!({"refund_pending": 30 * 86_400})).await;
    let (status, in_progress, text) = refund(&stack, &id, 1000).await;
    assert_eq!((status, in_progress["status"].as_str()), (201, Some("pending")), "{text}");
    faults(&stack, json!({"refund_5xx": 1.0})).await;
    let (status, unsent, text) = refund(&stack, &id, 500).await;
    assert_eq!((status, unsent["status"].as_str()), (201, Some("pending")), "{text}");
    let (a, b) = (in_progress["id"].as_str().unwrap().to_owned(), unsent["id"].as_str().unwrap().to_owned());

    // Four days on, by the worker's clock only: the gateway still says "in progress" of A and
    // has no record of B.
    stack.reconfigure(&[&format!("CLOCK_OFFSET_SECONDS={}", 4 * 86_400)]).await;
    let ended = stack
        .wait_session(&id, PATIENCE, |v| {
            refund_in(v, &a)["status"] != "pending" && refund_in(v, &b)["status"] != "pending"
        })
        .await;
    assert_eq!(
        (refund_in(&ended, &a)["status"].as_str(), refund_in(&ended, &a)["respcd"].as_str()),
        (Some("unresolved"), Some("1145")),
        "no final word: unresolved, with the gateway's last code: {ended}"
    );
    assert_eq!(
        (refund_in(&ended, &b)["status"].as_str(), refund_in(&ended, &b)["respcd"].as_str()),
        (Some("failed"), Some("no_record")),
        "no record after its days: failed: {ended}"
    );
    assert_eq!(ended["amount_refunded"], 1000, "A stays reserved, B is free again: {ended}");
    assert_eq!(refund_events(&stack, &a).await, ["refund.unresolved"]);
    assert_eq!(refund_events(&stack, &b).await, ["refund.failed"]);
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    let refunds: Vec<&Value> = orders["orders"].as_array().unwrap().iter().filter(|o| o["kind"] == "refund").collect();
    assert_eq!(refunds.len(), 1, "B never reached the gateway: {refunds:?}");

    // What is free can be refunded; what is reserved cannot.
    faults(&stack, json!({})).await;
    let (status, rest, text) = refund(&stack, &id, 2800).await;
    assert_eq!((status, rest["status"].as_str()), (201, Some("succeeded")), "{text}");
    let (status, over, text) = refund(&stack, &id, 1).await;
    assert_eq!((status, over["error"]["code"].as_str()), (409, Some("refund_exceeds_payment")), "{text}");

    // The gateway finishes A a month on and says so: its word wins over our giving up.
    let (status, _) = stack.sim("POST", "/sim/clock/advance", Some(json!({"seconds": 31 * 86_400}))).await;
    assert_eq!(status, 200);
    let done = stack.wait_session(&id, PATIENCE, |v| refund_in(v, &a)["status"] == "succeeded").await;
    assert_eq!(refund_in(&done, &a)["status"], "succeeded", "{done}");
    assert_eq!(done["amount_refunded"], 3800, "{done}");
    assert_eq!(refund_events(&stack, &a).await, ["refund.unresolved", "refund.succeeded"]);
}
