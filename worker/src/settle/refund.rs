//! Refunds: sent (again, identically, when their answer was lost), settled by query, ended
//! with their event.

use checkout_api::budget::CallClass;
use checkout_api::events::EventType;
use checkout_api::{ids, upstream, ApiError, AttemptStatus, ErrorCode, RefundEvent, RefundStatus};
use qfpay::verdict::RefundVerdict;
use qfpay::{GatewayRequest, OrderChangeAnswer, QueryRow, RefundRequest, RespCode, Txdtm, HONG_KONG_OFFSET_SECONDS};

use crate::app::{App, OrInternal};
use crate::clock;
use crate::gateway::Called;
use crate::outbox;
use crate::random;
use crate::store::{AttemptRow, RefundRow};

use super::{gone, R};

/// Sends a recorded refund to the gateway (again, identically, when `refund.txdtm` is the
/// one sent before) and records what it says. A refusal ends it `failed` and gives the
/// reserved amount back; no answer, "in progress" or the nightly blackout leave it `pending`
/// with a time for the settler to take it up again.
pub async fn send_refund(app: &App<'_>, refund: &RefundRow, attempt: &AttemptRow) -> R<RefundRow> {
    // A payment reversed at the gateway went back already: a refund never sent is not sent
    // now (one sent before is still settled by query and identical re-sends).
    if attempt.status() == AttemptStatus::Reversed && refund.tries == 0 && refund.number_unsure == 0 {
        worker::console_error!(
            "refund {}: its payment was reversed (the money went back); not sent",
            refund.out_trade_no
        );
        end_refund(app, refund, RefundEvent::Failed, None, Some(PAYMENT_REVERSED)).await?;
        return reread(app, refund, clock::now_ms()).await;
    }
    let Some(syssn) = attempt.syssn.clone() else {
        return Err(ApiError::new(
            ErrorCode::PaymentNotSettled,
            "the payment's gateway number is not known yet; try again shortly",
        ));
    };
    let now = clock::now_ms();
    if now >= refund_made_at(refund) + upstream::REFUND_RESEND_FOR_MS {
        // Its number has been sent for a day: from now on it is only asked about, whoever
        // asks for a send (the settler, a repeated notification of the payment it refunds), so
        // that once it is given up no send of it can still be on its way.
        if refund.status() == RefundStatus::Pending {
            let txdtm = refund.txdtm.clone().unwrap_or_else(|| clock::txdtm_at(refund.created_at));
            let at = refund_next_at(refund, now);
            app.store.refund_retry_at(&refund.id, at, &txdtm, refund.respcd.as_deref()).await.or_500()?;
        }
        return reread(app, refund, now).await;
    }
    let txdtm = refund.txdtm.clone().unwrap_or_else(clock::txdtm_now);
    let request = RefundRequest {
        syssn,
        out_trade_no: refund.out_trade_no.clone(),
        txamt: refund.amount,
        txdtm: txdtm.clone(),
        udid: None,
        original_pay_type: Some(attempt.pay_type.clone()),
    };
    let signed = request.sign(&app.settings.gateway.credentials).map_err(ApiError::from)?;
    // Written before the call: if the request dies during it, the send still counts.
    app.store.refund_sending(&refund.id, now).await.or_500()?;
    let answer = match app
        .gateway()
        .call(CallClass::Refund, &signed, OrderChangeAnswer::parse, |a| &a.outcome.respcd)
        .await
    {
        Called::Answer(answer) => answer,
        // No answer: the outcome is unknown, so the number is kept (a re-send under the same
        // number is what stops a double refund) and the settler asks by query first.
        Called::Unknown(why) => {
            worker::console_error!("refund {}: no gateway answer ({why}); the settler asks again", refund.out_trade_no);
            app.store.refund_number_unsure(&refund.id).await.or_500()?;
            let at = refund_next_at(refund, now);
            app.store.refund_retry_at(&refund.id, at, &txdtm, None).await.or_500()?;
            return reread(app, refund, now).await;
        }
        // Never sent: the settler sends it once the refunds' budget has room (a query first
        // finds nothing, then the identical send goes).
        Called::NoBudget(wait) => {
            app.store.refund_retry_at(&refund.id, now + wait, &txdtm, None).await.or_500()?;
            return reread(app, refund, now).await;
        }
    };
    // Judged at the time the answer came, not when the call began.
    match qfpay::verdict::refund(&answer, clock::now_ms()) {
        RefundVerdict::Succeeded => {
            end_refund(app, refund, RefundEvent::Succeeded, answer.syssn.as_deref(), Some(RespCode::SUCCESS)).await?
        }
        // `1265` in 23:30-00:30 after an earlier send of this number got no answer: the
        // gateway may have refunded under it, so the number is kept and asked about after the
        // window (`sweep::refunds_in_blackout`); a new number could refund twice.
        RefundVerdict::AfterBlackout(at) if refund.number_unsure == 1 => {
            app.store.refund_retry_at(&refund.id, at, &txdtm, Some(RespCode::REFUND_BLACKOUT)).await.or_500()?;
        }
        // `1265` in 23:30-00:30: sent again after the window, under a new number (this one is
        // used up); a few nights at most, then it is final.
        RefundVerdict::AfterBlackout(at) if refund.renumbered < MAX_BLACKOUT_RESENDS => {
            let number = ids::refund_out_trade_no(&random::bytes());
            app.store.renumber_refund(&refund.id, &number, at, RespCode::REFUND_BLACKOUT).await.or_500()?;
        }
        RefundVerdict::AfterBlackout(_) => {
            end_refund(app, refund, RefundEvent::Failed, None, Some(RespCode::REFUND_BLACKOUT)).await?
        }
        RefundVerdict::Pending(code) => {
            let at = refund_next_at(refund, now);
            app.store.refund_in_progress_at(&refund.id, at, &txdtm, &code).await.or_500()?;
        }
        // Refused for good, a `1265` outside the window included (QFPay: special promotions).
        RefundVerdict::Refused(code) => end_refund(app, refund, RefundEvent::Failed, None, Some(&code)).await?,
    }
    reread(app, refund, now).await
}

