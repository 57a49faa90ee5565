//! QFPay's per-merchant limits: 100 requests in any second, 400 in any minute.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Requests per second allowed per merchant.
pub const PER_SECOND: usize = 100;
/// Requests per minute allowed per merchant.
pub const PER_MINUTE: usize = 400;

/// Sliding windows of accepted requests, per merchant.
#[derive(Debug, Default)]
pub struct RateLimiter {
    accepted: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    /// Records a request at `now` if it is within the limits; false means answer 429.
    pub fn admit(&mut self, appcode: &str, now: Instant) -> bool {
        let window = self.accepted.entry(appcode.to_owned()).or_default();
        while window.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
            window.pop_front();
        }
        let last_second = window.iter().rev().take_while(|t| now.duration_since(**t) < Duration::from_secs(1)).count();
        if window.len() >= PER_MINUTE || last_second >= PER_SECOND {
            return false;
        }
        window.push_back(now);
        true
    }
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
