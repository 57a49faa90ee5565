//! "Paid" pushed to the widget: it holds one status request open (`Prefer: wait=25`) and the
//! worker answers it when the notification pays the session, instead of being polled every
//! 2 s. And when something between the page and the worker cuts long requests (a proxy on
//! loopback that answers 504 to any request held past 2 s), the widget falls back to polling
//! and still shows paid. Both in headless Chromium, the demo shop as the page: paid is
//! announced once and the console stays quiet.

use std::time::{Duration, Instant};

use e2e::browser::Browser;
use e2e::proxy::CuttingProxy;
use e2e::shop::{buy, choose_qr, count_status_requests, events, outcome, scan, status_requests};
use e2e::{Options, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_reaches_a_waiting_widget_without_polling() {
    let stack = Stack::start(Options { allowed_origins: String::new(), ..Options::default() }).await;
    let b = Browser::start().await;
    buy(&b, &format!("{}/", stack.worker_url)).await;
    count_status_requests(&b).await;
    let qrcode = choose_qr(&b, "alipay").await;

    // Six seconds with the QR code on screen: a polling widget would have asked three or four
    // times; a waiting one has one request out.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (sent, out) = status_requests(&b).await;
    assert_eq!((sent, out), (1, 1), "one status request, held open by the worker");

    scan(&b, &qrcode, "pay").await;
    outcome(&b, "paid").await;
    let (sent, _) = status_requests(&b).await;
    assert_eq!(sent, 1, "the request that was waiting brought the news");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(events(&b, "paid").await, 1, "qfpay:paid fired once");
    let (sent, out) = status_requests(&b).await;
    assert_eq!((sent, out), (1, 0), "nothing more asked once paid");
    let log = stack.worker_log();
    assert!(log.contains("\"d1_queries\""), "the log line counts D1 round trips");
    b.assert_quiet_console("while paid was pushed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_whose_wait_is_cut_polls_and_sees_paid() {
    let (listener, proxy_url) = CuttingProxy::bind().await;
    let stack = Stack::start(Options { allowed_origins: proxy_url.clone(), ..Options::default() }).await;
    let proxy = CuttingProxy::serve(listener, &stack.worker_url, Duration::from_secs(2));
    let b = Browser::start().await;
    buy(&b, &format!("{proxy_url}/")).await;
    count_status_requests(&b).await;
    let qrcode = choose_qr(&b, "wechat_pay").await;

    // The first wait is cut at 2 s; the widget then polls every 2 s.
    let started = Instant::now();
    while proxy.cut() == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "the proxy never cut the widget's wait");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (sent, _) = status_requests(&b).await;
    assert!(sent >= 3, "after the cut the widget polls: {sent} status requests");
    assert_eq!(proxy.cut(), 1, "and no longer asks the worker to wait");

    scan(&b, &qrcode, "pay").await;
    outcome(&b, "paid").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(events(&b, "paid").await, 1, "qfpay:paid fired once");
    b.assert_quiet_console("with the wait cut by a proxy").await;
}
