//! Checkouts through a gateway that fails: HTTP 503s, transient respcd, dropped and repeated
//! notifications. Every shopper who paid ends paid exactly once, no order is paid twice at the
//! gateway, the worker causes no 429, and the worker's view matches the gateway's ledger.

use std::collections::HashMap;
use std::time::Duration;

use e2e::{Options, Stack};
use serde_json::{json, Value};

const CHECKOUTS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_survive_gateway_faults() {
    let faults = "5xx=0.2,transient=0.1,notify-drop=0.3,notify-repeat=0.3".to_owned();
    let stack = Stack::start(Options { faults, ..Options::default() }).await;
    let mut sessions = Vec::new();
    for i in 0..CHECKOUTS {
        let (id, secret) = stack
            .session(json!({"amount": 1200 + i, "currency": "HKD", "goods_name": "Tea", "reference": format!("f-{i}")}))
            .await;
        // A shopper retries when the worker says the gateway did not answer (503).
        let mut qrcode = None;
        for _ in 0..6 {
            let (status, answer, _) = stack
                .widget("POST", &format!("/v1/checkout/{id}/pay"), &secret, Some(json!({"pay_type": "800201"})))
                .await;
            match status {
                201 => {
                    qrcode = answer["qrcode"].as_str().map(str::to_owned);
                    break;
                }
                503 => tokio::time::sleep(Duration::from_millis(300)).await,
                other => panic!("pay answered {other}: {answer}"),
            }
        }
        let qrcode = qrcode.expect("a QR code within six tries");
        let paid = stack.http.post(format!("{qrcode}/pay")).header("Accept", "application/json").send().await.unwrap();
        assert_eq!(paid.status().as_u16(), 200);
        sessions.push((id, secret));
    }
    for (id, secret) in &sessions {
        let v = stack.wait_status(id, secret, Duration::from_secs(60), |v| v["status"] == "paid").await;
        assert_eq!(v["status"], "paid", "session {id} settled despite the faults: {v}");
    }
    // Reconcile the worker's sessions with the gateway's ledger.
    let (_, ledger) = stack.sim("GET", "/sim/orders", None).await;
    let orders = ledger["orders"].as_array().unwrap();
    let by_otn: HashMap<&str, &Value> = orders.iter().map(|o| (o["out_trade_no"].as_str().unwrap(), o)).collect();
    for (id, _) in &sessions {
        let (_, s, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
        let paid: Vec<&Value> = s["attempts"].as_array().unwrap().iter().filter(|a| a["status"] == "paid").collect();
        assert_eq!(paid.len(), 1, "one paid attempt for {id}: {s}");
        let order = by_otn[paid[0]["out_trade_no"].as_str().unwrap()];
        assert_eq!(
            (order["state"].as_str(), order["txamt"].as_u64()),
            (Some("paid"), s["amount"].as_u64()),
            "the gateway agrees for {id}"
        );
    }
    let paid_at_gateway = orders.iter().filter(|o| o["kind"] == "payment" && o["state"] == "paid").count();
    assert_eq!(paid_at_gateway, CHECKOUTS, "no order paid twice or lost");
    let (_, stats) = stack.sim("GET", "/sim/stats", None).await;
    assert_eq!(stats["rate_limited"], 0, "the worker caused no 429");
    let injected: u64 = stats["faults_injected"].as_object().unwrap().values().filter_map(Value::as_u64).sum();
    assert!(injected > 0, "faults were injected: {stats}");
}
