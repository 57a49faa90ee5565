//! The JSON the API answers. The widget deserialises the checkout views with these same types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pay_options::PayOption;
use crate::states::{AttemptStatus, RefundStatus, SessionStatus};

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
    /// Unix ms.
    pub created_at: u64,
    /// Unix ms when the QR or page stops working.
    pub expires_at: u64,
    /// Unix ms when paid.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub paid_at: Option<u64>,
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
    /// The gateway's status code.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub respcd: Option<String>,
    /// Unix ms.
    pub created_at: u64,
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
    /// Unix ms.
    pub created_at: u64,
    /// Unix ms.
    pub expires_at: u64,
    /// Unix ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub paid_at: Option<u64>,
    /// The attempt whose payment paid the session (`att_...`): a refund without `attempt_id`
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
    /// Unix ms.
    pub expires_at: u64,
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
    /// Unix ms.
    pub expires_at: u64,
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
    /// Unix ms when paid.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub paid_at: Option<u64>,
    /// The session's expiry, Unix ms.
    pub expires_at: u64,
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
    /// When it arrived (Unix ms).
    pub received_at: u64,
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
    /// The oldest row of each kind still kept (Unix ms), absent when there is none.
    pub oldest: HealthOldest,
    /// Days a session that never moved money is kept after its end (`RETENTION_DAYS_UNPAID`).
    pub retention_days_unpaid: u64,
    /// Days a raw notification is kept (`RETENTION_DAYS_NOTIFICATIONS`).
    pub retention_days_notifications: u64,
}

/// The oldest row of each kind still kept (Unix ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HealthOldest {
    /// The oldest session's creation.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session: Option<u64>,
    /// The oldest event's creation.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event: Option<u64>,
    /// The oldest raw notification's arrival.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub notification: Option<u64>,
    /// The oldest idempotency record's creation.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub idempotency_record: Option<u64>,
}
