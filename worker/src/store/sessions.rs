//! Sessions: created, paid (with its event), expired, closing and closed.

use checkout_api::listing::SessionQuery;
use checkout_api::views::SessionView;
use checkout_api::{AttemptEvent, AttemptStatus, CloseReason, SessionStatus};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::Result;

use super::{num, quoted, s, text, AttemptRow, NewEvent, RefundRow, SessionRow, Store};

/// A new session's row.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub secret_hash: &'a str,
    pub amount: u64,
    pub currency: &'a str,
    pub goods_name: &'a str,
    pub reference: &'a str,
    pub pay_types_json: &'a str,
    pub return_url: Option<&'a str>,
    pub metadata_json: Option<&'a str>,
    pub created_at: u64,
    pub expires_at: u64,
}

/// An attempt the gateway says is paid, and the session as it was read.
#[derive(Clone, Copy)]
pub struct PaidAttempt<'a> {
    pub attempt_id: &'a str,
    pub session_id: &'a str,
    /// The session's status when read: the write happens only if it is unchanged.
    pub seen: SessionStatus,
    pub syssn: Option<&'a str>,
    pub paid_at: u64,
    /// The session was paid by another attempt: this one is a second payment.
    pub duplicate: bool,
    /// With `duplicate` and automatic refunds on: the second payment's refund, written in the
    /// same transaction as the payment and its event, with its due time, so a crash between
    /// them cannot leave a shopper charged twice with nothing owed.
    pub refund: Option<&'a super::NewRefund<'a>>,
}

/// Where a page of `GET /v1/sessions` starts: after this session in `(created_at, id)` order.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionCursor {
    pub created_at: u64,
    pub id: String,
}

impl Store {
    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>> {
        if let Some(row) = self.cached_session(id) {
            return Ok(row);
        }
        self.first("SELECT * FROM sessions WHERE id = ?1", &[s(id)]).await
    }

