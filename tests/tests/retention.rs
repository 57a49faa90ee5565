//! Storage stays bounded: with the worker's clock moved a month on, a session that never moved
//! money is forgotten with its events, while a paid one is kept; `GET /v1/health` shows it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::{Options, Stack};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_never_moved_money_is_forgotten_and_money_is_kept() {
    let mut stack = Stack::start(Options::default()).await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("a clock").as_secs() as i64;

    // One session expires unpaid; one is paid by a till's charge.
    let (idle, _) = stack
        .session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": "idle",
                        "expires_in_seconds": 10}))
        .await;
    let (paid, _) =
        stack.session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": "paid"})).await;
    let body = json!({"auth_code": "134567890120000", "pay_type": "800208"});
    let (status, _, text) = stack.merchant("POST", &format!("/v1/sessions/{paid}/charge"), Some(body), None).await;
    assert_eq!(status, 200, "{text}");
    let over = stack.wait_session(&idle, Duration::from_secs(60), |s| s["status"] == "expired").await;
    assert_eq!(over["status"], "expired", "{over}");
    let (status, before, text) = stack.merchant("GET", "/v1/health", None, None).await;
    assert_eq!(status, 200, "{text}");
    assert!(before["sessions"].as_u64() >= Some(2), "{before}");
    assert_eq!(before["retention_days_unpaid"], 30);

    // 31 days on (the worker's clock only: the gateway is not asked about either session).
    stack.reconfigure(&[&format!("CLOCK_OFFSET_SECONDS={}", 31 * 86_400)]).await;
    let mut forgotten = false;
    for _ in 0..60 {
        let (status, _, _) = stack.merchant("GET", &format!("/v1/sessions/{idle}"), None, None).await;
        if status == 404 {
            forgotten = true;
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert!(forgotten, "the unpaid session is forgotten after its 30 days");
    let (status, kept, text) = stack.merchant("GET", &format!("/v1/sessions/{paid}"), None, None).await;
    assert_eq!((status, kept["status"].as_str()), (200, Some("paid")), "money is kept: {text}");
    let events = stack.d1(&format!("SELECT COUNT(*) AS n FROM events WHERE session_id = '{idle}'"));
    assert_eq!(events[0]["n"], 0, "its events went with it");
    let paid_events = stack.d1(&format!("SELECT COUNT(*) AS n FROM events WHERE session_id = '{paid}'"));
    assert!(paid_events[0]["n"].as_u64() >= Some(1), "the paid session's events stay");
    let (_, after, _) = stack.merchant("GET", "/v1/health", None, None).await;
    assert!(after["sessions"].as_u64() < before["sessions"].as_u64(), "{before} -> {after}");
    // Unix seconds: the paid session's creation, this minute (not in milliseconds).
    let oldest = after["oldest"]["session"].as_u64();
    assert!(oldest.is_some_and(|t| (now - 60..=now + 60).contains(&(t as i64))), "{after}");
}