/// The most times a refund refused in the nightly window is sent again (a new number each
/// time) before it ends `failed`.
const MAX_BLACKOUT_RESENDS: u64 = 3;

/// The code a refund never sent ends with when its payment was reversed.
const PAYMENT_REVERSED: &str = "reversed";

/// The refund as the store now has it, the settler woken for what is due.
async fn reread(app: &App<'_>, refund: &RefundRow, now: u64) -> R<RefundRow> {
    app.wake_settler(now).await;
    app.store
        .refund(&refund.id)
        .await
        .or_500()?
        .ok_or_else(|| ApiError::new(ErrorCode::InternalError, "refund vanished"))
}

/// Ends a refund with the gateway's final word (or our giving up on one) and its event, in one
/// transaction.
pub async fn end_refund(
    app: &App<'_>,
    refund: &RefundRow,
    outcome: RefundEvent,
    syssn: Option<&str>,
    respcd: Option<&str>,
) -> R<()> {
    if end_refund_as_read(app, refund, outcome, syssn, respcd).await? {
        return Ok(());
    }
    // Changed since it was read: the gateway's word racing our giving up (a notification of its
    // success read it `pending`, the settler made it `unresolved` first). Applied to the row as
    // it is now, so the word is not lost; once, as a second race is the gateway's own repeat.
    let Some(now_row) = app.store.refund(&refund.id).await.or_500()? else { return Ok(()) };
    if now_row.status != refund.status {
        end_refund_as_read(app, &now_row, outcome, syssn, respcd).await?;
    }
    Ok(())
}

