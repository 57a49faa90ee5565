//! Following the worker's status, pure: when to ask ([`Poller`], a state machine, time in,
//! action out) and what an answer means ([`decide`], a status answer in, a [`Decision`] out).
//!
//! The widget waits rather than polls: each status request asks the worker to hold it until
//! the status changes (`Prefer: wait=25`), and the next is sent as soon as one comes back. An
//! answer that comes back sooner than [`FAST_MS`] without news (a worker that does not wait, or
//! a session holding its most waits) spaces the next request to [`FAST_MS`] after the last was
//! sent, so waiting never asks more often than polling. A wait that fails (a proxy that cuts
//! long requests, a browser or worker that refuses the header) ends waiting for this attempt:
//! then it polls, as before.
//!
//! Polling: one request in flight at a time; the first check at once when the QR shows; then
//! every 2 s for the first minute and every 10 s after; errors back off (4 s, 8 s, ... at most
//! 30 s). Either way nothing while the tab is hidden, and a check at once when it is visible
//! again; nothing ever after a final state, expiry or removal.

use checkout_api::views::StatusView;
use checkout_api::{AttemptStatus, SessionStatus};

/// Milliseconds between checks during the first minute.
pub const FAST_MS: f64 = 2_000.0;
/// Milliseconds between checks after the first minute.
pub const SLOW_MS: f64 = 10_000.0;
/// How long the fast phase lasts.
pub const FAST_PHASE_MS: f64 = 60_000.0;
/// A request's timeout.
pub const TIMEOUT_MS: f64 = 10_000.0;
/// How long the worker is asked to hold a waiting request (s): its longest.
pub const WAIT_SECONDS: u32 = 25;
/// A waiting request's timeout: the wait and an ordinary request's time on top.
pub const WAIT_TIMEOUT_MS: f64 = WAIT_SECONDS as f64 * 1_000.0 + TIMEOUT_MS;
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
    /// When the request in flight (or the last one) was sent.
    sent_at: f64,
    /// Waiting (`Prefer: wait`) rather than polling.
    waiting: bool,
    next_at: f64,
    in_flight: bool,
    hidden: bool,
    errors: u32,
    stopped: bool,
}

impl Poller {
    /// Starts polling at `now` (the QR or the wallet page has just been shown).
    pub fn start(now: f64, hidden: bool) -> Poller {
        Poller {
            started_at: now,
            sent_at: now,
            waiting: false,
            next_at: now,
            in_flight: false,
            hidden,
            errors: 0,
            stopped: false,
        }
    }

    /// Starts waiting for changes at `now`; polls instead once a wait fails.
    pub fn waiting(now: f64, hidden: bool) -> Poller {
        Poller { waiting: true, ..Poller::start(now, hidden) }
    }

    /// Whether the next request asks the worker to wait for a change.
    pub fn waits(&self) -> bool {
        self.waiting
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
            self.sent_at = now;
            return Action::Fetch;
        }
        Action::WaitMs(self.next_at - now)
    }

    /// A status answer arrived (`ok`), or the request failed or timed out (`!ok`).
    pub fn on_response(&mut self, now: f64, ok: bool) -> Action {
        self.in_flight = false;
        if self.waiting {
            if ok {
                // Back with no news: wait again at once, but never sooner than a poll would ask.
                self.next_at = now.max(self.sent_at + FAST_MS);
            } else {
                // The wait failed: poll from now on, the first check a poll's gap later.
                self.waiting = false;
                self.started_at = now;
                self.next_at = now + FAST_MS;
            }
            return self.tick(now);
        }
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

/// What a status answer means for the attempt on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The session is paid.
    Paid,
    /// The session is over without this attempt's payment (expired, or closed by the merchant).
    SessionOver,
    /// The attempt did not pay: the gateway refused it, the shopper declined it, or it is held
    /// (the gateway reported another amount).
    Failed,
    /// The attempt's time ran out unpaid.
    Expired,
    /// The last check before saying "expired" got no answer, so nothing can be said.
    Error,
    /// Nothing is settled: tell the poller (`answered`: whether an answer came) and go on.
    KeepPolling {
        /// False when the request failed or its answer did not read.
        answered: bool,
    },
}

