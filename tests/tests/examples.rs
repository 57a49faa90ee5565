//! The merchant's first day, from the README alone: the files under `examples/` (a shop's
//! server in Node and in Python, a webhook receiver in each, the curl calls, the shop's page)
//! are what the README quotes, verbatim (checked here), and they run against the real stack:
//! the servers create sessions at the worker, curl.sh runs as written, the receivers verify and
//! handle every event type the worker sends (none is dropped), and in Chromium a phone pays
//! from the Node shop on a second origin, comes back through `return_url`'s
//! `{CHECKOUT_SESSION_ID}` and sees the payment through. A wrong secret and a refused origin
//! each log one console error naming the code.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use checkout_api::events::{EventType, WebhookSecret};
use e2e::browser::{Browser, Device};
use e2e::program::Program;
use e2e::receiver::WEBHOOK_SECRET;
use e2e::{free_port, root, Options, Stack, MERCHANT_API_KEY};
use serde_json::{json, Value};

const W: &str = "document.querySelector('qfpay-checkout')?.shadowRoot";
const LONG: Duration = Duration::from_secs(30);

fn examples() -> PathBuf {
    root().join("examples")
}

/// The quoted regions of the example files: name -> the lines between `readme:begin NAME` and
/// `readme:end` (the marker lines left out).
fn regions() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for file in [
        "node/server.mjs",
        "node/webhooks.mjs",
        "python/server.py",
        "python/webhooks.py",
        "shop/page.js",
        "shop/page.html",
        "curl.sh",
    ] {
        let text = std::fs::read_to_string(examples().join(file)).unwrap_or_else(|e| panic!("examples/{file}: {e}"));
        let mut current: Option<(String, Vec<&str>)> = None;
        let mut found = 0;
        for line in text.lines() {
            if let Some(rest) = line.split("readme:begin ").nth(1) {
                let name = rest.trim().trim_end_matches("-->").trim().to_owned();
                current = Some((name, Vec::new()));
            } else if line.contains("readme:end") {
                let (name, lines) =
                    current.take().unwrap_or_else(|| panic!("examples/{file}: readme:end without begin"));
                out.insert(name, lines.join("\n"));
                found += 1;
            } else if let Some((_, lines)) = current.as_mut() {
                lines.push(line);
            }
        }
        assert!(current.is_none(), "examples/{file}: readme:begin without end");
        assert!(found > 0, "examples/{file} has no region the README quotes");
    }
    out
}

#[test]
fn the_readme_quotes_the_examples_verbatim() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let regions = regions();
    assert_eq!(regions.len(), 7, "{:?}", regions.keys());
    for (name, text) in &regions {
        assert!(
            readme.contains(text.as_str()),
            "README.md does not quote the region {name} of examples/ verbatim:\n{text}"
        );
    }
    let lines = readme.lines().count();
    assert!(lines < 300, "README.md has {lines} lines: a merchant reads it in 10 minutes, so fewer than 300");
}

fn node() -> Command {
    let mut cmd = Command::new("node");
    cmd.env("PATH", e2e::path_with_node());
    cmd
}

