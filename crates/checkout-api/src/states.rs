//! Session and attempt states, and the only transitions between them.
//!
//! A session is `open` until one attempt is paid (`paid`), or its time runs out or the merchant
//! closes it. Then it is `closing` until the gateway has confirmed every attempt closed, and only
//! then `expired` or `closed`. A payment that arrives late is still a payment: `closing`,
//! `expired` and `closed` sessions become `paid` when the gateway says an attempt was paid, and
//! the merchant hears of it ([`PaidHow::Late`] when they had closed it). `paid` is final but for
//! one fact: a reversal the gateway confirmed, which crossed the payment, makes it `reversed`
//! (the money went back), written in the batch that ends the attempt.
//!
//! A refund is `pending` until the gateway's answer, a query or a notification says
//! `succeeded` or `failed`; both are final.
//!
//! An attempt is `creating` (recorded, gateway call not answered yet), then `pending` (the QR or
//! wallet page exists), then `paid`, `failed`, `closed` or `expired`. An attempt whose gateway
//! call had no answer stays `creating` until a query settles it. `paid` is final for attempts
//! too: no later news turns a payment into anything else, except the one named above, the
//! gateway's own word that a reversal of it went through ([`AttemptStatus::on_reversal_of_paid`]).

use serde::{Deserialize, Serialize};

/// Where a checkout session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Waiting for a payment.
    Open,
    /// Paid (refunds do not change this; see `amount_refunded`).
    Paid,
    /// Over (time ran out, or the merchant closed it), but not every attempt is confirmed
    /// closed at the gateway yet: a payment may still arrive.
    Closing,
    /// Not paid in time; every attempt confirmed closed.
    Expired,
    /// Closed by the merchant; every attempt confirmed closed.
    Closed,
    /// Was paid, but the paying charge was reversed at the gateway (a reversal that crossed
    /// its payment): the money went back to the shopper. Final; hand over nothing. A payment
    /// after this is a second payment, refunded automatically.
    Reversed,
}

/// Why a session is `closing`, which says where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// Its time ran out: it ends `expired`.
    Expired,
    /// The merchant closed it: it ends `closed`.
    Closed,
}

/// How a session came to be paid, which decides the event the merchant gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaidHow {
    /// While open, or while closing after its time ran out (the shopper paid in time).
    InTime,
    /// After the merchant closed it, or after it was confirmed expired.
    Late,
}

/// Where a refund is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Recorded (its amount reserved); the gateway's outcome is not known yet.
    Pending,
    /// The gateway refunded it.
    Succeeded,
    /// The gateway refused it, or shows no record of it long after its last send, or a person
    /// resolved it so; the amount is free again. Should the gateway still refund it, it becomes
    /// `succeeded` (`refund.succeeded`) and its amount counts again.
    Failed,
    /// The gateway gave no final word within 3 days (still "in progress", or it could not be
    /// asked): its amount stays reserved and a person checks it with QFPay. It is still asked
    /// about daily for 30 days, and the gateway's later word (a query or a notification) ends it
    /// `succeeded` or `failed`.
    Unresolved,
}

/// Days after which a refund with no final word from the gateway stops being asked about and
/// ends [`RefundStatus::Unresolved`] (or `failed`, when the gateway has no record of it).
pub const REFUND_GIVE_UP_AFTER_DAYS: u64 = 3;

/// What the gateway said of a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundEvent {
    /// Refunded (`0000`, or a success notification).
    Succeeded,
    /// Refused for good.
    Failed,
    /// No final word in time: we stop asking.
    GaveUp,
}

/// Where a payment attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// The gateway reports it paid, but for another amount or currency than the session's:
    /// never counted as paid; the merchant checks it with QFPay (`payment.held`). Final.
    Held,
    /// A CPM charge undone at the gateway (`/trade/v1/reversal`) because its outcome stayed
    /// unknown: whatever the shopper paid went back. Final: later news of its payment is news
    /// of money already returned.
    Reversed,
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
    /// The gateway reports a payment whose amount or currency differs from the session's.
    Mismatch,
    /// We reversed it at the gateway (a CPM charge).
    Reversed,
}

