//! The merchant's events: what happened, as the merchant API shows it, and how each one is
//! delivered (Standard Webhooks signatures, the retry schedule). Every event is written to the
//! outbox in the same D1 batch as the state change that caused it; the worker delivers it to
//! `WEBHOOK_URL` and lists it at `GET /v1/events`.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::views::{RefundView, SessionView, UnixSeconds};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum EventType {
    /// The session was paid (fulfil the order).
    #[serde(rename = "checkout.session.paid")]
    SessionPaid,
    /// The session's time ran out and the gateway confirmed every QR code closed.
    #[serde(rename = "checkout.session.expired")]
    SessionExpired,
    /// The merchant closed the session and the gateway confirmed every QR code closed.
    #[serde(rename = "checkout.session.closed")]
    SessionClosed,
    /// A payment arrived after the merchant closed the session, or after it expired: the
    /// session is paid; fulfil the order or refund it.
    #[serde(rename = "checkout.session.late_payment")]
    SessionLatePayment,
    /// A refund went through.
    #[serde(rename = "refund.succeeded")]
    RefundSucceeded,
    /// A refund was refused for good (or the gateway has no record of it, or a person resolved
    /// it so); its amount can be refunded again. Should the gateway still refund it,
    /// `refund.succeeded` follows.
    #[serde(rename = "refund.failed")]
    RefundFailed,
    /// The gateway gave no final word on a refund for days: it is no longer asked about and
    /// its amount stays reserved; check it with QFPay. `refund.succeeded` may still follow.
    #[serde(rename = "refund.unresolved")]
    RefundUnresolved,
    /// A second payment of a paid session (a shopper who paid two QR codes) was refunded
    /// automatically.
    #[serde(rename = "payment.duplicate_refunded")]
    DuplicateRefunded,
    /// A second payment of a paid session arrived (a shopper who paid two QR codes). With
    /// `AUTO_REFUND_DOUBLE_PAYMENTS` on (the default) it is refunded and
    /// `payment.duplicate_refunded` follows; with it off, refund it yourself.
    #[serde(rename = "payment.duplicate")]
    DuplicatePayment,
    /// The gateway reported a payment for another amount or currency than the session's: it
    /// is not counted as paid (the attempt is `held`); check it with QFPay.
    #[serde(rename = "payment.held")]
    PaymentHeld,
    /// A CPM charge was reversed at the gateway after it had been recorded paid (its payment
    /// and the reversal crossed): the money went back to the shopper; do not fulfil, or take
    /// payment again.
    #[serde(rename = "payment.reversed")]
    PaymentReversed,
}

impl EventType {
    /// Every type.
    pub const ALL: [EventType; 11] = [
        EventType::SessionPaid,
        EventType::SessionExpired,
        EventType::SessionClosed,
        EventType::SessionLatePayment,
        EventType::RefundSucceeded,
        EventType::RefundFailed,
        EventType::RefundUnresolved,
        EventType::DuplicateRefunded,
        EventType::DuplicatePayment,
        EventType::PaymentHeld,
        EventType::PaymentReversed,
    ];

    /// The name in JSON and in D1.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::SessionPaid => "checkout.session.paid",
            EventType::SessionExpired => "checkout.session.expired",
            EventType::SessionClosed => "checkout.session.closed",
            EventType::SessionLatePayment => "checkout.session.late_payment",
            EventType::RefundSucceeded => "refund.succeeded",
            EventType::RefundFailed => "refund.failed",
            EventType::RefundUnresolved => "refund.unresolved",
            EventType::DuplicateRefunded => "payment.duplicate_refunded",
            EventType::DuplicatePayment => "payment.duplicate",
            EventType::PaymentHeld => "payment.held",
            EventType::PaymentReversed => "payment.reversed",
        }
    }

    /// Whether the event tells of money taken (a payment of any kind): delivered before the
    /// others, so a paid order never waits behind a flood of expiries.
    pub fn is_payment(self) -> bool {
        matches!(
            self,
            EventType::SessionPaid
                | EventType::SessionLatePayment
                | EventType::DuplicatePayment
                | EventType::PaymentHeld
                | EventType::PaymentReversed
        )
    }

    /// Reads [`EventType::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// The key that makes the event happen once per cause (`subject` is the session or refund
    /// id): a session is paid once, a refund ends once.
    pub fn once_key(self, subject: &str) -> String {
        let cause = match self {
            // Paid in time or late: one payment event per session, whichever it is.
            EventType::SessionPaid | EventType::SessionLatePayment => "session.paid",
            EventType::SessionExpired | EventType::SessionClosed => "session.over",
            // A refund fails once and succeeds once: a success may follow a failure (the gateway
            // refunded it after all), so each has its own cause.
            EventType::RefundSucceeded | EventType::DuplicateRefunded => "refund.succeeded",
            EventType::RefundFailed => "refund.failed",
            // Not final: the gateway's late word about it is told as well.
            EventType::RefundUnresolved => "refund.unresolved",
            EventType::DuplicatePayment => "payment.duplicate",
            EventType::PaymentHeld => "payment.held",
            EventType::PaymentReversed => "payment.reversed",
        };
        format!("{cause}:{subject}")
    }
}

