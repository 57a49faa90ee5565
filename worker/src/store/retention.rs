//! What the worker forgets, so D1 stays bounded (when D1 is full every write fails, payments
//! included). Anything that moved money is kept (Hong Kong businesses keep records for seven
//! years): a session that was paid, held, reversed or refunded, with its attempts, refunds and
//! events. Forgotten, in bounded chunks on the settler's timer: idempotency records after their
//! 24 hours, delivered events' older tries (the last is kept), raw notifications after
//! `RETENTION_DAYS_NOTIFICATIONS`, and sessions that never moved money, with their attempts and
//! events, after `RETENTION_DAYS_UNPAID`.

use checkout_api::events::DeliveryStatus;
use checkout_api::{AttemptStatus, SessionStatus};
use serde::Deserialize;
use worker::Result;

use super::{num, quoted, s, Store};

/// Rows deleted per statement and run: a run stays short however much has piled up.
const CHUNK: u64 = 500;

/// The cut-off times of one run (Unix ms): rows older than these go.
pub struct Cutoffs {
    pub idempotency: u64,
    pub deliveries: u64,
    pub notifications: u64,
    pub unpaid_sessions: u64,
}

/// How many rows a run removed.
#[derive(Debug, Default, serde::Serialize)]
pub struct Purged {
    pub idempotency: usize,
    pub deliveries: usize,
    pub notifications: usize,
    pub sessions: usize,
}

/// The oldest row of each kind that is still kept (Unix ms), and the database's size.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct Footprint {
    pub oldest_session: Option<f64>,
    pub oldest_event: Option<f64>,
    pub oldest_notification: Option<f64>,
    pub oldest_idempotency: Option<f64>,
    pub sessions: f64,
    pub events: f64,
    pub notifications: f64,
    pub refunds_unresolved: f64,
    #[serde(default)]
    pub database_bytes: Option<usize>,
}

impl Store {
    /// One bounded run of forgetting.
    pub async fn purge(&self, cut: &Cutoffs) -> Result<Purged> {
        let idempotency = self
            .run(
                "DELETE FROM idempotency WHERE rowid IN \
                 (SELECT rowid FROM idempotency WHERE created_at < ?1 AND status != 0 LIMIT ?2)",
                &[num(cut.idempotency), num(CHUNK)],
            )
            .await?;
        let delivered = DeliveryStatus::Delivered.as_str();
        let deliveries = self
            .run(
                &format!(
                    "DELETE FROM deliveries WHERE rowid IN (SELECT d.rowid FROM deliveries d JOIN events e ON e.id = d.event_id \
                     WHERE e.delivery = '{delivered}' AND d.at < ?1 \
                     AND d.try < (SELECT MAX(l.try) FROM deliveries l WHERE l.event_id = d.event_id) LIMIT ?2)"
                ),
                &[num(cut.deliveries), num(CHUNK)],
            )
            .await?;
        let notifications = self
            .run(
                "DELETE FROM notifications WHERE rowid IN \
                 (SELECT rowid FROM notifications WHERE received_at < ?1 LIMIT ?2)",
                &[num(cut.notifications), num(CHUNK)],
            )
            .await?;
        let sessions = self.purge_unpaid_sessions(cut.unpaid_sessions).await?;
        Ok(Purged { idempotency, deliveries, notifications, sessions })
    }

    /// Sessions over before `before` that never moved money: no attempt paid, held or reversed
    /// (or open), no refund. Their deliveries, events, attempts and the session go in one batch.
    async fn purge_unpaid_sessions(&self, before: u64) -> Result<usize> {
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        let over = quoted(&[SessionStatus::Expired, SessionStatus::Closed], SessionStatus::as_str);
        let quiet =
            quoted(&[AttemptStatus::Failed, AttemptStatus::Closed, AttemptStatus::Expired], AttemptStatus::as_str);
        let ids: Vec<Id> = self
            .all(
                &format!(
                    "SELECT s.id FROM sessions s WHERE s.status IN ({over}) AND s.expires_at < ?1 \
                     AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.session_id = s.id AND a.status NOT IN ({quiet})) \
                     AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.session_id = s.id) LIMIT 100"
                ),
                &[num(before)],
            )
            .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let list = serde_json::to_string(&ids.iter().map(|i| i.id.as_str()).collect::<Vec<_>>()).unwrap_or_default();
        let mine = "(SELECT value FROM json_each(?1))";
        // The sessions first, their conditions checked again (a late payment may have landed
        // since the SELECT); then only what belonged to sessions that are gone.
        let gone = format!("session_id IN {mine} AND session_id NOT IN (SELECT id FROM sessions)");
        let statements = vec![
            self.stmt(
                &format!(
                    "DELETE FROM sessions WHERE id IN {mine} AND status IN ({over}) \
                     AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.session_id = sessions.id AND a.status NOT IN ({quiet})) \
                     AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.session_id = sessions.id)"
                ),
                &[s(&list)],
            )?,
            self.stmt(
                &format!("DELETE FROM deliveries WHERE event_id IN (SELECT id FROM events WHERE {gone})"),
                &[s(&list)],
            )?,
            self.stmt(&format!("DELETE FROM events WHERE {gone}"), &[s(&list)])?,
            self.stmt(&format!("DELETE FROM attempts WHERE {gone}"), &[s(&list)])?,
        ];
        Ok(*self.batch(statements).await?.first().unwrap_or(&0))
    }

    /// What is kept, for `GET /v1/health`.
    pub async fn footprint(&self) -> Result<Footprint> {
        let statement = self.stmt(
            &format!(
                "SELECT (SELECT MIN(created_at) FROM sessions) AS oldest_session, \
             (SELECT MIN(created_at) FROM events) AS oldest_event, \
             (SELECT MIN(received_at) FROM notifications) AS oldest_notification, \
             (SELECT MIN(created_at) FROM idempotency) AS oldest_idempotency, \
             (SELECT COUNT(*) FROM sessions) AS sessions, (SELECT COUNT(*) FROM events) AS events, \
             (SELECT COUNT(*) FROM notifications) AS notifications, \
             (SELECT COUNT(*) FROM refunds WHERE status = '{unresolved}') AS refunds_unresolved",
                unresolved = checkout_api::RefundStatus::Unresolved.as_str()
            ),
            &[],
        )?;
        let result = statement.all().await?;
        let size = result.meta()?.and_then(|m| m.size_after);
        let mut row = result.results::<Footprint>()?.into_iter().next().unwrap_or_default();
        row.database_bytes = size;
        Ok(row)
    }
}
