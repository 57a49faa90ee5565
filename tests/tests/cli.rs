//! The `qfpay` CLI's merchant commands (`sessions`, `refunds`, `events`) run as a real process
//! against the worker under `wrangler dev` and the simulator: what a merchant types, what it
//! prints, how it fails. The binary is the light build (no `sim` feature), as
//! `cargo install --path crates/qfpay-cli` gives it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use e2e::{Options, Stack, MERCHANT_API_KEY};
use serde_json::{json, Value};

/// What one run of the CLI did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Builds `qfpay` (cargo's own JSON messages say where it is) and copies it aside, so another
/// build of the binary with other features, at the same path, cannot swap it mid-test.
fn qfpay_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_qfpay).clone()
}

fn build_qfpay() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "-p", "qfpay-cli", "--bin", "qfpay", "--message-format=json-render-diagnostics"])
        .current_dir(e2e::root())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "building qfpay failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let built = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "qfpay")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the qfpay executable");
    let copy = std::env::temp_dir().join(format!("qfpay-cli-e2e-{}", std::process::id()));
    std::fs::copy(&built, &copy).expect("copy the qfpay binary");
    copy
}

/// Runs `qfpay args` with the worker's URL and `key` (off the async threads: the simulator
/// runs in this process).
async fn qfpay_with(url: &str, key: &str, args: &[&str]) -> Run {
    let (binary, url, key) = (qfpay_binary(), url.to_owned(), key.to_owned());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || run(&binary, &url, &key, &args)).await.expect("the run finishes")
}

fn run(binary: &Path, url: &str, key: &str, args: &[String]) -> Run {
    let out = Command::new(binary)
        .args(args)
        .env("QFPAY_WORKER_URL", url)
        .env("MERCHANT_API_KEY", key)
        .output()
        .expect("qfpay runs");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stdout.contains(MERCHANT_API_KEY) && !run.stderr.contains(MERCHANT_API_KEY),
        "the CLI printed the merchant key: {run:?}"
    );
    run
}

async fn qfpay(stack: &Stack, args: &[&str]) -> Run {
    qfpay_with(&stack.worker_url, MERCHANT_API_KEY, args).await
}

fn ok(run: &Run, what: &str) {
    assert_eq!(run.code, Some(0), "{what}: {run:?}");
}

/// The value of a `name  value` line of the human output.
fn field<'a>(run: &'a Run, name: &str) -> &'a str {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix(name).filter(|rest| rest.starts_with("  ")).map(str::trim))
        .unwrap_or_else(|| panic!("no {name:?} line in {run:?}"))
}

/// One request the proxy passed on: its request line (`POST /v1/... HTTP/1.1`) and its
/// `Idempotency-Key`, if any.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    key: Option<String>,
}

/// A loopback HTTP proxy in front of the worker, one request per connection: it records each
/// request and, when told to, loses the answer to the next POST (forwards it, waits until the
/// worker has answered, then closes the CLI's connection without a byte), as a network that
/// drops a reply would. Its threads end with the test process.
struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    lose_next_post: Arc<AtomicBool>,
}

impl Proxy {
    fn start(worker_url: &str) -> Proxy {
        let upstream = worker_url.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the proxy");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let (seen, lose_next_post) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let (seen2, lose2) = (seen.clone(), lose_next_post.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, seen, lose) = (upstream.clone(), seen2.clone(), lose2.clone());
                std::thread::spawn(move || relay(client, &upstream, &seen, &lose));
            }
        });
        Proxy { url, seen, lose_next_post }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Passes one request to the worker (as `Connection: close`, so its answer ends at EOF) and the
