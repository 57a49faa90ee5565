//! Notifications to a real HTTP receiver on loopback: format, signature, retry schedule
//! (driven by the simulated clock, so nothing here depends on the machine's speed), and where
//! they go: the one URL registered for the appcode, a payment's own `notify_url` only under
//! the `per_request_notify_url` switch, nowhere without either.
//!
//! The tests register the receiver as the merchant's URL (the `notify_url` switch), as QFPay
//! registers one per appcode; a payment's own `notify_url` is not what its documentation
//! describes, so it no longer routes notifications by default.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::*;
use qfpay::{PaymentRequest, RefundRequest};
use serde_json::json;

#[derive(Default)]
struct Inbox {
    received: Vec<(String, Vec<u8>)>,
    refuse_first: usize,
}

async fn receiver(inbox: Arc<Mutex<Inbox>>) -> String {
    async fn take(
        State(inbox): State<Arc<Mutex<Inbox>>>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> (StatusCode, &'static str) {
        let mut inbox = inbox.lock().unwrap();
        let sign = headers.get("x-qf-sign").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        inbox.received.push((sign, body.to_vec()));
        if inbox.received.len() <= inbox.refuse_first {
            (StatusCode::INTERNAL_SERVER_ERROR, "busy")
        } else {
            (StatusCode::OK, "SUCCESS")
        }
    }
    let app = Router::new().route("/notify", post(take)).with_state(inbox);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/notify")
}

async fn wait_for(inbox: &Arc<Mutex<Inbox>>, count: usize) -> bool {
    for _ in 0..200 {
        if inbox.lock().unwrap().received.len() >= count {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

#[tokio::test]
async fn payment_and_refund_notifications_are_signed_python_json() {
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let url = receiver(inbox.clone()).await;
    let app = demo_with(json!({"notify_url": url})).await;
    let creds = demo_credentials();
    let paid = call(&app, &creds, &mpm("N1")).await;
    control(&app, "POST", "/sim/orders/N1/pay", None).await;
    assert!(wait_for(&inbox, 1).await, "a payment notification arrives");
    let (sign, body) = inbox.lock().unwrap().received[0].clone();
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(text.starts_with("{\"notify_type\": \"payment\", \"status\": \"1\""), "{text}");
    assert!(text.contains("\"goods_name\": \"\\u6e2f\\u5f0f\\u5976\\u8336 x2\""), "non-ASCII as \\uXXXX: {text}");
    assert_eq!(sign, hex_digest(&[&body[..], b"DEMOKEY"].concat(), false), "MD5 of the body, then the key");
    let n = qfpay::Notification::parse(&body).unwrap();
    assert_eq!((n.out_trade_no.as_str(), n.txamt, n.syssn.as_str()), ("N1", 1500, paid["syssn"].as_str().unwrap()));
    assert!(n.is_success());

    let refund = RefundRequest {
        syssn: paid["syssn"].as_str().unwrap().into(),
        out_trade_no: "N1-R1".into(),
        txamt: 300,
        txdtm: TXDTM.into(),
        ..Default::default()
    };
    let r = call(&app, &creds, &refund).await;
    assert!(wait_for(&inbox, 2).await, "a refund notification arrives");
    let (sign, body) = inbox.lock().unwrap().received[1].clone();
    assert_eq!(sign, hex_digest(&[&body[..], b"DEMOKEY"].concat(), false), "MD5 of the body, then the key");
    let n = qfpay::Notification::parse(&body).unwrap();
    assert_eq!((n.notify_type.as_str(), n.syssn.as_str(), n.txamt), ("refund", r["syssn"].as_str().unwrap(), 300));
    assert_eq!(n.origssn.as_deref(), paid["syssn"].as_str());
    let (_, stats) = control(&app, "GET", "/sim/stats", None).await;
    assert_eq!(
        (stats["notifications_sent"].as_u64(), stats["notifications_acknowledged"].as_u64()),
        (Some(2), Some(2))
    );
}

#[tokio::test]
async fn unacknowledged_notifications_follow_the_retry_schedule() {
    let inbox = Arc::new(Mutex::new(Inbox { refuse_first: 2, ..Inbox::default() }));
    let url = receiver(inbox.clone()).await;
    let app = demo_with(json!({"notify_url": url})).await;
    call(&app, &demo_credentials(), &mpm("N2")).await;
    control(&app, "POST", "/sim/orders/N2/pay", None).await;
    assert!(wait_for(&inbox, 1).await);
    let advance = |s: u64| control(&app, "POST", "/sim/clock/advance", Some(json!({"seconds": s})));
    advance(115).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inbox.lock().unwrap().received.len(), 1, "no retry before 2 minutes");
    advance(10).await;
    assert!(wait_for(&inbox, 2).await, "the retry after 2 minutes");
    advance(590).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inbox.lock().unwrap().received.len(), 2, "no retry before 10 more minutes");
    advance(20).await;
    assert!(wait_for(&inbox, 3).await, "the retry after 10 minutes");
    advance(3600).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inbox.lock().unwrap().received.len(), 3, "acknowledged: no more attempts");
    let (_, orders) = control(&app, "GET", "/sim/orders", None).await;
    assert_eq!(orders["orders"][0]["notifications_sent"], 3);
    assert_eq!(orders["orders"][0]["notification_acknowledged"], true);
    assert_eq!(qfpay_sim::RETRY_SCHEDULE_SECONDS, [120, 600, 600, 3600, 7200, 21_600, 54_000]);
}

#[tokio::test]
async fn dropped_and_repeated_notifications() {
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let url = receiver(inbox.clone()).await;
    let app = demo_with(json!({"notify_url": url})).await;
    control(&app, "POST", "/sim/faults", Some(json!({"notify_repeat": 1.0}))).await;
    call(&app, &demo_credentials(), &mpm("N3")).await;
    control(&app, "POST", "/sim/orders/N3/pay", None).await;
    assert!(wait_for(&inbox, 2).await, "delivered twice");
    let received = inbox.lock().unwrap().received.clone();
    assert_eq!(received[0], received[1], "the same bytes and signature twice");

    control(&app, "POST", "/sim/faults", Some(json!({"notify_drop": 1.0}))).await;
    call(&app, &demo_credentials(), &mpm("N4")).await;
    control(&app, "POST", "/sim/orders/N4/pay", None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inbox.lock().unwrap().received.len(), 2, "dropped: nothing arrives");
    let (_, stats) = control(&app, "GET", "/sim/stats", None).await;
    assert_eq!(stats["notifications_dropped"], 1);
    assert_eq!(stats["faults_injected"]["notify_drop"], 1);
    control(&app, "POST", "/sim/faults", Some(json!({}))).await;
    control(&app, "POST", "/sim/clock/advance", Some(json!({"seconds": 121}))).await;
    assert!(wait_for(&inbox, 3).await, "the retry schedule goes on after a drop");
}

#[tokio::test]
async fn a_refund_in_progress_is_notified_when_it_succeeds() {
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let url = receiver(inbox.clone()).await;
    let app = demo_with(json!({"notify_url": url})).await;
    let creds = demo_credentials();
    let paid = call(&app, &creds, &mpm("N5")).await;
    control(&app, "POST", "/sim/orders/N5/pay", None).await;
    assert!(wait_for(&inbox, 1).await, "the payment's notification");
    control(&app, "POST", "/sim/faults", Some(json!({"refund_pending": 60}))).await;
    let refund = RefundRequest {
        syssn: paid["syssn"].as_str().unwrap().into(),
        out_trade_no: "N5-R".into(),
        txamt: 300,
        txdtm: TXDTM.into(),
        ..Default::default()
    };
    assert_eq!(call(&app, &creds, &refund).await["respcd"], "1145");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inbox.lock().unwrap().received.len(), 1, "no notification while the refund is in progress");
    control(&app, "POST", "/sim/clock/advance", Some(json!({"seconds": 61}))).await;
    assert!(wait_for(&inbox, 2).await, "notified once it succeeded");
    let (sign, body) = inbox.lock().unwrap().received[1].clone();
    assert_eq!(sign, hex_digest(&[&body[..], b"DEMOKEY"].concat(), false), "MD5 of the body, then the key");
    let n = qfpay::Notification::parse(&body).unwrap();
    assert_eq!((n.notify_type.as_str(), n.out_trade_no.as_str(), n.txamt), ("refund", "N5-R", 300));
}

