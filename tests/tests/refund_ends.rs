//! Every refund ends, even when the gateway never gives a final word. Three refunds of one paid
//! session: A and D stay in progress at the gateway for a month; B never reaches it (its refund
//! route is down for every send). With the worker's clock moved on (the gateway's is not):
//! - 2 days on, all are still `pending` (not given up early), and B is no longer sent;
//! - 4 days on, A and D are `unresolved` (their amounts kept reserved, `refund.unresolved`,
//!   counted by `GET /v1/health`) and B `failed` with `no_record` (its amount free again, B never
//!   sent); the merchant resolves D `failed` (`POST /v1/refunds/{id}/resolve`), freeing its amount;
//! - 5 days on, after the gateway finished A and its notification was lost, the daily question
//!   about A finds it and ends it `succeeded`;
//! - when the gateway finishes D after all and notifies it, D becomes `succeeded` and its amount
//!   counts again (`refund.succeeded` after `refund.failed`).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2e::{Options, Stack};
use serde_json::{json, Value};

const PATIENCE: Duration = Duration::from_secs(60);
const DAY: u64 = 86_400;

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

/// The merchant's word on a refund (`POST /v1/refunds/{id}/resolve`).
async fn resolve(stack: &Stack, refund: &str, status: &str) -> (u16, Value, String) {
    stack.merchant("POST", &format!("/v1/refunds/{refund}/resolve"), Some(json!({"status": status})), None).await
}

fn refund_in<'a>(view: &'a Value, id: &str) -> &'a Value {
    view["refunds"].as_array().and_then(|r| r.iter().find(|r| r["id"] == id)).unwrap_or(&Value::Null)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as u64
}

/// The refunds' rows in the worker's D1 (`id`, `next_try_at`, `last_sent_at`).
fn rows(stack: &Stack, ids: &[&str]) -> Vec<Value> {
    let list = ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    stack.d1(&format!("SELECT id, next_try_at, last_sent_at FROM refunds WHERE id IN ({list})"))
}

/// The number of refunds the gateway holds.
async fn refunds_at_gateway(stack: &Stack) -> usize {
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    orders["orders"].as_array().expect("orders").iter().filter(|o| o["kind"] == "refund").count()
}

