//! Refunds: the amount reserved with the row, the gateway's outcome applied once with its
//! event, a failed merchant refund's amount given back once.

use checkout_api::{RefundEvent, RefundStatus};
use worker::wasm_bindgen::JsValue;
use worker::Result;

use super::{num, s, text, NewEvent, RefundRow, Store};

/// A new refund's row.
pub struct NewRefund<'a> {
    pub id: &'a str,
    pub session_id: &'a str,
    pub attempt_id: &'a str,
    pub out_trade_no: &'a str,
    pub amount: u64,
    pub reason: Option<&'a str>,
    pub txdtm: &'a str,
    pub created_at: u64,
}

/// A refund whose sending request died is taken up by the settler after this long (ms).
const ORPHAN_AFTER_MS: u64 = 30_000;

impl NewRefund<'_> {
    /// `?1`..`?10` of the INSERTs below. The settler takes the refund up at `?10` should the
    /// request that sends it die first.
    fn args(&self) -> [JsValue; 10] {
        [
            s(self.id),
            s(self.session_id),
            s(self.attempt_id),
            s(self.out_trade_no),
            num(self.amount),
            text(self.reason),
            s(RefundStatus::Pending.as_str()),
            s(self.txdtm),
            num(self.created_at),
            num(self.created_at + ORPHAN_AFTER_MS),
        ]
    }
}

impl Store {
    pub async fn refunds(&self, session_id: &str) -> Result<Vec<RefundRow>> {
        if let Some(rows) = self.cached_refunds(session_id) {
            return Ok(rows);
        }
        self.all("SELECT * FROM refunds WHERE session_id = ?1 ORDER BY created_at, id", &[s(session_id)]).await
    }

    pub async fn refund(&self, id: &str) -> Result<Option<RefundRow>> {
        self.first("SELECT * FROM refunds WHERE id = ?1", &[s(id)]).await
    }

    /// The refund sent under `out_trade_no`, its current number or an earlier one.
    pub async fn refund_by_out_trade_no(&self, out_trade_no: &str) -> Result<Option<RefundRow>> {
        self.first(
            "SELECT * FROM refunds WHERE out_trade_no = ?1 \
             OR id = (SELECT refund_id FROM refund_numbers WHERE out_trade_no = ?1)",
            &[s(out_trade_no)],
        )
        .await
    }

    /// A send under the refund's current number got no answer: the gateway may have acted on
    /// it, so the number must be kept until a query settles it.
    pub async fn refund_number_unsure(&self, id: &str) -> Result<()> {
        self.run("UPDATE refunds SET number_unsure = 1 WHERE id = ?1", &[s(id)]).await?;
        Ok(())
    }

    /// Records a merchant refund and reserves its amount on the session, in one transaction,
    /// only if the session has that much left to refund and its payment still stands (not
    /// reversed meanwhile): concurrent refunds can never add up past the payment. False when it
    /// had not.
    pub async fn reserve_refund(&self, new: &NewRefund<'_>) -> Result<bool> {
        let statements = vec![
            self.stmt(
                "INSERT INTO refunds (id, session_id, attempt_id, out_trade_no, amount, reason, status, automatic, txdtm, created_at, next_try_at) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10 FROM sessions WHERE id = ?2 AND amount_refunded + ?5 <= amount \
                 AND EXISTS (SELECT 1 FROM attempts WHERE id = ?3 AND status = 'paid')",
                &new.args(),
            )?,
            self.stmt(
                "UPDATE sessions SET amount_refunded = amount_refunded + ?1 WHERE id = ?2 AND EXISTS (SELECT 1 FROM refunds WHERE id = ?3)",
                &[num(new.amount), s(new.session_id), s(new.id)],
            )?,
        ];
        Ok(self.batch(statements).await?[0] == 1)
    }

    /// Records a merchant refund of a payment that did not pay its session (a second payment,
    /// a held one), only if that payment has `amount` left to refund out of `paid`: its other
    /// refunds, pending or done, automatic or not, count against it, so a failed one frees its
    /// amount for a retry. Nothing is reserved on the session, whose `amount_refunded` is its
    /// own payment's. False when there was not that much left.
    pub async fn reserve_payment_refund(&self, new: &NewRefund<'_>, paid: u64) -> Result<bool> {
        let mut args = new.args().to_vec();
        args.push(num(paid));
        args.push(s(RefundStatus::Failed.as_str()));
        let inserted = self
            .run(
                "INSERT INTO refunds (id, session_id, attempt_id, out_trade_no, amount, reason, status, automatic, txdtm, released, created_at, next_try_at) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, 1, ?9, ?10 \
                 WHERE (SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE attempt_id = ?3 AND status != ?12) + ?5 <= ?11 \
                 AND EXISTS (SELECT 1 FROM attempts WHERE id = ?3 AND status IN ('paid', 'held'))",
                &args,
            )
            .await?;
        Ok(inserted == 1)
    }