/// [`end_refund`] on the row as read; true when it changed the refund (or nothing was to change).
async fn end_refund_as_read(
    app: &App<'_>,
    refund: &RefundRow,
    outcome: RefundEvent,
    syssn: Option<&str>,
    respcd: Option<&str>,
) -> R<bool> {
    let Some(to) = refund.status().on(outcome) else { return Ok(true) };
    let session = app.store.session(&refund.session_id).await.or_500()?.ok_or_else(gone)?;
    // Only a refund that holds part of the session's own amount gives it back.
    let releases = to == RefundStatus::Failed && refund.released == 0;
    let mut ended = refund.view();
    ended.respcd = respcd.map(str::to_owned).or(ended.respcd);
    let (mut session_view, refund_view) =
        outbox::refund_ended(app.store.session_view(&session).await.or_500()?, ended, to, releases);
    let refunded_after_all = refund.status() == RefundStatus::Failed && to == RefundStatus::Succeeded;
    if refunded_after_all {
        worker::console_error!(
            "refund {} was ended failed ({}) but the gateway refunded it after all: the money went back",
            refund.out_trade_no,
            refund.respcd.as_deref().unwrap_or("-")
        );
        // As the batch leaves it: a merchant refund of the session's own payment counts again.
        let holds_again =
            refund.automatic == 0 && session.paid_attempt_id.as_deref() == Some(refund.attempt_id.as_str());
        if holds_again && refund.released == 1 {
            session_view.amount_refunded += refund.amount;
        }
    }
    let kind = match (outcome, refund.automatic == 1) {
        (RefundEvent::Succeeded, true) => EventType::DuplicateRefunded,
        (RefundEvent::Succeeded, false) => EventType::RefundSucceeded,
        (RefundEvent::Failed, _) => EventType::RefundFailed,
        (RefundEvent::GaveUp, _) => EventType::RefundUnresolved,
    };
    let now = clock::now_ms();
    // Given up on, it is still asked about daily for a while.
    let recheck_at = match to {
        RefundStatus::Unresolved => upstream::unresolved_recheck_at(now, refund_made_at(refund)),
        _ => None,
    };
    let event = outbox::new_event(app, kind, session_view, Some(refund_view));
    let changed = app.store.end_refund(refund, outcome, syssn, respcd, recheck_at, &event).await.or_500()?;
    if changed {
        app.wake_settler(now).await;
    }
    Ok(changed)
}

/// How many times a refund the gateway shows no row of is sent again before it is ended
/// `failed` (a refused request leaves no row, and its number's re-send is answered "exists"
/// or with the same refusal for ever).
const MAX_REFUND_TRIES: u64 = 12;
/// ...and never sooner than this after it was recorded (ms): a gateway down for a while, or a
/// budget used up, counts tries without sending anything.
const NO_ROW_FINAL_AFTER_MS: u64 = 6 * 3_600_000;

/// The code a refund ends with when the gateway has no record of it long after its last send.
pub const NO_RECORD: &str = "no_record";

/// When the refund's current number was first sent (its `txdtm`): every send under that number
/// is identical and carries it, and a new number brings a new one.
pub fn refund_made_at(refund: &RefundRow) -> u64 {
    refund
        .txdtm
        .as_deref()
        .and_then(|t| Txdtm::parse("txdtm", t).ok())
        .map_or(refund.created_at, |t| t.to_unix(HONG_KONG_OFFSET_SECONDS).max(0) as u64 * 1000)
}

/// The refund as a query looks for it: in every month from its number's first send to its last.
pub fn refund_wanted(refund: &RefundRow) -> super::Wanted<'_> {
    let made_at = refund_made_at(refund);
    super::Wanted { out_trade_no: &refund.out_trade_no, made_at, last_at: refund.last_sent_at.unwrap_or(made_at) }
}

/// Whether the refund has had its days without a final word ([`upstream::REFUND_GIVE_UP_AFTER_MS`]
/// after its current number was first sent).
pub fn refund_given_up(refund: &RefundRow, now: u64) -> bool {
    now >= refund_made_at(refund) + upstream::REFUND_GIVE_UP_AFTER_MS
}

