//! A payment the gateway reports: the session paid by it (in time or late), a second payment
//! refunded automatically, a wrong amount held, a test-environment payment refunded at once.

use checkout_api::events::EventType;
use checkout_api::{ids, ApiError, AttemptStatus, ErrorCode, PaidHow, SessionStatus};

use crate::app::{App, OrInternal};
use crate::clock;
use crate::outbox;
use crate::random;
use crate::store::{AttemptRow, NewRefund, PaidAttempt, SessionRow, CLOSE_CLAIM_MS};

use super::{close_attempt, gone, send_refund, R};

/// How long after a session's end a payment still counts as in time (the notification's way).
const LATE_AFTER_MS: u64 = 120_000;
/// When a payment reported during its order's reversal is asked about.
const AFTER_REVERSAL_MS: u64 = 5_000;

/// Records that an attempt was paid. The first paid attempt of a session pays it and the
/// merchant hears `checkout.session.paid` (or `late_payment`, if they had closed it); a second
/// one (a shopper who paid two QR codes) is refunded automatically when configured.
pub async fn attempt_paid(app: &App<'_>, attempt: &AttemptRow, syssn: Option<&str>, paid_at: u64) -> R<()> {
    // Held (another amount) and reversed (money returned) are final: news of payment changes
    // neither, and never pays the session.
    let fresh = app.store.attempt(&attempt.id).await.or_500()?;
    let current = fresh.as_ref().map(|a| a.status());
    if matches!(current, Some(AttemptStatus::Held | AttemptStatus::Reversed)) {
        worker::console_log!("payment news for {} ignored: it is {:?}", attempt.out_trade_no, current);
        return Ok(());
    }
    // A reversal of this order is on its way: the payment reported may be the one it undoes
    // (QFPay says a paid order is never reversed, but a payment and a reversal can still cross
    // in flight). Nobody is told "paid" now; a query after the reversal's answer decides.
    let now = clock::now_ms();
    let reversing = fresh.as_ref().and_then(|a| a.reversing_since).is_some_and(|t| now < t + CLOSE_CLAIM_MS);
    if reversing && current.is_some_and(AttemptStatus::is_open) {
        worker::console_log!("payment news for {} during its reversal: a query decides", attempt.out_trade_no);
        app.store.query_again_at(&attempt.id, now + AFTER_REVERSAL_MS).await.or_500()?;
        app.wake_settler(now + AFTER_REVERSAL_MS).await;
        return Ok(());
    }
    // A session that changes between our read and our write is read again.
    for _ in 0..5 {
        let session = app.store.session(&attempt.session_id).await.or_500()?.ok_or_else(gone)?;
        let mut how = session.status().on_attempt_paid(session.closing_reason());
        // A Hong Kong order outlives its session (QFPay cannot cancel it; it lives its own 30
        // minutes): a payment learnt of well after the session's end is late, so a merchant who
        // released the goods at expiry hears of it as such.
        if how == Some(PaidHow::InTime)
            && session.status() != SessionStatus::Open
            && paid_at > session.expires_at + LATE_AFTER_MS
        {
            how = Some(PaidHow::Late);
        }
        let kind = match how {
            Some(PaidHow::InTime) => EventType::SessionPaid,
            Some(PaidHow::Late) => EventType::SessionLatePayment,
            // Paid already by another attempt: a second payment. With automatic refunds on,
            // the merchant hears of it as `payment.duplicate_refunded` once refunded.
            None => EventType::DuplicatePayment,
        };
        let view = outbox::paid(app.store.session_view(&session).await.or_500()?, &attempt.id, syssn, paid_at);
        let mut event = outbox::new_event(app, kind, view, None);
        let duplicate = how.is_none();
        if duplicate {
            // Once per second payment, not once per session.
            event.once_key = kind.once_key(&attempt.id);
        }
        // A second payment's automatic refund is owed from the moment it is recorded: written
        // in the same transaction (never for a pay type that cannot be refunded, FPS).
        let (refund_id, refund_number, txdtm) =
            (ids::refund_id(&random::bytes()), ids::refund_out_trade_no(&random::bytes()), clock::txdtm_now());
        let refundable = qfpay::tables::pay_type(&attempt.pay_type).is_none_or(|p| p.refundable);
        let owed = NewRefund {
            id: &refund_id,
            session_id: &session.id,
            attempt_id: &attempt.id,
            out_trade_no: &refund_number,
            amount: session.amount,
            reason: Some(DUPLICATE_REFUND_REASON),
            txdtm: &txdtm,
            created_at: clock::now_ms(),
        };
        let paid = PaidAttempt {
            attempt_id: &attempt.id,
            session_id: &session.id,
            seen: session.status(),
            syssn,
            paid_at,
            duplicate,
            refund: (duplicate && app.settings.auto_refund_double_payments && refundable).then_some(&owed),
        };
        let (_, won) = app.store.pay_session(&paid, &event).await.or_500()?;
        crate::faults::crash_point(app, "after_payment_recorded")?;
        if won {
            close_others(app, &attempt.id, &session.id).await?;
            if app.settings.refund_payments_at_once {
                refund_test_payment(app, &session.id).await?;
            }
            app.wake_settler(clock::now_ms()).await;
            return Ok(());
        }
        if duplicate {
            app.wake_settler(clock::now_ms()).await;
            return double_payment(app, &session, attempt).await;
        }
    }
    Err(ApiError::new(ErrorCode::Conflict, "the session kept changing; try again"))
}

