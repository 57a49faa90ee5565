//! `cargo xtask chaos [--quick]`: a bounded fault run that reconciles. The simulator injects
//! 503s, transient codes, lost answers, latency spikes, dropped, repeated and reordered
//! notifications, with its rate limits on; shoppers pay, decline, abandon, get refunds and pay
//! twice, concurrently. Other shoppers close the tab once their QR code is shown, so nobody polls
//! their session: some pay at the wallet afterwards, the rest let a short session run out. The
//! merchant's webhook receiver (in this process, so it outlives the worker) fails every other
//! delivery until `wrangler dev` is restarted in the middle. Then the worker's settler gets a
//! bounded time to finish on its own, and everything is checked: the worker's records against
//! the gateway's ledger, its event feed against what the sessions' state calls for, and the feed
//! against what the receiver verified. Loopback only, bounded in count and time. Writes
//! `target/chaos/report.json` (and the worker's log beside it); exits non-zero when a promise
//! is broken.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::receiver::{Mode, Receiver};
use e2e::{root, Options, Stack};
use serde_json::{json, Map, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

const FAULTS: &str = "5xx=0.1,transient=0.05,answer-drop=0.05,notify-drop=0.2,notify-repeat=0.2,notify-reorder=0.1,\
                      spike=0.02,spike-latency=800ms";

/// Report keys that must be 0; a missing or `null` one (a figure that could not be read) fails
/// the run too.
const MUST_BE_ZERO: [&str; 10] = [
    "gateway_429",
    "mismatches",
    "refunds_over_paid",
    "lost_acknowledged",
    "webhooks_lost",
    "webhook_bad_signatures",
    "events_duplicated",
    "refunds_stuck",
    "open_at_gateway_after_expiry",
    "abandoned_unsettled",
];

/// How long each wait for the settler may last once the shoppers are done.
const SETTLE_LIMIT: Duration = Duration::from_secs(120);

/// The events that tell the merchant a session was paid (once per session, whichever).
const PAYMENT_EVENTS: [&str; 2] = ["checkout.session.paid", "checkout.session.late_payment"];

struct Tally {
    /// When the run started.
    started: Instant,
    created: Vec<String>,
    acknowledged_refunds: Vec<(String, String)>,
    paid_at_wallet: HashMap<String, Instant>,
    settle_seconds: Vec<f64>,
    /// Abandoned sessions paid at the wallet after the tab was closed: nobody polls them.
    paid_without_client: Vec<String>,
    /// Abandoned short sessions nobody pays: the settler must expire them.
    left_to_expire: Vec<String>,
}

impl Tally {
    fn new() -> Tally {
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

/// What the run ends with: the worker's view of every session created (with the HTTP status
/// of the read), the gateway's ledger, and the worker's event feed (`None`: unreadable).
struct Snapshot {
    views: Vec<(String, u16, Value)>,
    orders: Vec<Value>,
    by_otn: HashMap<String, Value>,
    feed: Option<Vec<Value>>,
    stats: Value,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("client")
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
            // 429: a session's attempts are spaced out; wait and try again as the widget would.
            Some((status, v)) if status < 500 && status != 429 => return Some((status, v)),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    None
}

/// Creates a session as the merchant's server does (retried under one Idempotency-Key);
/// returns its id and client secret.
async fn create_session(http: &reqwest::Client, w: &str, body: Value, key: &str) -> Option<(String, String)> {
    let Some((201, s)) = retry_post(http, &format!("{w}/v1/sessions"), e2e::MERCHANT_API_KEY, body, Some(key)).await
    else {
        return None;
    };
    Some((s["id"].as_str()?.to_owned(), s["client_secret"].as_str()?.to_owned()))
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
    let http = client();
    let body =
        json!({"amount": 2000 + i as u64, "currency": "HKD", "goods_name": "Tea", "reference": format!("chaos-{i}")});
    let Some((id, secret)) = create_session(&http, &w, body, &format!("chaos-session-{i}")).await else { return };
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
    let Some((id, secret)) = create_session(&http, &w, body, &format!("chaos-abandon-{i}")).await else { return };
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
fn start_shoppers(
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

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (sessions, abandoning) = if quick { (60, 20) } else { (300, 60) };
    let started = Instant::now();
    // Started first and kept to the end: the worker's restart must not lose a delivery.
    let receiver = Receiver::start().await;
    receiver.set_mode(Mode::FailEveryOther);
    let options = Options {
        faults: FAULTS.into(),
        query_after_seconds: 5,
        webhook_url: Some(receiver.url.clone()),
        ..Options::default()
    };
    let mut stack = Stack::start(options).await;
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
        }),
    );
    add_details(&mut report, unsettled.into_iter().chain(open_details));
    // `wrangler dev` reloads when worker/build/ is rebuilt under it (by another build): a
    // redeploy as far as clients can tell, but the report then covers two builds.
    report["worker_reloads"] = json!(stack.worker_log().matches("Reloading local server").count());
    // Kept for whoever reads a broken report (the stack's folder goes with it).
    let dir = root().join("target/chaos");
    std::fs::create_dir_all(&dir).expect("target/chaos");
    std::fs::write(dir.join("worker.log"), stack.worker_log()).expect("worker.log");
    // Ended here, not by `exit` below (which would skip its Drop and leave wrangler running).
    drop(stack);
    drop(receiver);
    finish(&report);
}

/// Writes the report, prints it, and exits non-zero if a must-be-0 figure is not 0.
fn finish(report: &Value) {
    let dir = root().join("target/chaos");
    let text = serde_json::to_string_pretty(report).unwrap_or_default();
    std::fs::write(dir.join("report.json"), &text).expect("report.json");
    println!("{text}");
    let broken = broken(report);
    if !broken.is_empty() {
        eprintln!("chaos: a promise was broken ({}; see the report)", broken.join(", "));
        std::process::exit(1);
    }
}

/// The must-be-0 figures of `report` that are not 0 (missing or `null` ones included).
fn broken(report: &Value) -> Vec<&'static str> {
    MUST_BE_ZERO.iter().copied().filter(|k| report[*k].as_u64() != Some(0)).collect()
}