/// Whether a refund the gateway could not be asked about (no answer, no budget) is past its
/// days and an hour more of asking: given up without a last answer.
pub fn refund_unaskable(refund: &RefundRow, now: u64) -> bool {
    now >= refund_made_at(refund) + upstream::REFUND_GIVE_UP_AFTER_MS + upstream::REFUND_SLOW_GAP_MS
}

/// Whether a refund the gateway shows no row of ends `failed` (`no_record`) now: asked and sent
/// again this often, for this long, with every send answered; or given up with no send for two
/// days. Never one the gateway once said it has ("in progress"): only a row ends that one.
fn no_record_is_final(refund: &RefundRow, now: u64) -> bool {
    let old_enough = now >= refund.created_at + NO_ROW_FINAL_AFTER_MS;
    let every_send_answered = refund.tries >= MAX_REFUND_TRIES && old_enough && refund.number_unsure == 0;
    let given_up_quietly = refund_given_up(refund, now) && no_send_on_its_way(refund, now);
    (every_send_answered || given_up_quietly) && !gateway_had_it(refund)
}

/// Whether the gateway once said it has the refund: `gateway_had`, or (refunds from before it
/// was kept) a last word of "in progress" (`1143`/`1145`/`1298`).
fn gateway_had_it(refund: &RefundRow) -> bool {
    refund.gateway_had == 1 || said_in_progress(refund)
}

/// Whether the gateway's last word on the refund was "in progress".
fn said_in_progress(refund: &RefundRow) -> bool {
    refund.respcd.as_deref().is_some_and(|c| RespCode::new(c).class() == qfpay::tables::RespClass::PendingAskAgain)
}

/// Whether no send of the refund can still reach the gateway: its last one (or its recording,
/// when none is known) is [`upstream::REFUND_QUIET_MS`] old.
fn no_send_on_its_way(refund: &RefundRow, now: u64) -> bool {
    now >= refund.last_sent_at.unwrap_or(refund.created_at).max(refund.created_at) + upstream::REFUND_QUIET_MS
}

/// When a pending refund is asked about (or sent) next: with back-off, then hourly, counted from
/// its current number's first send.
pub fn refund_next_at(refund: &RefundRow, now: u64) -> u64 {
    upstream::refund_retry_at(now, refund_made_at(refund), refund.tries as u32)
}

/// Gives up on a refund the gateway has given no final word on in its days: `unresolved`, its
/// amount kept reserved (the gateway may yet refund it), the merchant told to check with QFPay.
pub async fn give_up_refund(app: &App<'_>, refund: &RefundRow, respcd: Option<&str>) -> R<()> {
    worker::console_error!(
        "refund {}: no final word from the gateway in {} days ({}); unresolved, check with QFPay",
        refund.out_trade_no,
        checkout_api::states::REFUND_GIVE_UP_AFTER_DAYS,
        respcd.unwrap_or("not asked")
    );
    end_refund(app, refund, RefundEvent::GaveUp, None, respcd).await
}

/// An `unresolved` refund the gateway still gave no final word on: asked again tomorrow, until
/// it has been watched for its days.
pub async fn recheck_unresolved(app: &App<'_>, refund: &RefundRow, now: u64) -> R<()> {
    let at = upstream::unresolved_recheck_at(now, refund_made_at(refund));
    app.store.refund_recheck_at(&refund.id, at).await.or_500()
}

