//! Payment attempts: recorded before the gateway hears of them, then created, checked,
//! closed or ended by the gateway's word.

use checkout_api::budget::{MAX_ATTEMPTS_PER_SESSION, MIN_ATTEMPT_GAP_MS};
use checkout_api::{AttemptEvent, AttemptStatus, SessionStatus};
use worker::Result;

use super::{num, open_attempts as open_list, quoted, s, text, AttemptRow, Store};

/// A new attempt's row.
pub struct NewAttempt<'a> {
    pub id: &'a str,
    pub session_id: &'a str,
    pub out_trade_no: &'a str,
    pub pay_type: &'a str,
    pub created_at: u64,
    pub expires_at: u64,
    pub next_check_at: u64,
}

/// How long a claim to close an attempt holds (ms): longer than a close with its retries.
pub const CLOSE_CLAIM_MS: u64 = 45_000;

impl Store {
    pub async fn attempts(&self, session_id: &str) -> Result<Vec<AttemptRow>> {
        if let Some(rows) = self.cached_attempts(session_id) {
            return Ok(rows);
        }
        self.all("SELECT * FROM attempts WHERE session_id = ?1 ORDER BY created_at, id", &[s(session_id)]).await
    }

    pub async fn latest_attempt(&self, session_id: &str) -> Result<Option<AttemptRow>> {
        // Loaded attempts are in (created_at, id) order: the latest is the last.
        if let Some(rows) = self.cached_attempts(session_id) {
            return Ok(rows.into_iter().last());
        }
        self.first(
            "SELECT * FROM attempts WHERE session_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 1",
            &[s(session_id)],
        )
        .await
    }

    pub async fn attempt(&self, id: &str) -> Result<Option<AttemptRow>> {
        if let Some(row) = self.cached_attempt(id) {
            return Ok(Some(row));
        }
        self.first("SELECT * FROM attempts WHERE id = ?1", &[s(id)]).await
    }

    pub async fn attempt_by_out_trade_no(&self, out_trade_no: &str) -> Result<Option<AttemptRow>> {
        self.first("SELECT * FROM attempts WHERE out_trade_no = ?1", &[s(out_trade_no)]).await
    }

    /// Records an attempt before the gateway hears of it, so no payment can exist that we do
    /// not know of; its first query is already planned. Only while the session is open (a
    /// close may have started since it was read), has started fewer than the most attempts,
    /// and none in the last few seconds: checked in the INSERT itself, so concurrent requests
    /// cannot get past them. The new attempt, read back in the same round trip; `None` when it
    /// was not recorded.
    pub async fn insert_attempt(&self, new: &NewAttempt<'_>) -> Result<Option<AttemptRow>> {
        let insert = self.stmt(
            "INSERT INTO attempts (id, session_id, out_trade_no, pay_type, status, created_at, expires_at, next_check_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM sessions WHERE id = ?2 AND status = ?9 \
             AND (SELECT COUNT(*) FROM attempts WHERE session_id = ?2) < ?10 \
             AND NOT EXISTS (SELECT 1 FROM attempts WHERE session_id = ?2 AND created_at > ?6 - ?11)",
            &[
                s(new.id),
                s(new.session_id),
                s(new.out_trade_no),
                s(new.pay_type),
                s(AttemptStatus::Creating.as_str()),
                num(new.created_at),
                num(new.expires_at),
                num(new.next_check_at),
                s(SessionStatus::Open.as_str()),
                num(MAX_ATTEMPTS_PER_SESSION),
                num(MIN_ATTEMPT_GAP_MS),
            ],
        )?;
        let read = self.stmt("SELECT * FROM attempts WHERE id = ?1", &[s(new.id)])?;
        self.counted();
        self.forget_loaded();
        let results = self.db.batch(vec![insert, read]).await?;
        let [inserted, read] = results.as_slice() else { return Ok(None) };
        if inserted.meta()?.and_then(|m| m.changes) != Some(1) {
            return Ok(None);
        }
        Ok(read.results::<AttemptRow>()?.into_iter().next())
    }

