//! What the shopper reads and sees, in a real Chromium: the merchant's own texts, amounts as
//! the browser's `Intl` writes them, and the light and dark themes with the merchant's colours.
#![cfg(target_arch = "wasm32")]
#![allow(missing_docs)]

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::*;

/// A stand-in worker for a session of `amount` minor units of `currency` (`exponent` digits)
/// with two wallets; a payment answers a QR code, the status stays pending.
fn install_worker(amount: u64, currency: &str, exponent: u8) {
    run_js(&format!(
        r#"
        window.__qf = {{ status: 0, pay: 0 }};
        const checkout = {{ id: "cs_look", status: "open", amount: {amount}, currency: "{currency}",
          currency_exponent: {exponent}, goods_name: "Milk tea", merchant_name: "Test Shop", expires_at: Math.floor(Date.now() / 1000) + 1800,
          pay_types: [
            {{ pay_type: "801501", wallet: "Alipay", wallet_code: "alipay", how: "qr", name_en: "Alipay MPM", name_zh: "Alipay MPM" }},
            {{ pay_type: "800201", wallet: "WeChat Pay", wallet_code: "wechat_pay", how: "qr", name_en: "WeChat Pay MPM", name_zh: "WeChat MPM" }}
          ] }};
        const json = (v, s) => Promise.resolve(new Response(JSON.stringify(v), {{ status: s || 200, headers: {{ "Content-Type": "application/json" }} }}));
        window.fetch = async (req) => {{
          const url = typeof req === "string" ? req : req.url;
          if (url.endsWith("/pay")) {{ window.__qf.pay++; const pay_type = (await req.json()).pay_type;
            return json({{ attempt_id: "pa_1", pay_type, qrcode: "http://127.0.0.1:9/sim/wallet/" + pay_type, expires_at: Math.floor(Date.now() / 1000) + 1800 }}, 201); }}
          if (url.endsWith("/status")) {{ window.__qf.status++;
            return json({{ status: "open", expires_at: Math.floor(Date.now() / 1000) + 1800, attempt: null }}); }}
          return json(checkout);
        }};
        "#
    ));
}

/// The widget's options for `locale` with `texts` (any JSON value) as the `texts` option.
fn options_with_texts(locale: &str, texts_json: &str) -> JsValue {
    let o = options(locale);
    let texts = js_sys::JSON::parse(texts_json).unwrap();
    js_sys::Reflect::set(&o, &"texts".into(), &texts).unwrap();
    o
}

fn text_of(el: &HtmlElement, selector: &str) -> String {
    let root = el.shadow_root().unwrap();
    root.query_selector(selector).unwrap().unwrap_or_else(|| panic!("{selector}")).text_content().unwrap()
}

fn click(e: Element) {
    e.dyn_into::<HtmlElement>().unwrap().click();
}

#[wasm_bindgen_test]
async fn a_merchants_texts_replace_the_widgets() {
    install_worker(3800, "HKD", 2);
    count_console();
    let el = host();
    let texts = r#"{ "choose_method": "<i>揀</i>付款方法", "scan_with": "請打開{wallet}掃一掃",
        "wallet_wechat_pay": "WeChat", "qr_label": "{wallet}：{amount}", "use_another": "返回" }"#;
    let _handle = qfpay_checkout::mount(el.clone(), options_with_texts("zh-HK", texts)).unwrap();
    let heading = wait_for(&el, "h2").await;
    assert_eq!(heading.text_content().unwrap(), "<i>揀</i>付款方法", "text, never markup");
    assert!(heading.query_selector("i").unwrap().is_none(), "no element made from a merchant's text");
    assert_eq!(text_of(&el, "[data-wallet=wechat_pay] span"), "WeChat");
    assert_eq!(text_of(&el, "[data-wallet=alipay] span"), "支付寶", "other wallets keep their names");
    click(wait_for(&el, "[data-wallet=wechat_pay]").await);
    let svg = wait_for(&el, "svg[data-qrcode]").await;
    assert_eq!(text_of(&el, "svg[data-qrcode] + p"), "請打開WeChat掃一掃", "placeholders filled as in defaults");
    let amount = text_of(&el, "[part=amount]");
    assert_eq!(svg.get_attribute("aria-label").unwrap(), format!("WeChat：{amount}"));
    assert_eq!(text_of(&el, "button[part=back]"), "返回");
    assert_eq!(console_calls(), r#"{"error":0,"warn":0,"said":[]}"#, "right texts are quiet");
}

