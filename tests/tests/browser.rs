//! The product as a merchant and a shopper meet it: the demo shop served by `wrangler dev`,
//! the widget in headless Chromium (a desktop, and a phone with a touch screen), payments made
//! at the simulator's wallet page in a second window. The shopper picks a wallet, never a
//! product code. The page's console must stay quiet throughout. Screenshots of the shop, the
//! QR screen and the paid screen, desktop and phone, en and zh-HK, go to `target/e2e/`.

use std::time::Duration;

use e2e::browser::{Browser, Device};
use e2e::shop::{buy, choose_qr, count_status_requests, events, outcome, scan, status_requests, LONG, W};
use e2e::{root, Options, Stack, CLIENT_KEY};
use serde_json::json;

/// Presses a key where the focus is, as WebDriver does (a real key event).
async fn press(b: &Browser, key: &str) {
    b.client.active_element().await.expect("an active element").send_keys(key).await.expect("a key press");
}

/// The wallets the default session offers, in the order the widget shows them.
async fn wallets(b: &Browser) -> Vec<String> {
    let list = b.js(&format!("return [...{W}.querySelectorAll('[part=method]')].map(r => r.dataset.wallet)")).await;
    list.as_array().map(|l| l.iter().filter_map(|w| w.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shoppers_pay_in_a_real_browser() {
    let stack = Stack::start(Options { allowed_origins: String::new(), ..Options::default() }).await;
    let b = Browser::start().await;
    let shop = format!("{}/", stack.worker_url);
    let shots = root().join("target/e2e");

    // The console check can fail: a warning the page logs is seen.
    b.client.goto(&shop).await.expect("the shop loads");
    b.js("console.warn('console probe'); return true").await;
    let seen = b.console().await;
    assert!(
        seen.iter().any(|l| l.level == "WARNING" && l.message.contains("console probe")),
        "the log is read: {seen:?}"
    );

    // One choice per wallet, at most six; each pays by QR on a desktop, without a reload,
    // `qfpay:paid` once, and the merchant API shows it paid.
    buy(&b, &shop).await;
    let offered = wallets(&b).await;
    let mut distinct = offered.clone();
    distinct.sort();
    distinct.dedup();
    assert!(!offered.is_empty() && offered.len() <= 6, "at most six choices: {offered:?}");
    assert_eq!(distinct.len(), offered.len(), "one choice per wallet: {offered:?}");
    for (i, wallet) in offered.iter().enumerate() {
        let session = buy(&b, &shop).await;
        if i == 0 {
            b.screenshot(&shots.join("shop.png")).await;
        }
        let qrcode = choose_qr(&b, wallet).await;
        let pay_type = b.js(&format!("return {W}.querySelector('svg[data-qrcode]').dataset.payType")).await;
        assert!(
            qrcode.starts_with(&format!("{}/sim/wallet/", stack.sim_url)),
            "{wallet}: the simulator's wallet URL, got {qrcode}"
        );
        let (_, ledger) = stack.sim("GET", "/sim/orders", None).await;
        assert!(
            ledger["orders"].as_array().unwrap().iter().any(|o| o["pay_type"] == pay_type && o["state"] == "created"),
            "{wallet}: an order for {pay_type} at the gateway"
        );
        if i == 0 {
            b.screenshot(&shots.join("qr.png")).await;
            // The worker's expiry (Unix seconds) counts down on the page's clock: the order
            // lives about half an hour (the session's 30 minutes, in whole minutes).
            let left = b.js(&format!("return {W}.querySelector('[part=countdown]').textContent")).await;
            let minutes = left.as_str().and_then(|l| l.split(':').next()?.parse::<u32>().ok());
            assert!(minutes.is_some_and(|m| (25..=30).contains(&m)), "{wallet}: the QR's countdown shows {left}");
        }
        scan(&b, &qrcode, "pay").await;
        outcome(&b, "paid").await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(events(&b, "paid").await, 1, "{wallet}: qfpay:paid fired once");
        if i == 0 {
            b.screenshot(&shots.join("paid.png")).await;
        }
        let (_, s, _) = stack.merchant("GET", &format!("/v1/sessions/{session}"), None, None).await;
        assert_eq!(s["status"], "paid", "{wallet}: the merchant API shows it paid");
    }
    b.assert_quiet_console("while paying with every wallet").await;

    // In Traditional Chinese, as Hong Kong writes it.
    buy(&b, &format!("{shop}?locale=zh-HK")).await;
    let name = b.js(&format!("return {W}.querySelector('[data-wallet=alipay] span')?.textContent")).await;
    assert_eq!(name, json!("支付寶"), "the wallet's name in zh-HK");
    b.screenshot(&shots.join("shop-zh-HK.png")).await;
    choose_qr(&b, "wechat_pay").await;
    b.screenshot(&shots.join("qr-zh-HK.png")).await;

    // Declined at the wallet: the widget says so and lets the shopper choose again.
    buy(&b, &shop).await;
    let qrcode = choose_qr(&b, "wechat_pay").await;
    scan(&b, &qrcode, "decline").await;
    outcome(&b, "failed").await;
    b.js(&format!("{W}.querySelector('[part=retry]').click(); return true")).await;
    b.wait_js(&format!("return {W}?.querySelectorAll('[role=radio]').length"), "the list again", LONG).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let qrcode = choose_qr(&b, "alipay").await;
    scan(&b, &qrcode, "pay").await;
    outcome(&b, "paid").await;

    // A keyboard-only shopper: arrow keys move within the group without scrolling the page,
    // Home and End reach the ends, Enter pays; and the console stays quiet.
    buy(&b, &shop).await;
    b.js(&format!("{W}.querySelector('[role=radio][tabindex=\"0\"]').focus(); return true")).await;
    let scroll_before = b.js("return window.scrollY").await;
    press(&b, "\u{E015}").await; // ArrowDown
    let second = b.js(&format!("return {W}.activeElement?.dataset.wallet")).await;
    assert_eq!(second, json!(offered.get(1)), "ArrowDown moves to the next wallet");
    press(&b, "\u{E010}").await; // End
    assert_eq!(b.js(&format!("return {W}.activeElement?.dataset.wallet")).await, json!(offered.last()), "End");
    press(&b, "\u{E011}").await; // Home
    assert_eq!(b.js(&format!("return {W}.activeElement?.dataset.wallet")).await, json!(offered.first()), "Home");
    assert_eq!(b.js("return window.scrollY").await, scroll_before, "the page did not scroll");
    press(&b, "\u{E007}").await; // Enter
    let qrcode = b
        .wait_js(&format!("return {W}?.querySelector('svg[data-qrcode]')?.getAttribute('data-qrcode')"), "the QR", LONG)
        .await;
    scan(&b, qrcode.as_str().unwrap_or_default(), "pay").await;
    outcome(&b, "paid").await;
    b.assert_quiet_console("after a keyboard-only payment").await;

    // Expiry with the simulator's clock moved on: "expired", then a fresh QR.
    buy(&b, &shop).await;
    choose_qr(&b, "wechat_pay").await;
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
    let qrcode = choose_qr(&b, "alipay").await;
    scan(&b, &qrcode, "pay").await;
    outcome(&b, "paid").await;
    stack.sim("POST", "/sim/faults", Some(json!({}))).await;

    // A hidden tab starts no status requests; when it is visible again the widget is listening
    // at once: its wait still out, or one sent then (never a burst).
    buy(&b, &shop).await;
    count_status_requests(&b).await;
    choose_qr(&b, "wechat_pay").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.js("Object.defineProperty(document, 'hidden', {configurable: true, get: () => true}); document.dispatchEvent(new Event('visibilitychange')); return true").await;
    let (before, _) = status_requests(&b).await;
    tokio::time::sleep(Duration::from_millis(8000)).await;
    let (while_hidden, _) = status_requests(&b).await;
    assert_eq!(while_hidden, before, "no status requests started while hidden");
    b.js("Object.defineProperty(document, 'hidden', {configurable: true, get: () => false}); document.dispatchEvent(new Event('visibilitychange')); return true").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (on_return, out) = status_requests(&b).await;
    assert!(on_return - before <= 1, "at most one status request at once when visible again");
    assert_eq!(out, 1, "a status request is out once visible again");

    // The strict-CSP page works, with no CSP violation reported.
    buy(&b, &format!("{}/csp.html", stack.worker_url)).await;
    choose_qr(&b, "wechat_pay").await;
    assert_eq!(events(&b, "csp-violation").await, 0, "no CSP violations");

    // The client key is in none of the widget's files.
    for file in ["/qfpay-checkout.js", "/pkg/qfpay_checkout.js", "/pkg/qfpay_checkout_bg.wasm", "/demo.js", "/"] {
        let bytes = stack.http.get(format!("{}{file}", stack.worker_url)).send().await.unwrap().bytes().await.unwrap();
        assert!(!bytes.windows(CLIENT_KEY.len()).any(|w| w == CLIENT_KEY.as_bytes()), "{file} carries the client key");
    }
    b.assert_quiet_console("at the end").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopper_on_a_phone_pays_at_the_wallets_page() {
    let stack = Stack::start(Options { allowed_origins: String::new(), ..Options::default() }).await;
    let b = Browser::start_as(Device::Phone).await;
    let shop = format!("{}/", stack.worker_url);
    let shots = root().join("target/e2e");

    // Wallet -> its page (a link the shopper taps) -> pay -> back at the shop -> paid.
    let session = buy(&b, &shop).await;
    b.screenshot(&shots.join("shop-phone.png")).await;
    b.js(&format!("{W}.querySelector('[part=method][data-wallet=alipay]').click(); return true")).await;
    let href = b
        .wait_js(
            &format!("return {W}?.querySelector('a[part=open-wallet]')?.getAttribute('href')"),
            "the wallet link",
            LONG,
        )
        .await;
    assert!(href.as_str().unwrap_or("").contains("/sim/wallet/"), "the wallet's page: {href}");
    assert!(
        b.js(&format!("return !!{W}.querySelector('button[part=qr-instead]')")).await == json!(true),
        "a QR code for paying from another device is offered"
    );
    b.screenshot(&shots.join("wallet-phone.png")).await;
    b.js(&format!("{W}.querySelector('a[part=open-wallet]').click(); return true")).await;
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
    b.screenshot(&shots.join("paid-phone.png")).await;
    let (_, s, _) = stack.merchant("GET", &format!("/v1/sessions/{session}"), None, None).await;
    assert_eq!(s["status"], "paid", "the merchant API shows it paid");

    // "Show a QR code instead" on a phone: the QR for paying from another device.
    buy(&b, &format!("{shop}?locale=zh-HK")).await;
    b.js(&format!("{W}.querySelector('[part=method][data-wallet=wechat_pay]').click(); return true")).await;
    b.wait_js(&format!("return {W}?.querySelector('button[part=qr-instead]')"), "QR instead", LONG).await;
    b.screenshot(&shots.join("wallet-phone-zh-HK.png")).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    b.js(&format!("{W}.querySelector('button[part=qr-instead]').click(); return true")).await;
    let qrcode = b
        .wait_js(&format!("return {W}?.querySelector('svg[data-qrcode]')?.getAttribute('data-qrcode')"), "the QR", LONG)
        .await;
    scan(&b, qrcode.as_str().unwrap_or_default(), "pay").await;
    outcome(&b, "paid").await;
    b.assert_quiet_console("on a phone").await;
}
