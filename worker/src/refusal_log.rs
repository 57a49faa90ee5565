//! Which rate-limit refusals get a log line. A flood is answered `429 rate_limited` hundreds of
//! times a second; a line for each would cost more than the refusal itself (in `wrangler dev`,
//! writing the line was a fifth of a refused request's CPU) and fill the merchant's log quota
//! with one client's noise. So each worker instance logs the first such refusal of every
//! [`WINDOW_MS`], and that line says how many were answered without a line since the last one.
//! Every other answer, other refusals included, keeps its line.

use std::cell::Cell;

/// How often a rate-limit refusal is logged, at most, per worker instance.
pub const WINDOW_MS: u64 = 10_000;

thread_local! {
    /// When the current window began, and the refusals answered in it without a line.
    static WINDOW: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// Whether the rate-limit refusal answered at `now_ms` gets a line: `Some(n)` if it does,
/// where `n` refusals went without a line since the last logged one; `None` if it does not (it
/// is then counted).
pub fn take(now_ms: u64) -> Option<u64> {
    WINDOW.with(|w| {
        let (started, unlogged) = w.get();
        if started != 0 && now_ms.saturating_sub(started) < WINDOW_MS {
            w.set((started, unlogged + 1));
            return None;
        }
        w.set((now_ms.max(1), 0));
        Some(unlogged)
    })
}

#[cfg(test)]
mod tests {
    use super::{take, WINDOW_MS};

    #[test]
    fn one_refusal_a_window_is_logged_with_the_count_of_the_others() {
        let t = 1_000_000;
        assert_eq!(take(t), Some(0), "the first is logged");
        for i in 1..=41 {
            assert_eq!(take(t + i * 100), None, "refusal {i} of the window is counted");
        }
        assert_eq!(take(t + WINDOW_MS - 1), None);
        assert_eq!(take(t + WINDOW_MS), Some(42), "the next window's first says how many were not logged");
        assert_eq!(take(t + 3 * WINDOW_MS), Some(0), "a quiet window resets the count");
    }
}