    /// The automatic refund of a second payment as a statement of a larger batch: written only
    /// when `condition` (its `?9`, `?10` bound to `cause_args`, as an event's) holds.
    pub(super) fn automatic_refund_stmt(
        &self,
        new: &NewRefund<'_>,
        condition: &str,
        cause_args: &[JsValue],
    ) -> Result<worker::D1PreparedStatement> {
        let mut args: Vec<JsValue> = new.args().to_vec();
        args.extend(cause_args.iter().cloned());
        self.stmt(
            &format!(
                "INSERT OR IGNORE INTO refunds (id, session_id, attempt_id, out_trade_no, amount, reason, status, automatic, txdtm, released, created_at, next_try_at) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, 1, ?9, ?10 WHERE EXISTS ({})",
                condition.replace("?9", "?11").replace("?10", "?12")
            ),
            &args,
        )
    }

    /// The pending automatic refund of a second payment, if one was recorded.
    pub async fn automatic_refund_of(&self, attempt_id: &str) -> Result<Option<RefundRow>> {
        self.first(
            "SELECT * FROM refunds WHERE attempt_id = ?1 AND automatic = 1 AND status = ?2",
            &[s(attempt_id), s(RefundStatus::Pending.as_str())],
        )
        .await
    }

    /// Applies the gateway's final word on a refund (or our giving up on one: then it is asked
    /// about again at `recheck_at`) with its event, in one transaction; a failed refund gives its
    /// reserved amount back (once). True if this call changed it.
    pub async fn end_refund(
        &self,
        refund: &RefundRow,
        outcome: RefundEvent,
        syssn: Option<&str>,
        respcd: Option<&str>,
        recheck_at: Option<u64>,
        event: &NewEvent,
    ) -> Result<bool> {
        // From the status it was read in: pending, or unresolved when the gateway's late word
        // comes. Two writers racing apply it once.
        let from = refund.status();
        let Some(to) = from.on(outcome) else { return Ok(false) };
        let failed = RefundStatus::Failed.as_str();
        let mut statements = vec![
            self.stmt(
                "UPDATE refunds SET status = ?1, syssn = COALESCE(?2, syssn), respcd = COALESCE(?3, respcd), next_try_at = ?6 \
                 WHERE id = ?4 AND status = ?5",
                &[
                    s(to.as_str()),
                    text(syssn),
                    text(respcd),
                    s(&refund.id),
                    s(from.as_str()),
                    recheck_at.map_or(JsValue::NULL, num),
                ],
            )?,
            self.stmt(
                "UPDATE sessions SET amount_refunded = amount_refunded - ?1 WHERE id = ?2 \
                 AND EXISTS (SELECT 1 FROM refunds WHERE id = ?3 AND status = ?4 AND released = 0)",
                &[num(refund.amount), s(&refund.session_id), s(&refund.id), s(failed)],
            )?,
            self.stmt("UPDATE refunds SET released = 1 WHERE id = ?1 AND status = ?2", &[s(&refund.id), s(failed)])?,
            self.event_stmt(event, "SELECT 1 FROM refunds WHERE id = ?9 AND status = ?10", &[s(&refund.id), s(to.as_str())])?,
        ];
        if from == RefundStatus::Failed && to == RefundStatus::Succeeded {
            // Refunded after all: a merchant refund of the session's own payment holds its
            // amount again (it may now add up past the payment: the shopper got it twice).
            let succeeded = RefundStatus::Succeeded.as_str();
            statements.push(self.stmt(
                "UPDATE sessions SET amount_refunded = amount_refunded + ?1 WHERE id = ?2 AND EXISTS \
                 (SELECT 1 FROM refunds r WHERE r.id = ?3 AND r.status = ?4 AND r.released = 1 AND r.automatic = 0 \
                  AND r.attempt_id = sessions.paid_attempt_id)",
                &[num(refund.amount), s(&refund.session_id), s(&refund.id), s(succeeded)],
            )?);
            statements.push(self.stmt(
                "UPDATE refunds SET released = 0 WHERE id = ?1 AND status = ?2 AND automatic = 0 \
                 AND attempt_id = (SELECT paid_attempt_id FROM sessions WHERE id = ?3)",
                &[s(&refund.id), s(succeeded), s(&refund.session_id)],
            )?);
        }
        Ok(self.batch(statements).await?[0] == 1)
    }

    /// A refund whose outcome is still unknown (or refused during the blackout): try again at
    /// `at`, with `txdtm` (the one the next send must carry) and the gateway's last code, `None`
    /// when no answer came (then the next step is a query, never a fresh send).
    pub async fn refund_retry_at(&self, id: &str, at: u64, txdtm: &str, respcd: Option<&str>) -> Result<()> {
        self.refund_retry(id, at, txdtm, respcd, false).await
    }

    /// [`Store::refund_retry_at`] for a refund the gateway says it has, in progress: remembered
    /// for good (`gateway_had`), so no later answer without its row ends it as never made.
    pub async fn refund_in_progress_at(&self, id: &str, at: u64, txdtm: &str, respcd: &str) -> Result<()> {
        self.refund_retry(id, at, txdtm, Some(respcd), true).await
    }

