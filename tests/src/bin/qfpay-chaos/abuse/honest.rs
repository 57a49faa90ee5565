//! The abuser run's honest shoppers: each checks out as the widget does (the merchant creates the
//! session, the widget asks for a QR code and polls, the phone pays a second later), from an
//! address of its own, arriving evenly over a spread. Its connections leave from a loopback
//! address of its own, and its requests name a documentation address of its own in
//! `CF-Connecting-IP` (203.0.113.0/24 alone, 192.0.2.0/24 beside the abusers), so the worker's
//! per-client limits count each shopper as the client it is. Their figures: paid, seen paid,
//! refusals (`503 upstream_busy` among them), and pay latency at the client and inside the
//! worker (from its log).

use std::net::IpAddr;
use std::time::Duration;

use e2e::address::{client_seen_as, documentation_ip, loopback_ip, TEST_NET_1, TEST_NET_3};
use e2e::figures::{percentile, sorted, tally};
use e2e::shopper::{Checkout, Shopper};
use serde_json::{json, Value};

use super::{Plan, PAY_TYPE};

/// How long an honest shopper retries the pay request, or polls for the payment.
const SHOPPER_PATIENCE: Duration = Duration::from_secs(60);

/// Honest shopper `i` of group `group` (0 alone, 1 beside the abusers).
async fn honest(i: usize, group: u8, w: String) -> Checkout {
    let merchant = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("a client");
    let seen_as = documentation_ip(if group == 0 { TEST_NET_3 } else { TEST_NET_1 }, i);
    let browser = client_seen_as(loopback_ip(10 + group, i), IpAddr::V4(seen_as));
    let shopper = Shopper {
        worker: &w,
        merchant: &merchant,
        browser: &browser,
        pay_type: PAY_TYPE,
        pays_after: Duration::from_secs(1),
        patience: SHOPPER_PATIENCE,
    };
    let reference = format!("honest-{group}-{i}");
    let body = json!({"amount": 1000 + i as u64, "currency": "HKD", "goods_name": "Tea", "reference": reference});
    shopper.check_out(body, &reference).await
}

/// Runs the honest group `group`: `plan.honest` shoppers arriving evenly over `plan.spread`.
pub async fn group(w: &str, plan: &Plan, group: u8) -> Vec<Checkout> {
    let tasks: Vec<_> = (0..plan.honest)
        .map(|i| {
            let w = w.to_owned();
            let delay = plan.spread.mul_f64(i as f64 / plan.honest as f64);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                honest(i, group, w).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap_or_default());
    }
    out
}

/// The worker's own log lines (one JSON object per request) of requests whose path contains
/// `needle`, with their `duration_ms` and `status`.
pub fn log_lines<'a>(log: &'a str, needle: &'a str) -> impl Iterator<Item = Value> + 'a {
    log.lines()
        .filter(move |l| l.starts_with('{') && l.contains(needle))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(move |v| v["path"].as_str().is_some_and(|p| p.contains(needle)))
}

/// How long the worker itself took (its log's `duration_ms`) to answer each of the group's
/// successful pay requests, sorted: beside the client's figure, it tells time spent in the
/// worker from time spent waiting to reach it.
fn worker_pay_ms(checkouts: &[Checkout], log: &str) -> Vec<f64> {
    sorted(
        checkouts
            .iter()
            .filter_map(|c| c.session.as_deref())
            .flat_map(|id| log_lines(log, id).collect::<Vec<_>>())
            .filter(|v| v["method"] == "POST" && v["status"] == 201)
            .filter_map(|v| v["duration_ms"].as_f64())
            .collect(),
    )
}

/// A group's figures: shoppers, QR codes shown, paid, seen paid, pay latency (at the client
/// and inside the worker), refusals.
pub fn summary(checkouts: &[Checkout], log: &str) -> Value {
    let inside = worker_pay_ms(checkouts, log);
    let latencies = sorted(checkouts.iter().filter_map(|c| c.pay_ms).collect());
    json!({
        "shoppers": checkouts.len(),
        "got_qr": latencies.len(),
        "paid": checkouts.iter().filter(|c| c.paid).count(),
        "seen_paid": checkouts.iter().filter(|c| c.seen()).count(),
        "pay_p50_ms": percentile(&latencies, 0.5),
        "pay_p95_ms": percentile(&latencies, 0.95),
        "pay_max_ms": latencies.last().copied().unwrap_or(0.0),
        "pay_worker_p50_ms": percentile(&inside, 0.5),
        "pay_worker_p95_ms": percentile(&inside, 0.95),
        "upstream_busy": checkouts.iter().map(Checkout::upstream_busy).sum::<usize>(),
        "pay_refusals": tally(checkouts.iter().flat_map(|c| c.refusals.iter().cloned())),
    })
}
