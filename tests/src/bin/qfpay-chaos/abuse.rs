//! The abuser run (`--abuser`). Two abusers run side by side for a bounded time ([`abusers`]):
//! one client floods `POST /v1/checkout/{id}/pay` and `GET /v1/checkout/{id}/status` with one
//! session's secret, from one loopback address and a few connections; and one client (one
//! address, `198.51.100.66` in `CF-Connecting-IP`) has sessions created through the merchant
//! API, as a shop's public Buy button would, about 36 a minute, and starts payments on each once
//! a second. Meanwhile honest shoppers check out as the widget does, each from an address of its
//! own ([`honest`]). The honest group runs twice on one stack, alone and then beside the
//! abusers, so their pay latencies compare. What each abuser cost the gateway is read from the
//! simulator ([`cost`]). Writes `target/chaos/abuse.json`; exits 1 when a bar
//! ([`crate::report::bars`]) is broken.

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
use abusers::{flood_loop, many_sessions, Answers};
use cost::{GatewayAt, Whose};

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
    /// How long the abusers run.
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
        "abuse: the flood ({ABUSER_LOOPS} loops) and the many-sessions abuser ({} sessions a minute from {}) \
         for {} s, the same honest shoppers beside them",
        abusers::SESSIONS_PER_MINUTE,
        abusers::client_ip(),
        plan.abuse_for.as_secs()
    );
    let many = tokio::spawn(many_sessions(stack.worker_url.clone(), until));
    let loops: Vec<_> = (0..ABUSER_LOOPS)
        .map(|_| {
            let (w, id, secret) = (stack.worker_url.clone(), id.clone(), secret.clone());
            tokio::spawn(flood_loop(http.clone(), w, id, secret, until, answers.clone()))
        })
        .collect();
    // The abusers first have their floods going, and the flood has spent its attempts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let beside = honest::group(&stack.worker_url, &plan, 1).await;
    for l in loops {
        let _ = l.await;
    }
    let many = many.await.unwrap_or_default();
    let abuse_seconds = abuse_started.elapsed().as_secs_f64();
    // Notifications still in flight; then what the gateway saw.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = GatewayAt::read(&stack).await;
    let flood_of = Whose::read(&stack, std::slice::from_ref(&id), &after).await;
    let many_of = Whose::read(&stack, &many.sessions, &after).await;
    let flood_cost = cost::flood(&flood_of, &many_of, &before, &after);
    let many_minutes = many.took.as_secs_f64() / 60.0;
    let many_cost = cost::many_sessions(&many_of, &flood_of, &before, &after, many_minutes);
    let many_answers = many.answers.lock().expect("not poisoned").remove("pay").unwrap_or_default();
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
        "honest_upstream_busy": beside["upstream_busy"],
        "honest_upstream_busy_alone": alone["upstream_busy"],
        "abuser_seconds": abuse_seconds,
        "abuser_loops": ABUSER_LOOPS,
        "abuser_requests": requests,
        "abuser_requests_per_second": requests as f64 / abuse_seconds.max(0.001),
        "abuser_answers": answers,
        "abuser_worker_requests_logged": abuser_ms.len(),
        "abuser_worker_ms_p50": percentile(&abuser_ms, 0.5),
        "abuser_worker_ms_total": abuser_ms.iter().sum::<f64>(),
        "worker_rate_limited_not_logged": rate_limited_not_logged(&log),
        "gateway_429": after.stats["rate_limited"],
        "gateway_calls_by_path": after.stats["calls_by_path"],
        "gateway_peak_calls_per_minute": after.stats["peak_calls_per_minute"],
        "worker_reloads": log.matches("Reloading local server").count(),
    });
    merge(&mut report, flood_cost);
    merge(
        &mut report,
        json!({
            "abuser_sessions": many.sessions.len(),
            "abuser_sessions_not_created": many.not_created,
            "abuser_sessions_per_minute": abusers::SESSIONS_PER_MINUTE,
            "abuser_sessions_connections": abusers::CONNECTIONS,
            "abuser_sessions_client_ip": abusers::client_ip().to_string(),
            "abuser_sessions_seconds": many.took.as_secs_f64(),
            "abuser_sessions_requests": many_answers.values().sum::<u64>(),
            "abuser_sessions_answers": many_answers,
        }),
    );
    merge(&mut report, many_cost);
    report["run_seconds"] = json!(started.elapsed().as_secs_f64());
    write("abuse-worker.log", &log);
    // Ended here, not by the exit in `finish_abuse` (which would skip its Drop and leave
    // wrangler running).
    drop(stack);
    finish_abuse(report);
}

/// At least how many `429 rate_limited` answers the worker gave without a log line (each logged
/// one counts those before it, `worker/src/refusal_log.rs`, so those of the last 10 s are not
/// seen). The `abuser_worker_*` figures come from logged lines only: mostly the flood's answers
/// that passed its limits, and one refusal in 10 s.
fn rate_limited_not_logged(log: &str) -> u64 {
    log.lines()
        .filter(|l| l.starts_with('{') && l.contains("rate_limited_not_logged"))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["rate_limited_not_logged"].as_u64())
        .sum()
}
