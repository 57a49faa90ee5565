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

/// Where the worker dies on purpose, right after a named write, and how often (its
/// `FAULT_POINTS`): every money obligation must still be kept.
const CRASH_POINTS: &str =
    "after_attempt_recorded=0.05,after_payment_recorded=0.1,after_refund_reserved=0.15,after_order_ended=0.1";

/// Report keys that must be 0; a missing or `null` one (a figure that could not be read) fails
/// the run too.
const MUST_BE_ZERO: [&str; 12] = [
    "sessions_stuck_closing",
    "obligations_past_cap",
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

/// How to call this binary (`cargo xtask chaos` passes its flags through).
const USAGE: &str = "usage: qfpay-chaos [--quick] [--strict] [--abuser]
  --quick   fewer shoppers and shorter waits (the run in `cargo xtask test`)
  --strict  the gateway's strictest readings: one order number per query, answers signed over
            the raw body (the worker enforcing it)
  --abuser  instead of the fault run: one client floods pay and status with one session's
            secret while honest shoppers check out; writes target/chaos/abuse.json";

/// What the command line asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Args {
    /// `--quick`: the short run.
    quick: bool,
    /// `--abuser`: the one-abuser run instead of the fault run.
    abuser: bool,
    /// `--strict`: the simulator's strictest switches where QFPay's documentation is silent.
    strict: bool,
}

/// Reads the flags; any other argument is an error naming it.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut out = Args::default();
    for arg in args {
        match arg.as_str() {
            "--quick" => out.quick = true,
            "--abuser" => out.abuser = true,
            "--strict" => out.strict = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
}

#[tokio::main]
async fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("qfpay-chaos: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if args.abuser {
        abuse::run(args.quick).await;
    } else {
        fault_run(args.quick, args.strict).await;
    }
}

