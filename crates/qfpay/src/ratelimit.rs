//! QFPay's per-merchant rate limits as sliding windows of granted calls: the arithmetic only.
//!
//! The gateway allows a merchant 100 calls in any second and 400 in any minute. The simulator
//! enforces those limits; the worker's upstream gate grants a little under them, so the worker
//! never causes a 429. Both keep the times of the calls granted in the last minute and ask
//! [`SlidingWindows::acquire`], which grants a call or says how long until one can be granted.
//!
//! Time is an argument, in milliseconds on any clock that does not run backwards (Unix time in
//! the worker, time since start in the simulator). Nothing here reads a clock or does I/O, so it
//! is the same on the host and in wasm; whoever owns the windows saves [`SlidingWindows::granted`]
//! and restores them with [`SlidingWindows::from_granted`].

use std::collections::VecDeque;

/// The short window, in milliseconds.
pub const SECOND_MS: u64 = 1_000;
/// The long window, in milliseconds: a grant older than this is forgotten.
pub const MINUTE_MS: u64 = 60_000;

/// How many calls may be granted in any second and in any minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    per_second: usize,
    per_minute: usize,
}

impl Limits {
    /// The gateway's own limits: 100 requests per second and 400 per minute, per merchant.
    pub const QFPAY: Limits = Limits::new(100, 400);

    /// Limits of `per_second` calls in any second and `per_minute` in any minute.
    ///
    /// Panics (at compile time in a `const`) when either is 0: a limit that grants nothing would
    /// make every caller wait forever.
    pub const fn new(per_second: usize, per_minute: usize) -> Self {
        assert!(per_second > 0 && per_minute > 0, "rate limits must grant at least one call");
        Limits { per_second, per_minute }
    }

    /// Calls granted in any second.
    pub const fn per_second(self) -> usize {
        self.per_second
    }

    /// Calls granted in any minute.
    pub const fn per_minute(self) -> usize {
        self.per_minute
    }
}

/// The times (ms) of the calls granted in the last minute, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlidingWindows {
    granted: VecDeque<u64>,
}

impl SlidingWindows {
    /// Windows restored from saved grant times, so a restart does not forget the last minute.
    ///
    /// The times are sorted: forgetting old grants walks from the oldest, so order matters,
    /// and stored data is not trusted to keep it.
    pub fn from_granted(times: impl IntoIterator<Item = u64>) -> Self {
        let mut times: Vec<u64> = times.into_iter().collect();
        times.sort_unstable();
        SlidingWindows { granted: times.into() }
    }