#[wasm_bindgen_test]
async fn wrong_texts_are_named_on_the_console_and_change_nothing_else() {
    install_worker(3800, "HKD", 2);
    let plain = host();
    let _plain = qfpay_checkout::mount(plain.clone(), options("en")).unwrap();
    wait_for(&plain, "[role=radio]").await;
    let expected = plain.shadow_root().unwrap().text_content().unwrap();
    for (texts, named) in [
        (r#"{ "choose_metod": "Pick one" }"#, r#""choose_metod""#),
        (r#"{ "paid": 5 }"#, r#""paid" must be a string"#),
        (r#"{ "scan_with": "Scan {walet}" }"#, "{walet}"),
        (r#"["Pick one"]"#, "option `texts` must be an object"),
        (r#""Pick one""#, "option `texts` must be an object"),
    ] {
        count_console();
        let el = host();
        let handle = qfpay_checkout::mount(el.clone(), options_with_texts("en", texts));
        assert!(handle.is_ok(), "{texts}: a wrong text never stops the checkout");
        wait_for(&el, "[role=radio]").await;
        assert_eq!(el.shadow_root().unwrap().text_content().unwrap(), expected, "{texts}: the widget's own words");
        let console = run_js("return window.__console");
        let errors = js_sys::Reflect::get(&console, &"error".into()).unwrap().as_f64();
        let warnings = js_sys::Reflect::get(&console, &"warn".into()).unwrap().as_f64();
        assert_eq!((errors, warnings), (Some(1.0), Some(0.0)), "{texts}: one error, {}", console_calls());
        assert!(console_calls().contains(&named.replace('"', "\\\"")), "{texts}: names {named}: {}", console_calls());
    }
}

/// What the browser's own `Intl.NumberFormat` writes for the amount, given as a number (the
/// widget gives it the exact decimal string): the test never hard-codes one ICU's output.
fn intl(amount: u64, currency: &str, exponent: u8, tag: &str) -> String {
    run_js(&format!(
        r#"return new Intl.NumberFormat("{tag}", {{ style: "currency", currency: "{currency}",
            minimumFractionDigits: {exponent}, maximumFractionDigits: {exponent} }}).format({amount} / 10 ** {exponent});"#
    ))
    .as_string()
    .unwrap()
}

/// The amount's digits as the session's minor units make them, grouped in threes with a point
/// before the last `exponent` digits: worked out here, not by the widget or by `Intl`.
fn digits(amount: u64, exponent: u8) -> String {
    let plain = format!("{amount:0>width$}", width = usize::from(exponent) + 1);
    let (whole, fraction) = plain.split_at(plain.len() - usize::from(exponent));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if fraction.is_empty() {
        grouped
    } else {
        format!("{grouped}.{fraction}")
    }
}

#[wasm_bindgen_test]
async fn amounts_are_what_intl_writes_for_the_locale_and_the_currencys_minor_units() {
    assert_eq!(
        (digits(1_234_567, 2), digits(1_234_567, 0), digits(5, 3)),
        ("12,345.67".into(), "1,234,567".into(), "0.005".into())
    );
    // Every currency of the guide, at its ISO exponent (IDR and MMK: ISO gives two digits where
    // the browser's data says none), and two beyond it: KWD's three digits, and RSD, whose two
    // the browser's data also drops. The session's rule wins each time.
    let mut cases: Vec<(String, u8)> =
        qfpay::tables::CURRENCIES.iter().map(|c| (c.code.to_owned(), c.exponent)).collect();
    cases.extend([("KWD".to_owned(), 3), ("RSD".to_owned(), 2)]);
    let amount = 1_234_567;
    for (currency, exponent) in &cases {
        for (locale, tag) in [("en", "en-HK"), ("zh-HK", "zh-HK"), ("zh-CN", "zh-CN")] {
            install_worker(amount, currency, *exponent);
            let el = host();
            let _handle = qfpay_checkout::mount(el.clone(), options(locale)).unwrap();
            wait_for(&el, "[role=radio]").await;
            let shown = text_of(&el, "[part=amount]");
            assert_eq!(shown, intl(amount, currency, *exponent, tag), "{currency} in {locale}");
            // The minor units are the session's: a wrong exponent would move the point.
            let expected = digits(amount, *exponent);
            assert!(shown.contains(&expected), "{currency} in {locale}: {shown} has {expected}");
        }
    }
    // A code Intl refuses (not three letters) still shows, with the number.
    install_worker(3800, "HK", 2);
    let el = host();
    let _handle = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
    wait_for(&el, "[role=radio]").await;
    assert_eq!(text_of(&el, "[part=amount]"), "HK 38.00");
}

/// Switches the widget's dark block on (`true`) or off, as `prefers-color-scheme: dark` would:
/// the rule is found by its condition in the widget's own adopted sheet, so the test exercises
/// the very rule the browser applies (scripts cannot change the media query's answer).
fn force_scheme(el: &HtmlElement, dark: bool) {
    let found = js_sys::Function::new_with_args(
        "el, dark",
        r#"// Found by its condition once, then remembered: switching it changes that text.
           const sheet = el.shadowRoot.adoptedStyleSheets[0];
           el.__qfDark ??= [...sheet.cssRules].find((r) => r instanceof CSSMediaRule
             && r.media.mediaText === "(prefers-color-scheme: dark)");
           if (!el.__qfDark) return [...sheet.cssRules].map((r) => r.cssText).join(" | ");
           el.__qfDark.media.mediaText = dark ? "all" : "not all";
           return true;"#,
    )
    .call2(&JsValue::NULL, el, &dark.into())
    .unwrap();
    assert_eq!(found.as_bool(), Some(true), "the widget's dark block: {found:?}");
}

/// An element's computed `property`, as `[r, g, b]` from 0 to 1.
fn colour(e: &Element, property: &str) -> [f64; 3] {
    let value = js_sys::Function::new_with_args("e, p", "return getComputedStyle(e).getPropertyValue(p);")
        .call2(&JsValue::NULL, e, &property.into())
        .unwrap()
        .as_string()
        .unwrap();
    parse_colour(&value).unwrap_or_else(|| panic!("{property}: {value}"))
}

/// `rgb(r, g, b)`, `rgba(...)` or `color(srgb r g b)` (how Chromium writes a `color-mix`).
fn parse_colour(value: &str) -> Option<[f64; 3]> {
    let (scale, inner) = if let Some(rest) = value.strip_prefix("color(srgb ") {
        (1.0, rest)
    } else {
        (255.0, value.strip_prefix("rgba(").or_else(|| value.strip_prefix("rgb("))?)
    };
    let numbers: Vec<f64> = inner
        .trim_end_matches(')')
        .split([',', ' ', '/'])
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    Some([numbers.first()? / scale, numbers.get(1)? / scale, numbers.get(2)? / scale])
}

fn rgb(r: u8, g: u8, b: u8) -> [f64; 3] {
    [f64::from(r) / 255.0, f64::from(g) / 255.0, f64::from(b) / 255.0]
}

/// WCAG 2's contrast ratio.
fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
    let lum = |c: [f64; 3]| {
        let lin = |v: f64| if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) };
        0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

fn close(a: [f64; 3], b: [f64; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 0.5 / 255.0)
}

/// The colours that matter on the QR screen: background, text, secondary text, a secondary
/// button's text, a primary button's fill and text, and the QR code's background.
struct Look {
    background: [f64; 3],
    text: [f64; 3],
    note: [f64; 3],
    accent: [f64; 3],
    primary: [f64; 3],
    on_primary: [f64; 3],
    qr: [f64; 3],
}

fn look(el: &HtmlElement) -> Look {
    let root = el.shadow_root().unwrap();
    let find = |s: &str| root.query_selector(s).unwrap().unwrap_or_else(|| panic!("{s}"));
    // The QR screen has no primary button: one is added, styled by the same sheet.
    let primary = find("button.qf-test-primary");
    Look {
        background: colour(&find(".qf"), "background-color"),
        text: colour(&find(".amount"), "color"),
        note: colour(&find(".note"), "color"),
        accent: colour(&find("button[part=back]"), "color"),
        primary: colour(&primary, "background-color"),
        on_primary: colour(&primary, "color"),
        qr: colour(&find("svg.qr"), "background-color"),
    }
}

/// A widget on its QR screen, with a primary button added for [`look`].
async fn qr_screen(style: &str) -> HtmlElement {
    install_worker(3800, "HKD", 2);
    let el = host();
    el.set_attribute("style", style).unwrap();
    let _handle = qfpay_checkout::mount(el.clone(), options("en")).unwrap();
    click(wait_for(&el, "[data-wallet=alipay]").await);
    wait_for(&el, "svg[data-qrcode]").await;
    let button = web_sys::window().unwrap().document().unwrap().create_element("button").unwrap();
    button.set_class_name("qf-test-primary");
    el.shadow_root().unwrap().query_selector("[part=body]").unwrap().unwrap().append_child(&button).unwrap();
    el
}

fn assert_readable(look: &Look, scheme: &str) {
    for (what, fg, bg) in [
        ("text", look.text, look.background),
        ("secondary text", look.note, look.background),
        ("a secondary button's text", look.accent, look.background),
        ("a primary button's text", look.on_primary, look.primary),
    ] {
        let ratio = contrast(fg, bg);
        assert!(ratio >= 4.5, "{scheme}: {what} has contrast {ratio:.2}, AA needs 4.5");
    }
    assert!(contrast(look.primary, look.background) >= 3.0, "{scheme}: a primary button's edge");
}

#[wasm_bindgen_test]
async fn the_dark_theme_is_readable_and_keeps_the_qr_code_black_on_white() {
    let el = qr_screen("").await;
    force_scheme(&el, false);
    let light = look(&el);
    assert!(close(light.background, rgb(255, 255, 255)) && close(light.text, rgb(29, 29, 31)), "light defaults");
    assert_readable(&light, "light");
    force_scheme(&el, true);
    let dark = look(&el);
    assert!(close(dark.background, rgb(28, 28, 30)) && close(dark.text, rgb(242, 242, 247)), "dark defaults");
    assert!(!close(dark.primary, light.primary) && !close(dark.accent, light.accent), "dark has its own blue");
    assert_readable(&dark, "dark");
    // Scanners need dark modules on a light field with a light margin: the SVG's white square
    // under the modules, which keep four modules clear of each edge.
    assert!(close(dark.qr, rgb(255, 255, 255)), "the QR code's background stays white");
    let svg = el.shadow_root().unwrap().query_selector("svg[data-qrcode]").unwrap().unwrap();
    let size: u32 = svg.get_attribute("data-modules").unwrap().parse().unwrap();
    let rects = svg.query_selector_all("rect").unwrap();
    let field: Element = rects.get(0).unwrap().dyn_into().unwrap();
    assert_eq!(field.get_attribute("fill").as_deref(), Some("#fff"));
    assert_eq!(field.get_attribute("width"), Some(size.to_string()));
    for i in 1..rects.length() {
        let module: Element = rects.get(i).unwrap().dyn_into().unwrap();
        let at = |name: &str| module.get_attribute(name).unwrap().parse::<u32>().unwrap();
        assert_eq!(module.get_attribute("fill").as_deref(), Some("#000"));
        let (x, y) = (at("x"), at("y"));
        let clear = x >= 4 && y >= 4 && x + at("width") <= size - 4 && y + at("height") <= size - 4;
        assert!(clear, "the quiet zone is clear on all four sides: module at ({x}, {y})");
    }
}

#[wasm_bindgen_test]
async fn the_merchants_colours_win_in_both_schemes() {
    let el = qr_screen(
        "--qfpay-color-background: rgb(250, 240, 230); --qfpay-color-text: rgb(20, 30, 40); \
         --qfpay-color-primary: rgb(120, 40, 30)",
    )
    .await;
    for dark in [false, true] {
        force_scheme(&el, dark);
        let look = look(&el);
        let scheme = if dark { "dark" } else { "light" };
        assert!(close(look.background, rgb(250, 240, 230)), "{scheme}: the merchant's background");
        assert!(close(look.text, rgb(20, 30, 40)), "{scheme}: the merchant's text");
        assert!(close(look.primary, rgb(120, 40, 30)), "{scheme}: the merchant's primary");
        assert!(close(look.accent, rgb(120, 40, 30)), "{scheme}: the merchant's primary for secondary buttons");
        assert!(close(look.qr, rgb(255, 255, 255)), "{scheme}: the QR code stays on white");
        assert_readable(&look, scheme);
    }
}

/// The container's `data-scheme`: what the widget decided from the page's variables.
fn scheme_of(el: &HtmlElement) -> String {
    el.shadow_root().unwrap().query_selector(".qf").unwrap().unwrap().get_attribute("data-scheme").unwrap_or_default()
}

#[wasm_bindgen_test]
async fn a_brand_colour_alone_keeps_the_light_defaults_under_a_dark_preference() {
    // A navy brand colour chosen for a white page: on the dark background it would be unreadable.
    let el = qr_screen("--qfpay-color-primary: rgb(10, 30, 90)").await;
    assert_eq!(scheme_of(&el), "light");
    force_scheme(&el, true);
    let look = look(&el);
    assert!(close(look.primary, rgb(10, 30, 90)), "the merchant's primary");
    assert!(
        close(look.background, rgb(255, 255, 255)) && close(look.text, rgb(29, 29, 31)),
        "light defaults for the rest"
    );
    assert_readable(&look, "dark preference, primary only");
}

#[wasm_bindgen_test]
async fn a_white_background_alone_keeps_dark_text_under_a_dark_preference() {
    let el = qr_screen("--qfpay-color-background: #fff").await;
    assert_eq!(scheme_of(&el), "light");
    force_scheme(&el, true);
    let look = look(&el);
    assert!(close(look.background, rgb(255, 255, 255)), "the merchant's background");
    assert!(close(look.text, rgb(29, 29, 31)), "the light default text on it, not the dark theme's");
    assert_readable(&look, "dark preference, background only");
}

#[wasm_bindgen_test]
async fn with_no_colour_set_the_theme_follows_the_preference() {
    let el = qr_screen("").await;
    assert_eq!(scheme_of(&el), "auto");
    force_scheme(&el, false);
    assert!(close(look(&el).background, rgb(255, 255, 255)), "light when the browser prefers light");
    force_scheme(&el, true);
    assert!(close(look(&el).background, rgb(28, 28, 30)), "dark when it prefers dark");
}

#[wasm_bindgen_test]
async fn the_merchant_can_force_a_scheme() {
    // Dark forced with a light preference; with a colour set too, the rest are the dark defaults.
    let el = qr_screen("--qfpay-color-scheme: dark").await;
    assert_eq!(scheme_of(&el), "dark");
    force_scheme(&el, false);
    let dark = look(&el);
    assert!(close(dark.background, rgb(28, 28, 30)) && close(dark.text, rgb(242, 242, 247)), "dark defaults");
    assert_readable(&dark, "forced dark");
    let el = qr_screen("--qfpay-color-scheme: dark; --qfpay-color-text: rgb(250, 250, 250)").await;
    assert_eq!(scheme_of(&el), "dark");
    force_scheme(&el, false);
    let dark = look(&el);
    assert!(
        close(dark.background, rgb(28, 28, 30)) && close(dark.text, rgb(250, 250, 250)),
        "the merchant's text on dark"
    );
    // Light forced with a dark preference and no colours set.
    let el = qr_screen("--qfpay-color-scheme: light").await;
    assert_eq!(scheme_of(&el), "light");
    force_scheme(&el, true);
    assert!(close(look(&el).background, rgb(255, 255, 255)), "forced light");
    // Auto forced with colours set: the media decides the unset ones.
    let el = qr_screen("--qfpay-color-scheme: auto; --qfpay-color-primary: rgb(26, 115, 217)").await;
    assert_eq!(scheme_of(&el), "auto");
    force_scheme(&el, true);
    assert!(close(look(&el).background, rgb(28, 28, 30)), "auto follows the preference");
}
