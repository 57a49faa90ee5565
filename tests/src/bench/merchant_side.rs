//! The merchant's side of `cargo xtask bench`: how soon the merchant's server hears of a
//! payment, and what each checkout leaves in D1.
//!
//! - `webhook_p95_seconds` / `webhook_max_seconds`: from the wallet's Pay (the gateway's
//!   notification reaches the worker within milliseconds on loopback) to the merchant's receiver
//!   answering 2xx to `checkout.session.paid`, with a receiver that takes 500 ms to answer,
//!   at the capacity rate. Measured twice: on its own, and (`_closes_slow`) while the gateway
//!   takes 3 s to answer each close and a stream of abandoned sessions expires, so the settler
//!   has slow closes to make beside the webhooks.
//! - `d1_bytes_per_paid_checkout` / `d1_bytes_per_abandoned_session`: the growth of the
//!   database (`GET /v1/health`'s `database_bytes`, D1's own figure) over a batch of each, with
//!   its webhooks delivered, divided by the batch; and what that means in checkouts per GB.

use std::time::{Duration, Instant};

use e2e::address::{client_from, loopback_ip};
use e2e::figures::percentile;
use e2e::receiver::{Mode, Receiver};
use e2e::shopper::{at_rate, create_session, pay_for_qr};
use e2e::{Options, Stack};
use serde_json::{json, Map, Value};

/// Checkouts a minute the webhook figures are measured at (the capacity `BENCHMARKS.md`
/// reports).
const RATE_PER_MINUTE: u32 = 360;
/// How long a shopper retries the pay request.
const PATIENCE: Duration = Duration::from_secs(60);
/// How long the receiver is waited for once the checkouts are driven.
const DRAIN: Duration = Duration::from_secs(90);
/// The close latency of the second webhook measurement.
const SLOW_CLOSE_MS: u64 = 3_000;

/// Every figure, with `_closes_slow` for the second webhook measurement.
pub async fn measure(quick: bool) -> Map<String, Value> {
    let window = Duration::from_secs(if quick { 20 } else { 60 });
    let mut out = Map::new();
    for slow_closes in [false, true] {
        let suffix = if slow_closes { "_closes_slow" } else { "" };
        eprintln!("bench: webhooks at {RATE_PER_MINUTE}/min for {} s, receiver 500 ms{suffix}", window.as_secs());
        for (key, value) in webhook_latency(window, slow_closes).await {
            out.insert(format!("{key}{suffix}"), value);
        }
    }
    eprintln!("bench: D1 bytes per checkout");
    out.extend(storage(if quick { 30 } else { 100 }).await);
    out
}

/// A checkout driven without a browser: session, QR code, paid at the wallet. The session id
/// and when the wallet's Pay was answered, if it was paid.
async fn paid_checkout(i: usize, w: String, merchant: reqwest::Client) -> Option<(String, Instant)> {
    let body = json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": format!("hook{i}")});
    let (id, secret) = create_session(&merchant, &w, body, &format!("hook-{i}")).await.ok()?;
    let http = client_from(loopback_ip(30, i));
    let qr = pay_for_qr(&http, &w, (&id, &secret), "800201", PATIENCE, &mut Vec::new()).await?;
    let paid = merchant.post(format!("{qr}/pay")).header("Accept", "application/json").send().await;
    paid.is_ok_and(|r| r.status().is_success()).then(|| (id, Instant::now()))
}

/// A session of 10 s with a QR code nobody pays: the settler closes it at the gateway when it
/// expires, and the merchant hears `checkout.session.expired`.
async fn abandoned_session(i: usize, w: String, merchant: reqwest::Client) -> Option<String> {
    let body = json!({"amount": 1200, "currency": "HKD", "goods_name": "Tea", "reference": format!("gone{i}"),
        "expires_in_seconds": 10});
    let created = merchant.post(format!("{w}/v1/sessions")).bearer_auth(e2e::MERCHANT_API_KEY).json(&body).send().await;
    let session: Value = created.ok()?.json().await.ok()?;
    let (id, secret) = (session["id"].as_str()?.to_owned(), session["client_secret"].as_str()?.to_owned());
    let http = client_from(loopback_ip(31, i));
    pay_for_qr(&http, &w, (&id, &secret), "800201", PATIENCE, &mut Vec::new()).await?;
    Some(id)
}

/// Starts `task(offset + i, worker_url, client)` evenly at `rate` a minute for `window`.
async fn drive<T, F, Fut>(stack: &Stack, rate: u32, window: Duration, offset: usize, task: F) -> Vec<T>
where
    T: Default + Send + 'static,
    F: Fn(usize, String, reqwest::Client) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let merchant = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("a client");
    let total = (window.as_secs_f64() * f64::from(rate) / 60.0).round() as usize;
    at_rate(total, rate, |i| task(offset + i, stack.worker_url.clone(), merchant.clone())).await
}

