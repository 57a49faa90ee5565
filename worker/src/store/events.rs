//! The outbox of merchant events and their delivery tries.

use checkout_api::events::{DeliveryStatus, DeliveryView, EventType};
use checkout_api::views::UnixSeconds;
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::{D1PreparedStatement, Result};

use super::{num, s, text, Store};

/// An event to write together with the change that causes it.
pub struct NewEvent {
    pub id: String,
    pub kind: &'static str,
    pub session_id: String,
    pub once_key: String,
    pub payload: String,
    pub created_at: u64,
    /// When to deliver it: now, or `None` when no `WEBHOOK_URL` is set.
    pub deliver_at: Option<u64>,
}

/// An `events` row.
#[derive(Debug, Clone, Deserialize)]
pub struct EventRow {
    pub id: String,
    pub payload: String,
    pub created_at: u64,
    delivery: String,
    pub tries: u64,
    pub next_try_at: Option<u64>,
}

/// Where a delivery try left the event.
pub enum DeliveryOutcome {
    Delivered,
    RetryAt(u64),
    GaveUp,
}

/// One delivery try: a `deliveries` row.
#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryTry {
    /// When it was sent (ms).
    pub at: u64,
    /// The receiver's HTTP status; 0 when none came.
    pub status: u16,
    pub latency_ms: u64,
    pub error: Option<String>,
}

impl DeliveryTry {
    /// As the merchant API shows it.
    pub fn view(&self) -> DeliveryView {
        DeliveryView {
            at: UnixSeconds::from_ms(self.at),
            status: self.status,
            latency_ms: self.latency_ms,
            error: self.error.clone(),
        }
    }
}

/// The condition that keeps events of one session in order: none is delivered while an
/// earlier one of the same session is still pending.
pub(super) fn in_order() -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM events p WHERE p.session_id = e.session_id AND p.seq < e.seq AND p.delivery = '{}')",
        DeliveryStatus::Pending.as_str()
    )
}

impl EventRow {
    /// Where its delivery is.
    pub fn delivery(&self) -> DeliveryStatus {
        DeliveryStatus::parse(&self.delivery).unwrap_or(DeliveryStatus::Pending)
    }
}

impl Store {
    /// The INSERT of `event`, made only when `condition` (a `SELECT 1 ...` whose arguments are
    /// `?9` onwards) finds a row: the state change it reports has happened. Once per cause.
    pub fn event_stmt(&self, event: &NewEvent, condition: &str, args: &[JsValue]) -> Result<D1PreparedStatement> {
        let delivery =
            if event.deliver_at.is_some() { DeliveryStatus::Pending } else { DeliveryStatus::Disabled }.as_str();
        let mut all = vec![
            s(&event.id),
            s(event.kind),
            s(&event.session_id),
            s(&event.once_key),
            s(&event.payload),
            num(event.created_at),
            s(delivery),
            event.deliver_at.map_or(JsValue::NULL, num),
        ];
        all.extend_from_slice(args);
        self.stmt(
            &format!(
                "INSERT OR IGNORE INTO events (id, type, session_id, once_key, payload, created_at, delivery, next_try_at) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS ({condition})"
            ),
            &all,
        )
    }

    /// Events after `after` (an event id; the start when `None`), oldest first.
    pub async fn events_after(&self, after: Option<&str>, limit: u32) -> Result<Vec<EventRow>> {
        self.all(
            "SELECT * FROM events WHERE seq > COALESCE((SELECT seq FROM events WHERE id = ?1), 0) ORDER BY seq LIMIT ?2",
            &[text(after), num(u64::from(limit))],
        )
        .await
    }

    /// The `limit` newest events, newest first: one walk back along `seq` (the primary key).
    pub async fn latest_events(&self, limit: u32) -> Result<Vec<EventRow>> {
        self.all("SELECT * FROM events ORDER BY seq DESC LIMIT ?1", &[num(u64::from(limit))]).await
    }

    pub async fn event(&self, id: &str) -> Result<Option<EventRow>> {
        self.first("SELECT * FROM events WHERE id = ?1", &[s(id)]).await
    }

    /// Events due for delivery at `now`, each the oldest pending one of its session (so one
    /// session's events go in order), payments first, then oldest first.
    pub async fn due_events(&self, now: u64, limit: u32) -> Result<Vec<EventRow>> {
        let payments: Vec<&str> =
            EventType::ALL.into_iter().filter(|t| t.is_payment()).map(EventType::as_str).collect();
        let payments = payments.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        self.all(
            &format!(
                "SELECT * FROM events e WHERE e.next_try_at <= ?1 AND {} \
                 ORDER BY CASE WHEN e.type IN ({payments}) THEN 0 ELSE 1 END, e.seq LIMIT ?2",
                in_order()
            ),
            &[num(now), num(u64::from(limit))],
        )
        .await
    }

    /// Records one delivery try and where it leaves the event, in one transaction.
    pub async fn record_delivery(&self, event: &EventRow, try_: &DeliveryTry, outcome: DeliveryOutcome) -> Result<()> {
        let (delivery, next, delivered_at) = match outcome {
            DeliveryOutcome::Delivered => (DeliveryStatus::Delivered, JsValue::NULL, num(try_.at)),
            DeliveryOutcome::RetryAt(at) => (DeliveryStatus::Pending, num(at), JsValue::NULL),
            DeliveryOutcome::GaveUp => (DeliveryStatus::Failed, JsValue::NULL, JsValue::NULL),
        };
        let statements = vec![
            self.stmt(
                "INSERT INTO deliveries (event_id, try, at, status, latency_ms, error) \
                 SELECT ?1, tries + 1, ?2, ?3, ?4, ?5 FROM events WHERE id = ?1",
                &[
                    s(&event.id),
                    num(try_.at),
                    num(u64::from(try_.status)),
                    num(try_.latency_ms),
                    text(try_.error.as_deref()),
                ],
            )?,
            self.stmt(
                "UPDATE events SET tries = tries + 1, delivery = ?1, next_try_at = ?2, delivered_at = COALESCE(delivered_at, ?3) WHERE id = ?4",
                &[s(delivery.as_str()), next, delivered_at, s(&event.id)],
            )?,
        ];
        self.batch(statements).await?;
        Ok(())
    }

    /// Every delivery try of an event, oldest first.
    pub async fn deliveries(&self, event_id: &str) -> Result<Vec<DeliveryTry>> {
        self.all(
            "SELECT at, status, latency_ms, error FROM deliveries WHERE event_id = ?1 ORDER BY try",
            &[s(event_id)],
        )
        .await
    }
}
