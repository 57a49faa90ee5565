//! The page's `texts` option (a key → words object; see `www/qfpay-checkout-texts.d.ts`) read
//! into [`Texts`]. A wrong entry is a merchant's typo: the console names it and the widget
//! keeps its own words, but nothing throws, because a checkout that still works is better for
//! the shopper than one that refuses to mount over a label.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::i18n::Locale;
use crate::texts::Texts;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    pub(super) fn console_error(message: &str);
}

/// The words in `locale`, with the merchant's from `options.texts` where they are right.
pub(super) fn read(locale: Locale, options: &JsValue) -> Texts {
    let mut texts = Texts::new(locale);
    let given = js_sys::Reflect::get(options, &"texts".into()).unwrap_or(JsValue::UNDEFINED);
    if given.is_undefined() || given.is_null() {
        return texts;
    }
    if !given.is_object() || given.is_function() || js_sys::Array::is_array(&given) {
        console_error("qfpay-checkout: option `texts` must be an object of strings by key (ignored)");
        return texts;
    }
    let object: &js_sys::Object = given.unchecked_ref();
    for key in js_sys::Object::keys(object).iter() {
        let Some(key) = key.as_string() else { continue };
        let value = js_sys::Reflect::get(&given, &key.as_str().into()).ok().and_then(|v| v.as_string());
        if let Err(error) = texts.set(&key, value.as_deref()) {
            console_error(&error.message());
        }
    }
    texts
}
