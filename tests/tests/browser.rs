//! The product as a merchant and a shopper meet it: the demo shop served by `wrangler dev`,
//! the widget in headless Chromium, payments made at the simulator's wallet page in a second
//! window. Screenshots of the shop, the QR screen and the paid screen go to `target/e2e/`.

use std::time::Duration;

use e2e::browser::Browser;
use e2e::{root, Options, Stack, CLIENT_KEY};
use serde_json::json;

const W: &str = "document.querySelector('qfpay-checkout')?.shadowRoot";
const LONG: Duration = Duration::from_secs(30);

async fn buy(b: &Browser, page: &str) -> String {
    b.client.goto(page).await.expect("the shop loads");
    b.wait_js(
        "return document.getElementById('buy') && !document.getElementById('buy').disabled",
        "the Buy button",
        LONG,
    )
    .await;
    b.js("document.getElementById('buy').click(); return true").await;
    b.wait_js(&format!("return {W}?.querySelectorAll('[role=radio]').length"), "the pay type list", LONG).await;
    b.js("return document.querySelector('qfpay-checkout').getAttribute('session')")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn choose_qr(b: &Browser, pay_type: &str) -> String {
    b.js(&format!("{W}.querySelector('[data-pay-type=\"{pay_type}\"]').click(); return true")).await;
    let qr = b
        .wait_js(
            &format!("return {W}?.querySelector('svg[data-qrcode]')?.getAttribute('data-qrcode')"),
            "the QR code",
            LONG,
        )
        .await;
    qr.as_str().unwrap_or_default().to_owned()
}

/// "Scans" the QR: opens its URL in a second window and presses a button of the wallet page.
async fn scan(b: &Browser, qrcode: &str, button: &str) {
    let main = b.client.window().await.expect("a window");
    let second = b.client.new_window(false).await.expect("a second window");
    b.client.switch_to_window(second.handle).await.expect("switch");
    b.client.goto(qrcode).await.expect("the wallet page loads");
    b.wait_js(&format!("return document.getElementById('{button}')"), "the wallet's button", LONG).await;
    b.js(&format!("document.getElementById('{button}').click(); return true")).await;
    b.wait_js("return document.getElementById('result')", "the wallet's result", LONG).await;
    b.client.close_window().await.expect("close");
    b.client.switch_to_window(main).await.expect("switch back");
}

async fn outcome(b: &Browser, expected: &str) {
    let got = b
        .wait_js(
            &format!("return {W}?.querySelector('[data-outcome]')?.dataset.outcome"),
            &format!("the {expected} outcome"),
            LONG,
        )
        .await;
    assert_eq!(got, json!(expected));
}

async fn events(b: &Browser, name: &str) -> u64 {
    b.js(&format!("return document.querySelectorAll('#events [data-event=\"{name}\"]').length"))
        .await
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shoppers_pay_in_a_real_browser() {
    let stack = Stack::start(Options { allowed_origins: String::new(), ..Options::default() }).await;
    let b = Browser::start().await;
    let shop = format!("{}/", stack.worker_url);
    let shots = root().join("target/e2e");

    // Every MPM pay type the demo offers: QR, scan, paid without a reload, `qfpay:paid` once.
    let mpm = ["800201", "801501", "800101", "805801", "800701", "802001", "803701"];
    for (i, pay_type) in mpm.iter().enumerate() {
        let session = buy(&b, &shop).await;
        if i == 0 {
            b.screenshot(&shots.join("shop.png")).await;
        }
        let qrcode = choose_qr(&b, pay_type).await;
        assert!(
            qrcode.starts_with(&format!("{}/sim/wallet/", stack.sim_url)),
            "{pay_type}: the simulator's wallet URL, got {qrcode}"
        );
        let (_, ledger) = stack.sim("GET", "/sim/orders", None).await;
        assert!(
            ledger["orders"].as_array().unwrap().iter().any(|o| o["pay_type"] == *pay_type && o["state"] == "created"),
            "{pay_type}: an order at the gateway"
        );
        if i == 0 {
            b.screenshot(&shots.join("qr.png")).await;
        }
        scan(&b, &qrcode, "pay").await;
        outcome(&b, "paid").await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(events(&b, "paid").await, 1, "{pay_type}: qfpay:paid fired once");
        if i == 0 {
            b.screenshot(&shots.join("paid.png")).await;
        }
        let (_, s, _) = stack.merchant("GET", &format!("/v1/sessions/{session}"), None, None).await;
        assert_eq!(s["status"], "paid", "{pay_type}: the merchant API shows it paid");
    }

    // Declined at the wallet: the widget says so and lets the shopper choose again.
    buy(&b, &shop).await;
    let qrcode = choose_qr(&b, "800201").await;
    scan(&b, &qrcode, "decline").await;
    outcome(&b, "failed").await;
    b.js(&format!("{W}.querySelector('[part=retry]').click(); return true")).await;
    b.wait_js(&format!("return {W}?.querySelectorAll('[role=radio]').length"), "the list again", LONG).await;
    let qrcode = choose_qr(&b, "805801").await;
    scan(&b, &qrcode, "pay").await;
    outcome(&b, "paid").await;

    // Keyboard: arrow keys move through the radio group, Enter chooses.
    buy(&b, &shop).await;
    b.js(&format!("{W}.querySelector('[role=radio][tabindex=\"0\"]').focus(); return true")).await;
    let focused = b.client.active_element().await.expect("an active element");
    focused.send_keys("\u{E015}").await.expect("ArrowDown");
    let second = b.js(&format!("return {W}.activeElement?.dataset.payType")).await;
    let expected = b.js(&format!("return {W}.querySelectorAll('[role=radio]')[1].dataset.payType")).await;
    assert_eq!(second, expected, "ArrowDown moves to the next pay type");
    b.client.active_element().await.expect("active").send_keys("\u{E007}").await.expect("Enter");
    // The chosen type may show a QR code or send the browser to the wallet's page.
    let started = format!("return location.href.includes('/sim/wallet/') || !!{W}?.querySelector('svg[data-qrcode]')");
    b.wait_js(&started, "Enter starts a payment", LONG).await;

    // A redirect (WAP) type: the wallet page sends the browser back to the shop, which shows paid.
    buy(&b, &shop).await;
    b.js(&format!("{W}.querySelector('[data-pay-type=\"801512\"]').click(); return true")).await;
    b.wait_js(
        "return location.href.includes('/sim/wallet/') && document.getElementById('pay')",
        "the wallet page",
        LONG,
    )
    .await;
    b.js("document.getElementById('pay').click(); return true").await;
    b.wait_js(
        &format!("return location.href.startsWith('{}') && location.search.includes('session=')", stack.worker_url),
        "the return to the shop",
        LONG,
    )
    .await;
    outcome(&b, "paid").await;

    // Expiry with the simulator's clock moved on: "expired", then a fresh QR.
    buy(&b, &shop).await;
    choose_qr(&b, "800201").await;
    stack.sim("POST", "/sim/clock/advance", Some(json!({"seconds": 31 * 60}))).await;
    outcome(&b, "expired").await;
    b.js(&format!("{W}.querySelector('[part=retry]').click(); return true")).await;
    let fresh = b
        .wait_js(
            &format!("return {W}?.querySelector('svg[data-qrcode]')?.getAttribute('data-qrcode')"),
            "a fresh QR",
            LONG,
        )
        .await;
    assert!(fresh.as_str().unwrap_or("").contains("/sim/wallet/"));

    // A notification dropped by the simulator: the worker's query path still settles it.
    stack.sim("POST", "/sim/faults", Some(json!({"notify_drop": 1.0}))).await;
    buy(&b, &shop).await;
    let qrcode = choose_qr(&b, "801501").await;
    scan(&b, &qrcode, "pay").await;
    outcome(&b, "paid").await;
    stack.sim("POST", "/sim/faults", Some(json!({}))).await;

    // A hidden tab sends no status requests; one goes at once when it is visible again.
    buy(&b, &shop).await;
    choose_qr(&b, "800201").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.js("Object.defineProperty(document, 'hidden', {configurable: true, get: () => true}); document.dispatchEvent(new Event('visibilitychange')); return true").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let before = stack.worker_log().matches("/status\"").count();
    tokio::time::sleep(Duration::from_millis(6000)).await;
    let while_hidden = stack.worker_log().matches("/status\"").count() - before;
    assert_eq!(while_hidden, 0, "no status requests while hidden");
    b.js("Object.defineProperty(document, 'hidden', {configurable: true, get: () => false}); document.dispatchEvent(new Event('visibilitychange')); return true").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let on_return = stack.worker_log().matches("/status\"").count() - before;
    assert_eq!(on_return, 1, "one status request at once when visible again");

    // The strict-CSP page works, with no CSP violation reported.
    buy(&b, &format!("{}/csp.html", stack.worker_url)).await;
    choose_qr(&b, "800201").await;
    assert_eq!(events(&b, "csp-violation").await, 0, "no CSP violations");

    // The client key is in none of the widget's files.
    for file in ["/qfpay-checkout.js", "/pkg/qfpay_checkout.js", "/pkg/qfpay_checkout_bg.wasm", "/demo.js", "/"] {
        let bytes = stack.http.get(format!("{}{file}", stack.worker_url)).send().await.unwrap().bytes().await.unwrap();
        assert!(!bytes.windows(CLIENT_KEY.len()).any(|w| w == CLIENT_KEY.as_bytes()), "{file} carries the client key");
    }
}
