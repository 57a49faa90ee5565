//! Session and attempt states, and the only transitions between them.
//!
//! A session is `open` until one attempt is paid (`paid`), its time runs out (`expired`) or the
//! merchant closes it (`closed`). A payment that arrives late is still a payment: `expired` and
//! `closed` sessions become `paid` when the gateway says an attempt was paid. `paid` is final.
//!
//! An attempt is `creating` (recorded, gateway call not answered yet), then `pending` (the QR or
//! wallet page exists), then `paid`, `failed`, `closed` or `expired`. An attempt whose gateway
//! call had no answer stays `creating` until a query settles it. `paid` is final for attempts
//! too: no later news turns a payment into anything else.

use serde::{Deserialize, Serialize};

/// Where a checkout session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Waiting for a payment.
    Open,
    /// Paid (refunds do not change this; see `amount_refunded`).
    Paid,
    /// Not paid in time.
    Expired,
    /// Closed by the merchant.
    Closed,
}

/// Where a payment attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// Recorded; the gateway has not answered yet (or its answer was lost).
    Creating,
    /// The QR code or wallet page exists; waiting for the shopper.
    Pending,
    /// Paid.
    Paid,
    /// Refused by the gateway or declined by the shopper.
    Failed,
    /// Closed at the gateway before payment.
    Closed,
    /// Its time ran out unpaid.
    Expired,
}

/// What happened to an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEvent {
    /// The gateway created the order (QR or wallet page).
    Created,
    /// The gateway (answer, notification or query) says it is paid.
    Paid,
    /// The gateway refused it or the shopper declined.
    Failed,
    /// We closed it at the gateway.
    Closed,
    /// Its time ran out unpaid.
    Expired,
}

impl SessionStatus {
    /// The text stored in D1 and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Open => "open",
            SessionStatus::Paid => "paid",
            SessionStatus::Expired => "expired",
            SessionStatus::Closed => "closed",
        }
    }

    /// Reads [`SessionStatus::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [SessionStatus::Open, SessionStatus::Paid, SessionStatus::Expired, SessionStatus::Closed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// The session after one of its attempts was paid: paid, whatever it was.
    pub fn on_attempt_paid(self) -> SessionStatus {
        SessionStatus::Paid
    }

    /// The session when its time runs out: only an open one expires.
    pub fn on_expiry(self) -> SessionStatus {
        match self {
            SessionStatus::Open => SessionStatus::Expired,
            other => other,
        }
    }

    /// The session when the merchant closes it; a paid session cannot be closed.
    pub fn on_close(self) -> Result<SessionStatus, SessionStatus> {
        match self {
            SessionStatus::Paid => Err(SessionStatus::Paid),
            _ => Ok(SessionStatus::Closed),
        }
    }

    /// Whether a new payment attempt may start.
    pub fn accepts_attempts(self) -> bool {
        self == SessionStatus::Open
    }
}

impl AttemptStatus {
    /// The text stored in D1 and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Creating => "creating",
            AttemptStatus::Pending => "pending",
            AttemptStatus::Paid => "paid",
            AttemptStatus::Failed => "failed",
            AttemptStatus::Closed => "closed",
            AttemptStatus::Expired => "expired",
        }
    }

    /// Reads [`AttemptStatus::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        use AttemptStatus::*;
        [Creating, Pending, Paid, Failed, Closed, Expired].into_iter().find(|s| s.as_str() == text)
    }

    /// True while the gateway may still report it paid without our doing.
    pub fn is_open(self) -> bool {
        matches!(self, AttemptStatus::Creating | AttemptStatus::Pending)
    }

    /// The state after `event`, or `None` when the event cannot change it (it is kept).
    ///
    /// A payment wins over everything: a closed, failed or expired attempt that the gateway
    /// reports paid is paid (the money moved). Nothing leaves `paid`.
    pub fn on(self, event: AttemptEvent) -> Option<AttemptStatus> {
        use AttemptEvent as E;
        use AttemptStatus as S;
        match (self, event) {
            (S::Paid, _) => None,
            (_, E::Paid) => Some(S::Paid),
            (S::Creating, E::Created) => Some(S::Pending),
            (S::Creating | S::Pending, E::Failed) => Some(S::Failed),
            (S::Creating | S::Pending, E::Closed) => Some(S::Closed),
            (S::Creating | S::Pending, E::Expired) => Some(S::Expired),
            (S::Pending | S::Failed | S::Closed | S::Expired, E::Created)
            | (S::Failed | S::Closed | S::Expired, E::Failed | E::Closed | E::Expired) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = AttemptStatus> {
        prop_oneof![
            Just(AttemptStatus::Creating),
            Just(AttemptStatus::Pending),
            Just(AttemptStatus::Paid),
            Just(AttemptStatus::Failed),
            Just(AttemptStatus::Closed),
            Just(AttemptStatus::Expired),
        ]
    }

    fn event() -> impl Strategy<Value = AttemptEvent> {
        prop_oneof![
            Just(AttemptEvent::Created),
            Just(AttemptEvent::Paid),
            Just(AttemptEvent::Failed),
            Just(AttemptEvent::Closed),
            Just(AttemptEvent::Expired),
        ]
    }

    #[test]
    fn the_happy_path() {
        let s = AttemptStatus::Creating.on(AttemptEvent::Created).unwrap();
        assert_eq!(s, AttemptStatus::Pending);
        assert_eq!(s.on(AttemptEvent::Paid), Some(AttemptStatus::Paid));
        assert_eq!(AttemptStatus::Closed.on(AttemptEvent::Paid), Some(AttemptStatus::Paid), "late payment wins");
        assert_eq!(SessionStatus::Expired.on_attempt_paid(), SessionStatus::Paid);
        assert_eq!(SessionStatus::Paid.on_close(), Err(SessionStatus::Paid));
        assert_eq!(SessionStatus::Paid.on_expiry(), SessionStatus::Paid);
        assert!(SessionStatus::Open.accepts_attempts() && !SessionStatus::Expired.accepts_attempts());
    }

    #[test]
    fn text_round_trips() {
        for s in [
            AttemptStatus::Creating,
            AttemptStatus::Pending,
            AttemptStatus::Paid,
            AttemptStatus::Failed,
            AttemptStatus::Closed,
            AttemptStatus::Expired,
        ] {
            assert_eq!(AttemptStatus::parse(s.as_str()), Some(s));
        }
        for s in [SessionStatus::Open, SessionStatus::Paid, SessionStatus::Expired, SessionStatus::Closed] {
            assert_eq!(SessionStatus::parse(s.as_str()), Some(s));
        }
    }

    proptest! {
        #[test]
        fn paid_is_final_whatever_follows(events in proptest::collection::vec(event(), 0..12)) {
            let mut s = AttemptStatus::Paid;
            for e in events {
                s = s.on(e).unwrap_or(s);
            }
            prop_assert_eq!(s, AttemptStatus::Paid);
        }

        #[test]
        fn any_paid_event_ends_paid(start in status(), before in proptest::collection::vec(event(), 0..6), after in proptest::collection::vec(event(), 0..6)) {
            let mut s = start;
            for e in before.into_iter().chain([AttemptEvent::Paid]).chain(after) {
                s = s.on(e).unwrap_or(s);
            }
            prop_assert_eq!(s, AttemptStatus::Paid);
        }

        #[test]
        fn closed_states_only_open_again_by_payment(start in status(), e in event()) {
            if let Some(next) = start.on(e) {
                if !start.is_open() {
                    prop_assert_eq!(next, AttemptStatus::Paid);
                }
            }
        }
    }
}
