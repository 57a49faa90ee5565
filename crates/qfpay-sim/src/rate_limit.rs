//! QFPay's per-merchant limits: 100 requests in any second, 400 in any minute.
//!
//! The window arithmetic is `qfpay::ratelimit`, shared with the worker's upstream gate; this
//! keeps one set of windows per merchant and reads time from the simulator's real clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use qfpay::ratelimit::{Limits, SlidingWindows};

/// Requests per second allowed per merchant.
pub const PER_SECOND: usize = Limits::QFPAY.per_second();
/// Requests per minute allowed per merchant.
pub const PER_MINUTE: usize = Limits::QFPAY.per_minute();

/// Sliding windows of accepted requests, per merchant.
#[derive(Debug)]
pub struct RateLimiter {
    /// Time zero of the windows' millisecond clock.
    started: Instant,
    accepted: HashMap<String, SlidingWindows>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter { started: Instant::now(), accepted: HashMap::new() }
    }
}

impl RateLimiter {
    /// Records a request at `now` if it is within the limits; false means answer 429.
    pub fn admit(&mut self, appcode: &str, now: Instant) -> bool {
        let now_ms = millis(now.saturating_duration_since(self.started));
        self.accepted.entry(appcode.to_owned()).or_default().acquire(Limits::QFPAY, now_ms) == 0
    }
}

/// Whole milliseconds: the windows' unit (the gateway's limits are not finer than that).
fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_second_and_per_minute() {
        let mut limiter = RateLimiter::default();
        let start = Instant::now();
        assert!((0..PER_SECOND).all(|_| limiter.admit("A", start)));
        assert!(!limiter.admit("A", start), "the 101st in one second");
        assert!(limiter.admit("B", start), "limits are per merchant");
        let mut t = start;
        let mut admitted = PER_SECOND;
        for _ in 0..10 {
            t += Duration::from_millis(1500);
            admitted += (0..PER_SECOND).filter(|_| limiter.admit("A", t)).count();
        }
        assert_eq!(admitted, PER_MINUTE, "no more than 400 in a minute");
        assert!(limiter.admit("A", start + Duration::from_secs(61)), "the window slides");
    }
}