/// Waits until the receiver holds an event of `kind` for each of `sessions`, or [`DRAIN`].
async fn drained(receiver: &Receiver, kind: &str, sessions: &[String]) {
    let until = Instant::now() + DRAIN;
    while Instant::now() < until {
        let got = receiver.unique();
        if sessions.iter().all(|s| got.values().any(|r| r.kind == kind && &r.session == s)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One webhook measurement on a fresh stack.
async fn webhook_latency(window: Duration, slow_closes: bool) -> Map<String, Value> {
    let receiver = Receiver::start().await;
    receiver.set_mode(Mode::Slow);
    let options = Options { webhook_url: Some(receiver.url.clone()), query_after_seconds: 15, ..Options::default() };
    let stack = Stack::start(options).await;
    // One abandoned session a second, from 12 s before the paid checkouts to their end: each
    // expires 10 s after it is made, so the settler has a slow close to make every second
    // while the webhooks are measured.
    let lead = Duration::from_secs(if slow_closes { 12 } else { 0 });
    let abandoned = async {
        if !slow_closes {
            return Vec::new();
        }
        let (status, _) = stack.sim("POST", "/sim/faults", Some(json!({"close_latency": SLOW_CLOSE_MS}))).await;
        assert_eq!(status, 200, "the simulator takes the close latency");
        drive(&stack, 60, window + lead, 100_000, abandoned_session).await.into_iter().flatten().collect::<Vec<_>>()
    };
    let paid = async {
        tokio::time::sleep(lead).await;
        drive(&stack, RATE_PER_MINUTE, window, 0, paid_checkout).await
    };
    let (paid, abandoned) = tokio::join!(paid, abandoned);
    let paid: Vec<(String, Instant)> = paid.into_iter().flatten().collect();
    let ids: Vec<String> = paid.iter().map(|(id, _)| id.clone()).collect();
    drained(&receiver, "checkout.session.paid", &ids).await;
    drained(&receiver, "checkout.session.expired", &abandoned).await;
    let got = receiver.unique();
    let mut seconds: Vec<f64> = paid
        .iter()
        .filter_map(|(id, at)| {
            let r = got.values().find(|r| r.kind == "checkout.session.paid" && &r.session == id)?;
            Some(r.at.saturating_duration_since(*at).as_secs_f64())
        })
        .collect();
    seconds.sort_by(f64::total_cmp);
    let (_, stats) = stack.sim("GET", "/sim/stats", None).await;
    let mut out = Map::new();
    out.insert("webhook_p50_seconds".into(), json!(percentile(&seconds, 0.5)));
    out.insert("webhook_p95_seconds".into(), json!(percentile(&seconds, 0.95)));
    out.insert("webhook_max_seconds".into(), json!(seconds.last().copied().unwrap_or(0.0)));
    out.insert("webhook_checkouts_paid".into(), json!(paid.len()));
    out.insert("webhook_paid_events_missing".into(), json!(paid.len() - seconds.len()));
    out.insert("webhook_most_in_flight".into(), json!(receiver.most_in_flight()));
    if slow_closes {
        let expired = got.values().filter(|r| r.kind == "checkout.session.expired").count();
        out.insert("webhook_abandoned_sessions".into(), json!(abandoned.len()));
        out.insert("webhook_abandoned_expired".into(), json!(expired));
        out.insert("webhook_gateway_closes".into(), stats["calls_by_path"]["/trade/v1/close"].clone());
        out.insert("webhook_gateway_calls_by_path".into(), stats["calls_by_path"].clone());
    }
    out
}

/// D1's own size, from `GET /v1/health`.
async fn database_bytes(stack: &Stack) -> Option<u64> {
    let (status, health, _) = stack.merchant("GET", "/v1/health", None, None).await;
    (status == 200).then(|| health["database_bytes"].as_u64()).flatten()
}

/// What `n` paid checkouts, then `n` abandoned sessions (expired and closed at the gateway),
/// each with its webhooks delivered, add to the database.
async fn storage(n: usize) -> Map<String, Value> {
    let receiver = Receiver::start().await;
    let options = Options { webhook_url: Some(receiver.url.clone()), query_after_seconds: 15, ..Options::default() };
    let stack = Stack::start(options).await;
    let window = Duration::from_secs_f64(n as f64 * 60.0 / f64::from(RATE_PER_MINUTE));
    let start = database_bytes(&stack).await;
    let paid: Vec<String> = drive(&stack, RATE_PER_MINUTE, window, 0, paid_checkout)
        .await
        .into_iter()
        .flatten()
        .map(|(id, _)| id)
        .collect();
    drained(&receiver, "checkout.session.paid", &paid).await;
    let after_paid = database_bytes(&stack).await;
    let abandoned: Vec<String> =
        drive(&stack, RATE_PER_MINUTE, window, 100_000, abandoned_session).await.into_iter().flatten().collect();
    drained(&receiver, "checkout.session.expired", &abandoned).await;
    let after_abandoned = database_bytes(&stack).await;
    let per = |from: Option<u64>, to: Option<u64>, count: usize| match (from, to) {
        (Some(a), Some(b)) if count > 0 => json!(b.saturating_sub(a) as f64 / count as f64),
        _ => Value::Null,
    };
    let per_gb = |bytes: &Value| bytes.as_f64().filter(|b| *b > 0.0).map_or(Value::Null, |b| json!((1e9 / b).floor()));
    let paid_bytes = per(start, after_paid, paid.len());
    let abandoned_bytes = per(after_paid, after_abandoned, abandoned.len());
    let mut out = Map::new();
    out.insert("d1_paid_checkouts_per_gb".into(), per_gb(&paid_bytes));
    out.insert("d1_abandoned_sessions_per_gb".into(), per_gb(&abandoned_bytes));
    out.insert("d1_bytes_per_paid_checkout".into(), paid_bytes);
    out.insert("d1_bytes_per_abandoned_session".into(), abandoned_bytes);
    out.insert("d1_checkouts_measured".into(), json!([paid.len(), abandoned.len()]));
    out
}