    /// The gateway created the order: the QR code or wallet page exists.
    pub async fn attempt_created(
        &self,
        id: &str,
        syssn: Option<&str>,
        qrcode: Option<&str>,
        redirect_url: Option<&str>,
    ) -> Result<bool> {
        let from = quoted(&AttemptStatus::sources(AttemptEvent::Created), AttemptStatus::as_str);
        let to = AttemptStatus::Creating.on(AttemptEvent::Created).expect("creating becomes pending");
        let changed = self
            .run(
                &format!(
                    "UPDATE attempts SET status = ?1, syssn = ?2, qrcode = ?3, redirect_url = ?4, respcd = '0000' WHERE id = ?5 AND status IN ({from})"
                ),
                &[s(to.as_str()), text(syssn), text(qrcode), text(redirect_url), s(id)],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Holds an attempt the gateway reported paid for another amount or currency, with its
    /// event, in one transaction. True if this call held it.
    pub async fn hold_attempt(
        &self,
        id: &str,
        syssn: Option<&str>,
        txamt: Option<u64>,
        event: &super::NewEvent,
    ) -> Result<bool> {
        let from = quoted(&AttemptStatus::sources(AttemptEvent::Mismatch), AttemptStatus::as_str);
        let held = AttemptStatus::Held.as_str();
        let statements = vec![
            self.stmt(
                &format!(
                    "UPDATE attempts SET status = ?1, syssn = COALESCE(?2, syssn), held_txamt = ?3, next_check_at = NULL \
                     WHERE id = ?4 AND status IN ({from})"
                ),
                &[s(held), text(syssn), txamt.map_or(worker::wasm_bindgen::JsValue::NULL, num), s(id)],
            )?,
            self.event_stmt(event, "SELECT 1 FROM attempts WHERE id = ?9 AND status = ?10", &[s(id), s(held)])?,
        ];
        let held = self.batch(statements).await?[0] == 1;
        if held {
            self.note_changed(&event.session_id);
        }
        Ok(held)
    }

    /// Forgets an attempt whose payment was never sent (the budget was used up): the gateway
    /// never heard of it, so it is no attempt at all and does not count toward the session's
    /// cap. Only while it is still `creating`.
    pub async fn forget_unsent_attempt(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM attempts WHERE id = ?1 AND status = ?2", &[s(id), s(AttemptStatus::Creating.as_str())])
            .await?;
        Ok(())
    }

    /// The gateway answered the payment "still confirming" (`code`): the attempt stays open
    /// (still `creating`, with no QR code) and is queried at `query_at`.
    pub async fn attempt_pending(&self, id: &str, code: &str, query_at: u64) -> Result<()> {
        self.run(
            &format!(
                "UPDATE attempts SET respcd = ?1, next_check_at = ?2 WHERE id = ?3 AND status IN ({})",
                open_list()
            ),
            &[s(code), num(query_at), s(id)],
        )
        .await?;
        Ok(())
    }

    /// Applies `event` (not `Paid`: see `pay_session`) as the state machine says; true if
    /// this call changed the attempt. A final attempt needs no more queries.
    pub async fn end_attempt(&self, id: &str, event: AttemptEvent, respcd: Option<&str>) -> Result<bool> {
        let from = AttemptStatus::sources(event);
        // Every source leads to the same state for these events (the state machine's tests
        // say so); `Paid` is not one of them.
        let Some(to) = AttemptStatus::Pending.on(event) else { return Ok(false) };
        let sql = format!(
            "UPDATE attempts SET status = ?1, respcd = COALESCE(?2, respcd), next_check_at = NULL WHERE id = ?3 AND status IN ({}) \
             RETURNING session_id",
            quoted(&from, AttemptStatus::as_str)
        );
        Ok(self.run_noting_sessions(&sql, &[s(to.as_str()), text(respcd), s(id)]).await? == 1)
    }

    /// A reversal the gateway confirmed, in one transaction with what it means. An open
    /// attempt ends as `open_end` says (`reversed` for a charge; `closed` or `expired` for a
    /// QR code, which nobody paid). One the gateway reported paid meanwhile (the payment and the
    /// reversal crossed) ends `reversed` too, since the money went back: if it had paid its
    /// session, the session becomes `reversed`, and `event` (`payment.reversed`) is written in
    /// the same batch, so a crash cannot leave the session `paid` for money returned. Returns
    /// whether the attempt changed and whether it had been recorded paid.
    pub async fn end_attempt_by_reversal(
        &self,
        id: &str,
        session_id: &str,
        open_end: AttemptEvent,
        event: &super::NewEvent,
    ) -> Result<(bool, bool)> {
        let from = quoted(&AttemptStatus::sources(open_end), AttemptStatus::as_str);
        let Some(open_to) = AttemptStatus::Pending.on(open_end) else { return Ok((false, false)) };
        let (paid, reversed) = (AttemptStatus::Paid.as_str(), AttemptStatus::Reversed.as_str());
        debug_assert_eq!(AttemptStatus::Paid.on_reversal_of_paid(), Some(AttemptStatus::Reversed));
        let statements = vec![
            self.stmt(
                &format!("UPDATE attempts SET status = ?1, next_check_at = NULL WHERE id = ?2 AND status IN ({from})"),
                &[s(open_to.as_str()), s(id)],
            )?,
            // Before the attempt's own change: it needs the attempt still `paid`.
            self.stmt(
                "UPDATE sessions SET status = ?1 WHERE id = ?2 AND status = ?3 AND paid_attempt_id = ?4 \
                 AND EXISTS (SELECT 1 FROM attempts WHERE id = ?4 AND status = ?3)",
                &[s(SessionStatus::Reversed.as_str()), s(session_id), s(paid), s(id)],
            )?,
            self.stmt(
                "UPDATE attempts SET status = ?1, next_check_at = NULL WHERE id = ?2 AND status = ?3",
                &[s(reversed), s(id), s(paid)],
            )?,
            // Only an attempt that had been paid has a `paid_at`.
            self.event_stmt(
                event,
                "SELECT 1 FROM attempts WHERE id = ?9 AND status = ?10 AND paid_at IS NOT NULL",
                &[s(id), s(reversed)],
            )?,
        ];
        let changes = self.batch(statements).await?;
        let (ended_open, ended_paid) = (changes[0] == 1, changes[2] == 1);
        if ended_open || ended_paid {
            self.note_changed(session_id);
        }
        Ok((ended_open || ended_paid, ended_paid))
    }

    /// Open attempts whose query is due by `until`, soonest first.
    pub async fn attempts_due_for_query(&self, until: u64, limit: usize) -> Result<Vec<AttemptRow>> {
        self.all(
            &format!(
                "SELECT * FROM attempts WHERE next_check_at <= ?1 AND status IN ({}) ORDER BY next_check_at LIMIT ?2",
                open_list()
            ),
            &[num(until), num(limit as u64)],
        )
        .await
    }

    /// Records a query made at `now` and plans the next one (`None`: no more queries), if the
    /// attempt is still open: a final one needs none.
    pub async fn attempt_checked(&self, id: &str, now: u64, next: Option<u64>) -> Result<()> {
        self.run(
            &format!(
                "UPDATE attempts SET last_checked_at = ?1, next_check_at = ?2 WHERE id = ?3 AND status IN ({})",
                open_list()
            ),
            &[num(now), next.map_or(worker::wasm_bindgen::JsValue::NULL, num), s(id)],
        )
        .await?;
        Ok(())
    }

    /// An open attempt whose due query was not made (no answer, no budget): asked at `at`.
    pub async fn query_again_at(&self, id: &str, at: u64) -> Result<()> {
        self.run(
            &format!("UPDATE attempts SET next_check_at = ?1 WHERE id = ?2 AND status IN ({})", open_list()),
            &[num(at), s(id)],
        )
        .await?;
        Ok(())
    }

    /// Open attempts that must be closed at the gateway now: their session is over, or their
    /// own time is up; a close that failed waits for its retry time.
    pub async fn attempts_to_close(&self, now: u64, limit: u32) -> Result<Vec<AttemptRow>> {
        self.all(
            &format!(
                "SELECT a.* FROM attempts a JOIN sessions s ON s.id = a.session_id \
                 WHERE a.status IN ({}) AND a.next_close_at <= ?1 AND (s.status != ?2 OR a.expires_at <= ?1) \
                 ORDER BY a.next_close_at, a.expires_at LIMIT ?3",
                open_list()
            ),
            &[num(now), s(SessionStatus::Open.as_str()), num(u64::from(limit))],
        )
        .await
    }

    /// Claims the right to close an open attempt at the gateway now, for a while: true for one
    /// caller only, so concurrent requests (two pays, a close and the settler) send one close.
    pub async fn claim_close(&self, id: &str, now: u64) -> Result<bool> {
        let changed = self
            .run(
                &format!(
                    "UPDATE attempts SET next_close_at = ?1 WHERE id = ?2 AND next_close_at <= ?3 AND status IN ({})",
                    open_list()
                ),
                &[num(now + CLOSE_CLAIM_MS), s(id), num(now)],
            )
            .await?;
        Ok(changed == 1)
    }

    /// A reversal of an open attempt's order is about to be sent (`now`): until its answer,
    /// news of the order's payment is checked by a query rather than taken.
    pub async fn reversal_sending(&self, id: &str, now: u64) -> Result<()> {
        self.run(
            &format!("UPDATE attempts SET reversing_since = ?1 WHERE id = ?2 AND status IN ({})", open_list()),
            &[num(now), s(id)],
        )
        .await?;
        Ok(())
    }

    /// The reversal's answer is in (or none will come): payment news counts again.
    pub async fn reversal_answered(&self, id: &str) -> Result<()> {
        self.run("UPDATE attempts SET reversing_since = NULL WHERE id = ?1", &[s(id)]).await?;
        Ok(())
    }

    /// An order that nothing ends early: come back to it at `at` (after its own expiry). Not a
    /// try: nothing was sent.
    pub async fn close_at(&self, id: &str, at: u64) -> Result<()> {
        self.run("UPDATE attempts SET next_close_at = ?1 WHERE id = ?2", &[num(at), s(id)]).await?;
        Ok(())
    }

    /// A close that got no confirmation: try again at `at`.
    pub async fn close_failed(&self, id: &str, at: u64) -> Result<()> {
        self.run(
            "UPDATE attempts SET close_tries = close_tries + 1, next_close_at = ?1 WHERE id = ?2",
            &[num(at), s(id)],
        )
        .await?;
        Ok(())
    }

    /// Whether any attempt was created since `since` (the reconciliation has work to do).
    pub async fn attempts_since(&self, since: u64) -> Result<bool> {
        #[derive(serde::Deserialize)]
        struct Found {
            found: u64,
        }
        let row: Option<Found> =
            self.first("SELECT COUNT(*) AS found FROM attempts WHERE created_at >= ?1", &[num(since)]).await?;
        Ok(row.is_some_and(|r| r.found > 0))
    }

    /// How many attempts a session has started, and when the last one started.
    /// From the loaded rows when this session's are loaded (no round trip).
    pub async fn attempt_count(&self, session_id: &str) -> Result<(u64, Option<u64>)> {
        if let Some(rows) = self.cached_attempts(session_id) {
            return Ok((rows.len() as u64, rows.iter().map(|a| a.created_at).max()));
        }
        #[derive(serde::Deserialize)]
        struct Count {
            n: u64,
            last: Option<f64>,
        }
        let row: Option<Count> = self
            .first(
                "SELECT COUNT(*) AS n, MAX(created_at) AS last FROM attempts WHERE session_id = ?1",
                &[s(session_id)],
            )
            .await?;
        Ok(row.map_or((0, None), |r| (r.n, r.last.map(|t| t as u64))))
    }
}
