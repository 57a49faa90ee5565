//! The widget in a real Chromium (`wasm-pack test --headless --chrome`), against a stand-in
//! for the worker installed as `window.fetch` (the end-to-end suite uses the real worker).
#![cfg(target_arch = "wasm32")]
#![allow(missing_docs)]

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

/// A stand-in worker: answers the checkout, pay and status paths, counts status calls, and
/// says "paid" from the `paid_after`-th status call on.
fn install_fake_worker(paid_after: u32) {
    let body = r#"
        window.__qf = { status: 0, pay: 0 };
        const checkout = { id: "cs_test", status: "open", amount: 3800, currency: "HKD", currency_exponent: 2,
          goods_name: "Milk tea", merchant_name: "Test Shop", expires_at: Date.now() + 1800000,
          pay_types: [
            { pay_type: "800201", wallet: "WeChat Pay", how: "qr", name_en: "WeChat Pay MPM", name_zh: "WeChat MPM" },
            { pay_type: "805801", wallet: "PayMe", how: "qr", name_en: "PayMe MPM", name_zh: "PayMe MPM" } ] };
        const json = (v, s) => Promise.resolve(new Response(JSON.stringify(v), { status: s || 200, headers: { "Content-Type": "application/json" } }));
        window.fetch = (req) => {
          const url = typeof req === "string" ? req : req.url;
          if (url.endsWith("/pay")) { window.__qf.pay++; return json({ attempt_id: "pa_1", pay_type: "800201",
            qrcode: "http://127.0.0.1:9/sim/wallet/abc", expires_at: Date.now() + 1800000 }, 201); }
          if (url.endsWith("/status")) { window.__qf.status++;
            const paid = window.__qf.status >= PAID_AFTER;
            return json({ status: paid ? "paid" : "open", expires_at: Date.now() + 1800000,
              attempt: { id: "pa_1", pay_type: "800201", status: paid ? "paid" : "pending", out_trade_no: "QCP1", created_at: 0, expires_at: Date.now() + 1800000 } }); }
          return json(checkout);
        };
    "#
    .replace("PAID_AFTER", &paid_after.to_string());
    let f = js_sys::Function::new_no_args(&body);
    f.call0(&JsValue::NULL).unwrap();
}

fn counter(name: &str) -> u32 {
    let qf = js_sys::Reflect::get(&web_sys::window().unwrap(), &"__qf".into()).unwrap();
    js_sys::Reflect::get(&qf, &name.into()).unwrap().as_f64().unwrap_or(0.0) as u32
}

fn host() -> HtmlElement {
    let doc = web_sys::window().unwrap().document().unwrap();
    let el: HtmlElement = doc.create_element("div").unwrap().dyn_into().unwrap();
    doc.body().unwrap().append_child(&el).unwrap();
    el
}

fn options(locale: &str) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in
        [("endpoint", "http://worker.test"), ("session", "cs_test"), ("secret", "cs_secret_x"), ("locale", locale)]
    {
        js_sys::Reflect::set(&o, &k.into(), &v.into()).unwrap();
    }
    o.into()
}

async fn wait_for(el: &HtmlElement, selector: &str) -> Element {
    for _ in 0..100 {
        if let Some(found) = el.shadow_root().and_then(|r| r.query_selector(selector).ok().flatten()) {
            return found;
        }
        TimeoutFuture::new(50).await;
    }
    panic!("{selector} never appeared");
}

