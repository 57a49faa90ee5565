//! The worker keeps its promises with nobody watching: under `wrangler dev`, with the settler's
//! Durable Object alarm, against the simulator and a webhook receiver that verifies every
//! delivery with the Standard Webhooks reference library. No browser polls in these tests:
//! everything the merchant learns comes from webhooks, the event feed and the merchant API.

use std::time::Duration;

use e2e::receiver::{Mode, Receiver};
use e2e::{Options, Stack};
use serde_json::{json, Value};

fn tea(reference: &str) -> Value {
    json!({"amount": 3800, "currency": "HKD", "goods_name": "Milk tea set", "reference": reference})
}

/// Creates a session and starts a WeChat Pay QR attempt on it, as the widget would; returns
/// (session id, out_trade_no).
async fn open_qr(stack: &Stack, body: Value) -> (String, String) {
    let (id, secret) = stack.session(body).await;
    let (status, answer, text) =
        stack.widget("POST", &format!("/v1/checkout/{id}/pay"), &secret, Some(json!({"pay_type": "800201"}))).await;
    assert_eq!(status, 201, "pay: {text}");
    assert!(answer["qrcode"].as_str().is_some(), "a QR code: {text}");
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    let out_trade_no = session["attempts"][0]["out_trade_no"].as_str().expect("an attempt").to_owned();
    (id, out_trade_no)
}

/// Pays an order at the simulator, as a shopper's wallet would; returns the HTTP status.
async fn shopper_pays(stack: &Stack, out_trade_no: &str) -> u16 {
    stack.sim("POST", &format!("/sim/orders/{out_trade_no}/pay"), None).await.0
}

async fn faults(stack: &Stack, faults: Value) {
    let (status, _) = stack.sim("POST", "/sim/faults", Some(faults)).await;
    assert_eq!(status, 200, "the simulator takes the faults");
}

fn order_state(orders: &Value, out_trade_no: &str) -> String {
    orders["orders"]
        .as_array()
        .and_then(|all| all.iter().find(|o| o["out_trade_no"].as_str() == Some(out_trade_no)))
        .and_then(|o| o["state"].as_str())
        .unwrap_or("missing")
        .to_owned()
}