impl SessionStatus {
    /// The text stored in D1 and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Open => "open",
            SessionStatus::Paid => "paid",
            SessionStatus::Closing => "closing",
            SessionStatus::Expired => "expired",
            SessionStatus::Closed => "closed",
            SessionStatus::Reversed => "reversed",
        }
    }

    /// Every status.
    pub const ALL: [SessionStatus; 6] = [
        SessionStatus::Open,
        SessionStatus::Paid,
        SessionStatus::Closing,
        SessionStatus::Expired,
        SessionStatus::Closed,
        SessionStatus::Reversed,
    ];

    /// Reads [`SessionStatus::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The session after one of its attempts was paid (`reason`: why it was closing, if it
    /// was): paid, whatever it was, and whether the merchant must hear of it as late. `None`
    /// when it was paid already (by another attempt: that payment is a double one).
    pub fn on_attempt_paid(self, reason: Option<CloseReason>) -> Option<PaidHow> {
        match (self, reason) {
            // A reversed session had its payment: any other is a second payment, refunded.
            (SessionStatus::Paid | SessionStatus::Reversed, _) => None,
            (SessionStatus::Open, _) | (SessionStatus::Closing, Some(CloseReason::Expired)) => Some(PaidHow::InTime),
            (SessionStatus::Closing | SessionStatus::Expired | SessionStatus::Closed, _) => Some(PaidHow::Late),
        }
    }

    /// The session when its time runs out: only an open one starts closing.
    pub fn on_expiry(self) -> Option<(SessionStatus, CloseReason)> {
        (self == SessionStatus::Open).then_some((SessionStatus::Closing, CloseReason::Expired))
    }

    /// The session when the merchant closes it: an open one starts closing; one already over
    /// stays as it is (`Ok(None)`); a paid session cannot be closed (`Err`).
    pub fn on_close(self) -> Result<Option<(SessionStatus, CloseReason)>, SessionStatus> {
        match self {
            SessionStatus::Paid => Err(SessionStatus::Paid),
            SessionStatus::Open => Ok(Some((SessionStatus::Closing, CloseReason::Closed))),
            SessionStatus::Closing | SessionStatus::Expired | SessionStatus::Closed | SessionStatus::Reversed => {
                Ok(None)
            }
        }
    }

    /// The session once the gateway confirmed every attempt closed: a closing session ends
    /// as its reason says; any other status is kept.
    pub fn on_attempts_closed(self, reason: CloseReason) -> Option<SessionStatus> {
        match (self, reason) {
            (SessionStatus::Closing, CloseReason::Expired) => Some(SessionStatus::Expired),
            (SessionStatus::Closing, CloseReason::Closed) => Some(SessionStatus::Closed),
            _ => None,
        }
    }

    /// True once nothing more can happen to the session but a late payment.
    pub fn is_over(self) -> bool {
        self != SessionStatus::Open
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
            AttemptStatus::Held => "held",
            AttemptStatus::Reversed => "reversed",
        }
    }

    /// Reads [`AttemptStatus::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        use AttemptStatus::*;
        [Creating, Pending, Paid, Failed, Closed, Expired, Held, Reversed].into_iter().find(|s| s.as_str() == text)
    }

    /// The one way out of `paid`: the gateway confirmed a reversal that crossed the payment
    /// (QFPay's reversal of a paid charge returns the money). Outside [`AttemptStatus::on`],
    /// whose rules say that no news of the attempt's own unmakes a payment.
    pub fn on_reversal_of_paid(self) -> Option<AttemptStatus> {
        (self == AttemptStatus::Paid).then_some(AttemptStatus::Reversed)
    }

    /// The statuses in which an attempt is open.
    pub const OPEN: [AttemptStatus; 2] = [AttemptStatus::Creating, AttemptStatus::Pending];

    /// True while the gateway may still report it paid without our doing.
    pub fn is_open(self) -> bool {
        matches!(self, AttemptStatus::Creating | AttemptStatus::Pending)
    }

    /// Every status from which `event` changes an attempt: the `WHERE status IN (...)` of the
    /// conditional UPDATE that applies it, so the database applies exactly these rules.
    pub fn sources(event: AttemptEvent) -> Vec<AttemptStatus> {
        use AttemptStatus::*;
        [Creating, Pending, Paid, Failed, Closed, Expired, Held, Reversed]
            .into_iter()
            .filter(|s| s.on(event).is_some())
            .collect()
    }

    /// The state after `event`, or `None` when the event cannot change it (it is kept).
    ///
    /// A payment wins over everything: a closed, failed or expired attempt that the gateway
    /// reports paid is paid (the money moved). Nothing leaves `paid`.
    pub fn on(self, event: AttemptEvent) -> Option<AttemptStatus> {
        use AttemptEvent as E;
        use AttemptStatus as S;
        match (self, event) {
            (S::Paid | S::Held | S::Reversed, _) => None,
            (S::Creating | S::Pending, E::Reversed) => Some(S::Reversed),
            (_, E::Reversed) => None,
            // A wrong amount is news of money moving too, and wins like a payment does.
            (_, E::Mismatch) => Some(S::Held),
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

impl CloseReason {
    /// The text stored in D1.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Expired => "expired",
            CloseReason::Closed => "closed",
        }
    }

    /// Reads [`CloseReason::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [CloseReason::Expired, CloseReason::Closed].into_iter().find(|r| r.as_str() == text)
    }
}

