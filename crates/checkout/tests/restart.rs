//! The widget mounted again on the same element, as the loader does when an attribute changes
//! (and as a reload does): the shopper stays on an open QR code, and the page hears
//! `qfpay:paid` once per element and session. Its own file: the browser runner gives each
//! test file one time budget.
#![cfg(target_arch = "wasm32")]
#![allow(missing_docs)]

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::*;

#[wasm_bindgen_test]
async fn paid_is_announced_once_per_element_across_remounts() {
    install_fake_worker(1);
    let el = host();
    let count = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = count.clone();
    let _listener = gloo_events::EventListener::new(&el, "qfpay:paid", move |_| seen.set(seen.get() + 1));
    let mut handle = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
    wait_for(&el, "[data-wallet='wechat_pay']").await.dyn_into::<HtmlElement>().unwrap().click();
    wait_for(&el, "[data-outcome=paid]").await;
    assert_eq!(count.get(), 1);
    // A restart (the loader remounts when an attribute changes) finds the session paid.
    handle.destroy();
    let _again = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
    wait_for(&el, "[data-outcome=paid]").await;
    TimeoutFuture::new(300).await;
    assert_eq!(count.get(), 1, "the page was told already: no second qfpay:paid");
}

#[wasm_bindgen_test]
async fn an_open_qr_code_is_shown_again_after_a_remount() {
    install_fake_worker(1000);
    count_console();
    let el = host();
    let mut handle = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
    wait_for(&el, "[data-wallet='wechat_pay']").await.dyn_into::<HtmlElement>().unwrap().click();
    let first = wait_for(&el, "svg[data-qrcode]").await.get_attribute("data-qrcode");
    handle.destroy();
    let polled = counter("status");
    let _again = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
    let svg = wait_for(&el, "svg[data-qrcode]").await;
    assert_eq!(svg.get_attribute("data-qrcode"), first, "the same QR code, not the wallet list");
    assert_eq!(svg.get_attribute("data-wallet").as_deref(), Some("wechat_pay"));
    assert_eq!(counter("pay"), 1, "no second attempt");
    let root = el.shadow_root().unwrap();
    let left = root.query_selector("[part=countdown]").unwrap().unwrap().text_content().unwrap();
    assert!(left.starts_with("29:") || left.starts_with("30:"), "its countdown goes on: {left}");
    assert!(root.text_content().unwrap().contains("Scan with WeChat Pay"), "{:?}", root.text_content());
    TimeoutFuture::new(300).await;
    assert!(counter("status") > polled, "and its status is polled at once");
    assert_eq!(console_calls(), r#"{"error":0,"warn":0,"said":[]}"#, "a quiet console");
}