    async fn refund_retry(&self, id: &str, at: u64, txdtm: &str, respcd: Option<&str>, had: bool) -> Result<()> {
        self.run(
            "UPDATE refunds SET tries = tries + 1, next_try_at = ?1, txdtm = ?2, respcd = ?3, \
             gateway_had = MAX(gateway_had, ?6) WHERE id = ?4 AND status = ?5",
            &[num(at), s(txdtm), text(respcd), s(id), s(RefundStatus::Pending.as_str()), num(u64::from(had))],
        )
        .await?;
        Ok(())
    }

    /// A pending refund nothing was asked or sent about this time: due again at `at`, its
    /// tries and codes unchanged.
    pub async fn refund_due_again(&self, id: &str, at: u64) -> Result<()> {
        self.run(
            "UPDATE refunds SET next_try_at = ?1 WHERE id = ?2 AND status = ?3",
            &[num(at), s(id), s(RefundStatus::Pending.as_str())],
        )
        .await?;
        Ok(())
    }

    /// A refund the gateway refused for now (`1265` in the nightly window): its number is used
    /// up (QFPay never takes an `out_trade_no` twice, refused requests included), so the re-send
    /// at `at` goes under `new_out_trade_no`. Only while it is pending.
    pub async fn renumber_refund(&self, id: &str, new_out_trade_no: &str, at: u64, respcd: &str) -> Result<()> {
        let pending = RefundStatus::Pending.as_str();
        let statements = vec![
            // The old number is kept first, so a late word about it still finds the refund.
            self.stmt(
                "INSERT OR IGNORE INTO refund_numbers (out_trade_no, refund_id) \
                 SELECT out_trade_no, id FROM refunds WHERE id = ?1 AND status = ?2",
                &[s(id), s(pending)],
            )?,
            self.stmt(
                "UPDATE refunds SET renumbered = renumbered + 1, number_unsure = 0, out_trade_no = ?1, \
                 next_try_at = ?2, txdtm = NULL, respcd = ?3 WHERE id = ?4 AND status = ?5",
                &[s(new_out_trade_no), num(at), s(respcd), s(id), s(pending)],
            )?,
        ];
        self.batch(statements).await?;
        Ok(())
    }

    /// Pending refunds due by `now`.
    pub async fn refunds_due(&self, now: u64, limit: usize) -> Result<Vec<RefundRow>> {
        // Pending refunds, and unresolved ones still watched, each by its own index.
        self.all(
            "SELECT * FROM (SELECT * FROM refunds WHERE status = ?1 AND next_try_at <= ?3 \
             UNION ALL SELECT * FROM refunds WHERE status = ?2 AND next_try_at <= ?3) \
             ORDER BY next_try_at LIMIT ?4",
            &[s(RefundStatus::Pending.as_str()), s(RefundStatus::Unresolved.as_str()), num(now), num(limit as u64)],
        )
        .await
    }

    /// Written before a refund is sent: one the gateway has no record of is ended only long
    /// after its last send.
    pub async fn refund_sending(&self, id: &str, now: u64) -> Result<()> {
        self.run("UPDATE refunds SET last_sent_at = ?1 WHERE id = ?2", &[num(now), s(id)]).await?;
        Ok(())
    }

    /// An `unresolved` refund's next question to the gateway, or none (`at` `None`): only a
    /// person ends it then.
    pub async fn refund_recheck_at(&self, id: &str, at: Option<u64>) -> Result<()> {
        self.run(
            "UPDATE refunds SET next_try_at = ?1 WHERE id = ?2 AND status = ?3",
            &[at.map_or(JsValue::NULL, num), s(id), s(RefundStatus::Unresolved.as_str())],
        )
        .await?;
        Ok(())
    }

    /// A recorded notification, stored once by `syssn`.
    pub async fn store_notification(
        &self,
        syssn: &str,
        notify_type: &str,
        out_trade_no: &str,
        body: &str,
        now: u64,
    ) -> Result<()> {
        self.run(
            "INSERT OR IGNORE INTO notifications (syssn, notify_type, out_trade_no, body, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[s(syssn), s(notify_type), s(out_trade_no), s(body), num(now)],
        )
        .await?;
        Ok(())
    }

    /// Stored notifications whose order number no attempt or refund has: the newest `limit`.
    pub async fn unmatched_notifications(&self, limit: u32) -> Result<Vec<NotificationRow>> {
        self.all(
            "SELECT n.syssn, n.notify_type, n.out_trade_no, n.received_at FROM notifications n WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.out_trade_no = n.out_trade_no) \
             AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.out_trade_no = n.out_trade_no) \
             ORDER BY n.received_at DESC LIMIT ?1",
            &[num(u64::from(limit))],
        )
        .await
    }
}

/// A stored notification.
#[derive(Debug, serde::Deserialize)]
pub struct NotificationRow {
    pub syssn: String,
    pub notify_type: String,
    pub out_trade_no: String,
    pub received_at: u64,
}
