//! D1: the rows behind sessions, attempts, refunds, notifications and idempotency records.
//! Every state change that could race is a conditional `UPDATE` whose row count says who won.

use checkout_api::views::{AttemptView, RefundView, SessionView};
use checkout_api::{AttemptStatus, SessionStatus};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Result};

/// A JS number for D1 (all our integers fit in 53 bits).
pub fn num(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// A JS string, or `null`.
pub fn text(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

/// A JS string.
pub fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

/// A `sessions` row.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionRow {
    pub id: String,
    pub secret_hash: String,
    pub status: String,
    pub amount: u64,
    pub currency: String,
    pub goods_name: String,
    pub reference: String,
    pub pay_types: String,
    pub return_url: Option<String>,
    pub metadata: Option<String>,
    pub created_at: u64,
    pub expires_at: u64,
    pub paid_at: Option<u64>,
    pub paid_attempt_id: Option<String>,
    pub amount_refunded: u64,
}

impl SessionRow {
    pub fn status(&self) -> SessionStatus {
        SessionStatus::parse(&self.status).unwrap_or(SessionStatus::Closed)
    }

    pub fn pay_type_list(&self) -> Vec<String> {
        serde_json::from_str(&self.pay_types).unwrap_or_default()
    }

    pub fn view(&self, attempts: Vec<AttemptView>, refunds: Vec<RefundView>) -> SessionView {
        SessionView {
            id: self.id.clone(),
            client_secret: None,
            status: self.status(),
            amount: self.amount,
            currency: self.currency.clone(),
            goods_name: self.goods_name.clone(),
            reference: self.reference.clone(),
            pay_types: self.pay_type_list(),
            return_url: self.return_url.clone(),
            metadata: self.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()),
            created_at: self.created_at,
            expires_at: self.expires_at,
            paid_at: self.paid_at,
            amount_refunded: self.amount_refunded,
            attempts,
            refunds,
        }
    }
}

/// An `attempts` row.
#[derive(Debug, Clone, Deserialize)]
pub struct AttemptRow {
    pub id: String,
    pub session_id: String,
    pub out_trade_no: String,
    pub pay_type: String,
    pub status: String,
    pub syssn: Option<String>,
    pub qrcode: Option<String>,
    pub redirect_url: Option<String>,
    pub respcd: Option<String>,
    pub created_at: u64,
    pub expires_at: u64,
    pub paid_at: Option<u64>,
    pub last_checked_at: u64,
}

impl AttemptRow {
    pub fn status(&self) -> AttemptStatus {
        AttemptStatus::parse(&self.status).unwrap_or(AttemptStatus::Failed)
    }

    pub fn view(&self) -> AttemptView {
        AttemptView {
            id: self.id.clone(),
            pay_type: self.pay_type.clone(),
            status: self.status(),
            out_trade_no: self.out_trade_no.clone(),
            syssn: self.syssn.clone(),
            qrcode: self.qrcode.clone(),
            redirect_url: self.redirect_url.clone(),
            respcd: self.respcd.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            paid_at: self.paid_at,
        }
    }
}

/// A `refunds` row.
#[derive(Debug, Clone, Deserialize)]
pub struct RefundRow {
    pub id: String,
    pub session_id: String,
    pub attempt_id: String,
    pub out_trade_no: String,
    pub amount: u64,
    pub reason: Option<String>,
    pub status: String,
    pub automatic: u64,
    pub respcd: Option<String>,
    pub created_at: u64,
}

impl RefundRow {
    pub fn view(&self) -> RefundView {
        RefundView {
            id: self.id.clone(),
            amount: self.amount,
            status: self.status.clone(),
            reason: self.reason.clone(),
            automatic: self.automatic == 1,
            attempt_id: self.attempt_id.clone(),
            respcd: self.respcd.clone(),
            created_at: self.created_at,
        }
    }
}

/// Typed access to the database.
pub struct Store {
    db: D1Database,
}

fn bind(stmt: D1PreparedStatement, args: &[JsValue]) -> Result<D1PreparedStatement> {
    stmt.bind(args)
}

impl Store {
    pub fn new(db: D1Database) -> Self {
        Store { db }
    }

    async fn first<T: for<'de> Deserialize<'de>>(&self, sql: &str, args: &[JsValue]) -> Result<Option<T>> {
        bind(self.db.prepare(sql), args)?.first::<T>(None).await
    }

    async fn all<T: for<'de> Deserialize<'de>>(&self, sql: &str, args: &[JsValue]) -> Result<Vec<T>> {
        bind(self.db.prepare(sql), args)?.all().await?.results::<T>()
    }

    /// Runs a statement and returns how many rows it changed.
    pub async fn run(&self, sql: &str, args: &[JsValue]) -> Result<usize> {
        let result = bind(self.db.prepare(sql), args)?.run().await?;
        Ok(result.meta()?.and_then(|m| m.changes).unwrap_or(0))
    }

    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>> {
        self.first("SELECT * FROM sessions WHERE id = ?1", &[s(id)]).await
    }

