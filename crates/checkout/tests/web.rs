//! The widget in a real Chromium (`wasm-bindgen-test-runner`, headless), against a stand-in
//! for the worker installed as `window.fetch` (the end-to-end suite uses the real worker).
#![cfg(target_arch = "wasm32")]
#![allow(missing_docs)]

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::*;

/// Makes the page look like a phone's (a coarse pointer, 390 px wide) or, with `false`, like
/// the computer it is again. Only what the widget asks is pretended: `matchMedia("(pointer:
/// coarse)")` and `innerWidth`.
fn pretend_phone(phone: bool) {
    run_js(&format!(
        r#"
        if (!window.__realMatchMedia) window.__realMatchMedia = window.matchMedia.bind(window);
        window.__qfPhone = {phone};
        window.matchMedia = (q) => window.__qfPhone && q === "(pointer: coarse)" ? {{ matches: true, media: q }} : window.__realMatchMedia(q);
        if (window.__qfPhone) window.innerWidth = 390; else delete window.innerWidth;
        "#
    ));
}

/// Sends a cancelable `keydown` of `key` to `target` and says whether a listener prevented
/// its default (a passive listener cannot).
fn key(target: &Element, key: &str) -> bool {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_composed(true);
    let event = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&event).unwrap();
    event.default_prevented()
}

fn focused(el: &HtmlElement) -> Option<Element> {
    el.shadow_root().unwrap().active_element()
}

fn wallet_of(e: Option<Element>) -> String {
    e.and_then(|e| e.get_attribute("data-wallet")).unwrap_or_default()
}

#[wasm_bindgen_test]
async fn renders_the_session_and_a_keyboard_chosen_qr() {
    install_fake_worker(1000);
    let el = host();
    let _handle = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
    let first = wait_for(&el, "[role=radio]").await;
    let root = el.shadow_root().unwrap();
    assert_eq!(root.query_selector(".amount").unwrap().unwrap().text_content().unwrap(), "HK$38.00");
    assert_eq!(first.get_attribute("tabindex").as_deref(), Some("0"));
    assert!(key(&first, "ArrowDown"));
    let second = root.query_selector("[data-wallet='wechat_pay']").unwrap().unwrap();
    assert_eq!(second.get_attribute("aria-checked").as_deref(), Some("true"));
    assert_eq!(second.get_attribute("tabindex").as_deref(), Some("0"));
    assert!(key(&second, "Enter"));
    // A computer: the wallet's QR product.
    let svg = wait_for(&el, "svg[data-qrcode]").await;
    assert_eq!(counter("pay"), 1);
    assert_eq!(svg.get_attribute("data-pay-type").as_deref(), Some("800201"));
    assert_eq!(svg.get_attribute("data-wallet").as_deref(), Some("wechat_pay"));
    let modules: usize = svg.get_attribute("data-modules").unwrap().parse().unwrap();
    assert!(modules >= 21 + 8, "a QR code with its quiet zone");
    assert_eq!(svg.get_attribute("viewBox").unwrap(), format!("0 0 {modules} {modules}"));
    assert!(svg.query_selector_all("rect").unwrap().length() > 20);
    assert!(svg.get_attribute("aria-label").unwrap().contains("HK$38.00"));
    assert!(root.text_content().unwrap().contains("Scan with WeChat Pay"));
}

#[wasm_bindgen_test]
async fn a_default_session_shows_one_choice_per_wallet() {
    install_fake_worker(1000);
    for (locale, names) in [
        ("en", ["Alipay", "WeChat Pay", "PayMe", "UnionPay", "FPS", "Octopus"]),
        ("zh-HK", ["支付寶", "微信支付", "PayMe", "銀聯", "轉數快", "八達通"]),
        ("zh-CN", ["支付宝", "微信支付", "PayMe", "银联", "转数快", "八达通"]),
    ] {
        let el = host();
        let _handle = qfpay_checkout::mount(el.clone(), options(locale)).unwrap();
        wait_for(&el, "[role=radio]").await;
        let radios = el.shadow_root().unwrap().query_selector_all("[role=radio]").unwrap();
        assert!(radios.length() <= 6, "{locale}: at most six choices, got {}", radios.length());
        let mut seen = Vec::new();
        for i in 0..radios.length() {
            let radio: Element = radios.get(i).unwrap().dyn_into().unwrap();
            assert_eq!(radio.get_attribute("part").as_deref(), Some("method"));
            assert!(radio.get_attribute("data-pay-type").is_none(), "{locale}: a wallet, not a product");
            seen.push((radio.get_attribute("data-wallet").unwrap(), radio.text_content().unwrap()));
            let mark = radio.query_selector("svg.mark").unwrap().expect("a badge");
            assert_eq!(mark.get_attribute("aria-hidden").as_deref(), Some("true"), "{locale}: decoration");
        }
        let codes: Vec<&str> = seen.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            codes,
            ["alipay", "wechat_pay", "payme", "unionpay", "fps", "octopus"],
            "{locale}: the list's order"
        );
        // The badge's letter is aria-hidden: the name is what is read.
        let read: Vec<String> = seen.iter().map(|(_, text)| text.chars().skip(1).collect()).collect();
        assert_eq!(read, names, "{locale}");
    }
}

