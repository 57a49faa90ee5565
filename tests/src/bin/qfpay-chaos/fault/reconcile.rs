//! Reconciliation: what the worker says of every session created, against the gateway's ledger
//! and what the shoppers were told. Mismatches between the two records, payments taken twice
//! (and whether the second was refunded), refunds beyond the payment or still pending, and
//! anything acknowledged that went missing.

use std::collections::HashMap;
use std::time::Duration;

use e2e::Stack;
use serde_json::{json, Value};

use super::events::feed;
use super::shoppers::Tally;

/// What the run ends with: the worker's view of every session created (with the HTTP status
/// of the read), the gateway's ledger, and the worker's event feed (`None`: unreadable).
pub struct Snapshot {
    /// Each session: its id, the status of the read, the session.
    pub views: Vec<(String, u16, Value)>,
    /// The gateway's orders.
    pub orders: Vec<Value>,
    /// The same, by `out_trade_no`.
    pub by_otn: HashMap<String, Value>,
    /// The worker's event feed.
    pub feed: Option<Vec<Value>>,
    /// The simulator's counters (`/sim/stats`).
    pub stats: Value,
}

/// The worker's view of each session, with the status of the read.
pub async fn views(stack: &Stack, ids: &[String]) -> Vec<(String, u16, Value)> {
    let mut out = Vec::new();
    for id in ids {
        let (status, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
        out.push((id.clone(), status, view));
    }
    out
}

/// The gateway's orders, by `out_trade_no`.
pub async fn ledger(stack: &Stack) -> (Vec<Value>, HashMap<String, Value>) {
    let (_, ledger) = stack.sim("GET", "/sim/orders", None).await;
    let orders = ledger["orders"].as_array().cloned().unwrap_or_default();
    let by_otn = orders.iter().map(|o| (o["out_trade_no"].as_str().unwrap_or("").to_owned(), o.clone())).collect();
    (orders, by_otn)
}

/// Reads the worker's sessions, then the gateway's ledger and the worker's feed.
pub async fn snapshot(stack: &Stack, ids: &[String]) -> Snapshot {
    let views = views(stack, ids).await;
    let (orders, by_otn) = ledger(stack).await;
    let feed = feed(stack).await;
    let (_, stats) = stack.sim("GET", "/sim/stats", None).await;
    Snapshot { views, orders, by_otn, feed, stats }
}

/// The reconciliation's figures: every session the worker acknowledged, its attempts against
/// the gateway's orders, its refunds against its amount, and what the shoppers were told
/// against what the worker kept; with a line in `details` for each problem.
pub fn reconcile(snap: &Snapshot, tally: &Tally, sessions: usize, took: Duration) -> Value {
    let by_otn = &snap.by_otn;
    let (mut mismatches, mut double_paid, mut double_refunded, mut over, mut lost, mut paid) = (0, 0, 0, 0, 0, 0);
    let (mut stuck, mut without_client) = (0, 0);
    let mut details = Vec::new();
    for (id, status, s) in &snap.views {
        if *status != 200 {
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
            without_client += usize::from(tally.paid_without_client.contains(id));
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
        for r in refunds.iter().filter(|r| r["status"] == "pending") {
            stuck += 1;
            details.push(format!("{id}: refund {} still pending", r["id"]));
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
    over +=
        snap.orders.iter().filter(|o| o["kind"] == "payment" && o["refunded"].as_u64() > o["txamt"].as_u64()).count();
    let max_settle = tally.settle_seconds.iter().copied().fold(0.0, f64::max);
    json!({
        "sessions": sessions,
        "sessions_created": tally.created.len(),
        "sessions_paid": paid,
        "paid_at_wallet": tally.paid_at_wallet.len(),
        "faults_injected": snap.stats["faults_injected"],
        "gateway_calls": snap.stats["calls_total"],
        "gateway_429": snap.stats["rate_limited"],
        "notifications_sent": snap.stats["notifications_sent"],
        "mismatches": mismatches,
        "double_paid": double_paid,
        "double_paid_refunded": double_refunded,
        "refunds_over_paid": over,
        "refunds_acknowledged": tally.acknowledged_refunds.len(),
        "refunds_stuck": stuck,
        "lost_acknowledged": lost,
        "paid_without_client": tally.paid_without_client.len(),
        "settled_without_client": without_client,
        "max_settle_seconds": max_settle,
        "worker_restarts": 1,
        "run_seconds": took.as_secs_f64(),
        "details": details,
    })
}
