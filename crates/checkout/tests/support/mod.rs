//! What the browser test files share: the page's console counted, the widget's host element
//! and options, and waiting for what it draws.
#![allow(dead_code)]

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlElement};

pub fn run_js(body: &str) -> JsValue {
    js_sys::Function::new_no_args(body).call0(&JsValue::NULL).unwrap()
}

/// Counts the page's `console.error` and `console.warn` calls from now on, in
/// `window.__console` (the test runner cannot read the DevTools console itself).
pub fn count_console() {
    run_js(
        r#"
        window.__console = { error: 0, warn: 0, said: [] };
        for (const level of ["error", "warn"]) {
          if (!console["__real_" + level]) console["__real_" + level] = console[level];
          console[level] = (...args) => { window.__console[level]++; window.__console.said.push(args.join(" "));
            console["__real_" + level].apply(console, args); };
        }
        "#,
    );
}

pub fn console_calls() -> String {
    js_sys::JSON::stringify(&run_js("return window.__console")).unwrap().as_string().unwrap()
}

pub fn counter(name: &str) -> u32 {
    let qf = js_sys::Reflect::get(&web_sys::window().unwrap(), &"__qf".into()).unwrap();
    js_sys::Reflect::get(&qf, &name.into()).unwrap().as_f64().unwrap_or(0.0) as u32
}

pub fn host() -> HtmlElement {
    let doc = web_sys::window().unwrap().document().unwrap();
    let el: HtmlElement = doc.create_element("div").unwrap().dyn_into().unwrap();
    doc.body().unwrap().append_child(&el).unwrap();
    el
}

pub fn options(locale: &str) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in
        [("endpoint", "http://worker.test"), ("session", "cs_test"), ("secret", "cs_secret_x"), ("locale", locale)]
    {
        js_sys::Reflect::set(&o, &k.into(), &v.into()).unwrap();
    }
    o.into()
}

pub async fn wait_for(el: &HtmlElement, selector: &str) -> Element {
    for _ in 0..100 {
        if let Some(found) = el.shadow_root().and_then(|r| r.query_selector(selector).ok().flatten()) {
            return found;
        }
        TimeoutFuture::new(50).await;
    }
    panic!("{selector} never appeared");
}

/// A default session's pay types, as the worker lists them: the Hong Kong products, a QR code
/// and a wallet page for each wallet that has both, in the table's order.
pub const DEFAULT_PAY_TYPES: &str = r#"[
    { pay_type: "801501", wallet: "Alipay", wallet_code: "alipay", how: "qr", name_en: "Alipay MPM (HK merchants)", name_zh: "Alipay MPM（香港商家）" },
    { pay_type: "801512", wallet: "Alipay", wallet_code: "alipay", how: "redirect", name_en: "Alipay WAP payment (HK merchants)", name_zh: "Alipay WAP支付（香港商家）" },
    { pay_type: "800201", wallet: "WeChat Pay", wallet_code: "wechat_pay", how: "qr", name_en: "WeChat Pay MPM (overseas and HK)", name_zh: "WeChat MPM（海外及香港）" },
    { pay_type: "800212", wallet: "WeChat Pay", wallet_code: "wechat_pay", how: "redirect", name_en: "WeChat Pay H5", name_zh: "WeChat H5支付" },
    { pay_type: "805801", wallet: "PayMe", wallet_code: "payme", how: "qr", name_en: "PayMe MPM (HK merchants)", name_zh: "PayMe MPM（香港商家）" },
    { pay_type: "805814", wallet: "PayMe", wallet_code: "payme", how: "redirect", name_en: "PayMe web payment (HK merchants)", name_zh: "PayMe Web支付（香港商家）" },
    { pay_type: "800701", wallet: "UnionPay", wallet_code: "unionpay", how: "qr", name_en: "UnionPay QuickPass MPM", name_zh: "UnionPay QuickPass MPM" },
    { pay_type: "800712", wallet: "UnionPay", wallet_code: "unionpay", how: "redirect", name_en: "UnionPay WAP payment (HK)", name_zh: "UnionPay WAP支付（香港）" },
    { pay_type: "802001", wallet: "FPS", wallet_code: "fps", how: "qr", name_en: "FPS MPM (HK merchants)", name_zh: "FPS MPM（香港商家）" },
    { pay_type: "803701", wallet: "Octopus", wallet_code: "octopus", how: "qr", name_en: "Octopus MPM (HK merchants)", name_zh: "Octopus MPM（香港商家）" },
    { pay_type: "803712", wallet: "Octopus", wallet_code: "octopus", how: "redirect", name_en: "Octopus WAP payment (HK)", name_zh: "Octopus WAP支付（香港）" }
]"#;

/// A stand-in worker for a default session: answers the checkout, pay and status paths, counts
/// pay and status calls, keeps the last pay type asked for in `__qf.last`, and says "paid" from
/// the `paid_after`-th status call on. A QR product's attempt answers a QR code; a wallet
/// page's answers `https://wallet.example/pay/<pay type>`.
pub fn install_fake_worker(paid_after: u32) {
    let body = r#"
        window.__qf = { status: 0, pay: 0, last: "" };
        const checkout = { id: "cs_test", status: "open", amount: 3800, currency: "HKD", currency_exponent: 2,
          goods_name: "Milk tea", merchant_name: "Test Shop", expires_at: Math.floor(Date.now() / 1000) + 1800,
          pay_types: PAY_TYPES };
        const json = (v, s) => Promise.resolve(new Response(JSON.stringify(v), { status: s || 200, headers: { "Content-Type": "application/json" } }));
        window.fetch = async (req) => {
          const url = typeof req === "string" ? req : req.url;
          if (url.endsWith("/pay")) {
            window.__qf.pay++;
            const pay_type = (await req.json()).pay_type;
            window.__qf.last = pay_type;
            const option = checkout.pay_types.find((p) => p.pay_type === pay_type);
            const answer = { attempt_id: "pa_" + window.__qf.pay, pay_type, expires_at: Math.floor(Date.now() / 1000) + 1800 };
            if (option.how === "qr") answer.qrcode = "http://127.0.0.1:9/sim/wallet/" + pay_type;
            else answer.redirect_url = "https://wallet.example/pay/" + pay_type;
            // The session's latest attempt, as a reload (or a remount) reads it.
            checkout.attempt = { id: answer.attempt_id, pay_type, status: "pending", out_trade_no: "QCP1", created_at: Math.floor(Date.now() / 1000),
              expires_at: answer.expires_at, qrcode: answer.qrcode, redirect_url: answer.redirect_url };
            return json(answer, 201);
          }
          if (url.endsWith("/status")) { window.__qf.status++;
            const paid = window.__qf.status >= PAID_AFTER;
            if (paid) { checkout.status = "paid"; if (checkout.attempt) checkout.attempt.status = "paid"; }
            return json({ status: paid ? "paid" : "open", expires_at: Math.floor(Date.now() / 1000) + 1800,
              attempt: { id: "pa_1", pay_type: window.__qf.last, status: paid ? "paid" : "pending", out_trade_no: "QCP1", created_at: 0, expires_at: Math.floor(Date.now() / 1000) + 1800 } }); }
          return json(checkout);
        };
    "#
    .replace("PAY_TYPES", DEFAULT_PAY_TYPES)
    .replace("PAID_AFTER", &paid_after.to_string());
    let f = js_sys::Function::new_no_args(&body);
    f.call0(&JsValue::NULL).unwrap();
}
