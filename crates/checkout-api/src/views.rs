//! The JSON the API answers. The widget deserialises the checkout views with these same types.
//!
//! Every time in the API is [`UnixSeconds`]: the one unit of events' `created` and of the
//! `webhook-timestamp` header, and the one merchants' languages read without arithmetic
//! (Python's `datetime.fromtimestamp`, PHP's `date`). The worker keeps milliseconds, which its
//! timers and D1 columns need, and converts at this boundary only, by
//! [`UnixSeconds::from_ms`]: a view's time field takes nothing else, so a millisecond time
//! cannot reach an answer by mistake.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pay_options::PayOption;
use crate::states::{AttemptStatus, RefundStatus, SessionStatus};

/// The largest time the API reads or writes in Unix seconds: 99999999999 (the year 5138). A
/// larger number is a time in milliseconds (those of today have 13 digits), which a field in
/// seconds refuses rather than misreads ([`read_unix_seconds`]).
pub const MAX_UNIX_SECONDS: u64 = 99_999_999_999;

/// A time in the API: whole seconds since 1970-01-01T00:00:00Z (Unix time in seconds), as JSON
/// numbers. Built from the worker's milliseconds by [`UnixSeconds::from_ms`], the only
/// conversion, which rounds down: a time shown is never later than the one kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixSeconds(u64);

impl UnixSeconds {
    /// The second a Unix time in milliseconds falls in.
    pub const fn from_ms(ms: u64) -> Self {
        UnixSeconds(ms / 1000)
    }

    /// A time already in Unix seconds (as read from the API's JSON).
    pub const fn from_secs(seconds: u64) -> Self {
        UnixSeconds(seconds)
    }

    /// The seconds.
    pub const fn secs(self) -> u64 {
        self.0
    }

    /// The second's start in Unix milliseconds, the unit of JavaScript's `Date.now()`.
    pub const fn start_ms(self) -> u64 {
        self.0.saturating_mul(1000)
    }
}

/// Inline, as a plain integer: each field says what the time is, and that it is in seconds.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for UnixSeconds {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "UnixSeconds".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        u64::json_schema(generator)
    }
}

/// A time given to the API in Unix seconds (a query parameter): a whole number from 0 to
/// [`MAX_UNIX_SECONDS`]. A larger one is refused naming the field, since it is almost surely
/// milliseconds, which read as seconds would be thousands of years away.
pub fn read_unix_seconds(field: &str, value: &str) -> Result<UnixSeconds, crate::ApiError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(crate::ApiError::field(
            field,
            format!("must be Unix seconds: a whole number from 0 to {MAX_UNIX_SECONDS}, like created_at"),
        ));
    }
    match value.parse::<u64>() {
        Ok(seconds) if seconds <= MAX_UNIX_SECONDS => Ok(UnixSeconds(seconds)),
        _ => Err(crate::ApiError::field(
            field,
            format!(
                "must be Unix seconds, at most {MAX_UNIX_SECONDS}; {value} looks like milliseconds (divide it by 1000)"
            ),
        )),
    }
}

/// A JSON body a worker stored before its times were seconds (an event's payload, an
/// idempotent answer), with them in seconds: every `created_at`, `expires_at` and `paid_at`
/// number past [`MAX_UNIX_SECONDS`] is milliseconds and is divided by 1000. Such bodies stay
/// in D1 for days (an event until it is delivered and its retention ends), and a merchant must
/// never see one unit in one answer and the other in the next. `None` when nothing changed, so
/// a body already in seconds is served byte for byte.
pub fn stored_body_in_seconds(text: &str) -> Option<String> {
    fn fix(value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::Object(map) => {
                let mut changed = false;
                for (key, field) in map.iter_mut() {
                    let is_time = matches!(key.as_str(), "created_at" | "expires_at" | "paid_at");
                    match field.as_u64() {
                        Some(ms) if is_time && ms > MAX_UNIX_SECONDS => {
                            *field = (ms / 1000).into();
                            changed = true;
                        }
                        _ => changed |= fix(field),
                    }
                }
                changed
            }
            serde_json::Value::Array(items) => items.iter_mut().fold(false, |changed, item| fix(item) | changed),
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
    fix(&mut value).then(|| value.to_string())
}

/// A payment attempt as the merchant and the widget see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AttemptView {
    /// `pa_...`.
    pub id: String,
    /// The pay type chosen.
    pub pay_type: String,
    /// Where it is.
    pub status: AttemptStatus,
    /// The gateway order number (`out_trade_no`).
    pub out_trade_no: String,
    /// QFPay's transaction number, once known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub syssn: Option<String>,
    /// MPM: what to render as a QR code.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub qrcode: Option<String>,
    /// WAP/web: where to send the browser.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub redirect_url: Option<String>,
    /// The gateway's last status code for it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub respcd: Option<String>,
    /// When it was started: Unix time in seconds.
    pub created_at: UnixSeconds,
    /// When the QR code or the wallet's page stops working: Unix time in seconds.
    pub expires_at: UnixSeconds,
    /// When it was paid: Unix time in seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub paid_at: Option<UnixSeconds>,
}

