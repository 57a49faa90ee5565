//! Webhook delivery under a slow merchant server and a redirecting one: deliveries go out
//! several at a time (a receiver that takes 500 ms does not cap them at two a second), and a
//! redirect is never followed.

use std::time::Duration;

use e2e::receiver::{Mode, Receiver};
use e2e::{Options, Stack};
use serde_json::{json, Value};

const PATIENCE: Duration = Duration::from_secs(90);

/// A session paid at once by a till's charge (a CPM code the simulator takes): one
/// `checkout.session.paid` event.
async fn paid_session(stack: &Stack, reference: &str) -> String {
    let (id, _) =
        stack.session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": reference})).await;
    let body = json!({"auth_code": "134567890120000", "pay_type": "800208"});
    let (status, _, text) = stack.merchant("POST", &format!("/v1/sessions/{id}/charge"), Some(body), None).await;
    assert_eq!(status, 200, "{text}");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_gets_deliveries_side_by_side() {
    let receiver = Receiver::start().await;
    receiver.set_mode(Mode::Slow);
    let stack = Stack::start(Options { webhook_url: Some(receiver.url.clone()), ..Options::default() }).await;
    let mut ids = Vec::new();
    for i in 0..24 {
        ids.push(paid_session(&stack, &format!("slow-{i}")).await);
    }
    for id in &ids {
        let got = receiver.wait_for(PATIENCE, |r| r.kind == "checkout.session.paid" && &r.session == id).await;
        assert!(got.is_some(), "{id}: its paid event arrives");
    }
    assert!(receiver.most_in_flight() > 1, "deliveries overlap: at most {} at once", receiver.most_in_flight());
    assert!(receiver.most_in_flight() <= 10, "bounded: {} at once", receiver.most_in_flight());
    assert_eq!(receiver.bad_signatures(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_never_followed() {
    let receiver = Receiver::start().await;
    receiver.set_mode(Mode::Redirect);
    let stack = Stack::start(Options { webhook_url: Some(receiver.url.clone()), ..Options::default() }).await;
    let id = paid_session(&stack, "redirect").await;
    // The first try is answered 307: recorded as a failed try, and nothing goes where it points.
    let mut event: Value = Value::Null;
    for _ in 0..60 {
        let (_, feed, _) = stack.merchant("GET", "/v1/events", None, None).await;
        let first = feed["data"].as_array().into_iter().flatten().find(|e| e["data"]["session"]["id"] == id.as_str());
        if let Some(first) = first {
            let (_, detail, _) =
                stack.merchant("GET", &format!("/v1/events/{}", first["id"].as_str().unwrap()), None, None).await;
            if detail["tries"].as_array().is_some_and(|d| !d.is_empty()) {
                event = detail;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(event["tries"][0]["status"], 307, "the redirect is the try's answer: {event}");
    assert_eq!(event["delivery"], "pending", "not delivered by a redirect: {event}");
    assert_eq!(receiver.moved(), 0, "nothing followed the redirect");
    // Once the receiver answers, the retry delivers it.
    receiver.set_mode(Mode::Up);
    let got = receiver.wait_for(PATIENCE, |r| r.kind == "checkout.session.paid" && r.session == id).await;
    assert!(got.is_some(), "delivered on a retry");
    assert_eq!(receiver.moved(), 0);
}
