//! The worker's clock: Unix milliseconds, and the merchant-local gateway time (`txdtm`).
//!
//! Tests against the local simulator can move it (`CLOCK_OFFSET_SECONDS`, refused unless
//! `QFPAY_ENV=local`): a month's last second, or a day later for retention, without waiting.

use std::sync::atomic::{AtomicI64, Ordering};

use qfpay::{Txdtm, HONG_KONG_OFFSET_SECONDS};

/// How far the clock is moved, in ms (0 but in tests). Set once per request or alarm from the
/// settings; a worker isolate runs one configuration.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// Moves the clock by `seconds` (the `CLOCK_OFFSET_SECONDS` setting).
pub fn set_offset_seconds(seconds: i64) {
    OFFSET_MS.store(seconds.saturating_mul(1000), Ordering::Relaxed);
}

/// The real (platform) time of a moment of this clock: what a Durable Object's alarm is set by.
pub fn to_real_ms(ms: u64) -> u64 {
    (ms as i64).saturating_sub(OFFSET_MS.load(Ordering::Relaxed)).max(0) as u64
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    (worker::Date::now().as_millis() as i64).saturating_add(OFFSET_MS.load(Ordering::Relaxed)).max(0) as u64
}

/// Merchant-local gateway time for now.
pub fn txdtm_now() -> String {
    txdtm_at(now_ms())
}

/// Merchant-local gateway time for `ms`.
pub fn txdtm_at(ms: u64) -> String {
    Txdtm::from_unix((ms / 1000) as i64, HONG_KONG_OFFSET_SECONDS).to_string()
}