/// What `answer` (`None`: no readable answer) means. A `final_check` is the one asked when the
/// QR code's countdown ends (or the worker refused a new attempt): then an attempt still
/// waiting for the shopper is over, and there is no next check to wait for.
pub fn decide(answer: Option<&StatusView>, final_check: bool) -> Decision {
    let Some(view) = answer else {
        return if final_check { Decision::Error } else { Decision::KeepPolling { answered: false } };
    };
    let waiting = if final_check { Decision::Expired } else { Decision::KeepPolling { answered: true } };
    match (view.status, view.attempt.as_ref().map(|a| a.status)) {
        (SessionStatus::Paid, _) => Decision::Paid,
        // Reversed: the money went back, so for the shopper it is over unpaid.
        (SessionStatus::Expired | SessionStatus::Closed | SessionStatus::Reversed, _) => Decision::SessionOver,
        // Closing: over, but a QR code shown before may still be paid until the gateway
        // confirms the attempt closed; so it is over only once the attempt is no longer open.
        (SessionStatus::Closing, Some(attempt)) if !attempt.is_open() => Decision::SessionOver,
        (SessionStatus::Closing, _) => waiting,
        // Held: the gateway reported another amount; not paid, and the merchant checks it.
        (SessionStatus::Open, Some(AttemptStatus::Failed | AttemptStatus::Held | AttemptStatus::Reversed)) => {
            Decision::Failed
        }
        (SessionStatus::Open, Some(AttemptStatus::Expired | AttemptStatus::Closed)) => Decision::Expired,
        // A paid attempt pays its session in the same write, so an open session with one is a
        // moment the next answer resolves.
        (SessionStatus::Open, None | Some(AttemptStatus::Creating | AttemptStatus::Pending | AttemptStatus::Paid)) => {
            waiting
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkout_api::views::{AttemptView, UnixSeconds};

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
    fn waiting_asks_again_at_once_but_never_faster_than_polling() {
        let mut p = Poller::waiting(0.0, false);
        assert!(p.waits());
        assert_eq!(p.tick(0.0), Action::Fetch, "waits at once");
        assert_eq!(p.on_response(25_000.0, true), Action::Fetch, "a wait that ran its time: the next at once");
        assert_eq!(p.on_response(25_300.0, true), Action::WaitMs(1_700.0), "back in 0.3 s with no news: 2 s apart");
        assert_eq!(p.tick(27_000.0), Action::Fetch);
        assert!(p.waits(), "still waiting");
    }

    #[test]
    fn a_failed_wait_falls_back_to_polling() {
        let mut p = Poller::waiting(0.0, false);
        p.tick(0.0);
        assert_eq!(p.on_response(3_000.0, false), Action::WaitMs(FAST_MS), "a cut wait: polls 2 s later");
        assert!(!p.waits(), "and no longer waits");
        assert_eq!(p.tick(5_000.0), Action::Fetch);
        assert_eq!(p.on_response(5_100.0, true), Action::WaitMs(FAST_MS), "then every 2 s");
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

    /// Every attempt a status answer can carry: none, or one in each status.
    fn every_attempt() -> [Option<AttemptStatus>; 9] {
        use AttemptStatus::*;
        [
            None,
            Some(Creating),
            Some(Pending),
            Some(Paid),
            Some(Failed),
            Some(Closed),
            Some(Expired),
            Some(Held),
            Some(Reversed),
        ]
    }

    fn answer(session: SessionStatus, attempt: Option<AttemptStatus>) -> StatusView {
        StatusView {
            status: session,
            attempt: attempt.map(|status| AttemptView {
                id: "pa_1".into(),
                pay_type: "800201".into(),
                status,
                out_trade_no: "QCP1".into(),
                syssn: None,
                qrcode: None,
                redirect_url: None,
                respcd: None,
                created_at: UnixSeconds::default(),
                expires_at: UnixSeconds::default(),
                paid_at: None,
            }),
            paid_at: None,
            expires_at: UnixSeconds::default(),
        }
    }

    /// The decision for every attempt with `session`, on a scheduled and on a final check.
    fn decisions(session: SessionStatus) -> Vec<(Option<AttemptStatus>, bool, Decision)> {
        let mut all = Vec::new();
        for attempt in every_attempt() {
            for final_check in [false, true] {
                all.push((attempt, final_check, decide(Some(&answer(session, attempt)), final_check)));
            }
        }
        all
    }

    #[test]
    fn no_answer_backs_off_or_is_an_error_at_the_end() {
        assert_eq!(decide(None, false), Decision::KeepPolling { answered: false });
        assert_eq!(decide(None, true), Decision::Error);
    }

    #[test]
    fn a_paid_session_is_paid_whatever_the_attempt() {
        for (attempt, final_check, decision) in decisions(SessionStatus::Paid) {
            assert_eq!(decision, Decision::Paid, "{attempt:?}, final {final_check}");
        }
    }

    #[test]
    fn an_expired_or_closed_session_is_over_whatever_the_attempt() {
        for session in [SessionStatus::Expired, SessionStatus::Closed, SessionStatus::Reversed] {
            for (attempt, final_check, decision) in decisions(session) {
                assert_eq!(decision, Decision::SessionOver, "{session:?}, {attempt:?}, final {final_check}");
            }
        }
    }

    #[test]
    fn a_closing_session_is_over_once_its_attempt_is_not_open() {
        for (attempt, final_check, decision) in decisions(SessionStatus::Closing) {
            let expected = match attempt {
                Some(status) if !status.is_open() => Decision::SessionOver,
                // Still open at the gateway: the shown QR code may yet be paid.
                _ if final_check => Decision::Expired,
                _ => Decision::KeepPolling { answered: true },
            };
            assert_eq!(decision, expected, "{attempt:?}, final {final_check}");
        }
        let pending = answer(SessionStatus::Closing, Some(AttemptStatus::Pending));
        assert_eq!(decide(Some(&pending), false), Decision::KeepPolling { answered: true });
        let closed = answer(SessionStatus::Closing, Some(AttemptStatus::Closed));
        assert_eq!(decide(Some(&closed), false), Decision::SessionOver);
    }

    #[test]
    fn an_open_session_follows_its_attempt() {
        use AttemptStatus::*;
        for (attempt, final_check, decision) in decisions(SessionStatus::Open) {
            let expected = match attempt {
                Some(Failed | Held | Reversed) => Decision::Failed,
                Some(Expired | Closed) => Decision::Expired,
                None | Some(Creating | Pending | Paid) if final_check => Decision::Expired,
                None | Some(Creating | Pending | Paid) => Decision::KeepPolling { answered: true },
            };
            assert_eq!(decision, expected, "{attempt:?}, final {final_check}");
        }
    }

    #[test]
    fn a_final_check_never_keeps_polling() {
        for session in SessionStatus::ALL {
            for attempt in every_attempt() {
                let decision = decide(Some(&answer(session, attempt)), true);
                assert!(!matches!(decision, Decision::KeepPolling { .. }), "{session:?}, {attempt:?}");
            }
        }
    }
}