/// answer back, unless this is the POST whose answer is to be lost.
fn relay(client: TcpStream, upstream: &str, seen: &Mutex<Vec<Seen>>, lose_next_post: &AtomicBool) {
    let mut reader = BufReader::new(client.try_clone().expect("the client socket"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut head = line.clone();
    let (mut length, mut key) = (0usize, None);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).expect("a request header");
        if header == "\r\n" || header.is_empty() {
            break;
        }
        let (name, value) =
            header.split_once(':').map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim())).unwrap_or_default();
        match name.as_str() {
            "content-length" => length = value.parse().expect("a Content-Length"),
            "idempotency-key" => key = Some(value.to_owned()),
            "connection" | "host" => continue,
            _ => {}
        }
        head.push_str(&header);
    }
    head.push_str(&format!("Host: {upstream}\r\nConnection: close\r\n\r\n"));
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).expect("the request body");
    let is_post = line.starts_with("POST ");
    seen.lock().unwrap().push(Seen { line: line.trim_end().to_owned(), key });
    let mut worker = TcpStream::connect(upstream).expect("the worker");
    worker.write_all(head.as_bytes()).and_then(|()| worker.write_all(&body)).expect("the request forwarded");
    let mut answer = Vec::new();
    worker.read_to_end(&mut answer).expect("the worker's answer");
    if is_post && lose_next_post.swap(false, Ordering::SeqCst) {
        // The worker has answered (and done what was asked); the CLI never hears it.
        let _ = client.shutdown(std::net::Shutdown::Both);
        return;
    }
    let mut client = client;
    let _ = client.write_all(&answer);
}

/// Pays `id` at the simulator's wallet as a shopper would (an MPM QR code scanned and paid),
/// and waits until the worker says paid.
async fn pay(stack: &Stack, id: &str, secret: &str) {
    let path = format!("/v1/checkout/{id}/pay");
    let (status, answer, text) = stack.widget("POST", &path, secret, Some(json!({"pay_type": "800201"}))).await;
    assert_eq!(status, 201, "pay: {text}");
    let qrcode = answer["qrcode"].as_str().expect("an MPM answer has a qrcode");
    let paid = stack.http.post(format!("{qrcode}/pay")).header("Accept", "application/json").send().await;
    assert_eq!(paid.expect("the wallet answers").status().as_u16(), 200);
    let session = stack.wait_session(id, Duration::from_secs(30), |s| s["status"] == "paid").await;
    assert_eq!(session["status"], "paid", "{session}");
}