    pub async fn insert_session(&self, new: &NewSession<'_>) -> Result<()> {
        self.run(
            "INSERT INTO sessions (id, secret_hash, status, amount, currency, goods_name, reference, pay_types, return_url, metadata, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            &[
                s(new.id),
                s(new.secret_hash),
                s(SessionStatus::Open.as_str()),
                num(new.amount),
                s(new.currency),
                s(new.goods_name),
                s(new.reference),
                s(new.pay_types_json),
                text(new.return_url),
                text(new.metadata_json),
                num(new.created_at),
                num(new.expires_at),
            ],
        )
        .await?;
        Ok(())
    }

    /// Records an attempt paid, in one transaction with what it means for its session: if the
    /// session is not paid yet and is still as `seen`, this attempt pays it; if another
    /// attempt paid it, this one is a second payment. Either way the attempt is paid only
    /// together with a paid session (a stale `seen` changes nothing, and the caller reads
    /// again), and `event` is written only when its cause happened: the session paid by this
    /// attempt, or (`duplicate`) this attempt paid after another. Returns whether the attempt
    /// changed and whether the session was paid by it.
    pub async fn pay_session(&self, paid: &PaidAttempt<'_>, event: &NewEvent) -> Result<(bool, bool)> {
        let PaidAttempt { attempt_id, session_id, seen, syssn, paid_at, duplicate, refund } = *paid;
        let from = quoted(&AttemptStatus::sources(AttemptEvent::Paid), AttemptStatus::as_str);
        let paid_status = AttemptStatus::Paid.as_str();
        let cause = if duplicate {
            format!("SELECT 1 FROM sessions WHERE id = ?9 AND paid_attempt_id != ?10 AND EXISTS (SELECT 1 FROM attempts WHERE id = ?10 AND status = '{paid_status}')")
        } else {
            "SELECT 1 FROM sessions WHERE id = ?9 AND paid_attempt_id = ?10".to_owned()
        };
        let paid_by =
            if duplicate { "paid_attempt_id IS NOT NULL AND paid_attempt_id != ?4" } else { "paid_attempt_id = ?4" };
        let mut statements = vec![
            self.stmt(
                &format!(
                    "UPDATE sessions SET status = ?1, paid_at = ?2, paid_attempt_id = ?3 WHERE id = ?4 AND paid_attempt_id IS NULL AND status = ?5 \
                     AND EXISTS (SELECT 1 FROM attempts WHERE id = ?3 AND status IN ({from}))"
                ),
                &[s(SessionStatus::Paid.as_str()), num(paid_at), s(attempt_id), s(session_id), s(seen.as_str())],
            )?,
            // Paid only together with its cause: the session paid by this attempt (the UPDATE
            // above), or, as a second payment, paid by another. A first payment that lost a race
            // to another attempt changes nothing here; the caller reads again and records it as
            // a second payment, with its event and refund, in one batch.
            self.stmt(
                &format!(
                    "UPDATE attempts SET status = ?1, paid_at = ?2, syssn = COALESCE(?3, syssn), respcd = '0000', next_check_at = NULL \
                     WHERE id = ?4 AND status IN ({from}) AND EXISTS (SELECT 1 FROM sessions WHERE id = ?5 AND {paid_by})"
                ),
                &[s(paid_status), num(paid_at), text(syssn), s(attempt_id), s(session_id)],
            )?,
            self.event_stmt(event, &cause, &[s(session_id), s(attempt_id)])?,
        ];
        if let Some(refund) = refund.filter(|_| duplicate) {
            statements.push(self.automatic_refund_stmt(refund, &cause, &[s(session_id), s(attempt_id)])?);
        }
        // The session's rows are read again in the same transaction: what follows a payment
        // (closing the session's other attempts) sees the state it left, with no more reads.
        let changed = self.batch_then_load(statements, session_id).await?;
        if changed[1] == 1 {
            self.note_changed(session_id);
        }
        Ok((changed[1] == 1, changed[0] == 1))
    }

    /// Moves every open session whose time is up to `closing` (reason `expired`); no event yet:
    /// the merchant hears `checkout.session.expired` once the gateway confirmed it.
    pub async fn expire_due_sessions(&self, now: u64) -> Result<usize> {
        let (to, reason) = SessionStatus::Open.on_expiry().expect("an open session expires");
        self.run(
            "UPDATE sessions SET status = ?1, closing_reason = ?2 WHERE status = ?3 AND expires_at <= ?4",
            &[s(to.as_str()), s(reason.as_str()), s(SessionStatus::Open.as_str()), num(now)],
        )
        .await
    }

    /// Starts closing one session as the state machine says for `reason`; true if this call did.
    pub async fn start_closing(&self, id: &str, from: SessionStatus, reason: CloseReason) -> Result<bool> {
        let next = match reason {
            CloseReason::Expired => from.on_expiry(),
            CloseReason::Closed => from.on_close().ok().flatten(),
        };
        let Some((to, reason)) = next else { return Ok(false) };
        let changed = self
            .run(
                "UPDATE sessions SET status = ?1, closing_reason = ?2 WHERE id = ?3 AND status = ?4",
                &[s(to.as_str()), s(reason.as_str()), s(id), s(from.as_str())],
            )
            .await?;
        if changed == 1 {
            self.note_changed(id);
        }
        Ok(changed == 1)
    }

    /// Closing sessions none of whose attempts is open any more: ready to end.
    pub async fn sessions_ready_to_finish(&self, limit: u32) -> Result<Vec<SessionRow>> {
        self.all(
            &format!(
                "SELECT * FROM sessions s WHERE s.status = ?1 AND NOT EXISTS \
                 (SELECT 1 FROM attempts a WHERE a.session_id = s.id AND a.status IN ({})) ORDER BY s.expires_at LIMIT ?2",
                super::open_attempts()
            ),
            &[s(SessionStatus::Closing.as_str()), num(u64::from(limit))],
        )
        .await
    }

    /// Ends a closing session as `to` (expired or closed) with its event, only if no attempt
    /// of it is open any more: the gateway has confirmed each one closed. True if this call did.
    pub async fn finish_closing(&self, id: &str, to: SessionStatus, event: &NewEvent) -> Result<bool> {
        let open = super::open_attempts();
        let statements = vec![
            self.stmt(
                &format!(
                    "UPDATE sessions SET status = ?1 WHERE id = ?2 AND status = ?3 \
                     AND NOT EXISTS (SELECT 1 FROM attempts WHERE session_id = ?2 AND status IN ({open}))"
                ),
                &[s(to.as_str()), s(id), s(SessionStatus::Closing.as_str())],
            )?,
            self.event_stmt(event, "SELECT 1 FROM sessions WHERE id = ?9 AND status = ?10", &[s(id), s(to.as_str())])?,
        ];
        let finished = self.batch(statements).await?[0] == 1;
        if finished {
            self.note_changed(id);
        }
        Ok(finished)
    }

    /// The cursor a session id stands for, if the session exists (a primary-key read).
    pub async fn session_cursor(&self, id: &str) -> Result<Option<SessionCursor>> {
        self.first("SELECT created_at, id FROM sessions WHERE id = ?1", &[s(id)]).await
    }

    /// One page of sessions matching every filter given, oldest first by `(created_at, id)`,
    /// after `cursor`. One query: `sessions_by_reference` serves a reference,
    /// `sessions_by_status_created` a status, and `sessions_by_created` the order and the time
    /// range alone (migration 0003). Statuses are as stored: the list never settles a session.
    pub async fn list_sessions(
        &self,
        query: &SessionQuery,
        cursor: Option<&SessionCursor>,
        limit: u32,
    ) -> Result<Vec<SessionRow>> {
        let mut conditions: Vec<String> = Vec::new();
        let mut args: Vec<JsValue> = Vec::new();
        // Each `?` of a condition becomes the number of the value bound for it.
        let mut bind = |condition: &str, values: Vec<JsValue>| {
            let mut values = values.into_iter();
            let mut numbered = String::new();
            for ch in condition.chars() {
                numbered.push(ch);
                if ch == '?' {
                    args.push(values.next().expect("a value for each ?"));
                    numbered.push_str(&args.len().to_string());
                }
            }
            conditions.push(numbered);
        };
        if let Some(reference) = &query.reference {
            bind("reference = ?", vec![s(reference)]);
        }
        if let Some(status) = query.status {
            bind("status = ?", vec![s(status.as_str())]);
        }
        // The bounds are whole seconds, the column milliseconds: a session shown as created in
        // second S (its milliseconds rounded down) is in [S, S + 1), as the bounds say.
        if let Some(t) = query.created_gte {
            bind("created_at >= ?", vec![num(t.start_ms())]);
        }
        if let Some(t) = query.created_lt {
            bind("created_at < ?", vec![num(t.start_ms())]);
        }
        if let Some(c) = cursor {
            bind("(created_at, id) > (?, ?)", vec![num(c.created_at), s(&c.id)]);
        }
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        args.push(num(u64::from(limit)));
        let sql = format!("SELECT * FROM sessions {filter} ORDER BY created_at, id LIMIT ?{}", args.len());
        self.all(&sql, &args).await
    }

    /// The sessions as the merchant sees them (as [`Store::session_view`] shows one), with the
    /// attempts and refunds of all of them read in one batch rather than two queries each.
    pub async fn session_views(&self, rows: &[SessionRow]) -> Result<Vec<SessionView>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(&rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>()).unwrap_or_default();
        self.counted();
        let results = self
            .db
            .batch(vec![
                self.stmt(
                    "SELECT * FROM attempts WHERE session_id IN (SELECT value FROM json_each(?1)) ORDER BY created_at, id",
                    &[s(&ids)],
                )?,
                self.stmt(
                    "SELECT * FROM refunds WHERE session_id IN (SELECT value FROM json_each(?1)) ORDER BY created_at, id",
                    &[s(&ids)],
                )?,
            ])
            .await?;
        let mut results = results.into_iter();
        let attempts: Vec<AttemptRow> = results.next().map(|r| r.results()).transpose()?.unwrap_or_default();
        let refunds: Vec<RefundRow> = results.next().map(|r| r.results()).transpose()?.unwrap_or_default();
        Ok(rows
            .iter()
            .map(|row| {
                let mine = attempts.iter().filter(|a| a.session_id == row.id).map(AttemptRow::view).collect();
                let theirs = refunds.iter().filter(|r| r.session_id == row.id).map(RefundRow::view).collect();
                row.view(mine, theirs)
            })
            .collect())
    }
}