/// Adds `extra`'s keys to `report`.
fn merge(report: &mut Value, extra: Value) {
    if let (Value::Object(into), Value::Object(from)) = (report, extra) {
        into.extend(from);
    }
}

/// Appends lines to the report's `details`.
fn add_details(report: &mut Value, lines: impl IntoIterator<Item = String>) {
    if let Some(details) = report["details"].as_array_mut() {
        details.extend(lines.into_iter().map(Value::from));
    }
}

/// Every event the worker emitted, oldest first, read page by page from `GET /v1/events`;
/// `None` when a page cannot be read.
async fn feed(stack: &Stack) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(id) => format!("/v1/events?limit=100&after={id}"),
            None => "/v1/events?limit=100".to_owned(),
        };
        let (status, page, text) = stack.merchant("GET", &path, None, None).await;
        if status != 200 {
            eprintln!("chaos: GET {path} answered {status}: {text}");
            return None;
        }
        let data = page["data"].as_array().cloned().unwrap_or_default();
        after = data.last().and_then(|e| e["id"].as_str()).map(str::to_owned);
        out.extend(data);
        if page["has_more"] != true || after.is_none() {
            return Some(out);
        }
    }
}

/// The session an event is about.
fn event_session(event: &Value) -> &str {
    event["data"]["session"]["id"].as_str().unwrap_or_default()
}

/// True when the feed holds an event of one of `kinds` for `session`.
fn has_event(feed: &[Value], session: &str, kinds: &[&str]) -> bool {
    feed.iter().any(|e| event_session(e) == session && kinds.iter().any(|k| e["type"] == *k))
}

