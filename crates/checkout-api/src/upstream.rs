//! When the worker may call the gateway. Notifications settle payments; queries are the
//! fallback, spaced out so that shoppers' polling never becomes upstream traffic: the first
//! query of an open attempt comes `base` seconds after it was created, then the gaps double up
//! to two minutes, and one more comes when the attempt's time is up.

/// Seconds before the first query of an open attempt (the `QUERY_AFTER_SECONDS` setting).
pub const DEFAULT_QUERY_AFTER_SECONDS: u64 = 15;
/// The longest gap between two queries of one attempt.
pub const MAX_QUERY_GAP_SECONDS: u64 = 120;

/// Whether an open attempt is due for a gateway query at `now` (all times in ms).
pub fn query_due(created_at: u64, last_checked_at: u64, expires_at: u64, now: u64, base_seconds: u64) -> bool {
    if now >= expires_at {
        return last_checked_at < expires_at;
    }
    let base = base_seconds.max(1) * 1000;
    let since_created = now.saturating_sub(created_at);
    if since_created < base {
        return false;
    }
    if last_checked_at <= created_at {
        return true;
    }
    let checked_after = last_checked_at.saturating_sub(created_at);
    let gap = checked_after.clamp(base, MAX_QUERY_GAP_SECONDS * 1000);
    now >= last_checked_at + gap
}

/// Back-off before retry number `attempt` (0-based) of an upstream call, in ms: 200 ms doubling,
/// at most 3.2 s, with `jitter` (0..1, drawn by the caller) spreading it by up to half.
pub fn retry_delay_ms(attempt: u32, jitter: f64) -> u64 {
    let base = 200u64 << attempt.min(4);
    let spread = (base as f64 * 0.5 * jitter.clamp(0.0, 1.0)) as u64;
    base + spread
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1000;

    #[test]
    fn queries_are_spaced_out() {
        let created = 1_000_000;
        let expires = created + 1800 * S;
        assert!(!query_due(created, 0, expires, created + 5 * S, 15), "not in the first 15 s");
        assert!(query_due(created, 0, expires, created + 15 * S, 15));
        let first = created + 15 * S;
        assert!(!query_due(created, first, expires, first + 10 * S, 15));
        assert!(query_due(created, first, expires, first + 15 * S, 15));
        let later = created + 600 * S;
        assert!(!query_due(created, later, expires, later + 119 * S, 15), "gaps stop growing at 2 min");
        assert!(query_due(created, later, expires, later + 120 * S, 15));
        assert!(query_due(created, later, expires, expires, 15), "one more at expiry");
        assert!(!query_due(created, expires, expires, expires + 60 * S, 15), "and none after");
    }

    #[test]
    fn polling_every_2s_for_a_minute_costs_few_queries() {
        let created = 0;
        let expires = 1800 * S;
        let mut last = 0;
        let mut queries = 0;
        for t in (0..=60 * S).step_by(2000) {
            if query_due(created, last, expires, t, 15) {
                queries += 1;
                last = t;
            }
        }
        assert_eq!(queries, 2, "at 15 s and 30 s... then 60 s is the next");
    }

    #[test]
    fn retry_delays_grow_and_are_bounded() {
        assert_eq!(retry_delay_ms(0, 0.0), 200);
        assert_eq!(retry_delay_ms(1, 0.0), 400);
        assert_eq!(retry_delay_ms(10, 1.0), 4800);
    }
}
