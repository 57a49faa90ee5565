//! When the worker calls the gateway on its own. Notifications settle payments; the background
//! settler's queries are the fallback, spaced out and batched: the first query of an open
//! attempt comes `base` seconds after it was created, then the gaps double up to two minutes
//! (ten minutes once the attempt is ten minutes old), and one more comes when its time is up; queries due within a few seconds of each
//! other travel in one call. Order changes whose answer was lost are retried with back-off, and
//! refunds refused during the daily blackout are retried after it.

/// Seconds before the first query of an open attempt (the `QUERY_AFTER_SECONDS` setting).
pub const DEFAULT_QUERY_AFTER_SECONDS: u64 = 15;
/// The longest gap between two queries of one attempt in its first [`EARLY_SECONDS`], when most
/// shoppers pay: a lost notification is found within two minutes.
pub const MAX_QUERY_GAP_SECONDS: u64 = 120;
/// After this long an open attempt is rarely paid: its gaps grow on, up to [`LATE_GAP_SECONDS`],
/// so a QR code left open for its whole life (up to 120 minutes) costs a few queries, not sixty.
pub const EARLY_SECONDS: u64 = 600;
/// The longest gap between two queries of an attempt older than [`EARLY_SECONDS`].
pub const LATE_GAP_SECONDS: u64 = 600;

/// When an open attempt is next due for a gateway query (all times in ms), or `None` once its
/// last query, at its expiry, has been made (then it is closed at the gateway instead).
pub fn next_query_at(created_at: u64, last_checked_at: u64, expires_at: u64, base_seconds: u64) -> Option<u64> {
    if last_checked_at >= expires_at {
        return None;
    }
    let base = base_seconds.max(1) * 1000;
    let next = if last_checked_at <= created_at {
        created_at + base
    } else {
        let age = last_checked_at.saturating_sub(created_at);
        let ceiling = if age < EARLY_SECONDS * 1000 { MAX_QUERY_GAP_SECONDS } else { LATE_GAP_SECONDS };
        last_checked_at + age.clamp(base, ceiling * 1000)
    };
    Some(next.min(expires_at))
}

/// Queries due within this many ms of a sweep ride along in its batched query: one gateway
/// call then settles many attempts, instead of one call each a few seconds apart.
pub const BATCH_PULL_FORWARD_MS: u64 = 5_000;
/// How soon an order the gateway answered "still confirming" (`1143`/`1145`) is asked about
/// again (ms): the guide says 3-5 s.
pub const ASK_AGAIN_MS: u64 = 3_000;

/// The most `out_trade_no` values one query carries (the gateway's largest page).
pub const QUERY_BATCH: usize = 100;

/// When to try again an order change (a close, a refund's query or identical re-send) whose
/// answer did not come, after `tries` tries: 5 s doubling, at most 5 minutes.
pub fn order_change_retry_at(now: u64, tries: u32) -> u64 {
    now + (5_000u64 << tries.min(6)).min(300_000)
}

/// A refund's life with no final word from the gateway, counted from its current number's first
/// send (its `txdtm`): asked about (and re-sent, identically) with [`order_change_retry_at`]'s
/// back-off for [`REFUND_SLOW_AFTER_MS`], then hourly; re-sent only within
/// [`REFUND_RESEND_FOR_MS`]; given up [`REFUND_GIVE_UP_AFTER_MS`] in. A refund the gateway has no
/// record of ends `failed` only [`REFUND_QUIET_MS`] after its last send, so no send of it can
/// still arrive; one it gave no final word on ends `unresolved` and is asked about every
/// [`REFUND_RECHECK_GAP_MS`] until [`REFUND_WATCH_FOR_MS`].
pub const REFUND_SLOW_AFTER_MS: u64 = 6 * HOUR_MS;
/// See [`REFUND_SLOW_AFTER_MS`].
pub const REFUND_RESEND_FOR_MS: u64 = 24 * HOUR_MS;
/// See [`REFUND_SLOW_AFTER_MS`]; [`crate::states::REFUND_GIVE_UP_AFTER_DAYS`] in ms.
pub const REFUND_GIVE_UP_AFTER_MS: u64 = crate::states::REFUND_GIVE_UP_AFTER_DAYS * 24 * HOUR_MS;
/// See [`REFUND_SLOW_AFTER_MS`].
pub const REFUND_QUIET_MS: u64 = 48 * HOUR_MS;
/// The gap between two questions about a refund older than [`REFUND_SLOW_AFTER_MS`].
pub const REFUND_SLOW_GAP_MS: u64 = HOUR_MS;
/// The gap between two questions about an `unresolved` refund.
pub const REFUND_RECHECK_GAP_MS: u64 = 24 * HOUR_MS;
/// How long an `unresolved` refund is still asked about; after that only a person can end it.
pub const REFUND_WATCH_FOR_MS: u64 = 30 * 24 * HOUR_MS;
const HOUR_MS: u64 = 3_600_000;
// A refund is given up no sooner than its last re-send's quiet time: with nothing new to wait
// for, the gateway's "no record" then is its last word.
const _: () = assert!(REFUND_RESEND_FOR_MS + REFUND_QUIET_MS <= REFUND_GIVE_UP_AFTER_MS);

