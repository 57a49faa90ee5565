//! Amounts as the shopper's language writes them, by the browser's `Intl.NumberFormat`
//! (currency style, the session's currency and its ISO 4217 minor units): `HK$38.00`,
//! `JP¥1,500`, and whatever the locale's habits are for other currencies, with no table of
//! symbols in the download.

use wasm_bindgen::JsValue;

use crate::format;
use crate::i18n::Locale;

/// `amount` minor units of `currency`, whose minor unit has `exponent` digits.
pub fn amount(amount: u64, currency: &str, exponent: u8, locale: Locale) -> String {
    let number = format::decimal(amount, exponent);
    intl(&number, currency, exponent, locale).unwrap_or_else(|| [currency, " ", &number].concat())
}

/// `Intl.NumberFormat` given the exact decimal (a string keeps every digit where a float may
/// not), or `None` for what it refuses. The constructor throws a `RangeError` only for a
/// currency code that is not three ASCII letters or for more than 20 fraction digits, and
/// js_sys's binding of it cannot catch that, so those never reach it: the worker's session
/// never has them, and the code still shows then, beside the number.
fn intl(number: &str, currency: &str, exponent: u8, locale: Locale) -> Option<String> {
    let well_formed = currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_alphabetic());
    if !well_formed || exponent > 20 {
        return None;
    }
    let options = js_sys::Object::new();
    let digits = JsValue::from(exponent);
    for (key, value) in [
        ("style", JsValue::from_str("currency")),
        ("currency", JsValue::from_str(currency)),
        // Both bounds: the session's exponent is the rule, whatever the browser's data says.
        ("minimumFractionDigits", digits.clone()),
        ("maximumFractionDigits", digits),
    ] {
        js_sys::Reflect::set(&options, &key.into(), &value).ok()?;
    }
    let locales = js_sys::Array::of1(&locale.number_tag().into());
    let format = js_sys::Intl::NumberFormat::new(&locales, &options).format();
    format.call1(&JsValue::UNDEFINED, &number.into()).ok()?.as_string()
}
