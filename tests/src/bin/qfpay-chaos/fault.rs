//! The fault run: shoppers ([`shoppers`]) check out through a gateway that fails on purpose
//! (the simulator injects 503s, transient codes, lost answers, latency spikes, dropped,
//! repeated and reordered notifications, with its rate limits on), and a worker that dies on
//! purpose right after named writes and is restarted in the middle. The merchant's webhook
//! receiver (in this process, so it outlives the worker) fails every other delivery until the
//! restart. Then the worker's settler gets a bounded time to finish on its own, and everything
//! is checked: the worker's records against the gateway's ledger ([`reconcile`]), its event feed
//! against what the sessions' state calls for, and the feed against what the receiver verified
//! ([`events`]). Writes `target/chaos/report.json` (and the worker's log beside it); exits
//! non-zero when a promise is broken.

pub mod events;
pub mod reconcile;
pub mod shoppers;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::receiver::{Mode, Receiver};
use e2e::{Options, Stack};
use serde_json::{json, Value};

use crate::report::{add_details, finish, merge, write};
use events::{abandoned_lacking, feed, webhook_figures};
use reconcile::{ledger, reconcile, snapshot, views};
use shoppers::{start_shoppers, Tally};
/// The gateway's faults (the simulator's `--faults`).
const FAULTS: &str = "5xx=0.1,transient=0.05,answer-drop=0.05,notify-drop=0.2,notify-repeat=0.2,notify-reorder=0.1,\
                      spike=0.02,spike-latency=800ms";

/// Where the worker dies on purpose, right after a named write, and how often (its
/// `FAULT_POINTS`): every money obligation must still be kept.
const CRASH_POINTS: &str =
    "after_attempt_recorded=0.05,after_payment_recorded=0.1,after_refund_reserved=0.15,after_order_ended=0.1";

/// How long each wait for the settler may last once the shoppers are done.
const SETTLE_LIMIT: Duration = Duration::from_secs(120);