#[tokio::test]
async fn notifications_go_to_the_registered_url_only() {
    let registered = Arc::new(Mutex::new(Inbox::default()));
    let own = Arc::new(Mutex::new(Inbox::default()));
    let (registered_url, own_url) = (receiver(registered.clone()).await, receiver(own.clone()).await);
    let mut config = config(vec![qfpay_sim::Merchant::demo()]);
    config.switches.notify_url = Some(registered_url.clone());
    let app = qfpay_sim::app(config);
    let creds = demo_credentials();
    call(&app, &creds, &PaymentRequest { notify_url: Some(own_url.clone()), ..mpm("U1") }).await;
    control(&app, "POST", "/sim/orders/U1/pay", None).await;
    assert!(wait_for(&registered, 1).await, "the registered URL is notified");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(own.lock().unwrap().received.len(), 0, "the payment's own notify_url is not");

    // Under the switch, the payment's own URL wins; one without its own goes to the registered one.
    let (_, switches) = control(&app, "POST", "/sim/switches", Some(json!({"per_request_notify_url": true}))).await;
    assert_eq!(switches["notify_url"], registered_url.as_str(), "the answer is every switch: {switches}");
    call(&app, &creds, &PaymentRequest { notify_url: Some(own_url), ..mpm("U2") }).await;
    control(&app, "POST", "/sim/orders/U2/pay", None).await;
    assert!(wait_for(&own, 1).await, "the payment's own URL under per_request_notify_url");
    call(&app, &creds, &mpm("U3")).await;
    control(&app, "POST", "/sim/orders/U3/pay", None).await;
    assert!(wait_for(&registered, 2).await, "no URL of its own: the registered one");
    assert_eq!(registered.lock().unwrap().received.len(), 2);
}

#[tokio::test]
async fn without_a_url_nothing_is_sent_and_the_stats_say_so() {
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let url = receiver(inbox.clone()).await;
    let app = demo();
    call(&app, &demo_credentials(), &PaymentRequest { notify_url: Some(url.clone()), ..mpm("W1") }).await;
    control(&app, "POST", "/sim/orders/W1/pay", None).await;
    let mut unaddressed = 0;
    for _ in 0..100 {
        let (_, stats) = control(&app, "GET", "/sim/stats", None).await;
        unaddressed = stats["notifications_unaddressed"].as_u64().unwrap();
        if unaddressed > 0 {
            assert_eq!(stats["notifications_sent"], 0, "{stats}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(unaddressed, 1, "counted as unaddressed");
    assert_eq!(inbox.lock().unwrap().received.len(), 0, "the payment's own URL is not used by default");

    // Registered at run time: the next payment is notified there.
    set_switches(&app, json!({"notify_url": url})).await;
    call(&app, &demo_credentials(), &mpm("W2")).await;
    control(&app, "POST", "/sim/orders/W2/pay", None).await;
    assert!(wait_for(&inbox, 1).await);
    let n = qfpay::Notification::parse(&inbox.lock().unwrap().received[0].1).unwrap();
    assert_eq!(n.out_trade_no, "W2");
}