/// A refund through the CLI, tried again while the payment's gateway number is not known yet.
async fn refund(stack: &Stack, id: &str) -> Run {
    for _ in 0..20 {
        let run = qfpay(stack, &["refunds", "create", id, "--amount", "1000", "--reason", "no pineapple bun"]).await;
        if !run.stderr.contains("payment_not_settled") {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the payment never settled enough to refund");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_runs_a_merchants_day() {
    // Built before the stack starts, so the worker is not kept waiting on a compile.
    tokio::task::spawn_blocking(qfpay_binary).await.expect("qfpay builds");
    let stack = Stack::start(Options::default()).await;

    // Create, for people: aligned fields, the amount in dollars, the secret to hand the page.
    let created = qfpay(
        &stack,
        &["sessions", "create", "--amount", "3800", "--goods-name", "Milk tea set", "--reference", "cli-order-1"],
    )
    .await;
    ok(&created, "create");
    let id = field(&created, "id").to_owned();
    assert!(id.starts_with("cs_"), "{created:?}");
    assert_eq!(
        (field(&created, "status"), field(&created, "amount"), field(&created, "reference")),
        ("open", "38.00 HKD", "cli-order-1")
    );
    assert!(field(&created, "created").ends_with('Z'), "RFC 3339 UTC: {created:?}");
    let secret = field(&created, "client secret").to_owned();

    // Create, for scripts: the worker's JSON; then get and close it.
    let json_run = qfpay(
        &stack,
        &[
            "sessions",
            "create",
            "--json",
            "--amount",
            "1500",
            "--currency",
            "HKD",
            "--goods-name",
            "Bun",
            "--reference",
            "cli-order-2",
            "--metadata",
            "table=12",
            "--metadata",
            "note=\u{1b}[2Jred\u{1b}[0m",
            "--expires-in-minutes",
            "30",
        ],
    )
    .await;
    ok(&json_run, "create --json");
    let second: Value = serde_json::from_str(&json_run.stdout).expect("create --json prints JSON");
    let second_id = second["id"].as_str().expect("an id").to_owned();
    assert_eq!((second["amount"].as_u64(), second["metadata"]["table"].as_str()), (Some(1500), Some("12")));
    let (_, stored, _) = stack.merchant("GET", &format!("/v1/sessions/{second_id}"), None, None).await;
    assert_eq!(stored["reference"], "cli-order-2", "the worker has it");
    let got = qfpay(&stack, &["sessions", "get", &second_id, "--json"]).await;
    ok(&got, "get --json");
    assert_eq!(serde_json::from_str::<Value>(&got.stdout).expect("JSON"), stored, "get --json is the worker's answer");
    let got = qfpay(&stack, &["sessions", "get", &second_id]).await;
    ok(&got, "get");
    assert_eq!((field(&got, "amount"), field(&got, "metadata.table")), ("15.00 HKD", "12"));
    // The worker's text is shown, not obeyed: a terminal escape in metadata comes out escaped
    // for people, and as the worker's JSON (escaped by JSON) for scripts.
    assert_eq!(field(&got, "metadata.note"), "\\u{1b}[2Jred\\u{1b}[0m", "{got:?}");
    assert!(!got.stdout.contains('\u{1b}'), "{got:?}");
    assert_eq!(stored["metadata"]["note"], "\u{1b}[2Jred\u{1b}[0m");
    let closed = qfpay(&stack, &["sessions", "close", &second_id, "--wait", "--timeout", "30", "--json"]).await;
    ok(&closed, "close --wait");
    let closed: Value = serde_json::from_str(&closed.stdout).expect("close --json prints JSON");
    assert_eq!(closed["status"], "closed", "{closed}");
    // A close the gateway has not confirmed (its answers fail): 202 closing, then --wait
    // follows it to closed once the gateway answers again.
    let (third, third_secret) = stack
        .session(json!({"amount": 900, "currency": "HKD", "goods_name": "Tart",
                                                      "reference": "cli-order-3"}))
        .await;
    let path = format!("/v1/checkout/{third}/pay");
    let (status, _, text) = stack.widget("POST", &path, &third_secret, Some(json!({"pay_type": "800201"}))).await;
    assert_eq!(status, 201, "a QR code to close: {text}");
    assert_eq!(stack.sim("POST", "/sim/faults", Some(json!({"5xx": 1.0}))).await.0, 200);
    let closing = qfpay(&stack, &["sessions", "close", &third]).await;
    ok(&closing, "close while the gateway fails");
    assert_eq!(field(&closing, "status"), "closing", "{closing:?}");
    assert!(
        closing.stderr.contains(&format!("qfpay sessions close {third} --wait")),
        "says how to follow it: {closing:?}"
    );
    let waiting = {
        let (url, third) = (stack.worker_url.clone(), third.clone());
        tokio::spawn(async move {
            qfpay_with(&url, MERCHANT_API_KEY, &["sessions", "close", &third, "--wait", "--timeout", "90"]).await
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(stack.sim("POST", "/sim/faults", Some(json!({}))).await.0, 200);
    let waited = waiting.await.expect("the close --wait run");
    ok(&waited, "close --wait");
    assert_eq!(field(&waited, "status"), "closed", "{waited:?}");
    assert!(waited.stderr.contains(&format!("{third} is closing")), "progress while waiting: {waited:?}");

    let missing = qfpay(&stack, &["sessions", "get", "cs_doesnotexist"]).await;
    assert_eq!(missing.code, Some(1), "{missing:?}");
    assert!(missing.stderr.contains("HTTP 404 not_found"), "{missing:?}");

    // Paid by a shopper, then refunded in part from the CLI.
    pay(&stack, &id, &secret).await;
    let refunded = refund(&stack, &id).await;
    ok(&refunded, "refund");
    assert!(refunded.stdout.starts_with("re_"), "{refunded:?}");
    assert!(
        refunded.stdout.contains("  10.00 HKD  succeeded  ") && refunded.stdout.contains("no pineapple bun"),
        "{refunded:?}"
    );
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_eq!(session["amount_refunded"], 1000, "{session}");
    let too_much = qfpay(&stack, &["refunds", "create", &id, "--amount", "5000"]).await;
    assert_eq!(too_much.code, Some(1), "{too_much:?}");
    assert!(too_much.stderr.contains("409") && too_much.stderr.contains("refund_exceeds_payment"), "{too_much:?}");
    assert!(!too_much.stderr.contains("--idempotency-key"), "a final refusal needs no retry: {too_much:?}");

    // A lost answer: the refund reaches the worker, its answer never reaches the CLI. The CLI
    // sends it again with the same Idempotency-Key, the worker answers with the first refund,
    // and the merchant is told the key; there is one refund, not two.
    let proxy = Proxy::start(&stack.worker_url);
    proxy.lose_next_post.store(true, Ordering::SeqCst);
    let lost = qfpay_with(
        &proxy.url,
        MERCHANT_API_KEY,
        &["refunds", "create", &id, "--amount", "500", "--reason", "lost answer"],
    )
    .await;
    ok(&lost, "a refund whose first answer was lost");
    assert!(lost.stdout.starts_with("re_") && lost.stdout.contains("  5.00 HKD  succeeded  "), "{lost:?}");
    let posts: Vec<Seen> = proxy.seen().into_iter().filter(|r| r.line.starts_with("POST ")).collect();
    assert_eq!(posts.len(), 2, "sent, then sent again: {posts:?}");
    let key = posts[0].key.clone().expect("the refund carries an Idempotency-Key");
    assert_eq!(posts[1].key.as_ref(), Some(&key), "the resend carries the same key: {posts:?}");
    assert!(lost.stderr.contains(&format!("--idempotency-key {key}")), "the key is printed: {lost:?}");
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    let refunds: Vec<&Value> =
        session["refunds"].as_array().expect("refunds").iter().filter(|r| r["reason"] == "lost answer").collect();
    assert_eq!(refunds.len(), 1, "one refund for the two sends: {session}");
    assert_eq!(session["amount_refunded"], 1500, "{session}");
    // Run again with the printed key, as the advice says: the same refund, still one.
    let again = qfpay(
        &stack,
        &["refunds", "create", &id, "--amount", "500", "--reason", "lost answer", "--idempotency-key", &key],
    )
    .await;
    ok(&again, "the retry with the printed key");
    assert!(again.stdout.starts_with(refunds[0]["id"].as_str().unwrap()), "the first refund again: {again:?}");
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_eq!(session["amount_refunded"], 1500, "no second refund: {session}");

    // The event feed: the paid event, for people and as NDJSON; --after skips what was seen.
    let tail = qfpay(&stack, &["events", "tail", "--from-start", "--once"]).await;
    ok(&tail, "events tail");
    let paid_line = tail
        .stdout
        .lines()
        .find(|l| l.contains("checkout.session.paid") && l.contains(&id))
        .unwrap_or_else(|| panic!("the paid event is listed: {tail:?}"));
    assert!(paid_line.starts_with("evt_") && paid_line.ends_with("38.00 HKD"), "{paid_line}");
    assert!(tail.stdout.lines().any(|l| l.contains("refund.succeeded") && l.ends_with("10.00 HKD")), "{tail:?}");
    let ndjson = qfpay(&stack, &["events", "tail", "--from-start", "--once", "--json"]).await;
    ok(&ndjson, "events tail --json");
    let events: Vec<Value> =
        ndjson.stdout.lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect();
    let paid = events
        .iter()
        .find(|e| e["type"] == "checkout.session.paid" && e["data"]["session"]["id"] == id.as_str())
        .expect("the paid event in the NDJSON");
    let paid_id = paid["id"].as_str().expect("an event id");
    let after = qfpay(&stack, &["events", "tail", "--after", paid_id, "--once", "--json"]).await;
    ok(&after, "events tail --after");
    assert!(!after.stdout.contains(&format!("\"{paid_id}\"")), "--after starts after it: {after:?}");
    assert!(after.stdout.contains("refund.succeeded"), "{after:?}");
    let newest = qfpay(&stack, &["events", "tail", "--once"]).await;
    ok(&newest, "events tail from the newest");
    assert_eq!(newest.stdout, "", "from the newest event, nothing new yet");
    // It found the newest event with one read of the feed's end, then read on after it.
    let (_, feed, text) = stack.merchant("GET", "/v1/events?limit=100", None, None).await;
    assert_eq!(feed["has_more"], false, "{text}");
    let last =
        feed["data"].as_array().and_then(|d| d.last()).and_then(|e| e["id"].as_str()).expect("events").to_owned();
    let before = proxy.seen().len();
    let newest = qfpay_with(&proxy.url, MERCHANT_API_KEY, &["events", "tail", "--once"]).await;
    ok(&newest, "events tail from the newest, through the proxy");
    let lines: Vec<String> = proxy.seen()[before..].iter().map(|r| r.line.clone()).collect();
    assert_eq!(
        lines,
        [
            "GET /v1/events?latest=true&limit=1 HTTP/1.1".to_owned(),
            format!("GET /v1/events?limit=100&after={last} HTTP/1.1")
        ],
        "{newest:?}"
    );

    // The feed forwarded to a local receiver, signed with a local secret as the worker signs:
    // the Standard Webhooks library verifies every delivery.
    let receiver = e2e::receiver::Receiver::start().await;
    let secret = e2e::receiver::WEBHOOK_SECRET;
    let forward = ["events", "forward", "--to", &receiver.url, "--secret", secret, "--from-start", "--once"];
    let forwarded = qfpay(&stack, &forward).await;
    ok(&forwarded, "events forward");
    assert!(
        forwarded.stderr.lines().any(|l| l.contains("checkout.session.paid") && l.contains("-> 2")),
        "{forwarded:?}"
    );
    let got = receiver.unique();
    assert!(got.values().any(|r| r.kind == "checkout.session.paid" && r.session == id), "{got:?}");
    assert!(got.values().any(|r| r.kind == "refund.succeeded"), "{got:?}");
    assert_eq!(receiver.bad_signatures(), 0);
    let no_secret = qfpay(&stack, &["events", "forward", "--to", &receiver.url, "--once"]).await;
    assert_eq!(no_secret.code, Some(2), "no secret is a usage error: {no_secret:?}");
    // This stack delivers no webhooks, so the worker refuses a resend, and says why.
    let resend = qfpay(&stack, &["events", "resend", paid_id]).await;
    assert_eq!(resend.code, Some(1), "{resend:?}");
    assert!(resend.stderr.contains("webhooks_disabled"), "{resend:?}");

    // Refusals: a wrong key, a plain-http URL to another host (never contacted), no URL.
    let wrong =
        qfpay_with(&stack.worker_url, "sk_wrong_key_for_the_cli_test_0123456789", &["sessions", "get", &id]).await;
    assert_eq!(wrong.code, Some(1), "{wrong:?}");
    assert!(
        wrong.stderr.contains("HTTP 401 unauthorized") && wrong.stderr.contains("check MERCHANT_API_KEY"),
        "{wrong:?}"
    );
    assert!(!wrong.stderr.contains("sk_wrong_key"), "the wrong key is not shown either: {wrong:?}");
    let plain = qfpay_with("http://pay.example.com", MERCHANT_API_KEY, &["sessions", "get", &id]).await;
    assert_eq!(plain.code, Some(2), "{plain:?}");
    assert!(plain.stderr.contains("QFPAY_WORKER_URL") && plain.stderr.contains("unencrypted"), "{plain:?}");
    let unset = qfpay_with("", MERCHANT_API_KEY, &["events", "tail", "--once"]).await;
    assert!(unset.code == Some(2) && unset.stderr.contains("QFPAY_WORKER_URL is not set"), "{unset:?}");

    // Listing (last: GET /v1/sessions is the newest endpoint): by reference, status and time.
    let listed = qfpay(&stack, &["sessions", "list", "--reference", "cli-order-1"]).await;
    ok(&listed, "list --reference");
    let rows: Vec<&str> = listed.stdout.lines().collect();
    assert!(rows[0].starts_with("ID ") && rows[0].contains("REFERENCE"), "{listed:?}");
    assert!(rows[1].starts_with(&id) && rows[1].contains(" paid ") && rows[1].ends_with("cli-order-1"), "{listed:?}");
    assert_eq!(rows.last(), Some(&"1 session"), "{listed:?}");
    let today = &field(&created, "created")[..10];
    let listed = qfpay(&stack, &["sessions", "list", "--json", "--since", today, "--limit", "1"]).await;
    ok(&listed, "list --since --limit");
    let page: Value = serde_json::from_str(&listed.stdout).expect("list --json prints JSON");
    assert_eq!((page["data"][0]["id"].as_str(), page["has_more"].as_bool()), (Some(id.as_str()), Some(true)), "{page}");
    let listed = qfpay(&stack, &["sessions", "list", "--json", "--status", "closed"]).await;
    ok(&listed, "list --status");
    let page: Value = serde_json::from_str(&listed.stdout).expect("JSON");
    let ids: Vec<&str> = page["data"].as_array().expect("data").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, [second_id.as_str(), third.as_str()], "oldest first: {page}");
    let none = qfpay(&stack, &["sessions", "list", "--until", "2000-01-01T00:00:00Z"]).await;
    ok(&none, "list --until");
    assert_eq!(none.stdout, "no sessions match\n", "{none:?}");
}
