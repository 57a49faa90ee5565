//! Orders at the gateway: queried, their rows applied to attempts, and ended so that they cannot
//! be paid. How an order ends depends on its pay type (QFPay's documentation, `qfpay::tables::
//! end_order`, with the merchant's `END_ORDER` overrides): a reversal (Alipay, WeChat Pay CPM),
//! a close (WeChat Pay MPM), or nothing at all for the Hong Kong types, whose orders are followed
//! to their own expiry and then asked once. Every path has a cap: after [`MAX_END_TRIES`] the
//! attempt gets its final state.

use checkout_api::budget::CallClass;
use checkout_api::events::EventType;
use checkout_api::{upstream, ApiError, AttemptEvent, AttemptStatus, SessionStatus};
use qfpay::tables::EndOrder;
use qfpay::verdict::{EndVerdict, RowVerdict};
use qfpay::{CloseRequest, GatewayRequest, OrderChangeAnswer, OrderRef, QueryAnswer, QueryRow, ReversalRequest};

use crate::app::{App, OrInternal};
use crate::clock;
use crate::gateway::Called;
use crate::outbox;
use crate::store::{AttemptRow, SessionRow};

use super::{lookup, payment_reported, Reported, R};

/// The most tries to end one order (closes, reversals, queries after its expiry) before it is
/// given its final state; with the back-off of `upstream::order_change_retry_at` that is about
/// ten minutes of trying.
pub const MAX_END_TRIES: u64 = 8;
/// Queries after an order's own expiry before it is given its final state without an answer.
const AFTER_EXPIRY_TRIES: u64 = 3;
/// How long after an order's own expiry it is asked about (clocks differ).
const EXPIRY_GRACE_MS: u64 = 60_000;
/// How long an order the gateway never confirmed creating may be missing before it counts as
/// never made.
const NEVER_MADE_AFTER_MS: u64 = 60_000;

/// Applies a gateway query's row for an attempt (`None`: the gateway has no such order).
pub async fn apply_attempt_row(app: &App<'_>, attempt: &AttemptRow, row: Option<&QueryRow>) -> R<()> {
    let now = clock::now_ms();
    let respcd = row.and_then(|r| r.respcd.as_ref()).map(|r| r.code().to_owned());
    let ending = match qfpay::verdict::payment_row(row) {
        RowVerdict::Paid => {
            let row = row.expect("a paid verdict has a row");
            let reported =
                Reported { syssn: row.syssn.as_deref(), txamt: row.txamt, txcurrcd: row.txcurrcd.as_deref() };
            return payment_reported(app, attempt, &reported).await;
        }
        RowVerdict::Pending => return Ok(()),
        // The gateway never created this order: a lost request, not a payment.
        RowVerdict::NotFound if attempt.status() == AttemptStatus::Creating => {
            if now <= attempt.created_at + NEVER_MADE_AFTER_MS {
                return Ok(());
            }
            AttemptEvent::Failed
        }
        RowVerdict::NotFound => return Ok(()),
        RowVerdict::Expired => AttemptEvent::Expired,
        RowVerdict::Closed => AttemptEvent::Closed,
        RowVerdict::Failed(_) => AttemptEvent::Failed,
    };
    let code = respcd
        .as_deref()
        .or((ending == AttemptEvent::Failed && row.is_none()).then_some(qfpay::RespCode::NO_SUCH_ORDER));
    app.store.end_attempt(&attempt.id, ending, code).await.or_500()?;
    Ok(())
}

/// What trying to end an attempt at the gateway came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOutcome {
    /// It cannot be paid any more (or it was never created).
    Confirmed,
    /// It turned out paid: recorded as paid instead.
    Paid,
    /// Not yet: it stays open (ended later, or followed to its expiry) and the settler comes back.
    Unconfirmed,
}