/// What the gateway reported of a payment: its number, amount and currency, as far as the
/// report carries them.
pub struct Reported<'a> {
    pub syssn: Option<&'a str>,
    pub txamt: Option<u64>,
    pub txcurrcd: Option<&'a str>,
}

/// Applies a payment the gateway reports (notification, query row, close answer): paid when
/// amount and currency are the session's; otherwise `held`, never paid silently, and the
/// merchant is told (`payment.held`).
pub async fn payment_reported(app: &App<'_>, attempt: &AttemptRow, reported: &Reported<'_>) -> R<()> {
    let session = app.store.session(&attempt.session_id).await.or_500()?.ok_or_else(gone)?;
    let amount_differs = reported.txamt.is_some_and(|a| a != session.amount);
    let currency_differs = reported.txcurrcd.is_some_and(|c| !c.eq_ignore_ascii_case(&session.currency));
    if !(amount_differs || currency_differs) {
        return attempt_paid(app, attempt, reported.syssn, clock::now_ms()).await;
    }
    worker::console_error!(
        "payment {} reported for {:?} {:?}, the session is {} {}: held",
        attempt.out_trade_no,
        reported.txamt,
        reported.txcurrcd,
        session.amount,
        session.currency
    );
    let mut view = app.store.session_view(&session).await.or_500()?;
    for a in view.attempts.iter_mut().filter(|a| a.id == attempt.id) {
        a.status = AttemptStatus::Held;
    }
    let mut event = outbox::new_event(app, EventType::PaymentHeld, view, None);
    // Kept for a refund through the API only in the session's currency: an amount in another
    // one cannot be refunded in these minor units (QFPay's portal can).
    let held_amount = reported.txamt.filter(|_| !currency_differs);
    event.once_key = EventType::PaymentHeld.once_key(&attempt.id);
    if app.store.hold_attempt(&attempt.id, reported.syssn, held_amount, &event).await.or_500()? {
        app.wake_settler(clock::now_ms()).await;
    }
    Ok(())
}

/// Closes a paid session's other open attempts at once, so a second QR code stops being
/// payable now; a close that finds one paid too starts its automatic refund. A close that
/// fails is left to the settler, which retries it.
async fn close_others(app: &App<'_>, paid_attempt: &str, session_id: &str) -> R<()> {
    let Some(session) = app.store.session(session_id).await.or_500()? else { return Ok(()) };
    let attempts = app.store.attempts(session_id).await.or_500()?;
    for other in attempts.iter().filter(|a| a.id != paid_attempt && a.status().is_open()) {
        Box::pin(close_attempt(app, &session, other)).await?;
    }
    Ok(())
}

/// Refunds a paid session in full at once (QFPay's test environment: the guide asks that test
/// payments be refunded immediately). The merchant sees the refund in the session and hears
/// `refund.succeeded`, like any refund.
async fn refund_test_payment(app: &App<'_>, session_id: &str) -> R<()> {
    let Some(session) = app.store.session(session_id).await.or_500()? else { return Ok(()) };
    let Some(attempt) = session.paid_attempt_id.as_deref() else { return Ok(()) };
    let Some(attempt) = app.store.attempt(attempt).await.or_500()? else { return Ok(()) };
    let amount = session.amount.saturating_sub(session.amount_refunded);
    if amount > 0 {
        refund_now(app, &attempt, amount, TEST_REFUND_REASON).await?;
    }
    Ok(())
}

/// Why a test-environment payment was refunded.
const TEST_REFUND_REASON: &str = "test environment: refunded at once (AUTO_REFUND_TEST_PAYMENTS)";

/// Why a second payment was refunded.
const DUPLICATE_REFUND_REASON: &str = "second payment of a paid session";

/// A paid attempt that did not pay its session: its automatic refund, recorded with the
/// payment, is sent now (the settler sends it otherwise, 30 s later).
async fn double_payment(app: &App<'_>, session: &SessionRow, attempt: &AttemptRow) -> R<()> {
    if session.paid_attempt_id.as_deref() == Some(attempt.id.as_str()) || !app.settings.auto_refund_double_payments {
        return Ok(());
    }
    let Some(paid) = app.store.attempt(&attempt.id).await.or_500()? else { return Ok(()) };
    if let Some(refund) = app.store.automatic_refund_of(&attempt.id).await.or_500()? {
        send_refund(app, &refund, &paid).await?;
    }
    Ok(())
}

/// Records a refund of `amount` of `attempt`'s payment, reserved on the session like a
/// merchant's refund, and sends it, if it was recorded now (no room left sends nothing).
async fn refund_now(app: &App<'_>, attempt: &AttemptRow, amount: u64, reason: &str) -> R<()> {
    let id = ids::refund_id(&random::bytes());
    let out_trade_no = ids::refund_out_trade_no(&random::bytes());
    let txdtm = clock::txdtm_now();
    let new = NewRefund {
        id: &id,
        session_id: &attempt.session_id,
        attempt_id: &attempt.id,
        out_trade_no: &out_trade_no,
        amount,
        reason: Some(reason),
        txdtm: &txdtm,
        created_at: clock::now_ms(),
    };
    if app.store.reserve_refund(&new).await.or_500()? {
        if let Some(refund) = app.store.refund(&id).await.or_500()? {
            send_refund(app, &refund, attempt).await?;
        }
    }
    Ok(())
}