impl RefundStatus {
    /// The text stored in D1 and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
            RefundStatus::Unresolved => "unresolved",
        }
    }

    /// Every status.
    pub const ALL: [RefundStatus; 4] =
        [RefundStatus::Pending, RefundStatus::Succeeded, RefundStatus::Failed, RefundStatus::Unresolved];

    /// Reads [`RefundStatus::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The state after `event`, or `None` when it is final already.
    pub fn on(self, event: RefundEvent) -> Option<RefundStatus> {
        match (self, event) {
            (RefundStatus::Pending, RefundEvent::Succeeded) => Some(RefundStatus::Succeeded),
            (RefundStatus::Pending, RefundEvent::Failed) => Some(RefundStatus::Failed),
            (RefundStatus::Pending, RefundEvent::GaveUp) => Some(RefundStatus::Unresolved),
            // Given up on, but the gateway may still speak (a late notification): its word wins.
            (RefundStatus::Unresolved, RefundEvent::Succeeded) => Some(RefundStatus::Succeeded),
            (RefundStatus::Unresolved, RefundEvent::Failed) => Some(RefundStatus::Failed),
            (RefundStatus::Unresolved, RefundEvent::GaveUp) => None,
            // Ended failed (by the gateway, by us for no record of it, or by a person), then the
            // gateway refunds it after all: the money went back, so its word wins.
            (RefundStatus::Failed, RefundEvent::Succeeded) => Some(RefundStatus::Succeeded),
            (RefundStatus::Failed, _) => None,
            (RefundStatus::Succeeded, _) => None,
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
            Just(AttemptStatus::Held),
            Just(AttemptStatus::Reversed),
        ]
    }

    fn event() -> impl Strategy<Value = AttemptEvent> {
        prop_oneof![
            Just(AttemptEvent::Created),
            Just(AttemptEvent::Paid),
            Just(AttemptEvent::Failed),
            Just(AttemptEvent::Closed),
            Just(AttemptEvent::Expired),
            Just(AttemptEvent::Mismatch),
            Just(AttemptEvent::Reversed),
        ]
    }

    #[test]
    fn only_a_paid_attempt_is_reversed_after_its_payment() {
        assert_eq!(AttemptStatus::Paid.on_reversal_of_paid(), Some(AttemptStatus::Reversed));
        for other in [AttemptStatus::Pending, AttemptStatus::Held, AttemptStatus::Reversed, AttemptStatus::Failed] {
            assert_eq!(other.on_reversal_of_paid(), None, "{other:?}");
        }
    }

    #[test]
    fn a_reversed_session_takes_no_payment_as_its_own() {
        assert_eq!(SessionStatus::Reversed.on_attempt_paid(None), None);
        assert_eq!(SessionStatus::Reversed.on_close(), Ok(None));
        assert_eq!(SessionStatus::Reversed.on_expiry(), None);
        assert!(!SessionStatus::Reversed.accepts_attempts());
        assert_eq!(SessionStatus::parse("reversed"), Some(SessionStatus::Reversed));
    }

    #[test]
    fn the_happy_path() {
        let s = AttemptStatus::Creating.on(AttemptEvent::Created).unwrap();
        assert_eq!(s, AttemptStatus::Pending);
        assert_eq!(s.on(AttemptEvent::Paid), Some(AttemptStatus::Paid));
        assert_eq!(AttemptStatus::Closed.on(AttemptEvent::Paid), Some(AttemptStatus::Paid), "late payment wins");
        assert_eq!(SessionStatus::Paid.on_close(), Err(SessionStatus::Paid));
        assert_eq!(SessionStatus::Paid.on_expiry(), None);
        assert!(SessionStatus::Open.accepts_attempts() && !SessionStatus::Closing.accepts_attempts());
    }

    #[test]
    fn a_session_is_over_only_when_the_gateway_confirmed_it() {
        let (closing, reason) = SessionStatus::Open.on_expiry().unwrap();
        assert_eq!(closing, SessionStatus::Closing);
        assert_eq!(closing.on_attempts_closed(reason), Some(SessionStatus::Expired));
        let (closing, reason) = SessionStatus::Open.on_close().unwrap().unwrap();
        assert_eq!(closing.on_attempts_closed(reason), Some(SessionStatus::Closed));
        assert_eq!(SessionStatus::Open.on_attempts_closed(CloseReason::Closed), None, "never without closing");
        assert_eq!(SessionStatus::Closing.on_close(), Ok(None), "closing twice changes nothing");
    }

    #[test]
    fn late_payments_are_named_late() {
        assert_eq!(SessionStatus::Open.on_attempt_paid(None), Some(PaidHow::InTime));
        assert_eq!(SessionStatus::Closing.on_attempt_paid(Some(CloseReason::Expired)), Some(PaidHow::InTime));
        assert_eq!(SessionStatus::Closing.on_attempt_paid(Some(CloseReason::Closed)), Some(PaidHow::Late));
        assert_eq!(SessionStatus::Expired.on_attempt_paid(Some(CloseReason::Expired)), Some(PaidHow::Late));
        assert_eq!(SessionStatus::Closed.on_attempt_paid(None), Some(PaidHow::Late));
        assert_eq!(SessionStatus::Paid.on_attempt_paid(None), None, "a second payment is a double one");
    }

    #[test]
    fn a_wrong_amount_is_held_never_paid() {
        assert_eq!(AttemptStatus::Pending.on(AttemptEvent::Mismatch), Some(AttemptStatus::Held));
        assert_eq!(AttemptStatus::Held.on(AttemptEvent::Paid), None, "held is final");
        assert_eq!(AttemptStatus::Paid.on(AttemptEvent::Mismatch), None, "paid is final");
    }

    #[test]
    fn a_reversed_charge_stays_reversed() {
        assert_eq!(AttemptStatus::Pending.on(AttemptEvent::Reversed), Some(AttemptStatus::Reversed));
        assert_eq!(AttemptStatus::Reversed.on(AttemptEvent::Paid), None, "its money went back");
        assert_eq!(AttemptStatus::Paid.on(AttemptEvent::Reversed), None);
    }

    #[test]
    fn refunds_end_once() {
        assert_eq!(RefundStatus::Pending.on(RefundEvent::Succeeded), Some(RefundStatus::Succeeded));
        assert_eq!(RefundStatus::Pending.on(RefundEvent::Failed), Some(RefundStatus::Failed));
        assert_eq!(RefundStatus::Succeeded.on(RefundEvent::Failed), None);
        assert_eq!(RefundStatus::Failed.on(RefundEvent::Succeeded), Some(RefundStatus::Succeeded), "money moved");
        assert_eq!(RefundStatus::Failed.on(RefundEvent::GaveUp), None);
        assert_eq!(RefundStatus::Pending.on(RefundEvent::GaveUp), Some(RefundStatus::Unresolved));
        assert_eq!(RefundStatus::Unresolved.on(RefundEvent::GaveUp), None);
        assert_eq!(RefundStatus::Unresolved.on(RefundEvent::Succeeded), Some(RefundStatus::Succeeded));
        assert_eq!(RefundStatus::Succeeded.on(RefundEvent::GaveUp), None);
    }

    #[test]
    fn sources_are_exactly_the_states_an_event_changes() {
        assert_eq!(AttemptStatus::sources(AttemptEvent::Created), vec![AttemptStatus::Creating]);
        assert!(!AttemptStatus::sources(AttemptEvent::Paid).contains(&AttemptStatus::Paid));
        assert_eq!(AttemptStatus::sources(AttemptEvent::Closed), vec![AttemptStatus::Creating, AttemptStatus::Pending]);
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
            AttemptStatus::Held,
            AttemptStatus::Reversed,
        ] {
            assert_eq!(AttemptStatus::parse(s.as_str()), Some(s));
        }
        for s in SessionStatus::ALL {
            assert_eq!(SessionStatus::parse(s.as_str()), Some(s));
        }
        for s in RefundStatus::ALL {
            assert_eq!(RefundStatus::parse(s.as_str()), Some(s));
        }
        for r in [CloseReason::Expired, CloseReason::Closed] {
            assert_eq!(CloseReason::parse(r.as_str()), Some(r));
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
        fn any_paid_event_ends_paid_unless_held_or_reversed_first(start in status(), before in proptest::collection::vec(event(), 0..6), after in proptest::collection::vec(event(), 0..6)) {
            // What the first final news was, replayed: paid, held, or reversed (only an open
            // attempt can be reversed); everything after it changes nothing.
            let mut expected = start;
            for e in before.iter().chain([AttemptEvent::Paid].iter()) {
                if matches!(expected, AttemptStatus::Paid | AttemptStatus::Held | AttemptStatus::Reversed) {
                    break;
                }
                expected = expected.on(*e).unwrap_or(expected);
            }
            let mut s = start;
            for e in before.into_iter().chain([AttemptEvent::Paid]).chain(after) {
                s = s.on(e).unwrap_or(s);
            }
            prop_assert_eq!(s, expected);
            prop_assert!(matches!(s, AttemptStatus::Paid | AttemptStatus::Held | AttemptStatus::Reversed));
        }

        #[test]
        fn closed_states_only_open_again_by_payment(start in status(), e in event()) {
            if let Some(next) = start.on(e) {
                if !start.is_open() {
                    prop_assert!(matches!(next, AttemptStatus::Paid | AttemptStatus::Held | AttemptStatus::Reversed));
                }
            }
        }
    }
}