/// Ends an open attempt so that it cannot be paid: by the endpoint its pay type allows, or, where
/// none does (or once its own expiry has passed), by asking the gateway after that expiry. If it
/// was paid meanwhile, the payment is recorded instead. An attempt ended because its own time ran
/// out ends `expired`; otherwise `closed` (`reversed` for a CPM charge).
pub async fn close_attempt(app: &App<'_>, session: &SessionRow, attempt: &AttemptRow) -> R<CloseOutcome> {
    if !attempt.status().is_open() {
        return Ok(if attempt.status() == AttemptStatus::Paid { CloseOutcome::Paid } else { CloseOutcome::Confirmed });
    }
    let now = clock::now_ms();
    // One caller ends it; another (a second pay, the settler) leaves it to that one.
    if !app.store.claim_close(&attempt.id, now).await.or_500()? {
        return Ok(CloseOutcome::Unconfirmed);
    }
    let how = app.settings.end_order(&attempt.pay_type);
    if is_cpm(&attempt.pay_type) {
        // A charge has no expiry of its own at the gateway (the attempt's 90 s are the till's):
        // it is reversed while the pay type allows and tries remain, else watched.
        if how == EndOrder::Reversal && attempt.close_tries < MAX_END_TRIES {
            return end_early(app, session, attempt, how, now).await;
        }
        return watch_charge(app, attempt, now).await;
    }
    let expired_at_gateway = now >= attempt.expires_at + EXPIRY_GRACE_MS;
    if how == EndOrder::None || expired_at_gateway || attempt.close_tries >= MAX_END_TRIES {
        return follow_to_expiry(app, session, attempt, now).await;
    }
    end_early(app, session, attempt, how, now).await
}

/// How long a charge nothing could reverse is watched: the shopper's payment code is valid for
/// a day (the guide), so after that it cannot be paid.
const CHARGE_WATCH_MS: u64 = 24 * 3_600_000;

/// A CPM charge that could not be reversed (a Hong Kong type, or reversals used up): asked
/// about with growing gaps (5 minutes to an hour) until it is final at the gateway, for at most
/// a day; a payment found meanwhile is recorded (a late payment the merchant hears of).
async fn watch_charge(app: &App<'_>, attempt: &AttemptRow, now: u64) -> R<CloseOutcome> {
    if let Some(answer) = query_order(app, attempt, CallClass::Close).await? {
        apply_attempt_row(app, attempt, answer.payment(&attempt.out_trade_no)).await?;
    }
    match app.store.attempt(&attempt.id).await.or_500()?.map(|a| a.status()) {
        Some(AttemptStatus::Paid) => return Ok(CloseOutcome::Paid),
        Some(s) if !s.is_open() => return Ok(CloseOutcome::Confirmed),
        _ => {}
    }
    if now >= attempt.created_at + CHARGE_WATCH_MS {
        worker::console_error!(
            "charge {}: never reversed nor confirmed in a day; ended expired (its payment code has expired)",
            attempt.out_trade_no
        );
        app.store.end_attempt(&attempt.id, AttemptEvent::Expired, None).await.or_500()?;
        return Ok(CloseOutcome::Confirmed);
    }
    let gap = now.saturating_sub(attempt.created_at).clamp(5 * 60_000, 3_600_000);
    app.store.close_at(&attempt.id, now + gap).await.or_500()?;
    Ok(CloseOutcome::Unconfirmed)
}

/// An order nothing can end early (or one whose tries are used up): left alone until its own
/// expiry has passed, then asked once; unpaid then, it ends `expired`. A payment after that is a
/// late payment, found by notification or reconciliation.
async fn follow_to_expiry(app: &App<'_>, session: &SessionRow, attempt: &AttemptRow, now: u64) -> R<CloseOutcome> {
    let after_expiry = attempt.expires_at + EXPIRY_GRACE_MS;
    if now < after_expiry {
        app.store.close_at(&attempt.id, after_expiry).await.or_500()?;
        return Ok(CloseOutcome::Unconfirmed);
    }
    let Some(answer) = query_order(app, attempt, CallClass::Close).await? else {
        // Its own few tries after the expiry, whatever the closes before it used.
        if attempt.close_tries >= MAX_END_TRIES + AFTER_EXPIRY_TRIES {
            // Final: the gateway's expiry passed long ago and it could not be asked. Any payment
            // it shows later is a late payment, which the merchant hears of.
            worker::console_error!(
                "order {}: not confirmed after {MAX_END_TRIES} tries; ended expired",
                attempt.out_trade_no
            );
            app.store.end_attempt(&attempt.id, AttemptEvent::Expired, None).await.or_500()?;
            return Ok(CloseOutcome::Confirmed);
        }
        retry_later(app, attempt, now).await?;
        return Ok(CloseOutcome::Unconfirmed);
    };
    let row = answer.payment(&attempt.out_trade_no);
    apply_attempt_row(app, attempt, row).await?;
    let status = app.store.attempt(&attempt.id).await.or_500()?.map(|a| a.status());
    match status {
        Some(AttemptStatus::Paid) => Ok(CloseOutcome::Paid),
        Some(s) if !s.is_open() => Ok(CloseOutcome::Confirmed),
        // Still waiting or unknown to the gateway after its own expiry: it can no longer be paid.
        _ => {
            let _ = session;
            app.store.end_attempt(&attempt.id, AttemptEvent::Expired, None).await.or_500()?;
            Ok(CloseOutcome::Confirmed)
        }
    }
}

