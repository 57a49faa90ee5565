//! The end-to-end half of `cargo xtask bench`: worker overhead, upstream economy against a naive
//! proxy, the widget's timings in headless Chromium, the worker's cold start, and capacity (the
//! most paid checkouts a minute one merchant sustains, driven at fixed rates). Loopback only,
//! bounded in count and time. Writes `target/bench/e2e.json`; `cargo xtask bench` merges it with
//! the signing figures and prints the table.
//!
//! `cargo run --release -p e2e --bin qfpay-bench -- [--quick]`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::address::{client_from, loopback_ip};
use e2e::browser::Browser;
use e2e::figures::{percentile, tally};
use e2e::shopper::{at_rate, Checkout, Shopper};
use e2e::{root, Options, Stack};
use qfpay::{ClientKey, Credentials, GatewayRequest, PaymentRequest, QueryRequest};
use serde_json::{json, Value};

#[path = "../bench/shopper_seconds.rs"]
mod shopper_seconds;

#[path = "../bench/merchant_side.rs"]
mod merchant_side;

struct Sizes {
    duration: Duration,
    concurrency: usize,
    shoppers: usize,
    shopper_window: Duration,
    loads: usize,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `concurrency` loops of `call` for `duration`; returns sorted latencies in ms.
async fn load<F, Fut>(concurrency: usize, duration: Duration, call: F) -> Vec<f64>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                if call().await {
                    out.push(ms(t.elapsed()));
                }
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all.sort_by(f64::total_cmp);
    all
}

async fn sim_calls(stack_sim: &str, http: &reqwest::Client) -> (u64, Value) {
    let stats: Value = http.get(format!("{stack_sim}/sim/stats")).send().await.unwrap().json().await.unwrap();
    (stats["calls_total"].as_u64().unwrap_or(0), stats)
}

async fn signed_post(http: &reqwest::Client, base: &str, signed: &qfpay::SignedRequest) -> Option<Value> {
    let mut req = http.post(signed.url(base)).body(signed.body.clone());
    for (n, v) in &signed.headers {
        req = req.header(*n, v);
    }
    req.send().await.ok()?.json().await.ok()
}

fn txdtm() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    qfpay::Txdtm::from_unix(now, qfpay::HONG_KONG_OFFSET_SECONDS).to_string()
}