    /// The grant times to save, oldest first (none older than a minute after the last acquire).
    pub fn granted(&self) -> impl Iterator<Item = u64> + '_ {
        self.granted.iter().copied()
    }

    /// Grants a call at `now` and records it (returns 0), or returns how many milliseconds until
    /// a call can be granted, recording nothing.
    ///
    /// The wait is exact: the later of the two windows' waits, so a caller that waits it and
    /// asks again is granted (unless someone else took the place first).
    pub fn acquire(&mut self, limits: Limits, now: u64) -> u64 {
        self.forget_older_than_a_minute(now);
        let wait = self.wait(limits.per_minute, MINUTE_MS, now).max(self.wait(limits.per_second, SECOND_MS, now));
        if wait == 0 {
            self.granted.push_back(now);
        }
        wait
    }

    /// Drops grants that can no longer count in either window, so the memory (and what the
    /// owner saves) stays at most a minute's worth.
    fn forget_older_than_a_minute(&mut self, now: u64) {
        while self.granted.front().is_some_and(|&t| now.saturating_sub(t) >= MINUTE_MS) {
            self.granted.pop_front();
        }
    }

    /// The wait one window imposes: 0 while fewer than `limit` grants fall in the last
    /// `window_ms`; otherwise until the `limit`-th newest of them leaves the window, which
    /// leaves `limit - 1` inside it. (A saved time ahead of `now` counts as inside.)
    fn wait(&self, limit: usize, window_ms: u64, now: u64) -> u64 {
        let mut inside = self.granted.iter().rev().take_while(|&&t| now.saturating_sub(t) < window_ms);
        inside.nth(limit - 1).map_or(0, |&t| t.saturating_add(window_ms).saturating_sub(now))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Small limits keep the tests readable; the arithmetic does not depend on their size.
    const SMALL: Limits = Limits::new(3, 5);

    /// Acquires `n` times at `now`, returning how many were granted.
    fn grant_many(windows: &mut SlidingWindows, limits: Limits, now: u64, n: usize) -> usize {
        (0..n).filter(|_| windows.acquire(limits, now) == 0).count()
    }

    #[test]
    fn qfpay_limits_are_the_guides() {
        assert_eq!((Limits::QFPAY.per_second(), Limits::QFPAY.per_minute()), (100, 400));
    }

    #[test]
    fn limits_per_second() {
        let mut windows = SlidingWindows::default();
        assert_eq!(grant_many(&mut windows, SMALL, 10_000, 3), 3);
        assert_eq!(windows.acquire(SMALL, 10_000), SECOND_MS, "the fourth in one second waits a second");
        assert_eq!(windows.acquire(SMALL, 10_400), 600, "until the oldest of the three is a second old");
        assert_eq!(windows.acquire(SMALL, 11_000), 0, "then one more is granted");
    }

    #[test]
    fn limits_per_minute() {
        let mut windows = SlidingWindows::default();
        let granted: usize = (0..5).map(|i| grant_many(&mut windows, SMALL, i * SECOND_MS, 3)).sum();
        assert_eq!(granted, 5, "five in a minute, however they are spread");
        assert_eq!(windows.acquire(SMALL, 30_000), 30_000, "until the first grant (at 0) is a minute old");
        assert_eq!(windows.acquire(SMALL, MINUTE_MS), 0);
    }

    #[test]
    fn wait_is_the_later_of_both_windows() {
        let mut windows = SlidingWindows::from_granted([0, 59_500, 59_500, 59_500, 59_600]);
        // The minute frees a place at 60_000, but the second is full until 60_500.
        assert_eq!(windows.acquire(SMALL, 59_800), 700);
        assert_eq!(windows.acquire(SMALL, 60_499), 1);
        assert_eq!(windows.acquire(SMALL, 60_500), 0);
    }

    #[test]
    fn a_refused_call_is_not_recorded() {
        let mut windows = SlidingWindows::default();
        grant_many(&mut windows, SMALL, 0, 3);
        let before: Vec<u64> = windows.granted().collect();
        assert!(windows.acquire(SMALL, 500) > 0);
        assert_eq!(windows.granted().collect::<Vec<_>>(), before);
    }

    #[test]
    fn windows_slide_and_forget_old_grants() {
        let mut windows = SlidingWindows::default();
        for i in 0..5 {
            assert_eq!(windows.acquire(SMALL, i * 10_000), 0);
        }
        assert!(windows.acquire(SMALL, 50_000) > 0, "five in the last minute");
        assert_eq!(windows.acquire(SMALL, 60_000), 0, "the grant at 0 slid out");
        assert_eq!(windows.granted().collect::<Vec<_>>(), [10_000, 20_000, 30_000, 40_000, 60_000]);
        assert_eq!(windows.acquire(SMALL, 200_000), 0);
        assert_eq!(windows.granted().collect::<Vec<_>>(), [200_000], "older grants forgotten");
    }

    #[test]
    fn restart_from_saved_times() {
        let mut before = SlidingWindows::default();
        grant_many(&mut before, SMALL, 1_000, 3);
        grant_many(&mut before, SMALL, 2_500, 2);
        // Saved in any order (storage is not trusted to keep it), restored as they were.
        let mut saved: Vec<u64> = before.granted().collect();
        saved.reverse();
        let mut after = SlidingWindows::from_granted(saved);
        assert_eq!(after, before);
        assert_eq!(after.acquire(SMALL, 3_000), before.acquire(SMALL, 3_000));
        assert_eq!(after.acquire(SMALL, 3_000), 58_000, "the restored minute is still full");
    }

    #[test]
    fn saved_times_ahead_of_the_clock_count_as_recent() {
        // A restart on a machine whose clock is behind must not grant past the limits.
        let mut windows = SlidingWindows::from_granted([5_000, 5_000, 5_000]);
        assert_eq!(windows.acquire(SMALL, 4_000), 2_000);
    }

    /// Calls at non-decreasing times: `(gap in ms, calls at that time)`.
    fn schedule() -> impl Strategy<Value = Vec<(u64, usize)>> {
        prop::collection::vec((0u64..3_000, 1usize..6), 1..60)
    }

    proptest! {
        #[test]
        fn never_more_than_the_limits_in_any_window(steps in schedule()) {
            let mut windows = SlidingWindows::default();
            let mut all = Vec::new();
            let mut now = 0;
            for (gap, calls) in steps {
                now += gap;
                for _ in 0..calls {
                    if windows.acquire(SMALL, now) == 0 {
                        all.push(now);
                    }
                }
            }
            for &start in &all {
                let in_window = |len: u64| all.iter().filter(|&&t| t >= start && t < start + len).count();
                prop_assert!(in_window(SECOND_MS) <= SMALL.per_second(), "second from {}: {:?}", start, all);
                prop_assert!(in_window(MINUTE_MS) <= SMALL.per_minute(), "minute from {}: {:?}", start, all);
            }
        }

        #[test]
        fn the_wait_is_exact(steps in schedule()) {
            let mut windows = SlidingWindows::default();
            let mut now = 0;
            for (gap, calls) in steps {
                now += gap;
                for _ in 0..calls {
                    let wait = windows.acquire(SMALL, now);
                    if wait > 0 {
                        let mut probe = windows.clone();
                        prop_assert!(probe.acquire(SMALL, now + wait - 1) > 0, "granted before the wait of {}", wait);
                        prop_assert_eq!(probe.acquire(SMALL, now + wait), 0, "refused after the wait of {}", wait);
                    }
                }
            }
        }
    }
}