/// What the abandoned sessions still lack, judged from the event feed alone (reading a session
/// through the API would bring it up to date, which is the settler's job here): a session paid
/// at the wallet needs its payment event, a short one nobody paid its `expired` event.
fn abandoned_lacking(feed: &[Value], tally: &Tally) -> Vec<String> {
    let unpaid = tally
        .paid_without_client
        .iter()
        .filter(|id| !has_event(feed, id, &PAYMENT_EVENTS))
        .map(|id| format!("{id}: paid at the wallet with nobody watching, never settled paid by the settler"));
    let unexpired = tally
        .left_to_expire
        .iter()
        .filter(|id| !has_event(feed, id, &["checkout.session.expired"]))
        .map(|id| format!("{id}: short session nobody paid, never expired by the settler"));
    unpaid.chain(unexpired).collect()
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

/// The worker's view of each session, with the status of the read.
async fn views(stack: &Stack, ids: &[String]) -> Vec<(String, u16, Value)> {
    let mut out = Vec::new();
    for id in ids {
        let (status, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
        out.push((id.clone(), status, view));
    }
    out
}

/// The gateway's orders, by `out_trade_no`.
async fn ledger(stack: &Stack) -> (Vec<Value>, HashMap<String, Value>) {
    let (_, ledger) = stack.sim("GET", "/sim/orders", None).await;
    let orders = ledger["orders"].as_array().cloned().unwrap_or_default();
    let by_otn = orders.iter().map(|o| (o["out_trade_no"].as_str().unwrap_or("").to_owned(), o.clone())).collect();
    (orders, by_otn)
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

/// Reads the worker's sessions, then the gateway's ledger and the worker's feed.
async fn snapshot(stack: &Stack, ids: &[String]) -> Snapshot {
    let views = views(stack, ids).await;
    let (orders, by_otn) = ledger(stack).await;
    let feed = feed(stack).await;
    let (_, stats) = stack.sim("GET", "/sim/stats", None).await;
    Snapshot { views, orders, by_otn, feed, stats }
}

fn reconcile(snap: &Snapshot, tally: &Tally, sessions: usize, took: Duration) -> Value {
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

/// The events a session's final state calls for, each as the types that satisfy it and, for a
/// refund, the refund's id: one payment event if the gateway (or the worker) shows it paid, one
/// `expired` or `closed` event if it is over, one final event per ended refund.
fn required_events(view: &Value, by_otn: &HashMap<String, Value>) -> Vec<(Vec<&'static str>, Option<String>)> {
    let mut needs = Vec::new();
    let attempts = view["attempts"].as_array().into_iter().flatten();
    let gateway_paid = attempts.filter_map(|a| by_otn.get(a["out_trade_no"].as_str()?)).any(|o| o["state"] == "paid");
    if gateway_paid || view["status"] == "paid" {
        needs.push((PAYMENT_EVENTS.to_vec(), None));
    }
    match view["status"].as_str() {
        Some("expired") => needs.push((vec!["checkout.session.expired"], None)),
        Some("closed") => needs.push((vec!["checkout.session.closed"], None)),
        _ => {}
    }
    for r in view["refunds"].as_array().into_iter().flatten() {
        let kind = match (r["status"].as_str(), r["automatic"] == true) {
            (Some("succeeded"), true) => "payment.duplicate_refunded",
            (Some("succeeded"), false) => "refund.succeeded",
            (Some("failed"), _) => "refund.failed",
            _ => continue,
        };
        needs.push((vec![kind], r["id"].as_str().map(str::to_owned)));
    }
    needs
}

/// Checks the feed against what every session's state calls for: returns (events never
/// emitted, events emitted more than once, a line for each).
fn cross_check(snap: &Snapshot, feed: &[Value]) -> (usize, usize, Vec<String>) {
    let (mut missing, mut duplicated, mut details) = (0, 0, Vec::new());
    for (id, _, view) in snap.views.iter().filter(|(_, status, _)| *status == 200) {
        for (kinds, refund) in required_events(view, &snap.by_otn) {
            let found = feed
                .iter()
                .filter(|e| event_session(e) == id && kinds.iter().any(|k| e["type"] == *k))
                .filter(|e| refund.as_deref().is_none_or(|r| e["data"]["refund"]["id"] == r))
                .count();
            let what = format!("{id}{}: {}", refund.as_deref().map(|r| format!(" {r}")).unwrap_or_default(), kinds[0]);
            match found {
                0 => {
                    missing += 1;
                    details.push(format!("{what} event never emitted (session {})", view["status"]));
                }
                1 => {}
                n => {
                    duplicated += 1;
                    details.push(format!("{what} event emitted {n} times"));
                }
            }
        }
    }
    (missing, duplicated, details)
}

/// Seconds from each wallet payment made at or after `since` to the receiver verifying the
/// session's `checkout.session.paid`, longest first, with the session.
fn webhook_delays(receiver: &Receiver, tally: &Tally, since: Instant) -> Vec<(f64, String)> {
    let paid_events: HashMap<String, Instant> = receiver
        .unique()
        .into_values()
        .filter(|r| r.kind == "checkout.session.paid")
        .map(|r| (r.session, r.at))
        .collect();
    let mut delays: Vec<(f64, String)> = tally
        .paid_at_wallet
        .iter()
        .filter(|(_, paid)| **paid >= since)
        .filter_map(|(id, paid)| {
            Some((paid_events.get(id)?.saturating_duration_since(*paid).as_secs_f64(), id.clone()))
        })
        .collect();
    delays.sort_by(|a, b| b.0.total_cmp(&a.0));
    delays
}

/// How an event that never arrived stands at the worker (`GET /v1/events/{id}`), for the report.
async fn delivery_line(stack: &Stack, event: &Value) -> String {
    let id = event["id"].as_str().unwrap_or_default();
    let (_, detail, _) = stack.merchant("GET", &format!("/v1/events/{id}"), None, None).await;
    format!(
        "{id} ({} of {}): never received; delivery {}, {} tries, next try at {}, last error {}",
        event["type"],
        event_session(event),
        detail["delivery"],
        detail["tries"].as_array().map_or(0, Vec::len),
        detail["next_try_at"],
        detail["tries"].as_array().and_then(|t| t.last()).map_or(Value::Null, |t| t["error"].clone()),
    )
}

/// The webhook figures. Delays: from each wallet payment to its `checkout.session.paid`, over
/// the whole run and over the payments made once the receiver stopped failing
/// (`receiver_up`). Expected: every event of the worker's feed (the record of what was
/// emitted), plus any event the sessions' final state calls for that the feed lacks (never
/// emitted, so never received either). Delivered: unique ids the receiver verified. Lost:
/// expected ones never received. Returns the figures and a line for each problem.
async fn webhook_figures(
    stack: &Stack,
    snap: &Snapshot,
    receiver: &Receiver,
    tally: &Tally,
    receiver_up: Instant,
) -> (Value, Vec<String>) {
    let received = receiver.unique();
    let all = webhook_delays(receiver, tally, tally.started);
    let up = webhook_delays(receiver, tally, receiver_up);
    let common = json!({
        "webhooks_delivered": received.len(),
        "webhook_requests": receiver.requests(),
        "webhook_bad_signatures": receiver.bad_signatures(),
        "max_webhook_delay_seconds": all.first().map_or(0.0, |d| d.0),
        "max_webhook_delay_session": all.first().map(|d| d.1.clone()),
        "max_webhook_delay_seconds_receiver_up": up.first().map_or(0.0, |d| d.0),
    });
    let Some(feed) = &snap.feed else {
        // Null figures fail the run: nothing can be said of what was lost.
        let mut out = json!({"webhooks_expected": null, "webhooks_lost": null, "events_duplicated": null});
        merge(&mut out, common);
        return (out, vec!["the event feed could not be read".to_owned()]);
    };
    let (missing, duplicated, mut details) = cross_check(snap, feed);
    let emitted: BTreeSet<&str> = feed.iter().filter_map(|e| e["id"].as_str()).collect();
    let never: Vec<&Value> =
        feed.iter().filter(|e| !received.contains_key(e["id"].as_str().unwrap_or_default())).collect();
    for event in never.iter().take(10) {
        details.push(delivery_line(stack, event).await);
    }
    let unknown = received.keys().filter(|id| !emitted.contains(id.as_str())).count();
    let mut out = json!({
        "webhooks_expected": emitted.len() + missing,
        "webhooks_lost": never.len() + missing,
        "webhooks_not_in_feed": unknown,
        "events_duplicated": duplicated,
        "events_by_type": events_by_type(feed),
    });
    merge(&mut out, common);
    (out, details)
}

/// How many events of each type the feed holds.
fn events_by_type(feed: &[Value]) -> Value {
    let mut counts = Map::new();
    for e in feed {
        let kind = e["type"].as_str().unwrap_or("?").to_owned();
        let n = counts.get(&kind).and_then(Value::as_u64).unwrap_or(0);
        counts.insert(kind, json!(n + 1));
    }
    Value::Object(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, session: &str, refund: Option<&str>) -> Value {
        let mut e = json!({"id": format!("evt_{kind}_{session}"), "type": kind, "data": {"session": {"id": session}}});
        if let Some(r) = refund {
            e["data"]["refund"] = json!({"id": r});
        }
        e
    }

    fn snapshot_of(view: Value, orders: Vec<Value>, feed: Vec<Value>) -> Snapshot {
        let by_otn = orders.iter().map(|o| (o["out_trade_no"].as_str().unwrap().to_owned(), o.clone())).collect();
        let id = view["id"].as_str().unwrap().to_owned();
        Snapshot { views: vec![(id, 200, view)], orders, by_otn, feed: Some(feed), stats: Value::Null }
    }

    #[test]
    fn a_payment_the_gateway_took_needs_its_event() {
        // The worker still shows the session open, but the gateway has the order paid.
        let view = json!({"id": "cs_1", "status": "open", "attempts": [{"out_trade_no": "P1"}], "refunds": []});
        let orders = vec![json!({"out_trade_no": "P1", "state": "paid"})];
        let snap = snapshot_of(view.clone(), orders.clone(), vec![]);
        let (missing, duplicated, details) = cross_check(&snap, snap.feed.as_ref().unwrap());
        assert_eq!((missing, duplicated), (1, 0), "{details:?}");
        let feed = vec![event("checkout.session.late_payment", "cs_1", None)];
        let snap = snapshot_of(view, orders, feed);
        assert_eq!(cross_check(&snap, snap.feed.as_ref().unwrap()).0, 0, "a late payment event counts");
    }

    #[test]
    fn every_ended_refund_and_expiry_needs_exactly_one_event() {
        let view = json!({"id": "cs_2", "status": "expired", "attempts": [], "refunds": [
            {"id": "re_a", "status": "succeeded", "automatic": true},
            {"id": "re_b", "status": "failed", "automatic": false},
            {"id": "re_c", "status": "pending", "automatic": false},
        ]});
        let feed = vec![
            event("checkout.session.expired", "cs_2", None),
            event("checkout.session.expired", "cs_2", None),
            event("refund.succeeded", "cs_2", Some("re_a")),
            event("refund.failed", "cs_2", Some("re_b")),
        ];
        let snap = snapshot_of(view, vec![], feed);
        let (missing, duplicated, details) = cross_check(&snap, snap.feed.as_ref().unwrap());
        // re_a is automatic: payment.duplicate_refunded, not refund.succeeded.
        assert_eq!((missing, duplicated), (1, 1), "{details:?}");
    }

    #[test]
    fn abandoned_sessions_lack_what_the_feed_does_not_show() {
        let mut tally = Tally::new();
        tally.paid_without_client = vec!["cs_p".into()];
        tally.left_to_expire = vec!["cs_e".into()];
        assert_eq!(abandoned_lacking(&[], &tally).len(), 2);
        let feed = vec![event("checkout.session.paid", "cs_p", None), event("checkout.session.expired", "cs_e", None)];
        assert!(abandoned_lacking(&feed, &tally).is_empty());
        let closed_instead =
            vec![event("checkout.session.paid", "cs_p", None), event("checkout.session.closed", "cs_e", None)];
        assert_eq!(abandoned_lacking(&closed_instead, &tally).len(), 1, "nobody closed it: it must expire");
    }

    #[test]
    fn a_figure_not_zero_or_unreadable_breaks_the_run() {
        let mut report: Value = MUST_BE_ZERO.iter().map(|k| (k.to_string(), json!(0))).collect::<Map<_, _>>().into();
        assert!(broken(&report).is_empty());
        report["webhooks_lost"] = json!(2);
        report["refunds_stuck"] = Value::Null;
        report.as_object_mut().unwrap().remove("open_at_gateway_after_expiry");
        assert_eq!(broken(&report), vec!["webhooks_lost", "refunds_stuck", "open_at_gateway_after_expiry"]);
    }
}