/// Applies a gateway query's row for a pending or unresolved refund; `None` (the gateway has no
/// record of it) means a pending one is sent again, identically, in its first day.
///
/// Every path has an end: a row's final word; no row after [`MAX_REFUND_TRIES`] answered sends,
/// or once given up with no send for two days (`failed`, `no_record`); a row still in progress
/// once given up (`unresolved`, then asked daily for a while).
pub async fn apply_refund_row(app: &App<'_>, refund: &RefundRow, row: Option<&QueryRow>) -> R<()> {
    let now = clock::now_ms();
    let unresolved = refund.status() == RefundStatus::Unresolved;
    let Some(row) = row else {
        if no_record_is_final(refund, now) {
            worker::console_error!(
                "refund {}: no record at the gateway after {} tries; failed",
                refund.out_trade_no,
                refund.tries
            );
            return end_refund(app, refund, RefundEvent::Failed, None, Some(NO_RECORD)).await;
        }
        if unresolved {
            return recheck_unresolved(app, refund, now).await;
        }
        if gateway_had_it(refund) && refund_given_up(refund, now) {
            return give_up_refund(app, refund, None).await;
        }
        // Sent again, or (past its first day) only planned to be asked about again.
        let attempt = app.store.attempt(&refund.attempt_id).await.or_500()?;
        if let Some(attempt) = attempt {
            send_refund(app, refund, &attempt).await?;
        }
        return Ok(());
    };
    match qfpay::verdict::refund_row(Some(row)) {
        Some(RefundVerdict::Succeeded) => {
            end_refund(app, refund, RefundEvent::Succeeded, row.syssn.as_deref(), Some(RespCode::SUCCESS)).await
        }
        Some(RefundVerdict::Pending(_)) if unresolved => recheck_unresolved(app, refund, now).await,
        Some(RefundVerdict::Pending(code)) if refund_given_up(refund, now) => {
            give_up_refund(app, refund, Some(&code)).await
        }
        Some(RefundVerdict::Pending(code)) => {
            let at = refund_next_at(refund, now);
            let txdtm = refund.txdtm.clone().unwrap_or_else(clock::txdtm_now);
            app.store.refund_in_progress_at(&refund.id, at, &txdtm, &code).await.or_500()
        }
        Some(RefundVerdict::Refused(code)) => end_refund(app, refund, RefundEvent::Failed, None, Some(&code)).await,
        // A row never says "after the blackout"; the absent row was handled above.
        Some(RefundVerdict::AfterBlackout(_)) | None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;
    const DAY: u64 = 24 * HOUR;
    const T0: u64 = 1_780_000_000_000;

    fn refund() -> RefundRow {
        RefundRow {
            id: "re_1".into(),
            session_id: "cs_1".into(),
            attempt_id: "pa_1".into(),
            out_trade_no: "R1".into(),
            amount: 100,
            reason: None,
            status: "pending".into(),
            automatic: 0,
            respcd: None,
            created_at: T0,
            txdtm: Some(clock::txdtm_at(T0)),
            tries: 1,
            number_unsure: 1,
            renumbered: 0,
            released: 0,
            last_sent_at: Some(T0),
            gateway_had: 0,
        }
    }

    #[test]
    fn no_record_ends_a_refund_only_when_no_send_can_still_arrive() {
        let r = refund();
        assert!(!no_record_is_final(&r, T0 + HOUR), "young");
        assert!(!no_record_is_final(&r, T0 + 2 * DAY), "before its days");
        assert!(no_record_is_final(&r, T0 + 3 * DAY), "its days over, its last send two days old");
        let sent_late = RefundRow { last_sent_at: Some(T0 + 2 * DAY), ..refund() };
        assert!(!no_record_is_final(&sent_late, T0 + 3 * DAY), "sent a day ago");
        assert!(no_record_is_final(&sent_late, T0 + 4 * DAY));
        let answered = RefundRow { tries: 12, number_unsure: 0, ..refund() };
        assert!(no_record_is_final(&answered, T0 + 7 * HOUR), "a dozen answered tries over 6 hours");
        assert!(!no_record_is_final(&RefundRow { number_unsure: 1, ..answered }, T0 + 7 * HOUR), "one unanswered");
    }

    #[test]
    fn a_refund_the_gateway_said_it_has_never_ends_for_a_missing_row() {
        let had = RefundRow { gateway_had: 1, ..refund() };
        assert!(!no_record_is_final(&had, T0 + 10 * DAY));
        let in_progress = RefundRow { respcd: Some("1145".into()), ..refund() };
        assert!(!no_record_is_final(&in_progress, T0 + 10 * DAY));
        let answered = RefundRow { tries: 12, number_unsure: 0, gateway_had: 1, ..refund() };
        assert!(!no_record_is_final(&answered, T0 + 7 * HOUR));
    }
}