/// The two example receivers, on ports chosen now.
fn receivers() -> Vec<(Program, u16)> {
    let mut out = Vec::new();
    let node_port = free_port();
    let mut cmd = node();
    cmd.arg(examples().join("node/webhooks.mjs"))
        .env("WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("PORT", node_port.to_string());
    out.push((Program::start("node webhooks.mjs", &mut cmd), node_port));
    let py_port = free_port();
    let mut python = Command::new("python3");
    python
        .arg(examples().join("python/webhooks.py"))
        .env("WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("PORT", py_port.to_string());
    out.push((Program::start("python3 webhooks.py", &mut python), py_port));
    out
}

/// What each example receiver must do with each event type: nothing that moves money is left
/// unhandled, and a late payment is fulfilled like any payment (the money arrived).
fn expected_action(kind: EventType) -> &'static str {
    match kind {
        EventType::SessionPaid | EventType::SessionLatePayment => "fulfil",
        EventType::SessionExpired | EventType::SessionClosed => "release",
        EventType::RefundSucceeded => "refunded",
        EventType::RefundFailed => "refund_failed",
        EventType::RefundUnresolved => "refund_unresolved",
        EventType::DuplicatePayment => "duplicate",
        EventType::DuplicateRefunded => "duplicate_refunded",
        EventType::PaymentHeld => "held",
        EventType::PaymentReversed => "reversed",
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Sends one event as the worker does: Standard Webhooks headers, signed with `secret`.
async fn deliver(http: &reqwest::Client, port: u16, event: &Value, timestamp: u64, secret: &str) -> u16 {
    let body = event.to_string();
    let id = event["id"].as_str().unwrap_or_default();
    let signature = WebhookSecret::parse(secret).expect("a whsec_ secret").signature(id, timestamp, &body);
    let resp = http
        .post(format!("http://127.0.0.1:{port}/"))
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", format!("v1,bm90IGl0 {signature}"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the receiver answers");
    resp.status().as_u16()
}

fn event(id: &str, kind: &str, reference: &str) -> Value {
    json!({"id": id, "type": kind, "created": now(), "data": {
        "session": {"id": "cs_example", "status": "paid", "amount": 3800, "currency": "HKD", "reference": reference},
        "refund": {"id": "re_example", "amount": 1000, "status": "succeeded"}
    }})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_receivers_handle_every_event_type_once_and_refuse_forgeries() {
    let http = reqwest::Client::new();
    for (program, port) in receivers() {
        program.wait_port(port).await;
        for (i, kind) in EventType::ALL.into_iter().enumerate() {
            let id = format!("evt_every_{i}");
            let reference = format!("order-{}", kind.as_str());
            let sent = event(&id, kind.as_str(), &reference);
            assert_eq!(deliver(&http, port, &sent, now(), WEBHOOK_SECRET).await, 204, "{}", kind.as_str());
            let line = program.wait_line(&format!("\"id\":\"{id}\""), Duration::from_secs(5)).await;
            let seen: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("one JSON line: {line}"));
            assert_eq!(seen["action"], expected_action(kind), "{}: {line}", kind.as_str());
            assert_eq!(seen["reference"], reference.as_str());
            // A repeat (the worker delivers at least once) is answered 2xx and changes nothing.
            assert_eq!(deliver(&http, port, &sent, now(), WEBHOOK_SECRET).await, 204);
        }
        let unknown = event("evt_future", "payment.something_new", "order-future");
        assert_eq!(deliver(&http, port, &unknown, now(), WEBHOOK_SECRET).await, 204);
        program.wait_line("\"action\":\"unhandled\"", Duration::from_secs(5)).await;
        // Forged, replayed or stale: refused before anything happens.
        let forged = event("evt_forged", "checkout.session.paid", "order-forged");
        let other_secret = "whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZS0xMjM0NTY3OA==";
        assert_eq!(deliver(&http, port, &forged, now(), other_secret).await, 400, "a wrong signature");
        assert_eq!(deliver(&http, port, &forged, now() - 3600, WEBHOOK_SECRET).await, 400, "an hour-old timestamp");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let lines = program.lines();
        assert!(!lines.iter().any(|l| l.contains("evt_forged")), "a forgery was handled: {lines:#?}");
        let handled = lines.iter().filter(|l| l.contains("\"action\"")).count();
        assert_eq!(handled, EventType::ALL.len() + 1, "each event once: {lines:#?}");
    }
}

fn server(language: &str, stack: &Stack, port: u16) -> Program {
    let shop = format!("http://127.0.0.1:{port}");
    let mut cmd = match language {
        "node" => {
            let mut cmd = node();
            cmd.arg(examples().join("node/server.mjs"));
            cmd
        }
        _ => {
            let mut cmd = Command::new("python3");
            cmd.arg(examples().join("python/server.py"));
            cmd
        }
    };
    cmd.env("QFPAY_WORKER_URL", &stack.worker_url)
        .env("MERCHANT_API_KEY", MERCHANT_API_KEY)
        .env("PORT", port.to_string())
        .env("SHOP_URL", &shop);
    Program::start(&format!("{language} server"), &mut cmd)
}

/// The servers create sessions at the worker and serve the page; curl.sh runs as written; the
/// Node receiver gets the worker's real deliveries (paid, closed) and handles them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_servers_curl_and_receiver_work_against_the_worker() {
    let hook_port = free_port();
    let mut cmd = node();
    cmd.arg(examples().join("node/webhooks.mjs"))
        .env("WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("PORT", hook_port.to_string());
    let hooks = Program::start("node webhooks.mjs", &mut cmd);
    let webhook_url = Some(format!("http://127.0.0.1:{hook_port}/"));
    let stack = Stack::start(Options { webhook_url, ..Options::default() }).await;
    let http = reqwest::Client::new();
    for language in ["node", "python"] {
        let port = free_port();
        let shop = format!("http://127.0.0.1:{port}");
        let program = server(language, &stack, port);
        program.wait_port(port).await;
        let page = http.get(format!("{shop}/")).send().await.unwrap().text().await.unwrap();
        assert!(
            page.contains(&format!("{}/qfpay-checkout.js", stack.worker_url)),
            "{language}: the page loads the widget: {page}"
        );
        let script = http.get(format!("{shop}/page.js")).send().await.unwrap();
        assert_eq!(script.status().as_u16(), 200);
        let created = http.post(format!("{shop}/checkout")).send().await.unwrap();
        assert_eq!(created.status().as_u16(), 201, "{language}: {:?}", program.lines());
        let created: Value = created.json().await.unwrap();
        let (id, secret) = (created["session"].as_str().unwrap(), created["secret"].as_str().unwrap());
        assert_eq!(created["endpoint"], stack.worker_url.as_str());
        let again: Value = http.get(format!("{shop}/checkout/{id}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(again["secret"], secret, "{language}: the secret again, for the page a wallet sends back");
        let unknown = http.get(format!("{shop}/checkout/cs_unknown")).send().await.unwrap();
        assert_eq!(unknown.status().as_u16(), 404);
        let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
        assert_eq!(session["return_url"], format!("{shop}/?session={id}"), "{language}: the worker filled in the id");
        assert_eq!(session["amount"], 3800);

        // Paid at the simulator's wallet: the receiver fulfils the order.
        let qrcode = e2e::shopper::pay_for_qr(&http, &stack.worker_url, (id, secret), "800201", LONG, &mut Vec::new())
            .await
            .expect("a QR code");
        let paid = http.post(format!("{qrcode}/pay")).header("Accept", "application/json").send().await.unwrap();
        assert!(paid.status().is_success(), "the wallet pays");
        let reference = session["reference"].as_str().unwrap();
        let line = hooks.wait_line(&format!("\"reference\":\"{reference}\""), LONG).await;
        assert!(line.contains("\"action\":\"fulfil\"") && line.contains("checkout.session.paid"), "{line}");
    }

    // A server that cannot create a session says why, with the Request-Id to quote.
    let port = free_port();
    let mut cmd = node();
    cmd.arg(examples().join("node/server.mjs"))
        .env("QFPAY_WORKER_URL", &stack.worker_url)
        .env("MERCHANT_API_KEY", "sk_wrong_key_but_long_enough_0123456789")
        .env("PORT", port.to_string());
    let wrong = Program::start("node server, wrong key", &mut cmd);
    wrong.wait_port(port).await;
    let refused = http.post(format!("http://127.0.0.1:{port}/checkout")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 502);
    let line = wrong.wait_line("401 unauthorized", Duration::from_secs(5)).await;
    assert!(line.contains("Request-Id req_"), "{line}");

    // curl.sh as written: create, read, close, the events.
    let out = Command::new("bash")
        .arg(examples().join("curl.sh"))
        .env("W", &stack.worker_url)
        .env("KEY", MERCHANT_API_KEY)
        .output()
        .expect("bash runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "curl.sh failed:\n{text}");
    let id = text.split_whitespace().find(|w| w.starts_with("cs_")).expect("an id").trim_end_matches(';');
    assert!(text.contains(&format!("session={id}")), "the return_url has the id filled in:\n{text}");
    assert!(text.contains("\"status\":\"closed\""), "closed:\n{text}");
    assert!(text.contains("checkout.session.closed"), "the event is listed:\n{text}");
    hooks.wait_line("\"action\":\"release\"", LONG).await;
}

/// A phone pays from the Node shop on a second origin (allowed as `--allow-origin` allows it),
/// goes to the wallet's page, comes back to `/?session=cs_...` and the page mounts the widget
/// again, which sees the payment through. Then a wrong secret, and the Python shop on an origin
/// the worker does not allow: each logs one console error naming its code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_pays_from_the_example_shop_and_errors_explain_themselves() {
    let node_port = free_port();
    let node_shop = format!("http://127.0.0.1:{node_port}");
    let stack = Stack::start(Options { allowed_origins: node_shop.clone(), ..Options::default() }).await;
    let shop = server("node", &stack, node_port);
    shop.wait_port(node_port).await;
    let b = Browser::start_as(Device::Phone).await;

    b.client.goto(&format!("{node_shop}/")).await.expect("the shop loads");
    b.wait_js("return customElements.get('qfpay-checkout') && document.getElementById('pay')", "the shop", LONG).await;
    b.js("document.getElementById('pay').click(); return true").await;
    b.wait_js(&format!("return {W}?.querySelectorAll('[role=radio]').length"), "the wallets", LONG).await;
    let session = b.js("return document.querySelector('qfpay-checkout').getAttribute('session')").await;
    let session = session.as_str().expect("a session id").to_owned();
    b.js(&format!("{W}.querySelector('[part=method][data-wallet=alipay]').click(); return true")).await;
    b.wait_js(&format!("return {W}?.querySelector('a[part=open-wallet]')"), "the wallet link", LONG).await;
    b.js(&format!("{W}.querySelector('a[part=open-wallet]').click(); return true")).await;
    b.wait_js("return location.href.includes('/sim/wallet/') && document.getElementById('pay')", "the wallet", LONG)
        .await;
    b.js("document.getElementById('pay').click(); return true").await;
    let back = format!("{node_shop}/?session={session}");
    b.wait_js(&format!("return location.href === '{back}'"), "the return to the shop's page", LONG).await;
    b.wait_js(&format!("return {W}?.querySelector('[data-outcome]')?.dataset.outcome === 'paid'"), "paid", LONG).await;
    b.wait_js("return !document.getElementById('thanks').hidden", "the page's thanks", LONG).await;
    b.assert_quiet_console("paying from the example shop").await;
    let (_, s, _) = stack.merchant("GET", &format!("/v1/sessions/{session}"), None, None).await;
    assert_eq!(s["status"], "paid");

    // A wrong secret: the widget logs what to check, once, and qfpay:error carries it.
    b.js(&format!(
        "window.problem = null; const w = document.createElement('qfpay-checkout');
         w.addEventListener('qfpay:error', (e) => window.problem = e.detail);
         w.setAttribute('endpoint', '{}'); w.setAttribute('session', '{session}'); w.setAttribute('secret', 'cs_secret_wrong');
         document.getElementById('checkout').replaceChildren(w); return true",
        stack.worker_url
    ))
    .await;
    let problem = b.wait_js("return window.problem", "qfpay:error", LONG).await;
    assert_eq!(problem["code"], "unauthorized", "{problem}");
    assert!(problem["message"].as_str().unwrap_or("").contains("`secret`"), "{problem}");
    one_console_error(&b, "unauthorized", "`secret`").await;

    // A page on an origin the worker does not allow: the 403 is readable, and named.
    let py_port = free_port();
    let python = server("python", &stack, py_port);
    python.wait_port(py_port).await;
    b.client.goto(&format!("http://127.0.0.1:{py_port}/")).await.expect("the Python shop loads");
    b.wait_js("return customElements.get('qfpay-checkout') && document.getElementById('pay')", "the shop", LONG).await;
    b.js("document.getElementById('pay').click(); return true").await;
    b.wait_js("return document.body.dataset.error", "qfpay:error on the page", LONG).await;
    assert_eq!(b.js("return document.body.dataset.error").await, json!("origin_not_allowed"));
    one_console_error(&b, "origin_not_allowed", &format!("--allow-origin http://127.0.0.1:{py_port}")).await;
}

/// The console since the last look holds exactly one script error, the widget's, naming
/// `code` and `hint`.
async fn one_console_error(b: &Browser, code: &str, hint: &str) {
    let lines = b.console().await;
    let errors: Vec<_> = lines.iter().filter(|l| l.level == "SEVERE" && l.source != "network").collect();
    assert_eq!(errors.len(), 1, "one console error for {code}: {lines:#?}");
    let message = &errors[0].message;
    assert!(message.contains(&format!("qfpay-checkout: {code}: ")) && message.contains(hint), "{message}");
}
