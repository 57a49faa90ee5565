//! Reading the worker's JSON (already parsed by the browser) into the contract types of
//! `checkout-api`, field by field. Hand-written instead of serde: the widget is downloaded by
//! every shopper, and serde's generic machinery (and the float formatting its errors pull in)
//! is most of a serde-based widget's size. Missing or mistyped fields make the whole value `None`.

use checkout_api::pay_options::{PayHow, PayOption};
use checkout_api::views::{AttemptView, CheckoutView, PayAnswer, StatusView};
use checkout_api::{AttemptStatus, SessionStatus};
use wasm_bindgen::JsValue;

fn get(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A string field.
pub fn text(obj: &JsValue, key: &str) -> Option<String> {
    get(obj, key).as_string()
}

/// A whole, non-negative number field.
fn number(obj: &JsValue, key: &str) -> Option<u64> {
    get(obj, key).as_f64().filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n <= 9_007_199_254_740_991.0).map(|n| n as u64)
}

fn pay_option(obj: &JsValue) -> Option<PayOption> {
    let how = match text(obj, "how")?.as_str() {
        "qr" => PayHow::Qr,
        "redirect" => PayHow::Redirect,
        _ => return None,
    };
    Some(PayOption {
        pay_type: text(obj, "pay_type")?,
        wallet: text(obj, "wallet")?,
        how,
        name_en: text(obj, "name_en")?,
        name_zh: text(obj, "name_zh")?,
    })
}

fn attempt(obj: &JsValue) -> Option<AttemptView> {
    if obj.is_undefined() || obj.is_null() {
        return None;
    }
    Some(AttemptView {
        id: text(obj, "id")?,
        pay_type: text(obj, "pay_type")?,
        status: AttemptStatus::parse(&text(obj, "status")?)?,
        out_trade_no: text(obj, "out_trade_no").unwrap_or_default(),
        syssn: text(obj, "syssn"),
        qrcode: text(obj, "qrcode"),
        redirect_url: text(obj, "redirect_url"),
        respcd: text(obj, "respcd"),
        created_at: number(obj, "created_at").unwrap_or(0),
        expires_at: number(obj, "expires_at").unwrap_or(0),
        paid_at: number(obj, "paid_at"),
    })
}

/// `GET /v1/checkout/{id}`.
pub fn checkout(v: &JsValue) -> Option<CheckoutView> {
    let list = js_sys::Array::from(&get(v, "pay_types"));
    let pay_types = list.iter().map(|p| pay_option(&p)).collect::<Option<Vec<_>>>()?;
    Some(CheckoutView {
        id: text(v, "id")?,
        status: SessionStatus::parse(&text(v, "status")?)?,
        amount: number(v, "amount")?,
        currency: text(v, "currency")?,
        currency_exponent: u8::try_from(number(v, "currency_exponent")?).ok()?,
        goods_name: text(v, "goods_name")?,
        merchant_name: text(v, "merchant_name").unwrap_or_default(),
        expires_at: number(v, "expires_at")?,
        pay_types,
        attempt: attempt(&get(v, "attempt")),
    })
}

/// `POST /v1/checkout/{id}/pay`.
pub fn pay_answer(v: &JsValue) -> Option<PayAnswer> {
    Some(PayAnswer {
        attempt_id: text(v, "attempt_id")?,
        pay_type: text(v, "pay_type")?,
        qrcode: text(v, "qrcode"),
        redirect_url: text(v, "redirect_url"),
        expires_at: number(v, "expires_at")?,
    })
}

/// `GET /v1/checkout/{id}/status`.
pub fn status(v: &JsValue) -> Option<StatusView> {
    Some(StatusView {
        status: SessionStatus::parse(&text(v, "status")?)?,
        attempt: attempt(&get(v, "attempt")),
        paid_at: number(v, "paid_at"),
        expires_at: number(v, "expires_at")?,
    })
}