/// When a pending refund whose number was first sent at `made_at` is next asked about (or
/// re-sent), after `tries` tries: with back-off while it is young, then hourly, and due when it
/// is given up.
pub fn refund_retry_at(now: u64, made_at: u64, tries: u32) -> u64 {
    let give_up = made_at + REFUND_GIVE_UP_AFTER_MS;
    let at = if now >= made_at + REFUND_SLOW_AFTER_MS {
        now + REFUND_SLOW_GAP_MS
    } else {
        order_change_retry_at(now, tries)
    };
    if now < give_up {
        at.min(give_up)
    } else {
        at
    }
}

/// When an `unresolved` refund first sent at `made_at` is next asked about: daily, `None` once
/// it has been watched for [`REFUND_WATCH_FOR_MS`].
pub fn unresolved_recheck_at(now: u64, made_at: u64) -> Option<u64> {
    let next = now + REFUND_RECHECK_GAP_MS;
    (next <= made_at + REFUND_WATCH_FOR_MS).then_some(next)
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
    fn a_refund_is_asked_about_with_back_off_then_hourly_until_it_is_given_up() {
        let created = 1_000_000;
        assert_eq!(refund_retry_at(created, created, 0), created + 5 * S);
        assert_eq!(refund_retry_at(created + 60 * S, created, 10), created + 360 * S, "at most 5 minutes");
        let slow = created + REFUND_SLOW_AFTER_MS;
        assert_eq!(refund_retry_at(slow, created, 3), slow + 3600 * S, "hourly once old");
        let last = created + REFUND_GIVE_UP_AFTER_MS - 60 * S;
        assert_eq!(refund_retry_at(last, created, 40), created + REFUND_GIVE_UP_AFTER_MS, "due when given up");
        let given_up = created + REFUND_GIVE_UP_AFTER_MS;
        assert_eq!(unresolved_recheck_at(given_up, created), Some(given_up + 86_400 * S), "then daily");
        assert_eq!(unresolved_recheck_at(created + REFUND_WATCH_FOR_MS - 3600 * S, created), None, "for 30 days");
    }

    #[test]
    fn queries_are_spaced_out() {
        let created = 1_000_000;
        let expires = created + 1800 * S;
        assert_eq!(next_query_at(created, 0, expires, 15), Some(created + 15 * S), "first after 15 s");
        let first = created + 15 * S;
        assert_eq!(next_query_at(created, first, expires, 15), Some(first + 15 * S));
        let later = created + 300 * S;
        assert_eq!(next_query_at(created, later, expires, 15), Some(later + 120 * S), "gaps stop at 2 min early on");
        let old = created + 900 * S;
        assert_eq!(next_query_at(created, old, expires, 15), Some(old + 600 * S), "and grow to 10 min later");
        let near_end = expires - 30 * S;
        assert_eq!(next_query_at(created, near_end, expires, 15), Some(expires), "one more at expiry");
        assert_eq!(next_query_at(created, expires, expires, 15), None, "and none after");
    }

    #[test]
    fn an_attempt_open_for_its_whole_life_costs_few_queries() {
        let (created, expires) = (0, 1800 * S);
        let mut last = 0;
        let mut queries = 0;
        while let Some(at) = next_query_at(created, last, expires, 15) {
            queries += 1;
            last = at;
        }
        assert!((8..=14).contains(&queries), "{queries} queries in 30 minutes");
        let (mut last, mut queries, expires) = (0, 0, 7200 * S);
        while let Some(at) = next_query_at(created, last, expires, 15) {
            queries += 1;
            last = at;
        }
        assert!(queries <= 25, "{queries} queries in 120 minutes");
    }

    #[test]
    fn order_changes_back_off() {
        assert_eq!(order_change_retry_at(0, 0), 5_000);
        assert_eq!(order_change_retry_at(0, 1), 10_000);
        assert_eq!(order_change_retry_at(0, 30), 300_000);
    }

    #[test]
    fn retry_delays_grow_and_are_bounded() {
        assert_eq!(retry_delay_ms(0, 0.0), 200);
        assert_eq!(retry_delay_ms(1, 0.0), 400);
        assert_eq!(retry_delay_ms(10, 1.0), 4800);
    }
}