#[wasm_bindgen_test]
async fn keys_move_within_the_group_and_not_the_page() {
    install_fake_worker(1000);
    let window = web_sys::window().unwrap();
    let doc = window.document().unwrap();
    let body = doc.body().unwrap();
    // The widget first in a page taller than the window, scrolled a little: a key the widget
    // failed to stop would scroll it.
    let el: HtmlElement = doc.create_element("div").unwrap().dyn_into().unwrap();
    body.prepend_with_node_1(&el).unwrap();
    let spacer: HtmlElement = doc.create_element("div").unwrap().dyn_into().unwrap();
    spacer.set_attribute("style", "height: 5000px").unwrap();
    body.append_child(&spacer).unwrap();
    count_console();
    let _handle = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
    let first = wait_for(&el, "[role=radio]").await;
    window.scroll_to_with_x_and_y(0.0, 3.0);
    let scroll = window.scroll_y().unwrap();
    first.dyn_ref::<HtmlElement>().unwrap().focus().unwrap();
    for (press, expected) in [
        ("ArrowDown", "wechat_pay"),
        ("ArrowDown", "payme"),
        ("ArrowUp", "wechat_pay"),
        ("End", "octopus"),
        ("ArrowDown", "alipay"),
        ("ArrowUp", "octopus"),
        ("Home", "alipay"),
        ("ArrowRight", "wechat_pay"),
        ("ArrowLeft", "alipay"),
    ] {
        let on = focused(&el).expect("a focused choice");
        assert!(key(&on, press), "{press}: its default (scrolling) is prevented");
        let now = focused(&el);
        assert_eq!(wallet_of(now.clone()), expected, "{press} moves the focus");
        let now = now.unwrap();
        assert_eq!(now.get_attribute("aria-checked").as_deref(), Some("true"), "{press}");
        assert_eq!(now.get_attribute("tabindex").as_deref(), Some("0"), "{press}: one tab stop");
        let checked = el.shadow_root().unwrap().query_selector_all("[aria-checked=true]").unwrap().length();
        assert_eq!(checked, 1, "{press}");
        assert_eq!(window.scroll_y().unwrap(), scroll, "{press}: the page did not scroll");
    }
    // Keys the group does not use stay the browser's: Tab, and the browser's own shortcuts.
    let on = focused(&el).unwrap();
    assert!(!key(&on, "Tab"));
    assert!(!key(&on, "x"));
    assert_eq!(counter("pay"), 0, "moving is not choosing");
    assert_eq!(console_calls(), r#"{"error":0,"warn":0,"said":[]}"#, "a quiet console");
    spacer.remove();
    el.remove();
}

#[wasm_bindgen_test]
async fn a_phone_follows_a_link_to_the_wallet_or_asks_for_a_qr_instead() {
    install_fake_worker(1000);
    count_console();
    pretend_phone(true);
    let el = host();
    let _handle = qfpay_checkout::mount(el.clone(), options("zh-HK")).unwrap();
    wait_for(&el, "[data-wallet='alipay']").await.dyn_into::<HtmlElement>().unwrap().click();
    let link = wait_for(&el, "a[part=open-wallet]").await;
    assert_eq!(counter("pay"), 1);
    assert_eq!(link.get_attribute("href").as_deref(), Some("https://wallet.example/pay/801512"), "the wallet page");
    assert_eq!(link.get_attribute("data-pay-type").as_deref(), Some("801512"));
    assert_eq!(link.text_content().unwrap(), "前往支付寶付款");
    assert_eq!(wallet_of(focused(&el)), "alipay", "the focus is on the link");
    let instead = wait_for(&el, "button[part=qr-instead]").await;
    assert_eq!(instead.text_content().unwrap(), "改為顯示二維碼");
    assert_eq!(instead.get_attribute("data-pay-type").as_deref(), Some("801501"));
    assert!(el.shadow_root().unwrap().query_selector("button[part=back]").unwrap().is_some());
    for _ in 0..20 {
        if counter("status") > 0 {
            break;
        }
        TimeoutFuture::new(50).await;
    }
    assert!(counter("status") > 0, "polling: the shopper may pay in the wallet's app and come back");
    instead.dyn_into::<HtmlElement>().unwrap().click();
    let svg = wait_for(&el, "svg[data-qrcode]").await;
    assert_eq!((counter("pay"), svg.get_attribute("data-pay-type").as_deref()), (2, Some("801501")));
    // FPS has no wallet page: its QR code even on a phone.
    el.shadow_root()
        .unwrap()
        .query_selector("button[part=back]")
        .unwrap()
        .unwrap()
        .dyn_into::<HtmlElement>()
        .unwrap()
        .click();
    wait_for(&el, "[data-wallet='fps']").await.dyn_into::<HtmlElement>().unwrap().click();
    let svg = wait_for(&el, "svg[data-qrcode]").await;
    assert_eq!(svg.get_attribute("data-pay-type").as_deref(), Some("802001"));
    pretend_phone(false);
    assert_eq!(console_calls(), r#"{"error":0,"warn":0,"said":[]}"#, "a quiet console");
}

#[wasm_bindgen_test]
async fn paid_is_announced_once() {
    install_fake_worker(2);
    let el = host();
    let count = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = count.clone();
    let _listener =
        gloo_events::EventListener::new(&web_sys::window().unwrap().document().unwrap(), "qfpay:paid", move |_| {
            seen.set(seen.get() + 1)
        });
    let _handle = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
    wait_for(&el, "[data-wallet='wechat_pay']").await.dyn_into::<HtmlElement>().unwrap().click();
    let outcome = wait_for(&el, "[data-outcome=paid]").await;
    assert_eq!(outcome.text_content().unwrap(), "Payment received");
    TimeoutFuture::new(3000).await;
    assert_eq!(count.get(), 1, "qfpay:paid bubbles out of the shadow root once");
}

#[wasm_bindgen_test]
async fn locales_have_their_own_words() {
    install_fake_worker(1000);
    for (locale, heading) in [("zh-HK", "選擇付款方式"), ("zh-CN", "选择支付方式"), ("en", "Choose how to pay")]
    {
        let el = host();
        let _handle = qfpay_checkout::mount(el.clone(), options(locale)).unwrap();
        assert_eq!(wait_for(&el, "h2").await.text_content().unwrap(), heading, "{locale}");
    }
}

#[wasm_bindgen_test]
async fn destroying_stops_the_polling() {
    install_fake_worker(1000);
    let el = host();
    let mut handle = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
    wait_for(&el, "[data-wallet='wechat_pay']").await.dyn_into::<HtmlElement>().unwrap().click();
    wait_for(&el, "svg[data-qrcode]").await;
    TimeoutFuture::new(2500).await;
    let before = counter("status");
    assert!(before >= 1, "polling started");
    handle.destroy();
    TimeoutFuture::new(5000).await;
    assert_eq!(counter("status"), before, "no status request after destroy()");
    assert!(el.shadow_root().unwrap().query_selector("svg").unwrap().is_none(), "the content is gone");
}

/// The readers on the browser's own parsed JSON (the native tests check them on serde's).
#[wasm_bindgen_test]
fn the_browser_json_reads_into_the_views() {
    use checkout_api::pay_options::PayHow;
    use checkout_api::views::UnixSeconds;
    use checkout_api::{AttemptStatus, SessionStatus};
    use qfpay_checkout::read;
    let parse = |text: &str| js_sys::JSON::parse(text).unwrap();
    let status = read::status(&parse(
        r#"{"status":"closing","expires_at":1700001800,"paid_at":1700000100,
            "attempt":{"id":"pa_1","pay_type":"800201","status":"pending","out_trade_no":"QCP1",
            "qrcode":"weixin://x","created_at":1700000000,"expires_at":1700000900}}"#,
    ))
    .expect("a status answer");
    assert_eq!(
        (status.status, status.paid_at.map(UnixSeconds::secs), status.expires_at.secs()),
        (SessionStatus::Closing, Some(1_700_000_100), 1_700_001_800)
    );
    let attempt = status.attempt.expect("its attempt");
    assert_eq!((attempt.created_at.secs(), attempt.expires_at.secs()), (1_700_000_000, 1_700_000_900));
    assert_eq!(
        (attempt.status, attempt.qrcode.as_deref(), attempt.syssn),
        (AttemptStatus::Pending, Some("weixin://x"), None)
    );
    assert_eq!(
        read::status(&parse(r#"{"status":"open","expires_at":1,"attempt":null}"#)).map(|s| s.attempt),
        Some(None)
    );
    let checkout = read::checkout(&parse(
        r#"{"id":"cs_1","status":"open","amount":3800,"currency":"HKD","currency_exponent":2,"goods_name":"Tea",
            "merchant_name":"Shop","expires_at":1,"pay_types":[{"pay_type":"801512","wallet":"Alipay HK",
            "how":"redirect","name_en":"Alipay HK WAP","name_zh":"支付寶香港 WAP"}]}"#,
    ))
    .expect("a checkout");
    assert_eq!(checkout.pay_types.len(), 1);
    assert_eq!(checkout.pay_types[0].how, PayHow::Redirect);
    assert_eq!(checkout.attempt, None);
    for pay_types in [r#""pay_types":{}"#, r#""pay_types":"800201""#, r#""unrelated":[]"#] {
        let text = format!(
            r#"{{"id":"cs_1","status":"open","amount":1,"currency":"HKD","currency_exponent":2,"goods_name":"Tea","expires_at":1,{pay_types}}}"#
        );
        assert_eq!(read::checkout(&parse(&text)), None, "{pay_types}");
    }
    let answer = read::pay_answer(&parse(r#"{"attempt_id":"pa_1","pay_type":"800201","expires_at":9007199254740991}"#));
    assert_eq!(
        answer.map(|a| (a.qrcode, a.redirect_url, a.expires_at.secs())),
        Some((None, None, 9_007_199_254_740)),
        "a number past any time in seconds is an older worker's milliseconds"
    );
    assert_eq!(read::pay_answer(&parse(r#"{"attempt_id":"pa_1","pay_type":"800201","expires_at":1.5}"#)), None);
    assert_eq!(read::pay_answer(&JsValue::UNDEFINED), None);
}

/// A stand-in worker whose payment answer sends the shopper to `redirect` (as a gateway's
/// `pay_url` would), recording in `window.__qf.navigated` whether a script URL ever ran.
fn install_redirecting_worker(redirect: &str) {
    let body = r#"
        window.__qf = { status: 0, pay: 0, navigated: 0 };
        const checkout = { id: "cs_test", status: "open", amount: 3800, currency: "HKD", currency_exponent: 2,
          goods_name: "Milk tea", merchant_name: "Test Shop", expires_at: Math.floor(Date.now() / 1000) + 1800,
          pay_types: [ { pay_type: "801512", wallet: "Alipay", wallet_code: "alipay", how: "redirect", name_en: "Alipay WAP payment (HK merchants)", name_zh: "Alipay WAP支付（香港商家）" } ] };
        const json = (v, s) => Promise.resolve(new Response(JSON.stringify(v), { status: s || 200, headers: { "Content-Type": "application/json" } }));
        window.fetch = (req) => {
          const url = typeof req === "string" ? req : req.url;
          if (url.endsWith("/pay")) { window.__qf.pay++; return json({ attempt_id: "pa_1", pay_type: "801512",
            redirect_url: REDIRECT, expires_at: Math.floor(Date.now() / 1000) + 1800 }, 201); }
          if (url.endsWith("/status")) { window.__qf.status++;
            return json({ status: "open", expires_at: Math.floor(Date.now() / 1000) + 1800, attempt: null }); }
          return json(checkout);
        };
    "#
    .replace("REDIRECT", &js_sys::JSON::stringify(&redirect.into()).unwrap().as_string().unwrap());
    js_sys::Function::new_no_args(&body).call0(&JsValue::NULL).unwrap();
}

#[wasm_bindgen_test]
async fn a_script_redirect_is_never_followed() {
    let page = web_sys::window().unwrap().location().href().unwrap();
    for redirect in [
        "javascript:window.__qf.navigated=1",
        "JavaScript:window.__qf.navigated=1",
        " javascript:window.__qf.navigated=1",
        "java\tscript:window.__qf.navigated=1",
        "javascript://%0Awindow.__qf.navigated=1",
        "data:text/html,<script>parent.__qf.navigated=1</script>",
    ] {
        // A computer goes to a wallet page at once; a phone shows it as a link: neither for these.
        for phone in [false, true] {
            install_redirecting_worker(redirect);
            pretend_phone(phone);
            let el = host();
            let _handle = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
            wait_for(&el, "[data-wallet='alipay']").await.dyn_into::<HtmlElement>().unwrap().click();
            let outcome = wait_for(&el, "[data-outcome=error]").await;
            assert!(outcome.text_content().is_some(), "{redirect}: the error outcome");
            TimeoutFuture::new(300).await;
            assert_eq!((counter("pay"), counter("navigated")), (1, 0), "{redirect}: no script ran");
            assert_eq!(web_sys::window().unwrap().location().href().unwrap(), page, "{redirect}: still on the page");
            assert!(el.shadow_root().unwrap().query_selector("a").unwrap().is_none(), "{redirect}: no link to it");
        }
    }
    pretend_phone(false);
}