fn key(target: &Element, key: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    let event = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn renders_the_session_and_a_keyboard_chosen_qr() {
    install_fake_worker(1000);
    let el = host();
    let _handle = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
    let first = wait_for(&el, "[role=radio]").await;
    let root = el.shadow_root().unwrap();
    assert_eq!(root.query_selector(".amount").unwrap().unwrap().text_content().unwrap(), "HK$38.00");
    assert_eq!(root.query_selector_all("[role=radio]").unwrap().length(), 2);
    assert_eq!(first.get_attribute("tabindex").as_deref(), Some("0"));
    key(&first, "ArrowDown");
    let second = root.query_selector("[data-pay-type='805801']").unwrap().unwrap();
    assert_eq!(second.get_attribute("aria-checked").as_deref(), Some("true"));
    assert_eq!(second.get_attribute("tabindex").as_deref(), Some("0"));
    key(&second, "Enter");
    let svg = wait_for(&el, "svg[data-qrcode]").await;
    assert_eq!(counter("pay"), 1);
    let modules: usize = svg.get_attribute("data-modules").unwrap().parse().unwrap();
    assert!(modules >= 21 + 8, "a QR code with its quiet zone");
    assert_eq!(svg.get_attribute("viewBox").unwrap(), format!("0 0 {modules} {modules}"));
    assert!(svg.query_selector_all("rect").unwrap().length() > 20);
    assert!(svg.get_attribute("aria-label").unwrap().contains("HK$38.00"));
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
    wait_for(&el, "[data-pay-type='800201']").await.dyn_into::<HtmlElement>().unwrap().click();
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
    wait_for(&el, "[data-pay-type='800201']").await.dyn_into::<HtmlElement>().unwrap().click();
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
    use checkout_api::{AttemptStatus, SessionStatus};
    use qfpay_checkout::read;
    let parse = |text: &str| js_sys::JSON::parse(text).unwrap();
    let status = read::status(&parse(
        r#"{"status":"closing","expires_at":1700001800000,"paid_at":1700000100000,
            "attempt":{"id":"pa_1","pay_type":"800201","status":"pending","out_trade_no":"QCP1",
            "qrcode":"weixin://x","created_at":1700000000000,"expires_at":1700000900000}}"#,
    ))
    .expect("a status answer");
    assert_eq!(
        (status.status, status.paid_at, status.expires_at),
        (SessionStatus::Closing, Some(1_700_000_100_000), 1_700_001_800_000)
    );
    let attempt = status.attempt.expect("its attempt");
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
    assert_eq!(answer.map(|a| (a.qrcode, a.redirect_url, a.expires_at)), Some((None, None, 9_007_199_254_740_991)));
    assert_eq!(read::pay_answer(&parse(r#"{"attempt_id":"pa_1","pay_type":"800201","expires_at":1.5}"#)), None);
    assert_eq!(read::pay_answer(&JsValue::UNDEFINED), None);
}

/// A stand-in worker whose payment answer sends the shopper to `redirect` (as a gateway's
/// `pay_url` would), recording in `window.__qf.navigated` whether a script URL ever ran.
fn install_redirecting_worker(redirect: &str) {
    let body = r#"
        window.__qf = { status: 0, pay: 0, navigated: 0 };
        const checkout = { id: "cs_test", status: "open", amount: 3800, currency: "HKD", currency_exponent: 2,
          goods_name: "Milk tea", merchant_name: "Test Shop", expires_at: Date.now() + 1800000,
          pay_types: [ { pay_type: "801512", wallet: "Alipay HK", how: "redirect", name_en: "Alipay HK WAP", name_zh: "支付寶香港 WAP" } ] };
        const json = (v, s) => Promise.resolve(new Response(JSON.stringify(v), { status: s || 200, headers: { "Content-Type": "application/json" } }));
        window.fetch = (req) => {
          const url = typeof req === "string" ? req : req.url;
          if (url.endsWith("/pay")) { window.__qf.pay++; return json({ attempt_id: "pa_1", pay_type: "801512",
            redirect_url: REDIRECT, expires_at: Date.now() + 1800000 }, 201); }
          if (url.endsWith("/status")) { window.__qf.status++;
            return json({ status: "open", expires_at: Date.now() + 1800000, attempt: null }); }
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
        install_redirecting_worker(redirect);
        let el = host();
        let _handle = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
        wait_for(&el, "[data-pay-type='801512']").await.dyn_into::<HtmlElement>().unwrap().click();
        let outcome = wait_for(&el, "[data-outcome=error]").await;
        assert!(outcome.text_content().is_some(), "{redirect}: the error outcome");
        TimeoutFuture::new(300).await;
        assert_eq!((counter("pay"), counter("navigated")), (1, 0), "{redirect}: no script ran");
        assert_eq!(web_sys::window().unwrap().location().href().unwrap(), page, "{redirect}: still on the page");
    }
}
