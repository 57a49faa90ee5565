//! `<qfpay-checkout>`: the checkout widget, in Rust compiled to WebAssembly.
//!
//! The hand-written loader (`js/qfpay-checkout.js`, served minified as `www/qfpay-checkout.js`) defines the custom element and calls
//! [`mount`]; frameworks can call `mount(element, options)` themselves and `destroy()` the
//! returned handle. The widget talks only to the worker, never to QFPay, and never sees a key.
//!
//! Pure parts, tested natively: [`choice`] (one choice per wallet, the product it starts on
//! this device, the keys of the list), [`explain`] (what a failure tells the developer to
//! check), [`format`](mod@format) (amounts' exact decimals,
//! countdowns), [`i18n`] (en, zh-HK, zh-CN, and the wallets' names), [`texts`] (the merchant's
//! own words by key), [`marks`] (the wallets' badges), [`poll`] (when to ask for the status,
//! and what its answer means), [`qr`] (the QR matrix with its quiet zone), [`read`] (the
//! worker's JSON into checkout-api's types, checked against serde in the tests), [`style`]
//! (the style sheet, and the light or dark scheme the merchant's variables ask for). The
//! browser parts: `widget` (mounting and the handle; its `screens`; its `flow` from loading to
//! polling; the `texts` option read), `api` (fetch), `dom`, `money` (amounts by
//! `Intl.NumberFormat`).
#![forbid(unsafe_code)]

pub mod choice;
pub mod explain;
pub mod format;
pub mod i18n;
pub mod marks;
pub mod poll;
pub mod qr;
pub mod read;
pub mod style;
pub mod texts;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod money;
#[cfg(target_arch = "wasm32")]
pub mod widget;

/// The allocator: talc instead of std's dlmalloc, 2.1 KB less brotli for the page to download.
/// The widget lives for minutes and frees as it goes (screens, answers, timers), so it needs
/// an allocator that reuses memory, not a bump allocator. talc's constructor is safe: it checks
/// at compile time that the target is single-threaded wasm (no `atomics`), the only place its
/// unlocked cell is sound, so this crate keeps `forbid(unsafe_code)`.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(target_arch = "wasm32")]
pub use widget::{mount, Handle};
