//! When to ask the worker for the status: a pure state machine, time in, action out.
//!
//! One request in flight at a time; the first check at once when the QR shows; then every
//! 2 s for the first minute and every 10 s after; errors back off (4 s, 8 s, ... at most 30 s);
//! nothing while the tab is hidden, and a check at once when it is visible again; nothing ever
//! after a final state, expiry or removal.

/// Milliseconds between checks during the first minute.
pub const FAST_MS: f64 = 2_000.0;
/// Milliseconds between checks after the first minute.
pub const SLOW_MS: f64 = 10_000.0;
/// How long the fast phase lasts.
pub const FAST_PHASE_MS: f64 = 60_000.0;
/// A request's timeout.
pub const TIMEOUT_MS: f64 = 10_000.0;
/// The longest back-off after errors.
pub const MAX_BACKOFF_MS: f64 = 30_000.0;

/// What the driver should do next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Send one status request now.
    Fetch,
    /// Call [`Poller::tick`] again after this many ms.
    WaitMs(f64),
    /// Nothing until an event (visibility, a response).
    Idle,
    /// Never again.
    Stop,
}

/// The polling state of one payment attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Poller {
    started_at: f64,
    next_at: f64,
    in_flight: bool,
    hidden: bool,
    errors: u32,
    stopped: bool,
}

impl Poller {
    /// Starts polling at `now` (the QR or the wallet page has just been shown).
    pub fn start(now: f64, hidden: bool) -> Poller {
        Poller { started_at: now, next_at: now, in_flight: false, hidden, errors: 0, stopped: false }
    }

    /// What to do at `now`.
    pub fn tick(&mut self, now: f64) -> Action {
        if self.stopped {
            return Action::Stop;
        }
        if self.in_flight || self.hidden {
            return Action::Idle;
        }
        if now >= self.next_at {
            self.in_flight = true;
            return Action::Fetch;
        }
        Action::WaitMs(self.next_at - now)
    }

    /// A status answer arrived (`ok`), or the request failed or timed out (`!ok`).
    pub fn on_response(&mut self, now: f64, ok: bool) -> Action {
        self.in_flight = false;
        if ok {
            self.errors = 0;
            let gap = if now - self.started_at < FAST_PHASE_MS { FAST_MS } else { SLOW_MS };
            self.next_at = now + gap;
        } else {
            self.errors = self.errors.saturating_add(1);
            let backoff = (FAST_MS * f64::from(2u32.saturating_pow(self.errors.min(5)))).min(MAX_BACKOFF_MS);
            self.next_at = now + backoff;
        }
        self.tick(now)
    }

    /// The tab was hidden or shown. Shown again: check at once (the shopper is back from the wallet app).
    pub fn on_visibility(&mut self, now: f64, hidden: bool) -> Action {
        let was_hidden = self.hidden;
        self.hidden = hidden;
        if was_hidden && !hidden {
            self.next_at = now;
        }
        self.tick(now)
    }

    /// A final state, expiry or removal: no more requests.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// True while a request is out.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the machine against a worker that answers instantly, counting fetches.
    fn fetch_times(until: f64) -> Vec<f64> {
        let mut p = Poller::start(0.0, false);
        let mut times = Vec::new();
        let mut now = 0.0;
        while now <= until {
            match p.tick(now) {
                Action::Fetch => {
                    times.push(now);
                    p.on_response(now, true);
                }
                Action::WaitMs(ms) => now += ms,
                Action::Idle | Action::Stop => break,
            }
        }
        times
    }

    #[test]
    fn at_once_then_2s_for_a_minute_then_10s() {
        let times = fetch_times(90_000.0);
        assert_eq!(times[0], 0.0, "checks at once");
        assert_eq!(times[1], 2_000.0);
        let fast = times.iter().filter(|t| **t < 60_000.0).count();
        assert_eq!(fast, 30, "every 2 s in the first minute");
        assert_eq!(times[fast], 60_000.0);
        assert_eq!(times[fast + 1], 70_000.0, "then every 10 s");
    }

    #[test]
    fn one_request_in_flight() {
        let mut p = Poller::start(0.0, false);
        assert_eq!(p.tick(0.0), Action::Fetch);
        assert_eq!(p.tick(5_000.0), Action::Idle, "no second request while one is out");
        assert!(p.in_flight());
    }

    #[test]
    fn errors_back_off_and_recover() {
        let mut p = Poller::start(0.0, false);
        p.tick(0.0);
        assert_eq!(p.on_response(0.0, false), Action::WaitMs(4_000.0));
        p.tick(4_000.0);
        assert_eq!(p.on_response(4_000.0, false), Action::WaitMs(8_000.0));
        for i in 0..10 {
            let now = 100_000.0 * f64::from(i + 1);
            p.tick(now);
            p.on_response(now, false);
        }
        assert_eq!(p.tick(2_000_000.0 - 1.0), Action::Fetch);
        assert_eq!(p.on_response(2_000_000.0, true), Action::WaitMs(SLOW_MS));
    }

    #[test]
    fn hidden_tabs_are_quiet_and_checked_on_return() {
        let mut p = Poller::start(0.0, false);
        p.tick(0.0);
        p.on_response(0.0, true);
        assert_eq!(p.on_visibility(500.0, true), Action::Idle);
        assert_eq!(p.tick(30_000.0), Action::Idle, "nothing while hidden");
        assert_eq!(p.on_visibility(31_000.0, false), Action::Fetch, "at once when visible");
    }

    #[test]
    fn stopped_is_forever() {
        let mut p = Poller::start(0.0, false);
        p.stop();
        assert_eq!(p.tick(0.0), Action::Stop);
        assert_eq!(p.on_visibility(1.0, false), Action::Stop);
        assert_eq!(p.on_response(2.0, true), Action::Stop);
    }
}