/// Shoppers who each open a checkout, poll like the widget (every 2 s) and pay at a random
/// moment in the window. `open` returns (a poll closure, the wallet URL).
async fn shoppers<O, OF>(n: usize, window: Duration, open: O) -> (usize, usize)
where
    O: Fn(usize) -> OF + Clone + Send + 'static,
    OF: std::future::Future<
            Output = Option<(
                Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> + Send + Sync>,
                String,
            )>,
        > + Send,
{
    let paid = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(AtomicU64::new(0));
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..n {
        let (open, paid, seen, http) = (open.clone(), paid.clone(), seen.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            // Shoppers arrive spread over the first part of the window.
            tokio::time::sleep(Duration::from_millis((i as u64 * 37) % 10_000)).await;
            let Some((poll, wallet)) = open(i).await else { return };
            let pay_after = Duration::from_millis(2000 + (i as u64 * 7919) % 20_000);
            let started = Instant::now();
            let mut has_paid = false;
            while started.elapsed() < window {
                if !has_paid && started.elapsed() >= pay_after {
                    if e2e::shopper::wallet(&http, &wallet, "pay").await {
                        paid.fetch_add(1, Ordering::SeqCst);
                    }
                    has_paid = true;
                }
                if poll().await {
                    seen.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    (paid.load(Ordering::SeqCst) as usize, seen.load(Ordering::SeqCst) as usize)
}

type Poll = Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> + Send + Sync>;

#[tokio::main]
async fn main() {
    let (mut quick, mut shopper_only, mut merchant_only) = (false, false, false);
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => quick = true,
            // Only the shopper's seconds (a few minutes): to compare two widget builds.
            "--shopper" => shopper_only = true,
            // Only the merchant's side (webhook latency, D1 bytes a checkout).
            "--merchant" => merchant_only = true,
            _ => {
                eprintln!(
                    "qfpay-bench: unknown argument {arg:?}\nusage: qfpay-bench [--quick] [--shopper] [--merchant]"
                );
                std::process::exit(2);
            }
        }
    }
    if merchant_only {
        write_report(merchant_side::measure(quick).await, "merchant.json");
        return;
    }
    if shopper_only {
        let stack = Stack::start(Options { query_after_seconds: 15, ..Options::default() }).await;
        let report = shopper_seconds::measure(&stack, quick).await;
        drop(stack);
        write_report(report, "shopper.json");
        return;
    }
    let sizes = if quick {
        Sizes {
            duration: Duration::from_secs(4),
            concurrency: 4,
            shoppers: 40,
            shopper_window: Duration::from_secs(40),
            loads: 3,
        }
    } else {
        Sizes {
            duration: Duration::from_secs(10),
            concurrency: 8,
            shoppers: 200,
            shopper_window: Duration::from_secs(90),
            loads: 5,
        }
    };
    let mut report = serde_json::Map::new();

    eprintln!("bench: starting the simulator and wrangler dev (cold start)");
    let started = Instant::now();
    let mut stack = Stack::start(Options { query_after_seconds: 15, ..Options::default() }).await;
    report.insert("worker_cold_start_ms".into(), json!(ms(started.elapsed())));
    let http = stack.http.clone();

    eprintln!("bench: GET /v1/checkout/{{id}}/status through the worker ({STATUS_SESSIONS} sessions)");
    let (lat, limited) = status_load(&stack, &sizes).await;
    report.insert("status_p50_ms".into(), json!(percentile(&lat, 0.5)));
    report.insert("status_p99_ms".into(), json!(percentile(&lat, 0.99)));
    report.insert("status_rps".into(), json!(lat.len() as f64 / sizes.duration.as_secs_f64()));
    report.insert("status_rate_limited".into(), json!(limited));

    eprintln!("bench: the same gateway query made directly to a simulator");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let direct = format!("http://{}", listener.local_addr().unwrap());
    let mut config = qfpay_sim::SimConfig::new(vec![qfpay_sim::Merchant::demo()], 1_698_804_000);
    config.rate_limit = false;
    config.public_url = direct.clone();
    tokio::spawn(qfpay_sim::serve(listener, config, std::future::pending()));
    let demo = Credentials { appcode: "DEMOAPPCODE".into(), key: ClientKey::new("DEMOKEY"), mchid: None };
    let (h, d, c) = (http.clone(), direct.clone(), demo.clone());
    let lat = load(sizes.concurrency, sizes.duration, move || {
        let (h, d, c) = (h.clone(), d.clone(), c.clone());
        async move {
            let q = QueryRequest { out_trade_no: vec!["NONE".into()], ..Default::default() };
            signed_post(&h, &d, &q.sign(&c).expect("valid")).await.is_some()
        }
    })
    .await;
    report.insert("direct_query_p50_ms".into(), json!(percentile(&lat, 0.5)));
    report.insert("direct_query_p99_ms".into(), json!(percentile(&lat, 0.99)));

    eprintln!("bench: POST /v1/checkout/{{id}}/pay through the worker, and directly");
    let mut pay_lat = Vec::new();
    let mut direct_lat = Vec::new();
    for i in 0..20 {
        let (pid, psecret) = stack
            .session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": format!("p{i}")}))
            .await;
        let t = Instant::now();
        let (status, _, _) = stack
            .widget("POST", &format!("/v1/checkout/{pid}/pay"), &psecret, Some(json!({"pay_type": "800201"})))
            .await;
        if status == 201 {
            pay_lat.push(ms(t.elapsed()));
        }
        let pay = PaymentRequest {
            txamt: 3800,
            txcurrcd: "HKD".into(),
            pay_type: "800201".into(),
            out_trade_no: format!("DIRECT{i}"),
            txdtm: txdtm(),
            ..Default::default()
        };
        let t = Instant::now();
        if signed_post(&http, &direct, &pay.sign(&demo).expect("valid")).await.is_some() {
            direct_lat.push(ms(t.elapsed()));
        }
    }
    pay_lat.sort_by(f64::total_cmp);
    direct_lat.sort_by(f64::total_cmp);
    report.insert("pay_p50_ms".into(), json!(percentile(&pay_lat, 0.5)));
    report.insert("pay_p99_ms".into(), json!(percentile(&pay_lat, 0.99)));
    report.insert("direct_payment_p50_ms".into(), json!(percentile(&direct_lat, 0.5)));

    eprintln!("bench: upstream economy, {} shoppers through the worker", sizes.shoppers);
    let usual = economy(&stack, &sizes, "s", 40).await;
    report.insert("checkouts_paid".into(), json!(usual.paid));
    report.insert("checkouts_seen_paid".into(), json!(usual.seen));
    report.insert("checkouts_settled".into(), json!(usual.settled));
    report.insert("upstream_calls_per_checkout".into(), json!(usual.per_checkout()));
    report.insert("upstream_calls_by_path".into(), usual.by_path.clone());
    report.insert("upstream_peak_per_minute".into(), json!(usual.stats["peak_calls_per_minute"].as_u64().unwrap_or(0)));
    report.insert("upstream_429".into(), json!(usual.stats["rate_limited"].as_u64().unwrap_or(0)));

    eprintln!("bench: the same through the worker with every notification dropped (the settler's queries settle)");
    let (status, _) = stack.sim("POST", "/sim/faults", Some(json!({"notify_drop": 1.0}))).await;
    assert_eq!(status, 200, "the simulator takes the notify_drop fault");
    let dropped = economy(&stack, &sizes, "nd", 41).await;
    stack.sim("POST", "/sim/faults", Some(json!({}))).await;
    report.insert("checkouts_paid_notify_dropped".into(), json!(dropped.paid));
    report.insert("checkouts_seen_paid_notify_dropped".into(), json!(dropped.seen));
    report.insert("checkouts_settled_notify_dropped".into(), json!(dropped.settled));
    report.insert("upstream_calls_per_checkout_notify_dropped".into(), json!(dropped.per_checkout()));
    report.insert("upstream_calls_by_path_notify_dropped".into(), dropped.by_path.clone());
    report.insert(
        "notifications_dropped_notify_dropped".into(),
        json!(dropped.stats["notifications_dropped"].as_u64().unwrap_or(0)),
    );
    report.insert("upstream_calls_per_checkout_notify_dropped_list_1".into(), json!(dropped.per_checkout()));

    eprintln!("bench: notifications dropped, queries of up to 100 numbers (QFPAY_QUERY_LIST_MAX=100)");
    stack.reconfigure(&["QFPAY_QUERY_LIST_MAX=100"]).await;
    stack.sim("POST", "/sim/faults", Some(json!({"notify_drop": 1.0}))).await;
    let wide = economy(&stack, &sizes, "nw", 42).await;
    stack.sim("POST", "/sim/faults", Some(json!({}))).await;
    stack.reconfigure(&["QFPAY_QUERY_LIST_MAX="]).await;
    report.insert("checkouts_paid_notify_dropped_list_100".into(), json!(wide.paid));
    report.insert("upstream_calls_per_checkout_notify_dropped_list_100".into(), json!(wide.per_checkout()));

    eprintln!("bench: the same shoppers through a naive signing proxy (every poll is a gateway query)");
    let (baseline_paid, baseline_calls, baseline_429) = baseline(sizes.shoppers, sizes.shopper_window).await;
    report.insert(
        "baseline_upstream_calls_per_checkout".into(),
        json!(baseline_calls as f64 / baseline_paid.max(1) as f64),
    );
    report.insert("baseline_checkouts_paid".into(), json!(baseline_paid));
    report.insert("baseline_upstream_429".into(), json!(baseline_429));

    report.extend(shopper_seconds::measure(&stack, quick).await);

    eprintln!("bench: the widget in headless Chromium ({} loads)", sizes.loads);
    let (interactive, qr) = widget_timings(&stack, sizes.loads).await;
    report.insert("widget_interactive_ms".into(), json!(interactive));
    report.insert("qr_shown_ms".into(), json!(qr));
    // `wrangler dev` reloads when worker/build/ is rebuilt under it (by another build).
    let reloads = stack.worker_log().matches("Reloading local server").count();
    report.insert("worker_reloads".into(), json!(reloads));
    if reloads > 0 {
        eprintln!("bench: worker/build/ changed during the run ({reloads} reloads): the figures mix two builds");
    }
    drop(stack);

    report.extend(capacity(quick).await);
    report.extend(merchant_side::measure(quick).await);

    write_report(report, "e2e.json");
}

/// Writes the figures to `target/bench/<name>`.
fn write_report(report: serde_json::Map<String, Value>, name: &str) {
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    std::fs::write(dir.join(name), serde_json::to_string_pretty(&Value::Object(report)).unwrap())
        .unwrap_or_else(|e| panic!("write {name}: {e}"));
    eprintln!("bench: wrote target/bench/{name}");
}

/// Sessions the status load spreads over, each polled from its own address: the worker limits
/// one session to 6 requests a second and one client address to 30 (`worker/wrangler.toml`),
/// and this measures its answer, not its limits.
const STATUS_SESSIONS: usize = 64;

/// `GET /v1/checkout/{id}/status` through the worker, `sizes.concurrency` loops for
/// `sizes.duration`, round-robin over [`STATUS_SESSIONS`] sessions; returns the sorted
/// latencies of the 200s and how many answers were 429 (0 unless the spread is too thin).
async fn status_load(stack: &Stack, sizes: &Sizes) -> (Vec<f64>, u64) {
    let mut targets = Vec::new();
    for i in 0..STATUS_SESSIONS {
        let body = json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": format!("bench-{i}")});
        let (id, secret) = stack.session(body).await;
        targets.push((
            client_from(loopback_ip(30, i)),
            format!("{}/v1/checkout/{id}/status", stack.worker_url),
            secret,
        ));
    }
    let targets = Arc::new(targets);
    let next = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let counted = limited.clone();
    let lat = load(sizes.concurrency, sizes.duration, move || {
        let (targets, next, limited) = (targets.clone(), next.clone(), counted.clone());
        async move {
            let n = next.fetch_add(1, Ordering::SeqCst) as usize % targets.len();
            let (h, url, secret) = &targets[n];
            match h.get(url).bearer_auth(secret).send().await {
                Ok(r) if r.status().is_success() => true,
                Ok(r) => {
                    if r.status().as_u16() == 429 {
                        limited.fetch_add(1, Ordering::SeqCst);
                    }
                    false
                }
                Err(_) => false,
            }
        }
    })
    .await;
    let limited = limited.load(Ordering::SeqCst);
    (lat, limited)
}

/// What one upstream-economy run through the worker came to.
struct Economy {
    /// Checkouts paid at the wallet.
    paid: usize,
    /// Of those, seen paid by the shopper's polling.
    seen: usize,
    /// Of those, settled by the worker by the end of the count.
    settled: usize,
    /// Gateway calls made during the run (and the few seconds after it).
    calls: u64,
    /// The same, by gateway path.
    by_path: Value,
    /// The simulator's counters at the end.
    stats: Value,
}

impl Economy {
    /// Gateway calls per paid checkout.
    fn per_checkout(&self) -> f64 {
        self.calls as f64 / self.paid.max(1) as f64
    }
}

/// `after - before` for each path of the simulator's `calls_by_path`.
fn calls_since(before: &Value, after: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (path, n) in after["calls_by_path"].as_object().into_iter().flatten() {
        let was = before["calls_by_path"][path].as_u64().unwrap_or(0);
        out.insert(path.clone(), json!(n.as_u64().unwrap_or(0).saturating_sub(was)));
    }
    Value::Object(out)
}

/// Runs the shoppers through the worker (references `{tag}{i}`) and counts the gateway calls
/// they cost, from the simulator's `/sim/stats`.
///
/// The count runs until the worker has settled every checkout paid at the wallet (its
/// `checkout.session.paid` events; at most one more window), so a payment settled after its
/// shopper stopped polling still counts the queries that settled it.
/// Each shopper polls from its own address (`block` picks the run's range), as shoppers do:
/// the worker limits one client address to 30 requests a second.
async fn economy(stack: &Stack, sizes: &Sizes, tag: &'static str, block: u8) -> Economy {
    let http = stack.http.clone();
    let (before, before_stats) = sim_calls(&stack.sim_url, &http).await;
    let settled_before = paid_events(stack).await;
    let worker_url = stack.worker_url.clone();
    let (paid, seen) = shoppers(sizes.shoppers, sizes.shopper_window, move |i| {
        worker_checkout(worker_url.clone(), client_from(loopback_ip(block, i)), format!("{tag}{i}"))
    })
    .await;
    let started = Instant::now();
    let mut settled = paid_events(stack).await.saturating_sub(settled_before);
    while settled < paid && started.elapsed() < sizes.shopper_window {
        tokio::time::sleep(Duration::from_secs(1)).await;
        settled = paid_events(stack).await.saturating_sub(settled_before);
    }
    // Notifications still in flight settle in the next seconds; then count the gateway calls.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (after, stats) = sim_calls(&stack.sim_url, &stack.http).await;
    let by_path = calls_since(&before_stats, &stats);
    Economy { paid, seen, settled, calls: after.saturating_sub(before), by_path, stats }
}

/// How many `checkout.session.paid` events the worker has emitted (its `GET /v1/events` feed).
async fn paid_events(stack: &Stack) -> usize {
    let mut count = 0;
    let mut after = String::new();
    loop {
        let (status, page, text) = stack.merchant("GET", &format!("/v1/events?limit=100{after}"), None, None).await;
        assert_eq!(status, 200, "the event feed: {text}");
        let data = page["data"].as_array().cloned().unwrap_or_default();
        count += data.iter().filter(|e| e["type"] == "checkout.session.paid").count();
        match data.last().and_then(|e| e["id"].as_str()) {
            Some(id) if page["has_more"] == true => after = format!("&after={id}"),
            _ => return count,
        }
    }
}

/// A shopper's checkout through the worker: the merchant creates a session, the widget asks
/// for a QR code; returns the widget's status poll (true once paid) and the wallet URL.
async fn worker_checkout(w: String, h: reqwest::Client, reference: String) -> Option<(Poll, String)> {
    let s: Value = h
        .post(format!("{w}/v1/sessions"))
        .bearer_auth(e2e::MERCHANT_API_KEY)
        .json(&json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": reference}))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let (id, secret) = (s["id"].as_str()?.to_owned(), s["client_secret"].as_str()?.to_owned());
    let pay: Value = h
        .post(format!("{w}/v1/checkout/{id}/pay"))
        .bearer_auth(&secret)
        .json(&json!({"pay_type": "800201"}))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let wallet = pay["qrcode"].as_str()?.to_owned();
    let status = format!("{w}/v1/checkout/{id}/status");
    let poll: Poll = Arc::new(move || {
        let (h, u, s) = (h.clone(), status.clone(), secret.clone());
        Box::pin(async move {
            let v: Value = match h.get(u).bearer_auth(s).send().await {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            v["status"] == "paid"
        })
    });
    Some((poll, wallet))
}

/// A naive proxy as the guide's example suggests: it signs and forwards every call, so every
/// poll becomes a gateway query. Returns (paid, gateway calls, 429s).
async fn baseline(n: usize, window: Duration) -> (usize, u64, u64) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = format!("http://{}", listener.local_addr().unwrap());
    let mut config = qfpay_sim::SimConfig::new(vec![qfpay_sim::Merchant::demo()], 1_698_804_000);
    config.public_url = sim.clone();
    config.seed = 7;
    tokio::spawn(qfpay_sim::serve(listener, config, std::future::pending()));
    let http = reqwest::Client::new();
    let creds = Credentials { appcode: "DEMOAPPCODE".into(), key: ClientKey::new("DEMOKEY"), mchid: None };
    let (s2, h2) = (sim.clone(), http.clone());
    let (paid, _) = shoppers(n, window, move |i| {
        let (sim, h, creds) = (s2.clone(), h2.clone(), creds.clone());
        async move {
            let otn = format!("NAIVE{i}");
            let pay = PaymentRequest {
                txamt: 3800,
                txcurrcd: "HKD".into(),
                pay_type: "800201".into(),
                out_trade_no: otn.clone(),
                txdtm: txdtm(),
                ..Default::default()
            };
            let answer = signed_post(&h, &sim, &pay.sign(&creds).ok()?).await?;
            let wallet = answer["qrcode"].as_str()?.to_owned();
            let poll: Poll = Arc::new(move || {
                let (sim, h, creds, otn) = (sim.clone(), h.clone(), creds.clone(), otn.clone());
                Box::pin(async move {
                    let q = QueryRequest { out_trade_no: vec![otn.clone()], ..Default::default() };
                    let Some(signed) = q.sign(&creds).ok() else { return false };
                    signed_post(&h, &sim, &signed).await.is_some_and(|v| v["data"][0]["respcd"] == "0000")
                })
            });
            Some((poll, wallet))
        }
    })
    .await;
    let (calls, stats) = sim_calls(&sim, &http).await;
    (paid, calls, stats["rate_limited"].as_u64().unwrap_or(0))
}

/// Median ms from navigation to an interactive wallet list, and from a click on the first wallet to
/// its QR code (a desktop browser is shown the QR).
async fn widget_timings(stack: &Stack, loads: usize) -> (f64, f64) {
    let b = Browser::start().await;
    let mut interactive = Vec::new();
    let mut qr = Vec::new();
    for i in 0..loads {
        let (id, secret) = stack
            .session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": format!("w{i}")}))
            .await;
        b.client.goto(&format!("{}/", stack.worker_url)).await.expect("the shop");
        b.js(&format!("sessionStorage.setItem('{id}', '{secret}'); return true")).await;
        b.client.goto(&format!("{}/?session={id}", stack.worker_url)).await.expect("the shop with a session");
        let t = b
            .wait_js(
                "return performance.getEntriesByName('qfpay:interactive')[0]?.startTime",
                "interactive",
                Duration::from_secs(30),
            )
            .await;
        interactive.push(t.as_f64().unwrap_or(0.0));
        let w = "document.querySelector('qfpay-checkout').shadowRoot";
        b.js(&format!("window.__clicked = performance.now(); {w}.querySelector('[part=method]').click(); return true"))
            .await;
        let shown = b.wait_js("const m = performance.getEntriesByName('qfpay:qr-shown')[0]; return m && (m.startTime - window.__clicked)", "the QR", Duration::from_secs(30)).await;
        qr.push(shown.as_f64().unwrap_or(0.0));
    }
    interactive.sort_by(f64::total_cmp);
    qr.sort_by(f64::total_cmp);
    (percentile(&interactive, 0.5), percentile(&qr, 0.5))
}

/// The capacity trials: the rates tried (paid checkouts a minute), the warm-up before the
/// measured window, and the window.
struct CapacityPlan {
    rates: Vec<u32>,
    warmup: Duration,
    window: Duration,
}

impl CapacityPlan {
    /// 300, 360 and 380 a minute over 2-minute windows; `--quick`: 360 and 380 over 1 minute.
    fn new(quick: bool) -> CapacityPlan {
        if quick {
            CapacityPlan { rates: vec![360, 380], warmup: Duration::from_secs(15), window: Duration::from_secs(60) }
        } else {
            CapacityPlan {
                rates: vec![300, 360, 380],
                warmup: Duration::from_secs(20),
                window: Duration::from_secs(120),
            }
        }
    }
}

/// A trial holds when its measured rate is at least this share of the rate driven (what is
/// left is the window's edges: checkouts seen just before or after it).
const CAPACITY_TOLERANCE: f64 = 0.97;
/// How long a driven shopper retries the pay request or polls for the payment.
const DRIVEN_PATIENCE: Duration = Duration::from_secs(60);

/// One shopper of a capacity trial: the merchant creates the session, the widget asks for the
/// QR code from the shopper's own address, the phone pays it at the simulator's wallet at once,
/// and the widget polls the status every 2 s (from 1 s after the payment) until it says paid.
/// No browser.
async fn driven_checkout(i: usize, w: String, merchant: reqwest::Client) -> Checkout {
    let browser = client_from(loopback_ip(20, i));
    let shopper = Shopper {
        worker: &w,
        merchant: &merchant,
        browser: &browser,
        pay_type: "800201",
        pays_after: Duration::ZERO,
        patience: DRIVEN_PATIENCE,
    };
    let body = json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": format!("cap{i}")});
    shopper.check_out(body, &format!("cap-{i}")).await
}

/// Drives checkouts at `rate` a minute, evenly spaced, for `warmup + window` on a fresh stack
/// (its own simulator, with its rate limits on, and its own upstream gate), then reports the
/// checkouts seen paid within the window per minute, the gateway's 429s, payments never seen
/// paid, and whether the trial holds every bar.
async fn capacity_trial(rate: u32, warmup: Duration, window: Duration) -> Value {
    let stack = Stack::start(Options { query_after_seconds: 15, ..Options::default() }).await;
    let merchant = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("a client");
    let total = ((warmup + window).as_secs_f64() * f64::from(rate) / 60.0).round() as usize;
    let t0 = Instant::now();
    let driven = at_rate(total, rate, |i| driven_checkout(i, stack.worker_url.clone(), merchant.clone())).await;
    let (from, to) = (t0 + warmup, t0 + warmup + window);
    let in_window = driven.iter().filter(|d| d.seen_at.is_some_and(|t| t >= from && t < to)).count();
    let per_minute = in_window as f64 * 60.0 / window.as_secs_f64();
    let paid = driven.iter().filter(|d| d.paid).count();
    let seen = driven.iter().filter(|d| d.seen()).count();
    let refusals = tally(driven.iter().flat_map(|d| d.refusals.iter().cloned()));
    let (_, stats) = stack.sim("GET", "/sim/stats", None).await;
    let gateway_429 = stats["rate_limited"].as_u64();
    let holds =
        gateway_429 == Some(0) && paid == total && seen == paid && per_minute >= CAPACITY_TOLERANCE * f64::from(rate);
    let trial = json!({
        "rate_per_minute": rate,
        "paid_seen_per_minute": per_minute,
        "holds": holds,
        "checkouts": total,
        "paid": paid,
        "seen_paid": seen,
        "seen_in_window": in_window,
        "gateway_429": gateway_429,
        "gateway_calls_by_path": stats["calls_by_path"],
        "gateway_peak_calls_per_minute": stats["peak_calls_per_minute"],
        "pay_refusals": refusals,
        "worker_reloads": stack.worker_log().matches("Reloading local server").count(),
    });
    eprintln!("bench: capacity at {rate}/min: {trial}");
    trial
}

/// The capacity figures: every trial, and the best that holds every bar (0 gateway 429s, every
/// checkout paid and seen paid, the rate driven sustained over the window): the most paid
/// checkouts a minute one merchant sustains.
async fn capacity(quick: bool) -> serde_json::Map<String, Value> {
    let plan = CapacityPlan::new(quick);
    let mut trials = Vec::new();
    for &rate in &plan.rates {
        eprintln!(
            "bench: capacity: {rate} checkouts a minute for {} s (a fresh stack)",
            (plan.warmup + plan.window).as_secs()
        );
        trials.push(capacity_trial(rate, plan.warmup, plan.window).await);
    }
    let best = trials.iter().filter(|t| t["holds"] == true).max_by(|a, b| {
        a["paid_seen_per_minute"].as_f64().unwrap_or(0.0).total_cmp(&b["paid_seen_per_minute"].as_f64().unwrap_or(0.0))
    });
    let mut out = serde_json::Map::new();
    out.insert("capacity_paid_per_minute".into(), best.map_or(Value::Null, |t| t["paid_seen_per_minute"].clone()));
    out.insert("capacity_rate_per_minute".into(), best.map_or(Value::Null, |t| t["rate_per_minute"].clone()));
    out.insert("capacity_gateway_429".into(), best.map_or(Value::Null, |t| t["gateway_429"].clone()));
    out.insert("capacity_window_seconds".into(), json!(plan.window.as_secs()));
    out.insert("capacity_trials".into(), Value::Array(trials));
    out
}
