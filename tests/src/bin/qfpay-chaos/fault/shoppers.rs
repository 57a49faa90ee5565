//! The fault run's shoppers: each one a story (pay, decline, abandon the QR code, pay and get
//! two refunds, scan two QR codes and pay both), and shoppers who close the tab once the QR code
//! shows. Every call is made as a careful client makes it: tried again under the same
//! `Idempotency-Key` until answered. What they were told is kept in a [`Tally`], to be checked
//! against what the worker and the gateway recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::shopper::{create_session, retry_post, wait_paid, wallet};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// What the shoppers did and were told.
pub struct Tally {
    /// When the run started.
    pub started: Instant,
    /// Sessions the worker acknowledged creating.
    pub created: Vec<String>,
    /// Refunds the worker acknowledged: (session, refund).
    pub acknowledged_refunds: Vec<(String, String)>,
    /// When each session was paid at the wallet.
    pub paid_at_wallet: HashMap<String, Instant>,
    /// Seconds from a wallet payment to the widget's poll seeing it paid.
    pub settle_seconds: Vec<f64>,
    /// Abandoned sessions paid at the wallet after the tab was closed: nobody polls them.
    pub paid_without_client: Vec<String>,
    /// Abandoned short sessions nobody pays: the settler must expire them.
    pub left_to_expire: Vec<String>,
}

impl Tally {
    /// Nothing yet, from now.
    pub fn new() -> Tally {
        Tally {
            started: Instant::now(),
            created: Vec::new(),
            acknowledged_refunds: Vec::new(),
            paid_at_wallet: HashMap::new(),
            settle_seconds: Vec::new(),
            paid_without_client: Vec::new(),
            left_to_expire: Vec::new(),
        }
    }
}

/// A harness client: answers within 15 s.
fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("client")
}

/// Asks for a QR code of `pay_type` as a careful client does; the QR code once answered 201.
async fn pay_attempt(http: &reqwest::Client, w: &str, id: &str, secret: &str, pay_type: &str) -> Option<String> {
    let (status, v) =
        retry_post(http, &format!("{w}/v1/checkout/{id}/pay"), secret, json!({"pay_type": pay_type}), None).await?;
    (status == 201).then(|| v["qrcode"].as_str().map(str::to_owned)).flatten()
}

/// One shopper; `kind` picks the story.
async fn shopper(i: usize, w: String, tally: Arc<Mutex<Tally>>) {
    let http = client();
    let body =
        json!({"amount": 2000 + i as u64, "currency": "HKD", "goods_name": "Tea", "reference": format!("chaos-{i}")});
    let Some((id, secret)) = create_session(&http, &w, body, &format!("chaos-session-{i}")).await.ok() else { return };
    tally.lock().unwrap().created.push(id.clone());
    let Some(qr) = pay_attempt(&http, &w, &id, &secret, "800201").await else { return };
    match i % 5 {
        0 | 3 => {
            if wallet(&http, &qr, "pay").await {
                let paid_at = Instant::now();
                tally.lock().unwrap().paid_at_wallet.insert(id.clone(), paid_at);
                if let Some(seen) = wait_paid(&http, &w, (&id, &secret), Duration::from_secs(120)).await {
                    tally.lock().unwrap().settle_seconds.push(seen.duration_since(paid_at).as_secs_f64());
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
                    wait_paid(&http, &w, (&id, &secret), Duration::from_secs(120)).await;
                }
            }
        }
    }
}

/// A shopper who closes the tab once the QR code is shown: nobody polls this session. An even
/// `i` pays at the wallet a few seconds later (the phone, not the browser); an odd `i` does
/// nothing, and the short session (20-40 s) must be expired by the settler and its QR code
/// closed at the gateway.
async fn abandoner(i: usize, w: String, tally: Arc<Mutex<Tally>>) {
    let http = client();
    let pays = i % 2 == 0;
    let expires_in = if pays { 600 } else { 20 + (i as u64 * 7) % 21 };
    let body = json!({"amount": 3000 + i as u64, "currency": "HKD", "goods_name": "Tea",
        "reference": format!("chaos-abandon-{i}"), "expires_in_seconds": expires_in});
    let Some((id, secret)) = create_session(&http, &w, body, &format!("chaos-abandon-{i}")).await.ok() else { return };
    {
        let mut t = tally.lock().unwrap();
        t.created.push(id.clone());
        if !pays {
            t.left_to_expire.push(id.clone());
        }
    }
    let Some(qr) = pay_attempt(&http, &w, &id, &secret, "800201").await else { return };
    if pays {
        tokio::time::sleep(Duration::from_secs(2 + i as u64 % 6)).await;
        if wallet(&http, &qr, "pay").await {
            let mut t = tally.lock().unwrap();
            t.paid_at_wallet.insert(id.clone(), Instant::now());
            t.paid_without_client.push(id);
        }
    }
}

/// Starts every shopper: the polling ones `concurrency` at a time, the abandoning ones one
/// every 1.5 s from the start (so some of them straddle the worker's restart).
pub fn start_shoppers(
    w: &str,
    tally: &Arc<Mutex<Tally>>,
    sessions: usize,
    abandoning: usize,
    concurrency: usize,
) -> Vec<JoinHandle<()>> {
    let gate = Arc::new(Semaphore::new(concurrency));
    let mut tasks = Vec::new();
    for i in 0..sessions {
        let (w, tally, gate) = (w.to_owned(), tally.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            shopper(i, w, tally).await;
        }));
    }
    for i in 0..abandoning {
        let (w, tally) = (w.to_owned(), tally.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500 * i as u64)).await;
            abandoner(i, w, tally).await;
        }));
    }
    tasks
}