/// A refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RefundView {
    /// `re_...`.
    pub id: String,
    /// Minor units.
    pub amount: u64,
    /// Where it is.
    pub status: RefundStatus,
    /// The merchant's reason, or why it was automatic.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// True for the automatic refund of a second payment of a paid session.
    pub automatic: bool,
    /// The attempt refunded.
    pub attempt_id: String,
    /// The gateway's last status code for it, or ours: `reversed` (never sent: its payment
    /// went back first) or `no_record` (failed: the gateway had no record of it, after a dozen
    /// tries over 6 hours with every send answered, or 3 days after it was sent and 2 after its
    /// last send).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub respcd: Option<String>,
    /// When it was asked for: Unix time in seconds.
    pub created_at: UnixSeconds,
}

/// A session as the merchant's server sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionView {
    /// `cs_...`.
    pub id: String,
    /// Only in the answer that created the session: hand it to the page, nowhere else.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_secret: Option<String>,
    /// Where it is.
    pub status: SessionStatus,
    /// Minor units.
    pub amount: u64,
    /// ISO 4217.
    pub currency: String,
    /// Goods.
    pub goods_name: String,
    /// The merchant's reference.
    pub reference: String,
    /// Pay types offered.
    pub pay_types: Vec<String>,
    /// Where wallet pages return the shopper.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub return_url: Option<String>,
    /// The merchant's notes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// When it was created: Unix time in seconds.
    pub created_at: UnixSeconds,
    /// When it expires unless paid: Unix time in seconds.
    pub expires_at: UnixSeconds,
    /// When it was paid: Unix time in seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub paid_at: Option<UnixSeconds>,
    /// The attempt whose payment paid the session (`pa_...`): a refund without `attempt_id`
    /// refunds it. Any other attempt that took money (a second payment, a held one) is refunded
    /// by naming it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub paid_attempt_id: Option<String>,
    /// Refunded so far of the payment that paid the session, minor units.
    pub amount_refunded: u64,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptView>,
    /// Every refund, oldest first.
    pub refunds: Vec<RefundView>,
}

/// `GET /v1/checkout/{id}`: what the widget needs to draw the checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CheckoutView {
    /// `cs_...`.
    pub id: String,
    /// Where it is.
    pub status: SessionStatus,
    /// Minor units.
    pub amount: u64,
    /// ISO 4217.
    pub currency: String,
    /// The currency's ISO 4217 exponent (digits after the point).
    pub currency_exponent: u8,
    /// Goods.
    pub goods_name: String,
    /// The merchant's display name.
    pub merchant_name: String,
    /// When the session expires unless paid: Unix time in seconds.
    pub expires_at: UnixSeconds,
    /// The pay types that fit, in the order to show them.
    pub pay_types: Vec<PayOption>,
    /// The latest attempt, when there is one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attempt: Option<AttemptView>,
}

/// `POST /v1/checkout/{id}/pay` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PayAnswer {
    /// `pa_...`.
    pub attempt_id: String,
    /// The pay type.
    pub pay_type: String,
    /// MPM: what to render as a QR code.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub qrcode: Option<String>,
    /// WAP/web: where to send the browser.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub redirect_url: Option<String>,
    /// When the QR code or the wallet's page stops working: Unix time in seconds.
    pub expires_at: UnixSeconds,
}

/// `GET /v1/checkout/{id}/status` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StatusView {
    /// The session's status.
    pub status: SessionStatus,
    /// The latest attempt.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attempt: Option<AttemptView>,
    /// When the session was paid: Unix time in seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub paid_at: Option<UnixSeconds>,
    /// When the session expires unless paid: Unix time in seconds.
    pub expires_at: UnixSeconds,
}

/// A notification from QFPay for an order this worker never made (a till or another system
/// sharing the appcode: QFPay sends every notification of an appcode to one URL). Acknowledged
/// and stored, so QFPay stops retrying it; listed so the merchant can match it elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UnmatchedNotification {
    /// QFPay's transaction number.
    pub syssn: String,
    /// `payment` or `refund`.
    pub notify_type: String,
    /// The order number it names, which no attempt or refund of this worker has.
    pub out_trade_no: String,
    /// When it arrived: Unix time in seconds.
    pub received_at: UnixSeconds,
}

/// `GET /v1/notifications` answer: the newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UnmatchedNotificationList {
    /// At most 100, newest first.
    pub data: Vec<UnmatchedNotification>,
}