async fn health_unresolved(stack: &Stack) -> Value {
    let (status, health, text) = stack.merchant("GET", "/v1/health", None, None).await;
    assert_eq!(status, 200, "{text}");
    health["refunds_unresolved"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_with_no_final_word_ends_after_its_days() {
    let mut stack = Stack::start(Options::default()).await;
    let (id, _) =
        stack.session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Cake", "reference": "ends"})).await;
    let body = json!({"auth_code": "134567890120000", "pay_type": "800208"});
    let (status, _, text) = stack.merchant("POST", &format!("/v1/sessions/{id}/charge"), Some(body), None).await;
    assert_eq!(status, 200, "{text}");

    faults(&stack, json!({"refund_pending": 30 * DAY})).await;
    let (status, in_progress, text) = refund(&stack, &id, 1000).await;
    assert_eq!((status, in_progress["status"].as_str()), (201, Some("pending")), "{text}");
    faults(&stack, json!({"refund_5xx": 1.0})).await;
    let (status, unsent, text) = refund(&stack, &id, 500).await;
    assert_eq!((status, unsent["status"].as_str()), (201, Some("pending")), "{text}");
    faults(&stack, json!({"refund_pending": 40 * DAY})).await;
    let (status, resolved_later, text) = refund(&stack, &id, 300).await;
    assert_eq!((status, resolved_later["status"].as_str()), (201, Some("pending")), "{text}");
    let (a, b) = (in_progress["id"].as_str().unwrap().to_owned(), unsent["id"].as_str().unwrap().to_owned());
    let d = resolved_later["id"].as_str().unwrap().to_owned();

    // 2 days on: each is asked about hourly now, neither is given up, and B is not sent again.
    let moved_at = now_ms();
    stack.reconfigure(&[&format!("CLOCK_OFFSET_SECONDS={}", 2 * DAY)]).await;
    let hourly_from = moved_at + 2 * DAY * 1000 + 30 * 60_000;
    let started = Instant::now();
    let mut seen = rows(&stack, &[&a, &b, &d]);
    while !seen.iter().all(|r| r["next_try_at"].as_u64() > Some(hourly_from)) && started.elapsed() < PATIENCE {
        tokio::time::sleep(Duration::from_secs(1)).await;
        seen = rows(&stack, &[&a, &b, &d]);
    }
    assert!(seen.iter().all(|r| r["next_try_at"].as_u64() > Some(hourly_from)), "asked about hourly: {seen:?}");
    let b_row = seen.iter().find(|r| r["id"] == b.as_str()).expect("B's row");
    assert!(b_row["last_sent_at"].as_u64() < Some(moved_at + DAY * 1000), "B not sent past its first day: {b_row}");
    let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_eq!(
        (refund_in(&view, &a)["status"].as_str(), refund_in(&view, &b)["status"].as_str()),
        (Some("pending"), Some("pending")),
        "{view}"
    );

    // 4 days on, with the refund route up again and the gateway's notifications lost: A is in
    // progress still, B has no record.
    faults(&stack, json!({"notify_drop": 1.0})).await;
    stack.reconfigure(&[&format!("CLOCK_OFFSET_SECONDS={}", 4 * DAY)]).await;
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
        "no record two days after its last send: failed: {ended}"
    );
    assert_eq!(refund_in(&ended, &d)["status"], "unresolved", "{ended}");
    assert_eq!(ended["amount_refunded"], 1300, "A and D stay reserved, B is free again: {ended}");
    assert_eq!(refund_events(&stack, &a).await, ["refund.unresolved"]);
    assert_eq!(refund_events(&stack, &b).await, ["refund.failed"]);
    assert_eq!(refunds_at_gateway(&stack).await, 2, "B never reached the gateway");
    assert_eq!(health_unresolved(&stack).await, 2, "a person is needed");

    // A person asked QFPay about D and was told (wrongly, as it turns out) that there is no such
    // refund. The merchant says so, once or twice; nothing else can be resolved, nor D the
    // other way.
    let (status, resolved, text) = resolve(&stack, &d, "failed").await;
    assert_eq!(
        (status, resolved["status"].as_str(), resolved["respcd"].as_str()),
        (200, Some("failed"), Some("resolved")),
        "{text}"
    );
    assert_eq!(resolve(&stack, &d, "failed").await.0, 200, "the same word again changes nothing");
    let (status, other_way, text) = resolve(&stack, &d, "succeeded").await;
    assert_eq!((status, other_way["error"]["code"].as_str()), (409, Some("refund_not_unresolved")), "{text}");
    let (status, failed_already, text) = resolve(&stack, &b, "succeeded").await;
    assert_eq!((status, failed_already["error"]["code"].as_str()), (409, Some("refund_not_unresolved")), "{text}");
    let (status, bad, text) = resolve(&stack, &a, "pending").await;
    assert_eq!((status, bad["error"]["field"].as_str()), (400, Some("status")), "the field and the rule: {text}");
    assert_eq!(refund_events(&stack, &d).await, ["refund.unresolved", "refund.failed"]);
    assert_eq!(health_unresolved(&stack).await, 1);
    let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_eq!(view["amount_refunded"], 1000, "D's amount is free again: {view}");

    // What is free can be refunded (the gateway still counts D: 2500 is what it takes); what
    // is reserved (A) cannot.
    let (status, over, text) = refund(&stack, &id, 2801).await;
    assert_eq!((status, over["error"]["code"].as_str()), (409, Some("refund_exceeds_payment")), "{text}");
    let (status, rest, text) = refund(&stack, &id, 2500).await;
    assert_eq!((status, rest["status"].as_str()), (201, Some("succeeded")), "{text}");

    // The gateway finishes A a month on, its notification lost; a day after A was given up,
    // the daily question finds it.
    let (status, _) = stack.sim("POST", "/sim/clock/advance", Some(json!({"seconds": 31 * DAY}))).await;
    assert_eq!(status, 200);
    stack.reconfigure(&[&format!("CLOCK_OFFSET_SECONDS={}", 5 * DAY + 3600)]).await;
    let done = stack.wait_session(&id, PATIENCE, |v| refund_in(v, &a)["status"] == "succeeded").await;
    assert_eq!(refund_in(&done, &a)["status"], "succeeded", "{done}");
    assert_eq!(done["amount_refunded"], 3500, "{done}");
    assert_eq!(refund_events(&stack, &a).await, ["refund.unresolved", "refund.succeeded"]);
    assert_eq!(health_unresolved(&stack).await, 0);

    // The gateway finishes D too, and says so: the person was wrong, the money went back, and
    // the merchant hears it; D's amount counts again.
    faults(&stack, json!({})).await;
    let (status, _) = stack.sim("POST", "/sim/clock/advance", Some(json!({"seconds": 10 * DAY}))).await;
    assert_eq!(status, 200);
    let after_all = stack.wait_session(&id, PATIENCE, |v| refund_in(v, &d)["status"] == "succeeded").await;
    assert_eq!(refund_in(&after_all, &d)["status"], "succeeded", "{after_all}");
    assert_eq!(after_all["amount_refunded"], 3800, "{after_all}");
    assert_eq!(refund_events(&stack, &d).await, ["refund.unresolved", "refund.failed", "refund.succeeded"]);
}
