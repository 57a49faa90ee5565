//! D1, and all of the worker's SQL: the rows behind sessions, attempts, refunds, events,
//! notifications and idempotency records, and named operations on them (`pay_session`,
//! `reserve_refund`, ...). Every state change is a conditional `UPDATE` whose `WHERE` comes from
//! `checkout_api::states`, so the database applies the state machine's rules and its row count
//! says who won a race. A change that the merchant must hear of is written in one D1 batch (one
//! transaction) with its event, so neither can exist without the other.

mod attempts;
mod cache;
mod events;
mod idempotency;
mod refunds;
mod retention;
mod sessions;

pub use attempts::{NewAttempt, CLOSE_CLAIM_MS};
pub use events::{DeliveryOutcome, DeliveryTry, EventRow, NewEvent};
pub use idempotency::SESSIONS_SCOPE;
pub use refunds::NewRefund;
pub use retention::Cutoffs;
pub use sessions::{NewSession, PaidAttempt};

use checkout_api::views::{AttemptView, RefundView, SessionView, UnixSeconds};
use checkout_api::{AttemptStatus, CloseReason, RefundStatus, SessionStatus};
use std::cell::{Cell, RefCell};

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
    pub closing_reason: Option<String>,
}

impl SessionRow {
    pub fn status(&self) -> SessionStatus {
        SessionStatus::parse(&self.status).unwrap_or(SessionStatus::Closed)
    }

    /// Why it is closing (or was closed), when it is over.
    pub fn closing_reason(&self) -> Option<CloseReason> {
        self.closing_reason.as_deref().and_then(CloseReason::parse)
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
            created_at: UnixSeconds::from_ms(self.created_at),
            expires_at: UnixSeconds::from_ms(self.expires_at),
            paid_at: self.paid_at.map(UnixSeconds::from_ms),
            paid_attempt_id: self.paid_attempt_id.clone(),
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
    pub close_tries: u64,
    pub next_check_at: Option<u64>,
    /// The amount the gateway reported for a held payment (another than the session's).
    #[serde(default)]
    pub held_txamt: Option<u64>,
    /// When a reversal of its order was sent, while its answer is not in.
    #[serde(default)]
    pub reversing_since: Option<u64>,
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
            created_at: UnixSeconds::from_ms(self.created_at),
            expires_at: UnixSeconds::from_ms(self.expires_at),
            paid_at: self.paid_at.map(UnixSeconds::from_ms),
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
    pub txdtm: Option<String>,
    pub tries: u64,
    /// 1 while a send under the current number got no answer (the number is then kept).
    #[serde(default)]
    pub number_unsure: u64,
    /// Times it was renumbered after the nightly window.
    #[serde(default)]
    pub renumbered: u64,
    /// 1 when no amount of the session is held for it (an automatic refund, one of another
    /// payment, or a failed one whose amount was given back).
    #[serde(default)]
    pub released: u64,
    /// When it was last sent to the gateway (Unix ms), written before each send.
    #[serde(default)]
    pub last_sent_at: Option<u64>,
    /// 1 once the gateway said it has it, in progress (an answer or a query row).
    #[serde(default)]
    pub gateway_had: u64,
}

impl RefundRow {
    pub fn status(&self) -> RefundStatus {
        RefundStatus::parse(&self.status).unwrap_or(RefundStatus::Pending)
    }