/// Where an event's delivery to `WEBHOOK_URL` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Being tried (its next try is planned).
    Pending,
    /// A try got a 2xx answer.
    Delivered,
    /// Every try failed for 3 days; it stays in the feed and can be resent.
    Failed,
    /// No `WEBHOOK_URL` was set when it happened: read it from the feed.
    Disabled,
}

impl DeliveryStatus {
    /// The text stored in D1 and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Disabled => "disabled",
        }
    }

    /// Reads [`DeliveryStatus::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed, DeliveryStatus::Disabled]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// An event as delivered and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EventView {
    /// `evt_...`: the `webhook-id` too. De-duplicate on it.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When it happened: Unix time in seconds.
    pub created: UnixSeconds,
    /// The objects, as the merchant API shows them at the moment of the event.
    pub data: EventData,
}

/// What an event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EventData {
    /// The session.
    pub session: SessionView,
    /// The refund, for refund events.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refund: Option<RefundView>,
}

/// `GET /v1/events` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EventList {
    /// Oldest first.
    pub data: Vec<EventView>,
    /// True when more events follow the last one.
    pub has_more: bool,
}

/// One delivery try of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeliveryView {
    /// When it was sent: Unix time in seconds.
    pub at: UnixSeconds,
    /// The receiver's HTTP status; 0 when none came (timeout, connection refused).
    pub status: u16,
    /// How long the receiver took, in milliseconds (a duration, not a time).
    pub latency_ms: u64,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// `GET /v1/events/{id}` answer: the event, where its delivery is, and every try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EventDetail {
    /// The event.
    pub event: EventView,
    /// Where its delivery is.
    pub delivery: DeliveryStatus,
    /// When the next try is planned, if one is: Unix time in seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_try_at: Option<UnixSeconds>,
    /// Every try, oldest first.
    pub tries: Vec<DeliveryView>,
}

/// Deliveries are retried until at least this long after the event (ms): 3 days.
pub const DELIVERY_WINDOW_MS: u64 = 3 * 86_400_000;
/// How long a receiver may take to answer (ms).
pub const DELIVERY_TIMEOUT_MS: u64 = 10_000;
/// The gaps after each failed try: quick at first for a blip, then hours apart.
const RETRY_GAPS_MS: [u64; 10] =
    [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 43_200_000];

/// When to try again after `tries` failed tries, the last at `now`; `None` once a try has
/// failed 3 days or more after the event was created (the event then shows `failed`, stays in
/// the feed and can be resent).
pub fn next_delivery_at(created_at: u64, tries: u32, now: u64) -> Option<u64> {
    if now >= created_at + DELIVERY_WINDOW_MS {
        return None;
    }
    let gap = RETRY_GAPS_MS[(tries.max(1) as usize - 1).min(RETRY_GAPS_MS.len() - 1)];
    Some(now + gap)
}

/// A Standard Webhooks signing secret: `whsec_` and base64 of the key bytes.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(redacted)")
    }
}

impl WebhookSecret {
    /// Reads `whsec_<base64>`; the error says what is wrong, never the value.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let encoded = text.trim().strip_prefix("whsec_").ok_or("must start with whsec_")?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| "must be whsec_ followed by base64")?;
        if !(24..=64).contains(&key.len()) {
            return Err("must hold 24 to 64 bytes of key (whsec_ and 32 to 88 base64 characters)");
        }
        Ok(WebhookSecret(key))
    }

    /// The `webhook-signature` header for one delivery: `v1,` and base64 of
    /// HMAC-SHA256(key, "{id}.{timestamp}.{body}").
    pub fn signature(&self, id: &str, timestamp: u64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body.as_bytes());
        format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_example_signature() {
        // The example in the Standard Webhooks specification (its "Signature scheme" section).
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            secret.signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_checked_and_never_printed() {
        assert!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(WebhookSecret::parse("whsec_***").is_err());
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").is_err(), "too short");
        let s = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(format!("{s:?}"), "WebhookSecret(redacted)");
    }

    #[test]
    fn deliveries_are_retried_for_at_least_three_days() {
        let created = 1_000_000;
        let mut now = created;
        let mut tries = 0;
        while let Some(next) = next_delivery_at(created, tries + 1, now) {
            tries += 1;
            assert!(next > now);
            now = next;
        }
        assert!(now >= created + DELIVERY_WINDOW_MS, "the last try comes 3 days or more after the event");
        assert!((10..=20).contains(&tries), "{tries} tries");
        assert_eq!(next_delivery_at(created, 1, created), Some(created + 5_000), "a blip is retried in seconds");
    }

    #[test]
    fn event_names_round_trip_and_happen_once_per_cause() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
        }
        assert_eq!(EventType::SessionPaid.once_key("cs_1"), EventType::SessionLatePayment.once_key("cs_1"));
        assert_ne!(EventType::SessionPaid.once_key("cs_1"), EventType::SessionExpired.once_key("cs_1"));
    }
}
