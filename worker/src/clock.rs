//! The worker's clock: Unix milliseconds, and the merchant-local gateway time (`txdtm`).

use qfpay::{Txdtm, HONG_KONG_OFFSET_SECONDS};

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

/// Merchant-local gateway time for now.
pub fn txdtm_now() -> String {
    txdtm_at(now_ms())
}

/// Merchant-local gateway time for `ms`.
pub fn txdtm_at(ms: u64) -> String {
    Txdtm::from_unix((ms / 1000) as i64, HONG_KONG_OFFSET_SECONDS).to_string()
}
