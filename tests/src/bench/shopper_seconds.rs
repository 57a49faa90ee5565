//! The shopper's seconds, measured in headless Chromium against the real stack (the bench's
//! `shopper` section): how long from the wallet's "Pay" to the paid screen, how many requests
//! the widget makes per paid checkout, how long a phone on a slow mobile network waits for the
//! wallets, and how many D1 round trips a payment notification costs the worker.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::browser::{Browser, Device};
use e2e::figures::percentile;
use e2e::Stack;
use serde_json::{json, Value};

/// The emulated mobile network: 150 ms round trips, 1.6 Mbps down, 750 kbps up (the figures
/// Lighthouse calls "slow 4G").
const MOBILE_RTT_MS: u64 = 150;
const MOBILE_DOWN_BYTES_PER_S: u64 = 1_600_000 / 8;
const MOBILE_UP_BYTES_PER_S: u64 = 750_000 / 8;

const W: &str = "document.querySelector('qfpay-checkout').shadowRoot";
const LONG: Duration = Duration::from_secs(40);

fn epoch_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Opens the demo shop with a new session of its own (the secret handed over as the shop's
/// page does), and waits for the wallets.
async fn open_checkout(stack: &Stack, b: &Browser, reference: &str) -> f64 {
    let (id, secret) =
        stack.session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": reference})).await;
    b.client.goto(&format!("{}/", stack.worker_url)).await.expect("the shop");
    b.js(&format!("sessionStorage.setItem('{id}', '{secret}'); return true")).await;
    b.client.goto(&format!("{}/?session={id}", stack.worker_url)).await.expect("the shop with a session");
    let t =
        b.wait_js("return performance.getEntriesByName('qfpay:interactive')[0]?.startTime", "the wallets", LONG).await;
    t.as_f64().unwrap_or(0.0)
}

/// `checkouts` paid checkouts on a desktop: the QR code is paid at the simulator's wallet 1 to
/// 3 s after it shows (spread, so that a polling widget's phase is sampled); each gives the ms
/// from the wallet's Pay (the notification follows within milliseconds on loopback, so this is
/// an upper bound of notification to screen) to `qfpay:paid`, and the widget's requests to the
/// worker for the whole checkout (load, pay, status).
async fn paid_checkouts(stack: &Stack, checkouts: usize) -> (Vec<f64>, Vec<f64>) {
    let b = Browser::start().await;
    let http = reqwest::Client::new();
    let (mut to_screen, mut requests) = (Vec::new(), Vec::new());
    for i in 0..checkouts {
        open_checkout(stack, &b, &format!("seconds-{i}")).await;
        b.js("window.__paidAt = 0; document.addEventListener('qfpay:paid', () => { window.__paidAt = performance.timeOrigin + performance.now(); }); return true").await;
        b.js(&format!("{W}.querySelector('[part=method]').click(); return true")).await;
        let qr = b
            .wait_js(
                &format!("return {W}.querySelector('svg[data-qrcode]')?.getAttribute('data-qrcode')"),
                "the QR",
                LONG,
            )
            .await;
        let qr = qr.as_str().unwrap_or_default().to_owned();
        tokio::time::sleep(Duration::from_millis(1000 + (i as u64 * 370) % 2000)).await;
        let pressed = epoch_ms();
        let paid = http.post(format!("{qr}/pay")).header("Accept", "application/json").send().await;
        assert!(paid.is_ok_and(|r| r.status().is_success()), "the wallet pays");
        let shown = b.wait_js("return window.__paidAt", "paid on screen", LONG).await.as_f64().unwrap_or(0.0);
        to_screen.push(shown - pressed);
        // Let a request that was out finish, then count every request to the worker's widget API.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let n = b
            .js("return performance.getEntriesByType('resource').filter(e => e.name.includes('/v1/checkout/')).length")
            .await;
        requests.push(n.as_f64().unwrap_or(0.0));
    }
    to_screen.sort_by(f64::total_cmp);
    (to_screen, requests)
}

/// Navigation start to the wallets on screen, on a phone over the emulated mobile network with
/// an empty cache (a first visit): the median of `loads`.
async fn choices_on_mobile(stack: &Stack, loads: usize) -> f64 {
    let b = Browser::start_as(Device::Phone).await;
    b.cdp("Network.enable", json!({})).await;
    b.cdp("Network.setCacheDisabled", json!({"cacheDisabled": true})).await;
    b.cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": false, "latency": MOBILE_RTT_MS, "downloadThroughput": MOBILE_DOWN_BYTES_PER_S,
               "uploadThroughput": MOBILE_UP_BYTES_PER_S}),
    )
    .await;
    let mut times = Vec::new();
    for i in 0..loads {
        times.push(open_checkout(stack, &b, &format!("mobile-{i}")).await);
    }
    times.sort_by(f64::total_cmp);
    percentile(&times, 0.5)
}

/// D1 round trips of the worker's payment notifications, from its log lines: mean and most.
fn d1_per_notification(log: &str) -> (f64, u64) {
    let counts: Vec<u64> = log
        .lines()
        .filter_map(|l| l.find('{').and_then(|i| serde_json::from_str::<Value>(&l[i..]).ok()))
        .filter(|v| v["path"] == "/v1/qfpay/notify" && v["status"] == 200)
        .filter_map(|v| v["d1_queries"].as_u64())
        .collect();
    let mean = counts.iter().sum::<u64>() as f64 / counts.len().max(1) as f64;
    (mean, counts.iter().copied().max().unwrap_or(0))
}

/// The section's figures, for the report.
pub async fn measure(stack: &Stack, quick: bool) -> serde_json::Map<String, Value> {
    let (checkouts, loads) = if quick { (10, 3) } else { (30, 5) };
    let mut report = serde_json::Map::new();
    eprintln!("bench: {checkouts} paid checkouts in Chromium (paid to screen, widget requests)");
    let (to_screen, requests) = paid_checkouts(stack, checkouts).await;
    report.insert("paid_to_screen_ms_p50".into(), json!(percentile(&to_screen, 0.5)));
    report.insert("paid_to_screen_ms_p95".into(), json!(percentile(&to_screen, 0.95)));
    report.insert(
        "widget_requests_per_checkout".into(),
        json!(requests.iter().sum::<f64>() / requests.len().max(1) as f64),
    );
    let (mean, most) = d1_per_notification(&stack.worker_log());
    report.insert("d1_queries_per_notification".into(), json!(mean));
    report.insert("d1_queries_per_notification_max".into(), json!(most));
    eprintln!("bench: the wallets on a phone over a {MOBILE_RTT_MS} ms, 1.6 Mbps network ({loads} first visits)");
    report.insert("ms_to_choices_mobile".into(), json!(choices_on_mobile(stack, loads).await));
    report
}