/// Ends an order before its expiry by its pay type's endpoint. A reversal comes only after a
/// query could not settle the status (QFPay: reversal is the last resort, and a paid order is
/// never reversed, only refunded).
async fn end_early(
    app: &App<'_>,
    session: &SessionRow,
    attempt: &AttemptRow,
    how: EndOrder,
    now: u64,
) -> R<CloseOutcome> {
    if how == EndOrder::Reversal {
        let Some(answer) = query_order(app, attempt, CallClass::Close).await? else {
            retry_later(app, attempt, now).await?;
            return Ok(CloseOutcome::Unconfirmed);
        };
        apply_attempt_row(app, attempt, answer.payment(&attempt.out_trade_no)).await?;
        let fresh = app.store.attempt(&attempt.id).await.or_500()?;
        if let Some(status) = fresh.map(|a| a.status()).filter(|s| !s.is_open()) {
            return Ok(if status == AttemptStatus::Paid { CloseOutcome::Paid } else { CloseOutcome::Confirmed });
        }
    }
    if how == EndOrder::Reversal {
        app.store.reversal_sending(&attempt.id, now).await.or_500()?;
    }
    let sent = send_end(app, session.amount, attempt, how).await;
    let ended = matches!(&sent, Ok(Called::Answer(a)) if qfpay::verdict::end_order(a) == EndVerdict::Ended);
    if how == EndOrder::Reversal && !ended {
        // Whatever else the answer was (or if none came), payment news counts again; a
        // reversal that went through ends the attempt for good instead.
        app.store.reversal_answered(&attempt.id).await.or_500()?;
    }
    let answer = match sent? {
        Called::Answer(a) => a,
        Called::Unknown(_) | Called::NoBudget(_) => {
            retry_later(app, attempt, now).await?;
            return Ok(CloseOutcome::Unconfirmed);
        }
    };
    match qfpay::verdict::end_order(&answer) {
        EndVerdict::AlreadyPaid => already_paid(app, attempt, now).await,
        EndVerdict::Ended => {
            let cpm = is_cpm(&attempt.pay_type);
            let own_time_up = session.status() == SessionStatus::Open && now >= attempt.expires_at;
            let event = match (cpm, own_time_up) {
                (true, _) => AttemptEvent::Reversed,
                (false, true) => AttemptEvent::Expired,
                (false, false) => AttemptEvent::Closed,
            };
            if how == EndOrder::Reversal {
                end_by_reversal(app, attempt, event).await?;
            } else {
                app.store.end_attempt(&attempt.id, event, None).await.or_500()?;
            }
            crate::faults::crash_point(app, "after_order_ended")?;
            Ok(CloseOutcome::Confirmed)
        }
        EndVerdict::InProgress => {
            retry_later(app, attempt, now).await?;
            Ok(CloseOutcome::Unconfirmed)
        }
        // This gateway does not end this order (QFPay: "Hong Kong PayTypes do not support
        // transaction cancel"): follow it to its expiry instead of asking again.
        EndVerdict::NotEnded(code) => {
            worker::console_log!("order {}: {} refused ({code}); followed to its expiry", attempt.out_trade_no, how);
            app.store.close_failed(&attempt.id, attempt.expires_at + EXPIRY_GRACE_MS).await.or_500()?;
            Ok(CloseOutcome::Unconfirmed)
        }
    }
}