    pub async fn attempts(&self, session_id: &str) -> Result<Vec<AttemptRow>> {
        self.all("SELECT * FROM attempts WHERE session_id = ?1 ORDER BY created_at, id", &[s(session_id)]).await
    }

    pub async fn latest_attempt(&self, session_id: &str) -> Result<Option<AttemptRow>> {
        self.first(
            "SELECT * FROM attempts WHERE session_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 1",
            &[s(session_id)],
        )
        .await
    }

    pub async fn attempt(&self, id: &str) -> Result<Option<AttemptRow>> {
        self.first("SELECT * FROM attempts WHERE id = ?1", &[s(id)]).await
    }

    pub async fn attempt_by_out_trade_no(&self, out_trade_no: &str) -> Result<Option<AttemptRow>> {
        self.first("SELECT * FROM attempts WHERE out_trade_no = ?1", &[s(out_trade_no)]).await
    }

    pub async fn refunds(&self, session_id: &str) -> Result<Vec<RefundRow>> {
        self.all("SELECT * FROM refunds WHERE session_id = ?1 ORDER BY created_at, id", &[s(session_id)]).await
    }

    pub async fn refund(&self, id: &str) -> Result<Option<RefundRow>> {
        self.first("SELECT * FROM refunds WHERE id = ?1", &[s(id)]).await
    }

    /// The session with its attempts and refunds, as the merchant sees it.
    pub async fn session_view(&self, row: &SessionRow) -> Result<SessionView> {
        let attempts = self.attempts(&row.id).await?.iter().map(AttemptRow::view).collect();
        let refunds = self.refunds(&row.id).await?.iter().map(RefundRow::view).collect();
        Ok(row.view(attempts, refunds))
    }

    /// Moves an attempt to `to` if it is still in `from`; true when this call made the change.
    pub async fn move_attempt(
        &self,
        id: &str,
        from: &[AttemptStatus],
        to: AttemptStatus,
        respcd: Option<&str>,
    ) -> Result<bool> {
        let froms: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let sql = format!(
            "UPDATE attempts SET status = ?1, respcd = COALESCE(?2, respcd) WHERE id = ?3 AND status IN ({})",
            froms.join(",")
        );
        Ok(self.run(&sql, &[s(to.as_str()), text(respcd), s(id)]).await? == 1)
    }

    /// Claims the right to query the gateway for an attempt now: true for one caller only.
    pub async fn claim_check(&self, id: &str, previous: u64, now: u64) -> Result<bool> {
        let changed = self
            .run(
                "UPDATE attempts SET last_checked_at = ?1 WHERE id = ?2 AND last_checked_at = ?3",
                &[num(now), s(id), num(previous)],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Stores an idempotency record's final answer.
    pub async fn finish_idempotent(&self, scope: &str, key: &str, status: u16, body: &str) -> Result<()> {
        self.run(
            "UPDATE idempotency SET status = ?1, response = ?2 WHERE scope = ?3 AND key = ?4",
            &[num(u64::from(status)), s(body), s(scope), s(key)],
        )
        .await?;
        Ok(())
    }

    /// Takes an idempotency key: `Ok(None)` when this request is the first, else the record.
    pub async fn begin_idempotent(
        &self,
        scope: &str,
        key: &str,
        body_hash: &str,
        now: u64,
    ) -> Result<Option<IdempotencyRow>> {
        // Keys are honoured for 24 hours; an older record is replaced.
        self.run(
            "DELETE FROM idempotency WHERE scope = ?1 AND key = ?2 AND created_at < ?3",
            &[s(scope), s(key), num(now.saturating_sub(86_400_000))],
        )
        .await?;
        let inserted = self
            .run(
                "INSERT OR IGNORE INTO idempotency (scope, key, body_hash, status, response, created_at) VALUES (?1, ?2, ?3, 0, '', ?4)",
                &[s(scope), s(key), s(body_hash), num(now)],
            )
            .await?;
        if inserted == 1 {
            return Ok(None);
        }
        self.first(
            "SELECT body_hash, status, response FROM idempotency WHERE scope = ?1 AND key = ?2",
            &[s(scope), s(key)],
        )
        .await
    }

    /// Forgets an idempotency key whose request failed before it changed anything.
    pub async fn release_idempotent(&self, scope: &str, key: &str) -> Result<()> {
        self.run("DELETE FROM idempotency WHERE scope = ?1 AND key = ?2 AND status = 0", &[s(scope), s(key)]).await?;
        Ok(())
    }
}

/// A stored idempotent answer.
#[derive(Debug, Clone, Deserialize)]
pub struct IdempotencyRow {
    pub body_hash: String,
    pub status: u64,
    pub response: String,
}