/// The fault run: shoppers, abandoners, a restart and a flaky receiver, then reconciliation.
async fn fault_run(quick: bool, strict: bool) {
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
    let dir = root().join("target/chaos");
    std::fs::create_dir_all(&dir).expect("target/chaos");
    std::fs::write(dir.join("worker.log"), stack.worker_log()).expect("worker.log");
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
    // this run has none). Refunds: 12 tries with no row, 3 renumberings.
    let past = stack.d1("SELECT (SELECT COUNT(*) FROM attempts WHERE close_tries > 11) \
         + (SELECT COUNT(*) FROM refunds WHERE tries > 13 OR renumbered > 3) AS n");
    json!({
        "sessions_stuck_closing": stuck,
        "obligations_past_cap": past.first().and_then(|r| r["n"].as_u64()),
    })
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

/// The one-abuser run (`--abuser`). One client floods `POST /v1/checkout/{id}/pay` and
/// `GET /v1/checkout/{id}/status` with one session's secret, from one loopback address and a
/// few connections, for a bounded time, while honest shoppers check out as the widget does,
/// each from its own loopback address (shoppers come from their own networks; `wrangler dev`
/// hands the peer address to the worker as `CF-Connecting-IP`). The honest group runs twice on
/// one stack, alone and then beside the abuser, so their pay latencies compare. What the
/// abuser cost the gateway is read from the simulator: its session's orders in the ledger, and
/// the payment and close calls of its phase beyond the honest shoppers' own orders (stats).
/// Writes `target/chaos/abuse.json`; exits 1 when a bar is broken.
mod abuse {
    use std::collections::{BTreeMap, BTreeSet};
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use checkout_api::budget::MAX_ATTEMPTS_PER_SESSION;
    use e2e::shopper::{answer_key, pay_for_qr};
    use e2e::{root, Options, Stack};
    use serde_json::{json, Value};

    /// The abuser's concurrent request loops: one client, one secret, one address, a few
    /// connections.
    const ABUSER_LOOPS: usize = 4;
    /// The honest shoppers' pay p95 beside the abuser may be at most this many times their p95
    /// alone.
    pub const MAX_P95_RATIO: f64 = 2.0;
    /// How often the widget polls the status.
    const POLL_EVERY: Duration = Duration::from_secs(2);
    /// How long an honest shopper retries the pay request, or polls for the payment.
    const SHOPPER_PATIENCE: Duration = Duration::from_secs(60);
    /// The abuser's own address.
    const ABUSER_IP: Ipv4Addr = Ipv4Addr::new(127, 66, 6, 6);
    /// The QR pay type everyone uses.
    const PAY_TYPE: &str = "800201";

    /// The run's sizes.
    struct Plan {
        /// Honest shoppers in each group.
        honest: usize,
        /// They arrive evenly over this time.
        spread: Duration,
        /// How long the abuser runs.
        abuse_for: Duration,
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

    /// One honest checkout's outcome.
    #[derive(Debug, Default)]
    struct Checkout {
        /// The session's id, once created.
        session: Option<String>,
        /// Ms from the first pay request to the QR code, refusals and retries included.
        pay_ms: Option<f64>,
        /// Every answer but 201 to the pay request (`"503 upstream_busy"`, ...).
        refusals: Vec<String>,
        /// Paid at the simulator's wallet.
        paid: bool,
        /// Seen paid by the widget's status poll.
        seen: bool,
    }

    /// An HTTP client whose connections come from `ip` (every 127.0.0.0/8 address is local).
    fn client_from(ip: Ipv4Addr) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(IpAddr::V4(ip))
            .timeout(Duration::from_secs(15))
            .build()
            .expect("a client")
    }

    /// The address of honest shopper `i` of group `group` (0 alone, 1 beside the abuser).
    fn shopper_ip(group: u8, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(127, 10 + group, (i / 250) as u8, (i % 250) as u8 + 1)
    }

    /// Polls the status every 2 s, as the widget does, until it says paid (true) or the
    /// shopper's patience runs out.
    async fn poll_paid(http: &reqwest::Client, w: &str, id: &str, secret: &str) -> bool {
        let started = Instant::now();
        while started.elapsed() < SHOPPER_PATIENCE {
            if let Ok(r) = http.get(format!("{w}/v1/checkout/{id}/status")).bearer_auth(secret).send().await {
                if r.json::<Value>().await.is_ok_and(|v| v["status"] == "paid") {
                    return true;
                }
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
        false
    }

    /// One honest shopper: the merchant creates the session, the widget asks for a QR code,
    /// the phone pays it a second later at the simulator's wallet, the widget polls.
    async fn honest(i: usize, group: u8, w: String) -> Checkout {
        let merchant = super::client();
        let reference = format!("honest-{group}-{i}");
        let body = json!({"amount": 1000 + i as u64, "currency": "HKD", "goods_name": "Tea", "reference": reference});
        let mut out = Checkout::default();
        let Some((id, secret)) = super::create_session(&merchant, &w, body, &reference).await else {
            out.refusals.push("session not created".into());
            return out;
        };
        out.session = Some(id.clone());
        let http = client_from(shopper_ip(group, i));
        let started = Instant::now();
        let qr = pay_for_qr(&http, &w, (&id, &secret), PAY_TYPE, SHOPPER_PATIENCE, &mut out.refusals).await;
        if qr.is_some() {
            out.pay_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
        }
        let Some(qr) = qr else { return out };
        tokio::time::sleep(Duration::from_secs(1)).await;
        out.paid = super::wallet(&merchant, &qr, "pay").await;
        if out.paid {
            out.seen = poll_paid(&http, &w, &id, &secret).await;
        }
        out
    }

    /// Runs the honest group `group`: `plan.honest` shoppers arriving evenly over `plan.spread`.
    async fn honest_group(w: &str, plan: &Plan, group: u8) -> Vec<Checkout> {
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

    /// The nearest-rank percentile `p` of sorted values (0 when there are none).
    pub fn percentile(sorted: &[f64], p: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = (p * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    /// The worker's own log lines (one JSON object per request) of requests whose path
    /// contains `needle`, with their `duration_ms` and `status`.
    fn log_lines<'a>(log: &'a str, needle: &'a str) -> impl Iterator<Item = Value> + 'a {
        log.lines()
            .filter(move |l| l.starts_with('{') && l.contains(needle))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(move |v| v["path"].as_str().is_some_and(|p| p.contains(needle)))
    }

    /// How long the worker itself took (its log's `duration_ms`) to answer each of the group's
    /// successful pay requests, sorted: beside the client's figure, it tells time spent in the
    /// worker from time spent waiting to reach it.
    fn worker_pay_ms(checkouts: &[Checkout], log: &str) -> Vec<f64> {
        let mut out: Vec<f64> = checkouts
            .iter()
            .filter_map(|c| c.session.as_deref())
            .flat_map(|id| log_lines(log, id).collect::<Vec<_>>())
            .filter(|v| v["method"] == "POST" && v["status"] == 201)
            .filter_map(|v| v["duration_ms"].as_f64())
            .collect();
        out.sort_by(f64::total_cmp);
        out
    }

    /// A group's figures: shoppers, QR codes shown, paid, seen paid, pay latency (at the client
    /// and inside the worker), refusals.
    fn summary(checkouts: &[Checkout], log: &str) -> Value {
        let inside = worker_pay_ms(checkouts, log);
        let mut latencies: Vec<f64> = checkouts.iter().filter_map(|c| c.pay_ms).collect();
        latencies.sort_by(f64::total_cmp);
        let mut refusals = BTreeMap::new();
        for r in checkouts.iter().flat_map(|c| &c.refusals) {
            *refusals.entry(r.clone()).or_insert(0u64) += 1;
        }
        json!({
            "shoppers": checkouts.len(),
            "got_qr": latencies.len(),
            "paid": checkouts.iter().filter(|c| c.paid).count(),
            "seen_paid": checkouts.iter().filter(|c| c.seen).count(),
            "pay_p50_ms": percentile(&latencies, 0.5),
            "pay_p95_ms": percentile(&latencies, 0.95),
            "pay_max_ms": latencies.last().copied().unwrap_or(0.0),
            "pay_worker_p50_ms": percentile(&inside, 0.5),
            "pay_worker_p95_ms": percentile(&inside, 0.95),
            "pay_refusals": refusals,
        })
    }

    /// The abuser's answers: by endpoint, then by [`answer_key`].
    type Answers = Arc<Mutex<BTreeMap<&'static str, BTreeMap<String, u64>>>>;

    /// Counts one answer of `endpoint`.
    fn count(answers: &Answers, endpoint: &'static str, key: String) {
        let mut all = answers.lock().expect("not poisoned");
        *all.entry(endpoint).or_default().entry(key).or_insert(0) += 1;
    }

    /// What a request came to, as counted.
    async fn answer_of(sent: reqwest::Result<reqwest::Response>) -> String {
        match sent {
            Err(_) => "no answer".into(),
            Ok(resp) => {
                let status = resp.status().as_u16();
                answer_key(status, &resp.json().await.unwrap_or(Value::Null))
            }
        }
    }

    /// One of the abuser's loops: pay, status, pay, status, ... with no pause and no regard
    /// for `Retry-After`, until `until`.
    async fn abuser_loop(
        http: reqwest::Client,
        w: String,
        id: String,
        secret: String,
        until: Instant,
        answers: Answers,
    ) {
        let pay = format!("{w}/v1/checkout/{id}/pay");
        let status = format!("{w}/v1/checkout/{id}/status");
        while Instant::now() < until {
            let sent = http.post(&pay).bearer_auth(&secret).json(&json!({"pay_type": PAY_TYPE})).send().await;
            count(&answers, "pay", answer_of(sent).await);
            let sent = http.get(&status).bearer_auth(&secret).send().await;
            count(&answers, "status", answer_of(sent).await);
        }
    }

    /// The simulator's counters and ledger at one moment.
    struct GatewayAt {
        /// `GET /sim/stats`.
        stats: Value,
        /// `GET /sim/orders`'s orders.
        orders: Vec<Value>,
    }

    impl GatewayAt {
        /// Reads both from the stack's simulator.
        async fn read(stack: &Stack) -> GatewayAt {
            let (_, stats) = stack.sim("GET", "/sim/stats", None).await;
            let (_, ledger) = stack.sim("GET", "/sim/orders", None).await;
            GatewayAt { stats, orders: ledger["orders"].as_array().cloned().unwrap_or_default() }
        }

        /// Payment orders in the ledger.
        fn payment_orders(&self) -> usize {
            self.orders.iter().filter(|o| o["kind"] == "payment").count()
        }

        /// Calls made on gateway `path` since `before`.
        fn calls_since(&self, before: &GatewayAt, path: &str) -> u64 {
            let n = |g: &GatewayAt| g.stats["calls_by_path"][path].as_u64().unwrap_or(0);
            n(self).saturating_sub(n(before))
        }
    }

    /// What the abuser's session cost the gateway between `before` and `after`. Its orders are
    /// the ledger's payment orders with its attempts' `out_trade_no`. Its calls are the
    /// phase's payment calls beyond the orders the honest shoppers created, plus every close
    /// and reversal of the phase (honest shoppers pay their one QR code and close nothing): a
    /// retried honest call would count against the abuser, so the figure can only be too high.
    async fn abuser_cost(stack: &Stack, id: &str, before: &GatewayAt, after: &GatewayAt) -> Value {
        let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
        let attempts = view["attempts"].as_array().cloned().unwrap_or_default();
        let otns: BTreeSet<&str> = attempts.iter().filter_map(|a| a["out_trade_no"].as_str()).collect();
        let orders: Vec<&Value> = after
            .orders
            .iter()
            .filter(|o| o["kind"] == "payment" && otns.contains(o["out_trade_no"].as_str().unwrap_or_default()))
            .collect();
        let tally = |values: Vec<String>| {
            values.into_iter().fold(BTreeMap::new(), |mut m, v| {
                *m.entry(v).or_insert(0u64) += 1;
                m
            })
        };
        let honest_orders = (after.payment_orders() - before.payment_orders()).saturating_sub(orders.len()) as u64;
        let payment_calls = after.calls_since(before, "/trade/v1/payment").saturating_sub(honest_orders);
        let close_calls =
            after.calls_since(before, "/trade/v1/close") + after.calls_since(before, "/trade/v1/reversal");
        json!({
            "abuser_attempts": attempts.len(),
            "abuser_attempts_by_status": tally(attempts.iter().map(|a| a["status"].as_str().unwrap_or("?").to_owned()).collect()),
            "abuser_orders": orders.len(),
            "abuser_orders_by_state": tally(orders.iter().map(|o| o["state"].as_str().unwrap_or("?").to_owned()).collect()),
            "abuser_payment_calls": payment_calls,
            "abuser_close_calls": close_calls,
            "abuser_gateway_calls": payment_calls + close_calls,
            "abuser_gateway_calls_cap": 2 * MAX_ATTEMPTS_PER_SESSION,
            "abuser_phase_calls_by_path": {
                "payment": after.calls_since(before, "/trade/v1/payment"),
                "close": after.calls_since(before, "/trade/v1/close"),
                "query": after.calls_since(before, "/trade/v1/query"),
                "honest_orders": honest_orders,
            },
        })
    }

    /// The bars, each named with whether it held: every honest shopper paid and was seen
    /// paid in both groups; the abuser's gateway calls and orders within the session's cap;
    /// no 429 from the gateway; the honest pay p95 at most [`MAX_P95_RATIO`] times its value
    /// alone. A missing figure breaks its bar.
    pub fn bars(r: &Value) -> Vec<(&'static str, bool)> {
        let n = |k: &str| r[k].as_u64();
        let same = |a: &str, b: &str| n(a).is_some() && n(a) == n(b);
        let cap = 2 * MAX_ATTEMPTS_PER_SESSION;
        vec![
            ("honest_paid == honest_seen_paid", same("honest_paid", "honest_seen_paid")),
            ("honest_paid_alone == honest_seen_paid_alone", same("honest_paid_alone", "honest_seen_paid_alone")),
            ("honest_paid == honest_shoppers", same("honest_paid", "honest_shoppers")),
            ("honest_paid_alone == honest_shoppers", same("honest_paid_alone", "honest_shoppers")),
            ("abuser_gateway_calls <= 2 x attempts cap", n("abuser_gateway_calls").is_some_and(|c| c <= cap)),
            ("abuser_orders <= attempts cap", n("abuser_orders").is_some_and(|c| c <= MAX_ATTEMPTS_PER_SESSION)),
            ("gateway_429 == 0", n("gateway_429") == Some(0)),
            ("honest_pay_p95_ratio <= max", r["honest_pay_p95_ratio"].as_f64().is_some_and(|x| x <= MAX_P95_RATIO)),
        ]
    }

    /// Runs it, writes the report, and exits 1 when a bar is broken.
    pub async fn run(quick: bool) {
        let plan = Plan::new(quick);
        let started = Instant::now();
        let stack = Stack::start(Options { query_after_seconds: 15, ..Options::default() }).await;
        eprintln!("abuse: {} honest shoppers alone", plan.honest);
        let alone = honest_group(&stack.worker_url, &plan, 0).await;
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
                tokio::spawn(abuser_loop(http.clone(), w, id, secret, until, answers.clone()))
            })
            .collect();
        // The abuser first has its flood going, and has spent its attempts.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let beside = honest_group(&stack.worker_url, &plan, 1).await;
        for l in loops {
            let _ = l.await;
        }
        let abuse_seconds = abuse_started.elapsed().as_secs_f64();
        // Notifications still in flight; then what the gateway saw.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let after = GatewayAt::read(&stack).await;
        let cost = abuser_cost(&stack, &id, &before, &after).await;
        let log = stack.worker_log();
        let (alone, beside) = (summary(&alone, &log), summary(&beside, &log));
        let mut abuser_ms: Vec<f64> = log_lines(&log, &id).filter_map(|v| v["duration_ms"].as_f64()).collect();
        abuser_ms.sort_by(f64::total_cmp);
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
        super::merge(&mut report, cost);
        let bars = bars(&report);
        report["bars"] =
            bars.iter().map(|(k, ok)| (k.to_string(), json!(ok))).collect::<serde_json::Map<_, _>>().into();
        let broken: Vec<&str> = bars.iter().filter(|(_, ok)| !ok).map(|(k, _)| *k).collect();
        report["broken"] = json!(broken);
        report["run_seconds"] = json!(started.elapsed().as_secs_f64());
        let dir = root().join("target/chaos");
        std::fs::create_dir_all(&dir).expect("target/chaos");
        std::fs::write(dir.join("abuse-worker.log"), &log).expect("abuse-worker.log");
        // Ended here, not by `exit` below (which would skip its Drop and leave wrangler running).
        drop(stack);
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        std::fs::write(dir.join("abuse.json"), &text).expect("abuse.json");
        println!("{text}");
        if !broken.is_empty() {
            eprintln!("chaos --abuser: a bar was broken ({}; see target/chaos/abuse.json)", broken.join(", "));
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use e2e::shopper::answer_key;

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
    fn flags_are_read_and_unknown_ones_refused() {
        let args = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        assert_eq!(args(&[]), Ok(Args::default()));
        assert_eq!(args(&["--abuser", "--quick"]), Ok(Args { quick: true, abuser: true, strict: false }));
        assert_eq!(args(&["--strict"]), Ok(Args { strict: true, ..Args::default() }));
        assert!(args(&["--quik"]).unwrap_err().contains("--quik"));
    }

    #[test]
    fn the_abuse_bars() {
        let good = json!({"honest_shoppers": 20, "honest_paid": 20, "honest_seen_paid": 20, "honest_paid_alone": 20,
            "honest_seen_paid_alone": 20, "abuser_gateway_calls": 19, "abuser_orders": 10, "gateway_429": 0,
            "honest_pay_p95_ratio": 1.4});
        assert!(abuse::bars(&good).iter().all(|(_, ok)| *ok), "{:?}", abuse::bars(&good));
        let mut bad = good.clone();
        bad["honest_seen_paid"] = json!(19);
        bad["abuser_gateway_calls"] = json!(21);
        bad.as_object_mut().unwrap().remove("gateway_429");
        bad["honest_pay_p95_ratio"] = Value::Null;
        let broken: Vec<&str> = abuse::bars(&bad).into_iter().filter(|(_, ok)| !ok).map(|(k, _)| k).collect();
        assert_eq!(broken.len(), 4, "{broken:?}");
    }

    #[test]
    fn answers_and_percentiles() {
        assert_eq!(answer_key(429, &json!({"error": {"code": "too_many_attempts"}})), "429 too_many_attempts");
        assert_eq!(answer_key(200, &json!({"status": "open"})), "200");
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(abuse::percentile(&v, 0.95), 19.0);
        assert_eq!(abuse::percentile(&v, 0.5), 10.0);
        assert_eq!(abuse::percentile(&[], 0.95), 0.0);
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
