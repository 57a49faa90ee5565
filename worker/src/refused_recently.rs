//! Keys a rate limiter has just refused, remembered by this worker instance for a moment so that
//! a flood's next requests are refused without asking the binding again. The client was told to
//! wait a whole period (`Retry-After`, 10 s or more), so refusing it for one more second changes
//! nothing it was promised; only a key the binding itself refused is held. The memory is bounded: past
//! [`MOST_KEYS`] keys, the ones whose hold has ended are dropped, and if none has, all are.

use std::cell::RefCell;
use std::collections::HashMap;

/// How long a refused key is refused without asking.
pub const HOLD_MS: u64 = 1_000;
/// The most keys remembered at once.
pub const MOST_KEYS: usize = 4_096;

thread_local! {
    /// Key -> until when it is held, by binding (looked up without allocating).
    static HELD: RefCell<HashMap<&'static str, HashMap<String, u64>>> = RefCell::new(HashMap::new());
}

/// Whether `key` of `binding` was refused less than [`HOLD_MS`] before `now_ms`.
pub fn is_held(binding: &str, key: &str, now_ms: u64) -> bool {
    HELD.with(|held| held.borrow().get(binding).and_then(|keys| keys.get(key)).is_some_and(|&until| now_ms < until))
}

/// Remembers that `binding` refused `key` at `now_ms`.
pub fn hold(binding: &'static str, key: String, now_ms: u64) {
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        if held.values().map(HashMap::len).sum::<usize>() >= MOST_KEYS {
            held.values_mut().for_each(|keys| keys.retain(|_, until| now_ms < *until));
            if held.values().map(HashMap::len).sum::<usize>() >= MOST_KEYS {
                held.clear();
            }
        }
        held.entry(binding).or_default().insert(key, now_ms + HOLD_MS);
    });
}

#[cfg(test)]
mod tests {
    use super::{hold, is_held, HOLD_MS, MOST_KEYS};

    #[test]
    fn a_refused_key_is_held_for_a_moment_and_only_that_key() {
        let t = 5_000_000;
        assert!(!is_held("L", "client:a", t), "nothing is held before a refusal");
        hold("L", "client:a".into(), t);
        assert!(is_held("L", "client:a", t + HOLD_MS - 1));
        assert!(!is_held("L", "client:a", t + HOLD_MS), "the hold ends");
        assert!(!is_held("L", "client:b", t), "another client is not held");
        assert!(!is_held("M", "client:a", t), "another limiter is not held");
    }

    #[test]
    fn the_memory_stays_bounded() {
        let t = 9_000_000;
        for i in 0..(MOST_KEYS * 3) {
            hold("L", format!("client:{i}"), t);
        }
        super::HELD.with(|held| {
            assert!(held.borrow().values().map(std::collections::HashMap::len).sum::<usize>() <= MOST_KEYS)
        });
        assert!(is_held("L", &format!("client:{}", MOST_KEYS * 3 - 1), t), "the newest is held");
    }
}
