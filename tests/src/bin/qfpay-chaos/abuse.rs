//! The one-abuser run (`--abuser`). One client floods `POST /v1/checkout/{id}/pay` and
//! `GET /v1/checkout/{id}/status` with one session's secret, from one loopback address and a
//! few connections, for a bounded time ([`abusers`]), while honest shoppers check out as the
//! widget does, each from its own loopback address ([`honest`]; shoppers come from their own
//! networks, and `wrangler dev` hands the peer address to the worker as `CF-Connecting-IP`). The
//! honest group runs twice on one stack, alone and then beside the abuser, so their pay
//! latencies compare. What the abuser cost the gateway is read from the simulator ([`cost`]).
//! Writes `target/chaos/abuse.json`; exits 1 when a bar ([`crate::report::bars`]) is broken.

mod abusers;
mod cost;
mod honest;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use e2e::address::client_from;
use e2e::figures::{percentile, sorted};
use e2e::{Options, Stack};
use serde_json::{json, Value};

use crate::report::{finish_abuse, merge, write, MAX_P95_RATIO};
use abusers::{flood_loop, Answers};
use cost::GatewayAt;

/// The flood's concurrent request loops: one client, one secret, one address, a few
/// connections.
const ABUSER_LOOPS: usize = 4;
/// The flood's own address.
const ABUSER_IP: Ipv4Addr = Ipv4Addr::new(127, 66, 6, 6);
/// The QR pay type everyone uses.
const PAY_TYPE: &str = "800201";

/// The run's sizes.
pub struct Plan {
    /// Honest shoppers in each group.
    pub honest: usize,
    /// They arrive evenly over this time.
    pub spread: Duration,
    /// How long the abuser runs.
    pub abuse_for: Duration,
}

impl Plan {
    /// 20 shoppers over 30 s beside 60 s of abuse (`--quick`), or 50 over 80 s beside 120 s.
    fn new(quick: bool) -> Plan {
        if quick {
            Plan { honest: 20, spread: Duration::from_secs(30), abuse_for: Duration::from_secs(60) }
        } else {
            Plan { honest: 50, spread: Duration::from_secs(80), abuse_for: Duration::from_secs(120) }
        }
    }
}

/// Runs it, writes the report, and exits 1 when a bar is broken.
pub async fn run(quick: bool) {
    let plan = Plan::new(quick);
    let started = Instant::now();
    let stack = Stack::start(Options { query_after_seconds: 15, ..Options::default() }).await;
    eprintln!("abuse: {} honest shoppers alone", plan.honest);
    let alone = honest::group(&stack.worker_url, &plan, 0).await;
    let session = json!({"amount": 999, "currency": "HKD", "goods_name": "Tea", "reference": "abuser"});
    let (id, secret) = stack.session(session).await;
    let before = GatewayAt::read(&stack).await;
    let answers = Answers::default();
    let abuse_started = Instant::now();
    let until = abuse_started + plan.abuse_for;
    let http = client_from(ABUSER_IP);
    eprintln!(
        "abuse: the abuser for {} s ({ABUSER_LOOPS} loops), the same honest shoppers beside it",
        plan.abuse_for.as_secs()
    );
    let loops: Vec<_> = (0..ABUSER_LOOPS)
        .map(|_| {
            let (w, id, secret) = (stack.worker_url.clone(), id.clone(), secret.clone());
            tokio::spawn(flood_loop(http.clone(), w, id, secret, until, answers.clone()))
        })
        .collect();
    // The abuser first has its flood going, and has spent its attempts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let beside = honest::group(&stack.worker_url, &plan, 1).await;
    for l in loops {
        let _ = l.await;
    }
    let abuse_seconds = abuse_started.elapsed().as_secs_f64();
    // Notifications still in flight; then what the gateway saw.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = GatewayAt::read(&stack).await;
    let cost = cost::flood(&stack, &id, &before, &after).await;
    let log = stack.worker_log();
    let (alone, beside) = (honest::summary(&alone, &log), honest::summary(&beside, &log));
    let abuser_ms = sorted(honest::log_lines(&log, &id).filter_map(|v| v["duration_ms"].as_f64()).collect());
    let answers = answers.lock().expect("not poisoned").clone();
    let requests: u64 = answers.values().flat_map(|m| m.values()).sum();
    let p95 = |g: &Value| g["pay_p95_ms"].as_f64().unwrap_or(0.0);
    let mut report = json!({
        "quick": quick,
        "honest_shoppers": plan.honest,
        "honest_paid": beside["paid"],
        "honest_seen_paid": beside["seen_paid"],
        "honest_got_qr": beside["got_qr"],
        "honest_paid_alone": alone["paid"],
        "honest_seen_paid_alone": alone["seen_paid"],
        "honest_pay_p50_ms": beside["pay_p50_ms"],
        "honest_pay_p95_ms": beside["pay_p95_ms"],
        "honest_pay_max_ms": beside["pay_max_ms"],
        "honest_pay_p50_ms_alone": alone["pay_p50_ms"],
        "honest_pay_p95_ms_alone": alone["pay_p95_ms"],
        "honest_pay_p95_ratio": if p95(&alone) > 0.0 { json!(p95(&beside) / p95(&alone)) } else { Value::Null },
        "honest_pay_p95_ratio_max": MAX_P95_RATIO,
        "honest_pay_worker_p50_ms": beside["pay_worker_p50_ms"],
        "honest_pay_worker_p95_ms": beside["pay_worker_p95_ms"],
        "honest_pay_worker_p50_ms_alone": alone["pay_worker_p50_ms"],
        "honest_pay_worker_p95_ms_alone": alone["pay_worker_p95_ms"],
        "honest_pay_refusals": beside["pay_refusals"],
        "honest_pay_refusals_alone": alone["pay_refusals"],
        "abuser_seconds": abuse_seconds,
        "abuser_loops": ABUSER_LOOPS,
        "abuser_requests": requests,
        "abuser_requests_per_second": requests as f64 / abuse_seconds.max(0.001),
        "abuser_answers": answers,
        "abuser_worker_requests_logged": abuser_ms.len(),
        "abuser_worker_ms_p50": percentile(&abuser_ms, 0.5),
        "abuser_worker_ms_total": abuser_ms.iter().sum::<f64>(),
        "gateway_429": after.stats["rate_limited"],
        "gateway_calls_by_path": after.stats["calls_by_path"],
        "gateway_peak_calls_per_minute": after.stats["peak_calls_per_minute"],
        "worker_reloads": log.matches("Reloading local server").count(),
    });
    merge(&mut report, cost);
    report["run_seconds"] = json!(started.elapsed().as_secs_f64());
    write("abuse-worker.log", &log);
    // Ended here, not by the exit in `finish_abuse` (which would skip its Drop and leave
    // wrangler running).
    drop(stack);
    finish_abuse(report);
}
