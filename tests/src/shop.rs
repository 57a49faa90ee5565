//! Driving the demo shop as a shopper in the browser: buy, pick a wallet, "scan" its QR code at
//! the simulator's wallet page, read the outcome and the events the shop listed. Shared by the
//! browser tests.

use std::time::Duration;

use serde_json::json;

use crate::browser::Browser;

/// The widget's shadow root, in a script.
pub const W: &str = "document.querySelector('qfpay-checkout')?.shadowRoot";
/// How long a step of the shop may take.
pub const LONG: Duration = Duration::from_secs(30);

/// Opens the shop at `page`, presses Buy, waits for the wallets; returns the session id.
pub async fn buy(b: &Browser, page: &str) -> String {
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

/// Picks a wallet on a desktop and returns the QR code's value.
pub async fn choose_qr(b: &Browser, wallet: &str) -> String {
    b.js(&format!("{W}.querySelector('[part=method][data-wallet=\"{wallet}\"]').click(); return true")).await;
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
pub async fn scan(b: &Browser, qrcode: &str, button: &str) {
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

/// Waits for the widget's outcome screen and checks it is `expected`.
pub async fn outcome(b: &Browser, expected: &str) {
    let got = b
        .wait_js(
            &format!("return {W}?.querySelector('[data-outcome]')?.dataset.outcome"),
            &format!("the {expected} outcome"),
            LONG,
        )
        .await;
    assert_eq!(got, json!(expected));
}

/// How many `name` events the demo shop listed.
pub async fn events(b: &Browser, name: &str) -> u64 {
    b.js(&format!("return document.querySelectorAll('#events [data-event=\"{name}\"]').length"))
        .await
        .as_u64()
        .unwrap_or(0)
}

/// Starts counting the widget's status requests in the page (a wrapper around `fetch`): how
/// many were sent, and how many are still out, which the worker's log (a line per finished
/// request) cannot say of a request held open while it waits for a change.
pub async fn count_status_requests(b: &Browser) {
    b.js("const f = window.fetch; window.__status = { sent: 0, out: 0 };
          window.fetch = (r, i) => {
            const url = typeof r === 'string' ? r : r.url;
            if (!url.includes('/status')) return f(r, i);
            window.__status.sent++; window.__status.out++;
            const done = () => { window.__status.out--; };
            const p = f(r, i); p.then(done, done); return p;
          };
          return true")
        .await;
}

/// The status requests (sent, still out) since [`count_status_requests`].
pub async fn status_requests(b: &Browser) -> (u64, u64) {
    let v = b.js("return window.__status").await;
    (v["sent"].as_u64().unwrap_or(0), v["out"].as_u64().unwrap_or(0))
}