/// The fault run: shoppers, abandoners, a restart and a flaky receiver, then reconciliation.
pub async fn run(quick: bool, strict: bool) {
    let (sessions, abandoning) = if quick { (60, 20) } else { (300, 60) };
    let started = Instant::now();
    // Started first and kept to the end: the worker's restart must not lose a delivery.
    let receiver = Receiver::start().await;
    receiver.set_mode(Mode::FailEveryOther);
    let options = Options {
        faults: FAULTS.into(),
        query_after_seconds: 5,
        webhook_url: Some(receiver.url.clone()),
        extra_settings: [
            Some(format!("FAULT_POINTS={CRASH_POINTS}")),
            strict.then(|| "QFPAY_ANSWER_SIGNATURE=raw-body".to_owned()),
        ]
        .into_iter()
        .flatten()
        .collect(),
        ..Options::default()
    };
    let mut stack = Stack::start(options).await;
    if strict {
        let (status, _) = stack
            .sim("POST", "/sim/switches", Some(json!({"query_list_max": 1, "answer_signature": "raw-body"})))
            .await;
        assert_eq!(status, 200, "the simulator takes the strict switches");
    }
    let tally = Arc::new(Mutex::new(Tally::new()));
    let tasks = start_shoppers(&stack.worker_url, &tally, sessions, abandoning, if quick { 15 } else { 30 });
    // Restart the worker while shoppers are mid-flight: nothing acknowledged may be lost.
    tokio::time::sleep(Duration::from_secs(if quick { 15 } else { 40 })).await;
    eprintln!("chaos: restarting wrangler dev; the webhook receiver stops failing every other delivery");
    receiver.set_mode(Mode::Up);
    let receiver_up = Instant::now();
    stack.restart_worker().await;
    for t in tasks {
        let _ = t.await;
    }
    let tally = std::mem::replace(&mut *tally.lock().unwrap(), Tally::new());
    eprintln!("chaos: shoppers done after {:.0} s; waiting for the settler", started.elapsed().as_secs_f64());
    let unsettled = wait_for_abandoned(&stack, &tally, SETTLE_LIMIT).await;
    let (expired_orders, open_details) = open_at_gateway_after_expiry(&stack, &tally.created).await;
    // Abandoned QR codes expire at the gateway; the gateway's notification retries (2 min,
    // 10 min, 10 min, 60 min after each failure) arrive as its clock moves on.
    for minutes in [3, 11, 11, 61] {
        stack.sim("POST", "/sim/clock/advance", Some(json!({"seconds": minutes * 60}))).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    wait_for_the_rest(&stack, &receiver, &tally.created, SETTLE_LIMIT).await;
    let snapshot = snapshot(&stack, &tally.created).await;
    let mut report = reconcile(&snapshot, &tally, sessions + abandoning, started.elapsed());
    let (webhooks, webhook_details) = webhook_figures(&stack, &snapshot, &receiver, &tally, receiver_up).await;
    merge(&mut report, webhooks);
    add_details(&mut report, webhook_details);
    merge(
        &mut report,
        json!({
            "abandoning_shoppers": abandoning,
            "abandoned_unsettled": unsettled.len(),
            "open_at_gateway_after_expiry": open_details.len(),
            "orders_of_expired_sessions_checked": expired_orders,
            "strict_switches": strict,
        }),
    );
    merge(&mut report, obligations(&stack, &tally.created));
    add_details(&mut report, unsettled.into_iter().chain(open_details));
    // `wrangler dev` reloads when worker/build/ is rebuilt under it (by another build): a
    // redeploy as far as clients can tell, but the report then covers two builds.
    report["worker_reloads"] = json!(stack.worker_log().matches("Reloading local server").count());
    report["crash_points_hit"] = crash_points_hit(&stack.worker_log());
    // Kept for whoever reads a broken report (the stack's folder goes with it).
    write("worker.log", &stack.worker_log());
    // Ended here, not by `exit` below (which would skip its Drop and leave wrangler running).
    drop(stack);
    drop(receiver);
    finish(&report);
}

/// How often the worker died at each crash point (its log says so each time).
fn crash_points_hit(log: &str) -> Value {
    let names = CRASH_POINTS.split(',').filter_map(|p| p.split_once('=').map(|(name, _)| name));
    names.map(|name| (name.to_owned(), json!(log.matches(&format!("fault point {name}:")).count()))).collect()
}

/// What the worker's own tables say of its obligations at the end: sessions still `closing`,
/// and attempts or refunds tried past their caps.
fn obligations(stack: &Stack, created: &[String]) -> Value {
    let ids: BTreeSet<&str> = created.iter().map(String::as_str).collect();
    let closing = stack.d1("SELECT id FROM sessions WHERE status = 'closing'");
    let stuck = closing.iter().filter(|r| r["id"].as_str().is_some_and(|id| ids.contains(id))).count();
    // Attempts: 8 ends and 3 queries after expiry (CPM charges, watched for a day, excepted:
    // this run has none). Refunds: 12 tries with no row, 3 renumberings (a refund's back-off
    // needs about 45 minutes for 14 tries, longer than a run; its days' cap is
    // `tests/refund_ends.rs`'s).
    let past = stack.d1("SELECT (SELECT COUNT(*) FROM attempts WHERE close_tries > 11) \
         + (SELECT COUNT(*) FROM refunds WHERE tries > 13 OR renumbered > 3) AS n");
    json!({
        "sessions_stuck_closing": stuck,
        "obligations_past_cap": past.first().and_then(|r| r["n"].as_u64()),
    })
}

/// Waits, up to `limit`, until the settler has settled every abandoned session on its own;
/// returns what is still lacking then.
async fn wait_for_abandoned(stack: &Stack, tally: &Tally, limit: Duration) -> Vec<String> {
    let started = Instant::now();
    loop {
        let lacking = match feed(stack).await {
            Some(feed) => abandoned_lacking(&feed, tally),
            None => vec!["the event feed could not be read".to_owned()],
        };
        if lacking.is_empty() || started.elapsed() > limit {
            eprintln!(
                "chaos: abandoned sessions: {} lacking after {:.0} s",
                lacking.len(),
                started.elapsed().as_secs_f64()
            );
            return lacking;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Orders the gateway still holds payable (`created`) although the worker shows their session
/// expired or closed. The sessions are read first, then the ledger, so a QR code closed between
/// the two reads is never counted. Must run before the simulator's clock is moved on, which
/// expires every order. Returns how many orders of such sessions were checked, and a line for
/// each one still payable.
async fn open_at_gateway_after_expiry(stack: &Stack, ids: &[String]) -> (usize, Vec<String>) {
    let views = views(stack, ids).await;
    let (_, by_otn) = ledger(stack).await;
    let (mut checked, mut details) = (0, Vec::new());
    for (id, _, s) in views.iter().filter(|(_, _, s)| s["status"] == "expired" || s["status"] == "closed") {
        for a in s["attempts"].as_array().into_iter().flatten() {
            let otn = a["out_trade_no"].as_str().unwrap_or_default();
            checked += 1;
            if by_otn.get(otn).is_some_and(|o| o["state"] == "created") {
                details
                    .push(format!("{id} {otn}: session {} but the order is still payable at the gateway", s["status"]));
            }
        }
    }
    (checked, details)
}

/// True while a refund of a session is `pending`.
fn has_pending_refund(view: &Value) -> bool {
    view["refunds"].as_array().is_some_and(|rs| rs.iter().any(|r| r["status"] == "pending"))
}

/// Waits, up to `limit`, until no refund is pending and the receiver has every event of the
/// feed.
async fn wait_for_the_rest(stack: &Stack, receiver: &Receiver, ids: &[String], limit: Duration) {
    let started = Instant::now();
    loop {
        let pending = views(stack, ids).await.iter().filter(|(_, _, s)| has_pending_refund(s)).count();
        let received = receiver.unique();
        let undelivered = match feed(stack).await {
            Some(feed) => feed.iter().filter(|e| !received.contains_key(e["id"].as_str().unwrap_or_default())).count(),
            None => usize::MAX,
        };
        if (pending == 0 && undelivered == 0) || started.elapsed() > limit {
            eprintln!(
                "chaos: after {:.0} s: {pending} refunds pending, {undelivered} events not received",
                started.elapsed().as_secs_f64()
            );
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