/// `GET /v1/health`: what the worker keeps, for an operator watching D1's size cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HealthView {
    /// The database's size in bytes, as D1 reports it (absent where it does not).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub database_bytes: Option<u64>,
    /// Sessions kept (those that moved money for good; the others until their retention ends).
    pub sessions: u64,
    /// Events kept.
    pub events: u64,
    /// Raw notifications kept.
    pub notifications: u64,
    /// Refunds the gateway gave no final word on in 3 days (`unresolved`): each needs a person
    /// to check it with QFPay.
    pub refunds_unresolved: u64,
    /// The oldest row of each kind still kept (Unix time in seconds), absent when there is none.
    pub oldest: HealthOldest,
    /// Days a session that never moved money is kept after its end (`RETENTION_DAYS_UNPAID`).
    pub retention_days_unpaid: u64,
    /// Days a raw notification is kept (`RETENTION_DAYS_NOTIFICATIONS`).
    pub retention_days_notifications: u64,
}

/// The oldest row of each kind still kept (Unix time in seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HealthOldest {
    /// The oldest session's creation: Unix time in seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session: Option<UnixSeconds>,
    /// The oldest event's creation: Unix time in seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event: Option<UnixSeconds>,
    /// The oldest raw notification's arrival: Unix time in seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub notification: Option<UnixSeconds>,
    /// The oldest idempotency record's creation: Unix time in seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub idempotency_record: Option<UnixSeconds>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_become_the_second_they_fall_in() {
        assert_eq!(UnixSeconds::from_ms(1_769_817_600_999).secs(), 1_769_817_600);
        assert_eq!(UnixSeconds::from_ms(999).secs(), 0);
        assert_eq!(UnixSeconds::from_secs(1_769_817_600).start_ms(), 1_769_817_600_000);
        // Today's time, converted, is a seconds value: ten digits, under the bound of milliseconds.
        let now = UnixSeconds::from_ms(1_769_817_600_123);
        assert!(now.secs() < MAX_UNIX_SECONDS && now.secs().to_string().len() == 10);
    }

    #[test]
    fn a_view_writes_its_times_as_plain_seconds() {
        let view = RefundView {
            id: "re_1".into(),
            amount: 1,
            status: RefundStatus::Succeeded,
            reason: None,
            automatic: false,
            attempt_id: "pa_1".into(),
            respcd: None,
            created_at: UnixSeconds::from_ms(1_769_817_600_500),
        };
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["created_at"], 1_769_817_600u64);
        assert_eq!(serde_json::from_value::<RefundView>(json).unwrap(), view);
    }

    #[test]
    fn a_query_time_is_seconds_and_milliseconds_are_refused_by_name() {
        assert_eq!(read_unix_seconds("created_gte", "0").unwrap().secs(), 0);
        assert_eq!(read_unix_seconds("created_gte", "99999999999").unwrap().secs(), MAX_UNIX_SECONDS);
        let e = read_unix_seconds("created_gte", "1769817600000").unwrap_err();
        assert_eq!((e.status, e.field.as_deref()), (400, Some("created_gte")));
        assert!(e.message.starts_with("created_gte: must be Unix seconds"), "{}", e.message);
        assert!(e.message.contains("milliseconds"), "{}", e.message);
        for bad in ["", "-1", "1.5", "+5", "soon", " 1"] {
            let e = read_unix_seconds("created_lt", bad).unwrap_err();
            assert!(
                e.message.starts_with("created_lt: must be Unix seconds: a whole number"),
                "{bad:?}: {}",
                e.message
            );
        }
    }

    #[test]
    fn a_body_stored_in_milliseconds_is_served_in_seconds() {
        let stored = r#"{"id":"evt_1","created":1769817600,"data":{"session":{"id":"cs_1","created_at":1769817600123,
            "expires_at":1769819400000,"paid_at":null,"metadata":{"created_at":"1769817600123"},
            "attempts":[{"id":"pa_1","created_at":1769817601000,"expires_at":1769819401000,"paid_at":1769817660999}],
            "refunds":[{"id":"re_1","created_at":1769817700000}]}}}"#;
        let fixed: serde_json::Value = serde_json::from_str(&stored_body_in_seconds(stored).unwrap()).unwrap();
        let session = &fixed["data"]["session"];
        assert_eq!(
            (session["created_at"].as_u64(), session["expires_at"].as_u64()),
            (Some(1_769_817_600), Some(1_769_819_400))
        );
        assert!(session["paid_at"].is_null());
        assert_eq!(session["metadata"]["created_at"], "1769817600123", "the merchant's own strings are kept");
        let attempt = &session["attempts"][0];
        assert_eq!(attempt["paid_at"], 1_769_817_660u64);
        assert_eq!(attempt["expires_at"], 1_769_819_401u64);
        assert_eq!(session["refunds"][0]["created_at"], 1_769_817_700u64);
        assert_eq!(fixed["created"], 1_769_817_600u64, "the event's own time was always seconds");
        // A body already in seconds (or not JSON) is left as stored, byte for byte.
        let current = r#"{"created_at":1769817600,"expires_at":1769819400}"#;
        assert_eq!(stored_body_in_seconds(current), None);
        assert_eq!(stored_body_in_seconds("not json"), None);
    }
}
