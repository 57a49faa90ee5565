//! `cargo xtask chaos [--quick]`: a bounded fault run that reconciles. The simulator injects
//! 503s, transient codes, latency spikes, dropped, repeated and reordered notifications, with
//! its rate limits on; shoppers pay, decline, abandon, get refunds and pay twice, concurrently;
//! `wrangler dev` is restarted in the middle; then the worker's records are checked against the
//! gateway's ledger. Loopback only, bounded in count and time. Writes `target/chaos/report.json`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::{root, Options, Stack};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

const FAULTS: &str =
    "5xx=0.1,transient=0.05,notify-drop=0.2,notify-repeat=0.2,notify-reorder=0.1,spike=0.02,spike-latency=800ms";

#[derive(Default)]
struct Tally {
    created: Vec<String>,
    acknowledged_refunds: Vec<(String, String)>,
    paid_at_wallet: HashMap<String, Instant>,
    settle_seconds: Vec<f64>,
}

async fn post(http: &reqwest::Client, url: &str, auth: &str, body: Value, key: Option<&str>) -> Option<(u16, Value)> {
    let mut req = http.post(url).bearer_auth(auth).json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.json().await.unwrap_or(Value::Null)))
}

/// Retries a call the way a careful client does (same Idempotency-Key) until it is answered.
async fn retry_post(
    http: &reqwest::Client,
    url: &str,
    auth: &str,
    body: Value,
    key: Option<&str>,
) -> Option<(u16, Value)> {
    for _ in 0..20 {
        match post(http, url, auth, body.clone(), key).await {
            Some((status, v)) if status < 500 => return Some((status, v)),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    None
}

async fn wallet(http: &reqwest::Client, qrcode: &str, action: &str) -> bool {
    http.post(format!("{qrcode}/{action}"))
        .header("Accept", "application/json")
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

async fn pay_attempt(http: &reqwest::Client, w: &str, id: &str, secret: &str, pay_type: &str) -> Option<String> {
    let (status, v) =
        retry_post(http, &format!("{w}/v1/checkout/{id}/pay"), secret, json!({"pay_type": pay_type}), None).await?;
    (status == 201).then(|| v["qrcode"].as_str().map(str::to_owned)).flatten()
}

async fn wait_paid(http: &reqwest::Client, w: &str, id: &str, secret: &str, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(r) = http.get(format!("{w}/v1/checkout/{id}/status")).bearer_auth(secret).send().await {
            if r.json::<Value>().await.is_ok_and(|v| v["status"] == "paid") {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    false
}

/// One shopper; `kind` picks the story.
async fn shopper(i: usize, w: String, tally: Arc<Mutex<Tally>>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("client");
    let body =
        json!({"amount": 2000 + i as u64, "currency": "HKD", "goods_name": "Tea", "reference": format!("chaos-{i}")});
    let key = format!("chaos-session-{i}");
    let Some((201, s)) = retry_post(&http, &format!("{w}/v1/sessions"), e2e::MERCHANT_API_KEY, body, Some(&key)).await
    else {
        return;
    };
    let (id, secret) =
        (s["id"].as_str().unwrap_or_default().to_owned(), s["client_secret"].as_str().unwrap_or_default().to_owned());
    tally.lock().unwrap().created.push(id.clone());
    let Some(qr) = pay_attempt(&http, &w, &id, &secret, "800201").await else { return };
    match i % 5 {
        0 | 3 => {
            if wallet(&http, &qr, "pay").await {
                let paid_at = Instant::now();
                tally.lock().unwrap().paid_at_wallet.insert(id.clone(), paid_at);
                if wait_paid(&http, &w, &id, &secret, Duration::from_secs(120)).await {
                    tally.lock().unwrap().settle_seconds.push(paid_at.elapsed().as_secs_f64());
                }
                if i % 5 == 3 {
                    for (n, amount) in [(1, 700u64), (2, 2000 + i as u64 - 700)] {
                        let rkey = format!("chaos-refund-{i}-{n}");
                        let url = format!("{w}/v1/sessions/{id}/refunds");
                        if let Some((201, r)) =
                            retry_post(&http, &url, e2e::MERCHANT_API_KEY, json!({"amount": amount}), Some(&rkey)).await
                        {
                            tally
                                .lock()
                                .unwrap()
                                .acknowledged_refunds
                                .push((id.clone(), r["id"].as_str().unwrap_or_default().to_owned()));
                        }
                    }
                }
            }
        }
        1 => {
            wallet(&http, &qr, "decline").await;
        }
        2 => {} // abandons the QR: it expires at the gateway
        _ => {
            // Scans two QR codes: a second attempt, then tries to pay both.
            if let Some(qr2) = pay_attempt(&http, &w, &id, &secret, "805801").await {
                let first = wallet(&http, &qr, "pay").await;
                let second = wallet(&http, &qr2, "pay").await;
                if first || second {
                    tally.lock().unwrap().paid_at_wallet.insert(id.clone(), Instant::now());
                    wait_paid(&http, &w, &id, &secret, Duration::from_secs(120)).await;
                }
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sessions = if quick { 60 } else { 300 };
    let started = Instant::now();
    let mut stack = Stack::start(Options { faults: FAULTS.into(), query_after_seconds: 5, ..Options::default() }).await;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let gate = Arc::new(Semaphore::new(if quick { 15 } else { 30 }));
    let mut tasks = Vec::new();
    for i in 0..sessions {
        let (w, tally, gate) = (stack.worker_url.clone(), tally.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            shopper(i, w, tally).await;
        }));
    }
    // Restart the worker while shoppers are mid-flight: nothing acknowledged may be lost.
    tokio::time::sleep(Duration::from_secs(if quick { 15 } else { 40 })).await;
    eprintln!("chaos: restarting wrangler dev");
    stack.restart_worker().await;
    for t in tasks {
        let _ = t.await;
    }
    // Abandoned QR codes expire at the gateway; the gateway's notification retries (2 min,
    // 10 min, 10 min, 60 min after each failure) arrive as its clock moves on.
    for minutes in [3, 11, 11, 61] {
        stack.sim("POST", "/sim/clock/advance", Some(json!({"seconds": minutes * 60}))).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let report = reconcile(&stack, &tally, sessions, started.elapsed()).await;
    // Ended here, not by `exit` below (which would skip its Drop and leave wrangler running).
    drop(stack);
    let dir = root().join("target/chaos");
    std::fs::create_dir_all(&dir).expect("target/chaos");
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    std::fs::write(dir.join("report.json"), &text).expect("report.json");
    println!("{text}");
    let bad = ["gateway_429", "mismatches", "refunds_over_paid", "lost_acknowledged"]
        .iter()
        .any(|k| report[*k].as_u64() != Some(0));
    if bad {
        eprintln!("chaos: a promise was broken (see the report)");
        std::process::exit(1);
    }
}

async fn reconcile(stack: &Stack, tally: &Tally, sessions: usize, took: Duration) -> Value {
    let (_, ledger) = stack.sim("GET", "/sim/orders", None).await;
    let orders = ledger["orders"].as_array().cloned().unwrap_or_default();
    let by_otn: HashMap<String, Value> =
        orders.iter().map(|o| (o["out_trade_no"].as_str().unwrap_or("").to_owned(), o.clone())).collect();
    let (mut mismatches, mut double_paid, mut double_refunded, mut over, mut lost, mut paid) = (0, 0, 0, 0, 0, 0);
    let mut details = Vec::new();
    for id in &tally.created {
        let (status, s, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
        if status != 200 {
            lost += 1;
            details.push(format!("{id}: acknowledged session missing ({status})"));
            continue;
        }
        let attempts = s["attempts"].as_array().cloned().unwrap_or_default();
        let mut paid_here = 0;
        for a in &attempts {
            let otn = a["out_trade_no"].as_str().unwrap_or("");
            let gateway_paid = by_otn.get(otn).is_some_and(|o| o["state"] == "paid");
            let worker_paid = a["status"] == "paid";
            if gateway_paid != worker_paid {
                mismatches += 1;
                details.push(format!(
                    "{id} {otn}: worker {} gateway {}",
                    a["status"],
                    by_otn.get(otn).map_or(json!("absent"), |o| o["state"].clone())
                ));
            }
            paid_here += usize::from(gateway_paid);
        }
        if s["status"] == "paid" {
            paid += 1;
        }
        let refunds = s["refunds"].as_array().cloned().unwrap_or_default();
        let refunded: u64 = refunds
            .iter()
            .filter(|r| r["status"] == "succeeded" && r["automatic"] == false)
            .filter_map(|r| r["amount"].as_u64())
            .sum();
        if refunded > s["amount"].as_u64().unwrap_or(0) {
            over += 1;
        }
        if paid_here >= 2 {
            double_paid += 1;
            if refunds.iter().any(|r| r["automatic"] == true && r["status"] == "succeeded") {
                double_refunded += 1;
            }
        }
        for (sid, rid) in &tally.acknowledged_refunds {
            if sid == id && !refunds.iter().any(|r| r["id"].as_str() == Some(rid)) {
                lost += 1;
                details.push(format!("{id}: acknowledged refund {rid} missing"));
            }
        }
    }
    // The gateway never refunded more than a payment.
    over += orders.iter().filter(|o| o["kind"] == "payment" && o["refunded"].as_u64() > o["txamt"].as_u64()).count();
    let (_, stats) = stack.sim("GET", "/sim/stats", None).await;
    let max_settle = tally.settle_seconds.iter().copied().fold(0.0, f64::max);
    json!({
        "sessions": sessions,
        "sessions_created": tally.created.len(),
        "sessions_paid": paid,
        "paid_at_wallet": tally.paid_at_wallet.len(),
        "faults_injected": stats["faults_injected"],
        "gateway_calls": stats["calls_total"],
        "gateway_429": stats["rate_limited"],
        "notifications_sent": stats["notifications_sent"],
        "mismatches": mismatches,
        "double_paid": double_paid,
        "double_paid_refunded": double_refunded,
        "refunds_over_paid": over,
        "refunds_acknowledged": tally.acknowledged_refunds.len(),
        "lost_acknowledged": lost,
        "max_settle_seconds": max_settle,
        "worker_restarts": 1,
        "run_seconds": took.as_secs_f64(),
        "details": details,
    })
}