    pub fn view(&self) -> RefundView {
        RefundView {
            id: self.id.clone(),
            amount: self.amount,
            status: self.status(),
            reason: self.reason.clone(),
            automatic: self.automatic == 1,
            attempt_id: self.attempt_id.clone(),
            respcd: self.respcd.clone(),
            created_at: UnixSeconds::from_ms(self.created_at),
        }
    }
}

/// Typed access to the database. It also keeps two facts about the request (or sweep) it
/// serves: how many D1 round trips it made (for the log line, and the bench's
/// `d1_queries_per_notification`), and which sessions' state it changed (so that widgets
/// waiting on them are woken: `crate::watch`).
pub struct Store {
    db: D1Database,
    queries: Cell<u32>,
    changed: RefCell<Vec<String>>,
    /// Rows loaded in one batch, until the next write (`cache.rs`).
    cache: RefCell<Option<cache::Cached>>,
}

/// A prepared statement with its arguments.
fn bind(db: &D1Database, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement> {
    db.prepare(sql).bind(args)
}

/// A list of quoted SQL literals for an `IN (...)`, e.g. `'creating','pending'`: statuses are
/// our own words from `checkout_api::states`, never input.
fn quoted<T: Copy>(items: &[T], text: fn(T) -> &'static str) -> String {
    items.iter().map(|i| format!("'{}'", text(*i))).collect::<Vec<_>>().join(",")
}

/// `'creating','pending'`: the statuses of an open attempt, for SQL.
fn open_attempts() -> String {
    quoted(&AttemptStatus::OPEN, AttemptStatus::as_str)
}

impl Store {
    pub fn new(db: D1Database) -> Self {
        Store { db, queries: Cell::new(0), changed: RefCell::new(Vec::new()), cache: RefCell::new(None) }
    }

    /// D1 round trips made so far (a batch is one).
    pub fn queries(&self) -> u32 {
        self.queries.get()
    }

    /// Counts one D1 round trip.
    fn counted(&self) {
        self.queries.set(self.queries.get() + 1);
    }

    /// Notes that `session_id`'s state (or its attempts') changed.
    fn note_changed(&self, session_id: &str) {
        let mut changed = self.changed.borrow_mut();
        if !changed.iter().any(|c| c == session_id) {
            changed.push(session_id.to_owned());
        }
    }

    /// The sessions changed since the last call, each once.
    pub fn take_changed(&self) -> Vec<String> {
        std::mem::take(&mut *self.changed.borrow_mut())
    }

    /// Runs an `UPDATE ... RETURNING session_id`, notes each session it changed, and returns
    /// how many rows changed.
    async fn run_noting_sessions(&self, sql: &str, args: &[JsValue]) -> Result<usize> {
        #[derive(Deserialize)]
        struct Changed {
            session_id: String,
        }
        self.forget_loaded();
        let rows: Vec<Changed> = self.all(sql, args).await?;
        for row in &rows {
            self.note_changed(&row.session_id);
        }
        Ok(rows.len())
    }

    fn stmt(&self, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement> {
        bind(&self.db, sql, args)
    }

    async fn first<T: for<'de> Deserialize<'de>>(&self, sql: &str, args: &[JsValue]) -> Result<Option<T>> {
        self.counted();
        self.stmt(sql, args)?.first::<T>(None).await
    }

    async fn all<T: for<'de> Deserialize<'de>>(&self, sql: &str, args: &[JsValue]) -> Result<Vec<T>> {
        self.counted();
        self.stmt(sql, args)?.all().await?.results::<T>()
    }

    /// Runs a statement and returns how many rows it changed.
    async fn run(&self, sql: &str, args: &[JsValue]) -> Result<usize> {
        self.counted();
        self.forget_loaded();
        let result = self.stmt(sql, args)?.run().await?;
        Ok(result.meta()?.and_then(|m| m.changes).unwrap_or(0))
    }

    /// Runs statements as one transaction; returns how many rows each changed.
    async fn batch(&self, statements: Vec<D1PreparedStatement>) -> Result<Vec<usize>> {
        self.counted();
        self.forget_loaded();
        let results = self.db.batch(statements).await?;
        results.iter().map(|r| Ok(r.meta()?.and_then(|m| m.changes).unwrap_or(0))).collect()
    }

    /// The session with its attempts and refunds, as the merchant sees it.
    pub async fn session_view(&self, row: &SessionRow) -> Result<SessionView> {
        let attempts = self.attempts(&row.id).await?.iter().map(AttemptRow::view).collect();
        let refunds = self.refunds(&row.id).await?.iter().map(RefundRow::view).collect();
        Ok(row.view(attempts, refunds))
    }

    /// The earliest time any obligation falls due (an attempt to query or close, a session to
    /// expire or finish closing, a refund to settle, an event to deliver), for the settler's
    /// next alarm. One row of scalar subqueries: D1 limits compound SELECTs.
    pub async fn earliest_obligation(&self, webhooks_on: bool) -> Result<Option<u64>> {
        #[derive(Deserialize)]
        struct Due {
            query: Option<f64>,
            own_expiry: Option<f64>,
            closing: Option<f64>,
            finish: Option<f64>,
            session_expiry: Option<f64>,
            refund: Option<f64>,
            event: Option<f64>,
        }
        let open = open_attempts();
        let sql = format!(
            "SELECT \
               (SELECT MIN(next_check_at) FROM attempts WHERE next_check_at IS NOT NULL AND status IN ({open})) AS query, \
               (SELECT MIN(MAX(expires_at, next_close_at)) FROM attempts WHERE status IN ({open})) AS own_expiry, \
               (SELECT MIN(a.next_close_at) FROM attempts a JOIN sessions s ON s.id = a.session_id \
                  WHERE a.status IN ({open}) AND s.status != '{open_session}') AS closing, \
               (SELECT 0 FROM sessions s WHERE s.status = '{closing}' AND NOT EXISTS \
                  (SELECT 1 FROM attempts a WHERE a.session_id = s.id AND a.status IN ({open})) LIMIT 1) AS finish, \
               (SELECT MIN(expires_at) FROM sessions WHERE status = '{open_session}') AS session_expiry, \
               (SELECT MIN(next_try_at) FROM refunds WHERE status IN ('{pending_refund}', '{unresolved_refund}')) AS refund, \
               (SELECT MIN(e.next_try_at) FROM events e WHERE e.next_try_at IS NOT NULL AND {in_order}) AS event",
            in_order = events::in_order(),
            closing = SessionStatus::Closing.as_str(),
            open_session = SessionStatus::Open.as_str(),
            pending_refund = RefundStatus::Pending.as_str(),
            unresolved_refund = RefundStatus::Unresolved.as_str(),
        );
        let Some(due) = self.first::<Due>(&sql, &[]).await? else { return Ok(None) };
        let event = due.event.filter(|_| webhooks_on);
        let all = [due.query, due.own_expiry, due.closing, due.finish, due.session_expiry, due.refund, event];
        Ok(all.into_iter().flatten().map(|t| t as u64).min())
    }
}
