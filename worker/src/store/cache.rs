//! Rows read together in one D1 batch, kept for the rest of the request until its next write:
//! a session with its attempts and refunds. A notification or a widget request (a pay loads
//! them after reading its body) reads them once (one round trip) where the money rules would
//! read the session three times and the attempt twice; the batch that pays a session reads them
//! again in the same transaction, so what follows the payment sees the state it left.
//!
//! Safe because every state change is a conditional `UPDATE` on the state it expects: a row a
//! few milliseconds old can at worst make a write change nothing, and the caller reads again.
//! Any other write forgets everything (`Store::run`, `Store::batch`), and nothing but an
//! explicit load or that batch fills it, so a loop that reads to see others' changes (the
//! till following its charge) is never served stale.

use worker::{D1Result, Result};

use super::{s, AttemptRow, RefundRow, SessionRow, Store};

/// One session's rows, as one batch read them.
#[derive(Default)]
pub struct Cached {
    pub session: Option<SessionRow>,
    pub attempts: Vec<AttemptRow>,
    pub refunds: Vec<RefundRow>,
}

/// SELECTs of a session, its attempts and its refunds, the session named by `key` through
/// `session_id_sql` (a subquery of `?1`, or `?1` itself).
fn selects(store: &Store, session_id_sql: &str, key: &str) -> Result<Vec<worker::D1PreparedStatement>> {
    Ok(vec![
        store.stmt(&format!("SELECT * FROM sessions WHERE id = {session_id_sql}"), &[s(key)])?,
        store.stmt(
            &format!("SELECT * FROM attempts WHERE session_id = {session_id_sql} ORDER BY created_at, id"),
            &[s(key)],
        )?,
        store.stmt(
            &format!("SELECT * FROM refunds WHERE session_id = {session_id_sql} ORDER BY created_at, id"),
            &[s(key)],
        )?,
    ])
}

/// The rows of [`selects`]' three results.
fn rows(results: &[D1Result]) -> Result<Cached> {
    let [session, attempts, refunds] = results else { return Ok(Cached::default()) };
    Ok(Cached {
        session: session.results::<SessionRow>()?.into_iter().next(),
        attempts: attempts.results()?,
        refunds: refunds.results()?,
    })
}

impl Store {
    /// Reads session `id` with its attempts and refunds in one round trip and keeps them for
    /// this request's next reads (until a write).
    pub async fn load_session(&self, id: &str) -> Result<()> {
        self.counted();
        let results = self.db.batch(selects(self, "?1", id)?).await?;
        *self.cache.borrow_mut() = Some(rows(&results)?);
        Ok(())
    }

    /// Stores a payment notification (once per `syssn`) and, in the same round trip, reads the
    /// attempt it is about, with its session's rows kept for this request. `None`: an order
    /// this worker never made.
    pub async fn payment_notification(
        &self,
        syssn: &str,
        out_trade_no: &str,
        body: &str,
        now: u64,
    ) -> Result<Option<AttemptRow>> {
        let session_of = "(SELECT session_id FROM attempts WHERE out_trade_no = ?1)";
        let mut statements = vec![self.stmt(
            "INSERT OR IGNORE INTO notifications (syssn, notify_type, out_trade_no, body, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[s(syssn), s("payment"), s(out_trade_no), s(body), super::num(now)],
        )?];
        statements.extend(selects(self, session_of, out_trade_no)?);
        self.counted();
        let results = self.db.batch(statements).await?;
        let cached = rows(results.get(1..).unwrap_or_default())?;
        let attempt = cached.attempts.iter().find(|a| a.out_trade_no == out_trade_no).cloned();
        *self.cache.borrow_mut() = Some(cached);
        Ok(attempt)
    }

    /// Runs `statements` as one transaction followed by a fresh read of `session_id`'s rows,
    /// which are kept; returns how many rows each statement changed.
    pub(super) async fn batch_then_load(
        &self,
        mut statements: Vec<worker::D1PreparedStatement>,
        session_id: &str,
    ) -> Result<Vec<usize>> {
        let writes = statements.len();
        statements.extend(selects(self, "?1", session_id)?);
        self.counted();
        let results = self.db.batch(statements).await?;
        let changed = results
            .iter()
            .take(writes)
            .map(|r| Ok(r.meta()?.and_then(|m| m.changes).unwrap_or(0)))
            .collect::<Result<Vec<usize>>>()?;
        *self.cache.borrow_mut() = Some(rows(results.get(writes..).unwrap_or_default())?);
        Ok(changed)
    }

    /// Forgets what was loaded: the next reads go to D1.
    pub fn forget_loaded(&self) {
        *self.cache.borrow_mut() = None;
    }

    /// Session `id`, if loaded.
    pub(super) fn cached_session(&self, id: &str) -> Option<Option<SessionRow>> {
        let cache = self.cache.borrow();
        let cached = cache.as_ref()?;
        match &cached.session {
            Some(row) if row.id == id => Some(Some(row.clone())),
            _ => None,
        }
    }

    /// The attempts of session `id`, if loaded.
    pub(super) fn cached_attempts(&self, session_id: &str) -> Option<Vec<AttemptRow>> {
        let cache = self.cache.borrow();
        let cached = cache.as_ref()?;
        (cached.session.as_ref()?.id == session_id).then(|| cached.attempts.clone())
    }

    /// Attempt `id`, if its session is loaded.
    pub(super) fn cached_attempt(&self, id: &str) -> Option<AttemptRow> {
        self.cache.borrow().as_ref()?.attempts.iter().find(|a| a.id == id).cloned()
    }

    /// The refunds of session `id`, if loaded.
    pub(super) fn cached_refunds(&self, session_id: &str) -> Option<Vec<RefundRow>> {
        let cache = self.cache.borrow();
        let cached = cache.as_ref()?;
        (cached.session.as_ref()?.id == session_id).then(|| cached.refunds.clone())
    }
}