const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_settles_and_tells_the_merchant_with_nobody_watching() {
    let receiver = Receiver::start().await;
    let stack = Stack::start(Options { webhook_url: Some(receiver.url.clone()), ..Options::default() }).await;

    // 1. A payment whose browser is gone and whose notifications are all dropped is settled
    //    by the settler's queries, and the merchant is told exactly once (after de-duplication).
    faults(&stack, json!({"notify_drop": 1.0})).await;
    let (paid_id, otn) = open_qr(&stack, tea("no-browser")).await;
    assert_eq!(shopper_pays(&stack, &otn).await, 200);
    let event = receiver
        .wait_for(PATIENCE, |r| r.kind == "checkout.session.paid" && r.session == paid_id)
        .await
        .expect("checkout.session.paid arrives with no browser and no notification");
    assert_eq!(event.body["data"]["session"]["status"], "paid", "the event carries the paid session");
    assert!(event.id.starts_with("evt_") && event.body["created"].as_u64().is_some());
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{paid_id}"), None, None).await;
    assert_eq!(session["status"], "paid");
    faults(&stack, json!({})).await;

    // 2. A close that fails leaves the session `closing` until the gateway confirms it.
    let (closing_id, closing_otn) = open_qr(&stack, tea("close-fails")).await;
    faults(&stack, json!({"5xx": 1.0})).await;
    let (status, closing, text) = stack.merchant("POST", &format!("/v1/sessions/{closing_id}/close"), None, None).await;
    assert_eq!((status, closing["status"].as_str()), (202, Some("closing")), "{text}");
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (_, still, _) = stack.merchant("GET", &format!("/v1/sessions/{closing_id}"), None, None).await;
    assert_eq!(still["status"], "closing", "not closed while the gateway has not confirmed it");
    faults(&stack, json!({})).await;
    let closed = stack.wait_session(&closing_id, PATIENCE, |s| s["status"] == "closed").await;
    assert_eq!(closed["status"], "closed", "closed once the gateway confirmed: {closed}");
    receiver
        .wait_for(PATIENCE, |r| r.kind == "checkout.session.closed" && r.session == closing_id)
        .await
        .expect("checkout.session.closed arrives");
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    assert_eq!(order_state(&orders, &closing_otn), "closed");

    // 3. An expired session's QR code is closed at the gateway by the settler and cannot be
    //    paid afterwards; the merchant hears checkout.session.expired.
    let mut short = tea("expires");
    short["expires_in_seconds"] = json!(12);
    let (expiring_id, expiring_otn) = open_qr(&stack, short).await;
    let expired = stack.wait_session(&expiring_id, PATIENCE, |s| s["status"] == "expired").await;
    assert_eq!(expired["status"], "expired", "{expired}");
    receiver
        .wait_for(PATIENCE, |r| r.kind == "checkout.session.expired" && r.session == expiring_id)
        .await
        .expect("checkout.session.expired arrives");
    assert_ne!(shopper_pays(&stack, &expiring_otn).await, 200, "the expired session's QR cannot be paid");
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    assert_eq!(order_state(&orders, &expiring_otn), "closed");

    // 4. A refund whose answer was lost (and whose notification too) settles: pending at
    //    first, then succeeded by the settler's query, with refund.succeeded.
    faults(&stack, json!({"answer_drop": 1.0, "notify_drop": 1.0})).await;
    let (status, refund, text) = stack
        .merchant("POST", &format!("/v1/sessions/{paid_id}/refunds"), Some(json!({"amount": 1000})), Some("r-1"))
        .await;
    assert_eq!((status, refund["status"].as_str()), (201, Some("pending")), "{text}");
    faults(&stack, json!({"notify_drop": 1.0})).await;
    let refund_id = refund["id"].as_str().expect("a refund id").to_owned();
    let settled = stack.wait_session(&paid_id, PATIENCE, |s| s["refunds"][0]["status"] == "succeeded").await;
    assert_eq!(settled["refunds"][0]["status"], "succeeded", "{settled}");
    assert_eq!(settled["amount_refunded"], 1000);
    let told = receiver
        .wait_for(PATIENCE, |r| r.kind == "refund.succeeded" && r.body["data"]["refund"]["id"] == refund_id.as_str())
        .await
        .expect("refund.succeeded arrives");
    assert_eq!(told.body["data"]["refund"]["amount"], 1000);

    //    A refund the gateway never received (every try answered 503 before it acted) is
    //    re-sent identically by the settler, and succeeds once.
    faults(&stack, json!({"5xx": 1.0, "notify_drop": 1.0})).await;
    let (status, unsent, text) = stack
        .merchant("POST", &format!("/v1/sessions/{paid_id}/refunds"), Some(json!({"amount": 500})), Some("r-2"))
        .await;
    assert_eq!((status, unsent["status"].as_str()), (201, Some("pending")), "{text}");
    faults(&stack, json!({"notify_drop": 1.0})).await;
    let resent = stack.wait_session(&paid_id, PATIENCE, |s| s["refunds"][1]["status"] == "succeeded").await;
    assert_eq!(resent["refunds"][1]["status"], "succeeded", "{resent}");
    assert_eq!(resent["amount_refunded"], 1500);
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    let refunds_at_gateway =
        orders["orders"].as_array().expect("orders").iter().filter(|o| o["kind"] == "refund").count();
    assert_eq!(refunds_at_gateway, 2, "each refund reached the gateway once: {orders}");
    faults(&stack, json!({})).await;

    // 5. A receiver that fails half its deliveries (the first try of each event), then is
    //    down for a stretch, still gets every event, each verified, in order per session.
    receiver.set_mode(Mode::FailFirstTry);
    let mut ids = Vec::new();
    for n in 0..3 {
        let (id, otn) = open_qr(&stack, tea(&format!("flaky-{n}"))).await;
        assert_eq!(shopper_pays(&stack, &otn).await, 200);
        ids.push(id);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    receiver.set_mode(Mode::Down);
    let (down_id, down_otn) = open_qr(&stack, tea("while-down")).await;
    assert_eq!(shopper_pays(&stack, &down_otn).await, 200);
    ids.push(down_id);
    tokio::time::sleep(Duration::from_secs(8)).await;
    receiver.set_mode(Mode::Up);
    for id in &ids {
        receiver
            .wait_for(Duration::from_secs(90), |r| r.kind == "checkout.session.paid" && &r.session == id)
            .await
            .unwrap_or_else(|| panic!("checkout.session.paid for {id} arrives despite the failures"));
    }
    assert_eq!(receiver.bad_signatures(), 0, "every delivery verified");
    assert!(receiver.requests() > receiver.accepted().len(), "some deliveries failed and were retried");

    // Exactly once per cause after de-duplication by id, and the feed lists the same events.
    let unique = receiver.unique();
    let paid_events = unique.values().filter(|r| r.kind == "checkout.session.paid" && r.session == paid_id).count();
    assert_eq!(paid_events, 1, "one checkout.session.paid for the first session");
    let (status, feed, text) = stack.merchant("GET", "/v1/events?limit=100", None, None).await;
    assert_eq!(status, 200, "{text}");
    let listed: Vec<&str> = feed["data"].as_array().expect("a list").iter().filter_map(|e| e["id"].as_str()).collect();
    for id in unique.keys() {
        assert!(listed.contains(&id.as_str()), "{id} is in the feed");
    }
    let (_, page, _) = stack.merchant("GET", &format!("/v1/events?after={}&limit=2", listed[0]), None, None).await;
    assert_eq!(page["data"][0]["id"].as_str(), listed.get(1).copied(), "after= continues the feed in order");
    let (status, err, _) = stack.merchant("GET", "/v1/events?limit=1000", None, None).await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("limit")));
    let (status, err, _) = stack.merchant("GET", "/v1/events?after=evt_nosuchevent", None, None).await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("after")));
    let (status, _, _) = stack.merchant("POST", "/v1/events/evt_nosuchevent/resend", None, None).await;
    assert_eq!(status, 404);
    let anonymous = stack.http.get(format!("{}/v1/events", stack.worker_url)).send().await.expect("an answer");
    assert_eq!(anonymous.status().as_u16(), 401, "the feed needs the merchant key");

    // Every try is recorded; a resend delivers the same event again.
    let flaky = unique.values().find(|r| r.session == ids[3]).expect("the event sent while down");
    let (_, detail, _) = stack.merchant("GET", &format!("/v1/events/{}", flaky.id), None, None).await;
    assert_eq!(detail["delivery"], "delivered");
    let tries = detail["tries"].as_array().expect("tries");
    assert!(tries.len() >= 2, "a failed try, then a good one: {detail}");
    assert_eq!(tries[0]["status"], 503);
    let before = receiver.accepted().iter().filter(|r| r.id == flaky.id).count();
    let (status, resent, text) = stack.merchant("POST", &format!("/v1/events/{}/resend", flaky.id), None, None).await;
    assert_eq!((status, resent["status"].as_u64()), (200, Some(204)), "{text}");
    assert_eq!(receiver.accepted().iter().filter(|r| r.id == flaky.id).count(), before + 1);
}