/// The gateway said the order was paid (`1260`): until a query confirms it, the attempt is
/// queried at once, and no new attempt may start on the word "closed".
async fn already_paid(app: &App<'_>, attempt: &AttemptRow, now: u64) -> R<CloseOutcome> {
    if let Some(answer) = query_order(app, attempt, CallClass::Close).await? {
        apply_attempt_row(app, attempt, answer.payment(&attempt.out_trade_no)).await?;
    }
    let paid = app.store.attempt(&attempt.id).await.or_500()?.is_some_and(|a| a.status() == AttemptStatus::Paid);
    if !paid {
        app.store.attempt_pending(&attempt.id, qfpay::RespCode::ALREADY_PAID, now).await.or_500()?;
        retry_later(app, attempt, now).await?;
    }
    Ok(CloseOutcome::Paid)
}

/// A try that settled nothing: counted, and the next one planned with back-off.
async fn retry_later(app: &App<'_>, attempt: &AttemptRow, now: u64) -> R<()> {
    let at = upstream::order_change_retry_at(now, attempt.close_tries as u32);
    app.store.close_failed(&attempt.id, at).await.or_500()
}

/// Whether a pay type is a CPM charge.
fn is_cpm(pay_type: &str) -> bool {
    qfpay::tables::pay_type(pay_type).is_some_and(|p| p.mode == qfpay::tables::PayMode::Cpm)
}

/// A reversal went through: the attempt ends, in one batch with what it means if the gateway
/// had meanwhile reported it paid (the payment and the reversal crossed). The money went back,
/// so that payment is `reversed`, its session too if it paid it, and the merchant hears
/// `payment.reversed`; a till polling the session is never told to hand over the goods.
async fn end_by_reversal(app: &App<'_>, attempt: &AttemptRow, open_end: AttemptEvent) -> R<()> {
    let session = app.store.session(&attempt.session_id).await.or_500()?.ok_or_else(super::gone)?;
    let mut view = app.store.session_view(&session).await.or_500()?;
    // As the batch leaves it, if the payment crossed: the event is written only then.
    if session.paid_attempt_id.as_deref().is_none_or(|paid| paid == attempt.id) {
        view.status = SessionStatus::Reversed;
    }
    for a in view.attempts.iter_mut().filter(|a| a.id == attempt.id) {
        a.status = AttemptStatus::Reversed;
    }
    let mut event = outbox::new_event(app, EventType::PaymentReversed, view, None);
    event.once_key = EventType::PaymentReversed.once_key(&attempt.id);
    let (_, was_paid) = app.store.end_attempt_by_reversal(&attempt.id, &session.id, open_end, &event).await.or_500()?;
    if was_paid {
        worker::console_error!(
            "payment {} was reversed after it was recorded paid: the money went back",
            attempt.out_trade_no
        );
        app.wake_settler(clock::now_ms()).await;
    }
    Ok(())
}

/// Sends the close or reversal `how` names, with the order's own `txdtm` (QFPay's
/// documentation: the original transaction's time).
async fn send_end(app: &App<'_>, amount: u64, attempt: &AttemptRow, how: EndOrder) -> R<Called<OrderChangeAnswer>> {
    // `syssn` too when known: it finds the order whatever month the gateway searches.
    let order = OrderRef {
        syssn: attempt.syssn.clone(),
        out_trade_no: Some(attempt.out_trade_no.clone()),
        txamt: amount,
        txdtm: clock::txdtm_at(attempt.created_at),
        ..Default::default()
    };
    let signed = match how {
        EndOrder::Reversal => ReversalRequest(order).sign(&app.settings.gateway.credentials),
        _ => CloseRequest(order).sign(&app.settings.gateway.credentials),
    }
    .map_err(ApiError::from)?;
    Ok(app.gateway().call(CallClass::Close, &signed, OrderChangeAnswer::parse, |a| &a.outcome.respcd).await)
}

/// Asks the gateway about one attempt's order, in the month(s) it was made; `None` when no
/// answer came.
pub async fn query_order(app: &App<'_>, attempt: &AttemptRow, class: CallClass) -> R<Option<QueryAnswer>> {
    let wanted = [lookup::Wanted::at(&attempt.out_trade_no, attempt.created_at)];
    let found = lookup::query(app, &wanted, class, 2).await?;
    Ok(found.unasked.is_empty().then_some(found.answer))
}
