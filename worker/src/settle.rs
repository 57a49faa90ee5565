//! The money rules, shared by the pay flow, notifications, the merchant API and the settler:
//! an attempt paid, a gateway query's answer applied, an attempt closed, a session over, a
//! refund sent or settled. Every change goes through the store's named operations, whose
//! conditional UPDATEs apply `checkout_api::states`, so concurrent callers (a notification and
//! the settler, two isolates) agree on one outcome; every change the merchant must hear of is
//! written with its event.

use checkout_api::budget::CallClass;
use checkout_api::events::EventType;
use checkout_api::{
    ids, upstream, ApiError, AttemptEvent, AttemptStatus, ErrorCode, PaidHow, RefundEvent, SessionStatus,
};
use qfpay::{
    CloseRequest, GatewayRequest, OrderChangeAnswer, OrderRef, PaymentStatus, QueryAnswer, QueryRequest, QueryRow,
    RefundRequest, RespClass, RespCode, ReversalRequest, Txdtm,
};

use crate::app::{App, OrInternal};
use crate::clock;
use crate::gateway::Outcome;
use crate::outbox;
use crate::random;
use crate::store::{AttemptRow, NewRefund, PaidAttempt, RefundRow, SessionRow};

type R<T> = std::result::Result<T, ApiError>;

/// Answers to a close that mean the order cannot be paid any more: no such order, already
/// closed, already expired.
const CLOSED_FOR_GOOD: [&str; 3] = [RespCode::NO_SUCH_ORDER, RespCode::ORDER_CLOSED, RespCode::ORDER_EXPIRED];

fn gone() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no session with this id")
}

/// Records that an attempt was paid. The first paid attempt of a session pays it and the
/// merchant hears `checkout.session.paid` (or `late_payment`, if they had closed it); a second
/// one (a shopper who paid two QR codes) is refunded automatically when configured.
pub async fn attempt_paid(app: &App<'_>, attempt: &AttemptRow, syssn: Option<&str>, paid_at: u64) -> R<()> {
    // A session that changes between our read and our write is read again.
    for _ in 0..5 {
        let session = app.store.session(&attempt.session_id).await.or_500()?.ok_or_else(gone)?;
        let how = session.status().on_attempt_paid(session.closing_reason());
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
        let paid = PaidAttempt {
            attempt_id: &attempt.id,
            session_id: &session.id,
            seen: session.status(),
            syssn,
            paid_at,
            duplicate,
        };
        let (_, won) = app.store.pay_session(&paid, &event).await.or_500()?;
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
    event.once_key = EventType::PaymentHeld.once_key(&attempt.id);
    if app.store.hold_attempt(&attempt.id, reported.syssn, &event).await.or_500()? {
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
    let id = ids::refund_id(&random::bytes());
    let out_trade_no = ids::refund_out_trade_no(&random::bytes());
    let txdtm = clock::txdtm_now();
    let new = NewRefund {
        id: &id,
        session_id,
        attempt_id: &attempt.id,
        out_trade_no: &out_trade_no,
        amount: session.amount.saturating_sub(session.amount_refunded),
        reason: Some(TEST_REFUND_REASON),
        txdtm: &txdtm,
        created_at: clock::now_ms(),
    };
    if new.amount > 0 && app.store.reserve_refund(&new).await.or_500()? {
        if let Some(refund) = app.store.refund(&id).await.or_500()? {
            send_refund(app, &refund, &attempt).await?;
        }
    }
    Ok(())
}

/// Why a test-environment payment was refunded.
const TEST_REFUND_REASON: &str = "test environment: refunded at once (AUTO_REFUND_TEST_PAYMENTS)";

/// A paid attempt that did not pay its session: refunded once, automatically, when configured.
async fn double_payment(app: &App<'_>, session: &SessionRow, attempt: &AttemptRow) -> R<()> {
    if session.paid_attempt_id.as_deref() == Some(attempt.id.as_str()) || !app.settings.auto_refund_double_payments {
        return Ok(());
    }
    let Some(paid) = app.store.attempt(&attempt.id).await.or_500()? else { return Ok(()) };
    let id = ids::refund_id(&random::bytes());
    let out_trade_no = ids::refund_out_trade_no(&random::bytes());
    let txdtm = clock::txdtm_now();
    let new = NewRefund {
        id: &id,
        session_id: &session.id,
        attempt_id: &paid.id,
        out_trade_no: &out_trade_no,
        amount: session.amount,
        reason: Some("second payment of a paid session"),
        txdtm: &txdtm,
        created_at: clock::now_ms(),
    };
    if app.store.insert_automatic_refund(&new).await.or_500()? {
        if let Some(refund) = app.store.refund(&id).await.or_500()? {
            send_refund(app, &refund, &paid).await?;
        }
    }
    Ok(())
}

/// Sends a recorded refund to the gateway (again, identically, when `refund.txdtm` is the
/// one sent before) and records what it says. A refusal ends it `failed` and gives the
/// reserved amount back; no answer, "in progress" or the nightly blackout leave it `pending`
/// with a time for the settler to take it up again.
pub async fn send_refund(app: &App<'_>, refund: &RefundRow, attempt: &AttemptRow) -> R<RefundRow> {
    let Some(syssn) = attempt.syssn.clone() else {
        return Err(ApiError::new(
            ErrorCode::PaymentNotSettled,
            "the payment's gateway number is not known yet; try again shortly",
        ));
    };
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
    let now = clock::now_ms();
    match app.gateway().call(CallClass::Refund, &signed, OrderChangeAnswer::parse, |a| &a.outcome.respcd).await {
        Outcome::Answer(a) if a.outcome.respcd.is_success() => {
            end_refund(app, refund, RefundEvent::Succeeded, a.syssn.as_deref(), Some(RespCode::SUCCESS)).await?
        }
        Outcome::Answer(a) if a.outcome.respcd.is(RespCode::REFUND_BLACKOUT) => {
            // Not a final failure: sent again, with a new txdtm, once the window is over.
            let at = upstream::refund_blackout_end(now).unwrap_or(now + 60_000);
            app.store.refund_retry_at(&refund.id, at, &txdtm, Some(RespCode::REFUND_BLACKOUT)).await.or_500()?;
        }
        Outcome::Answer(a) if a.outcome.respcd.class() == RespClass::PendingAskAgain => {
            let code = a.outcome.respcd.code().to_owned();
            let at = upstream::order_change_retry_at(now, refund.tries as u32);
            app.store.refund_retry_at(&refund.id, at, &txdtm, Some(&code)).await.or_500()?;
        }
        Outcome::Answer(a) => {
            let code = a.outcome.respcd.code().to_owned();
            end_refund(app, refund, RefundEvent::Failed, None, Some(&code)).await?
        }
        Outcome::Unknown(why) => {
            worker::console_error!("refund {}: no gateway answer ({why}); the settler asks again", refund.out_trade_no);
            let at = upstream::order_change_retry_at(now, refund.tries as u32);
            app.store.refund_retry_at(&refund.id, at, &txdtm, None).await.or_500()?;
        }
        // Never sent: the settler sends it once the refunds' budget has room (a query first
        // finds nothing, then the identical send goes).
        Outcome::NoBudget(wait) => {
            app.store.refund_retry_at(&refund.id, now + wait, &txdtm, None).await.or_500()?;
        }
    }
    app.wake_settler(now).await;
    app.store
        .refund(&refund.id)
        .await
        .or_500()?
        .ok_or_else(|| ApiError::new(ErrorCode::InternalError, "refund vanished"))
}

/// Ends a refund with the gateway's final word and its event, in one transaction.
pub async fn end_refund(
    app: &App<'_>,
    refund: &RefundRow,
    outcome: RefundEvent,
    syssn: Option<&str>,
    respcd: Option<&str>,
) -> R<()> {
    let Some(to) = refund.status().on(outcome) else { return Ok(()) };
    let session = app.store.session(&refund.session_id).await.or_500()?.ok_or_else(gone)?;
    let releases = to == checkout_api::RefundStatus::Failed && refund.automatic == 0;
    let (session_view, refund_view) =
        outbox::refund_ended(app.store.session_view(&session).await.or_500()?, refund.view(), to, releases);
    let kind = match (outcome, refund.automatic == 1) {
        (RefundEvent::Succeeded, true) => EventType::DuplicateRefunded,
        (RefundEvent::Succeeded, false) => EventType::RefundSucceeded,
        (RefundEvent::Failed, _) => EventType::RefundFailed,
    };
    let event = outbox::new_event(app, kind, session_view, Some(refund_view));
    if app.store.end_refund(refund, outcome, syssn, respcd, &event).await.or_500()? {
        app.wake_settler(clock::now_ms()).await;
    }
    Ok(())
}

/// Applies a gateway query's row for an attempt (`None`: the gateway has no such order).
pub async fn apply_attempt_row(app: &App<'_>, attempt: &AttemptRow, row: Option<&QueryRow>) -> R<()> {
    let now = clock::now_ms();
    let Some(row) = row else {
        // The gateway never created this order: a lost request, not a payment.
        if attempt.status() == AttemptStatus::Creating && now > attempt.created_at + 60_000 {
            app.store.end_attempt(&attempt.id, AttemptEvent::Failed, Some(RespCode::NO_SUCH_ORDER)).await.or_500()?;
        }
        return Ok(());
    };
    let respcd = row.respcd.as_ref().map(|r| r.code().to_owned());
    match row.status() {
        PaymentStatus::Paid | PaymentStatus::Refunded | PaymentStatus::PartlyRefunded => {
            let reported =
                Reported { syssn: row.syssn.as_deref(), txamt: row.txamt, txcurrcd: row.txcurrcd.as_deref() };
            payment_reported(app, attempt, &reported).await?
        }
        PaymentStatus::Pending => {}
        PaymentStatus::Failed => {
            let event = if respcd.as_deref() == Some(RespCode::ORDER_EXPIRED) {
                AttemptEvent::Expired
            } else {
                AttemptEvent::Failed
            };
            app.store.end_attempt(&attempt.id, event, respcd.as_deref()).await.or_500()?;
        }
        PaymentStatus::Closed => {
            app.store.end_attempt(&attempt.id, AttemptEvent::Closed, respcd.as_deref()).await.or_500()?;
        }
    }
    Ok(())
}

/// Applies a gateway query's row for a pending refund; `None` (the gateway never got it)
/// means it is sent again, identically.
pub async fn apply_refund_row(app: &App<'_>, refund: &RefundRow, row: Option<&QueryRow>) -> R<()> {
    let Some(row) = row else {
        let attempt = app.store.attempt(&refund.attempt_id).await.or_500()?;
        if let Some(attempt) = attempt {
            send_refund(app, refund, &attempt).await?;
        }
        return Ok(());
    };
    let respcd = row.respcd.as_ref().map(|r| r.code().to_owned());
    match row.status() {
        PaymentStatus::Paid | PaymentStatus::Refunded | PaymentStatus::PartlyRefunded => {
            end_refund(app, refund, RefundEvent::Succeeded, row.syssn.as_deref(), Some(RespCode::SUCCESS)).await
        }
        PaymentStatus::Pending => {
            let now = clock::now_ms();
            let at = upstream::order_change_retry_at(now, refund.tries as u32);
            let txdtm = refund.txdtm.clone().unwrap_or_else(clock::txdtm_now);
            app.store.refund_retry_at(&refund.id, at, &txdtm, respcd.as_deref()).await.or_500()
        }
        PaymentStatus::Failed | PaymentStatus::Closed => {
            end_refund(app, refund, RefundEvent::Failed, None, respcd.as_deref()).await
        }
    }
}

/// What closing an attempt at the gateway came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOutcome {
    /// Confirmed closed (or it was never created).
    Confirmed,
    /// It turned out paid: recorded as paid instead.
    Paid,
    /// No confirmation: it stays open and the settler tries again.
    Unconfirmed,
}

/// Closes an open attempt at the gateway. If the gateway says it was paid meanwhile (`1260`),
/// the payment is recorded instead. An attempt closed because its own time ran out ends
/// `expired`; otherwise `closed`.
pub async fn close_attempt(app: &App<'_>, session: &SessionRow, attempt: &AttemptRow) -> R<CloseOutcome> {
    if !attempt.status().is_open() {
        return Ok(if attempt.status() == AttemptStatus::Paid { CloseOutcome::Paid } else { CloseOutcome::Confirmed });
    }
    let now = clock::now_ms();
    // One caller closes it; another (a second pay, the settler) leaves it to that one.
    if !app.store.claim_close(&attempt.id, now).await.or_500()? {
        return Ok(CloseOutcome::Unconfirmed);
    }
    let answer = send_close(app, session.amount, &attempt.out_trade_no, &attempt.pay_type).await?;
    match answer {
        Outcome::Answer(a) if a.outcome.respcd.is(RespCode::ALREADY_PAID) => {
            if let Some(q) = query_order(app, &attempt.out_trade_no).await? {
                apply_attempt_row(app, attempt, q.payment(&attempt.out_trade_no)).await?;
            }
            let paid =
                app.store.attempt(&attempt.id).await.or_500()?.is_some_and(|a| a.status() == AttemptStatus::Paid);
            if !paid {
                app.store
                    .close_failed(&attempt.id, upstream::order_change_retry_at(now, attempt.close_tries as u32))
                    .await
                    .or_500()?;
            }
            Ok(if paid { CloseOutcome::Paid } else { CloseOutcome::Unconfirmed })
        }
        // Closed now, never created, already closed (`1142`) or already expired (`1181`): the
        // order cannot be paid any more.
        Outcome::Answer(a) if a.outcome.respcd.is_success() || CLOSED_FOR_GOOD.contains(&a.outcome.respcd.code()) => {
            let own_time_up = session.status() == SessionStatus::Open && now >= attempt.expires_at;
            let event = if own_time_up { AttemptEvent::Expired } else { AttemptEvent::Closed };
            app.store.end_attempt(&attempt.id, event, None).await.or_500()?;
            Ok(CloseOutcome::Confirmed)
        }
        // Any other answer or none: the attempt stays open; the settler tries again.
        _ => {
            let at = upstream::order_change_retry_at(now, attempt.close_tries as u32);
            app.store.close_failed(&attempt.id, at).await.or_500()?;
            Ok(CloseOutcome::Unconfirmed)
        }
    }
}

/// Ends an order at the gateway and returns what it said: a close for a QR or wallet-page
/// order, a reversal for a CPM charge (spec: close ends an unpaid MPM order, reversal undoes a
/// CPM payment, so a till that gave up never leaves the shopper charged).
pub async fn send_close(
    app: &App<'_>,
    amount: u64,
    out_trade_no: &str,
    pay_type: &str,
) -> R<Outcome<OrderChangeAnswer>> {
    let order = OrderRef {
        out_trade_no: Some(out_trade_no.to_owned()),
        txamt: amount,
        txdtm: clock::txdtm_now(),
        ..Default::default()
    };
    let cpm = qfpay::tables::pay_type(pay_type).is_some_and(|p| p.mode == qfpay::tables::PayMode::Cpm);
    let signed = if cpm {
        ReversalRequest(order).sign(&app.settings.gateway.credentials)
    } else {
        CloseRequest(order).sign(&app.settings.gateway.credentials)
    }
    .map_err(ApiError::from)?;
    Ok(app.gateway().call(CallClass::Close, &signed, OrderChangeAnswer::parse, |a| &a.outcome.respcd).await)
}

/// One query for an order by its number; `None` when no answer came.
pub async fn query_order(app: &App<'_>, out_trade_no: &str) -> R<Option<QueryAnswer>> {
    let query = QueryRequest::by_out_trade_no(
        out_trade_no.to_owned(),
        &Txdtm::parse("txdtm", &clock::txdtm_now()).map_err(ApiError::from)?,
    );
    let signed = query.sign(&app.settings.gateway.credentials).map_err(ApiError::from)?;
    Ok(match app.gateway().call(CallClass::Query, &signed, QueryAnswer::parse, |a| &a.outcome.respcd).await {
        Outcome::Answer(answer) if answer.outcome.respcd.is_success() => Some(answer),
        _ => None,
    })
}

/// Ends a closing session (`expired` or `closed`, as its reason says) with its event, if the
/// gateway has confirmed every attempt closed. True when it ended.
pub async fn finish_closing(app: &App<'_>, session: &SessionRow) -> R<bool> {
    let Some(to) = session.closing_reason().and_then(|r| session.status().on_attempts_closed(r)) else {
        return Ok(false);
    };
    let view = app.store.session_view(session).await.or_500()?;
    if view.attempts.iter().any(|a| a.status.is_open()) {
        return Ok(false);
    }
    let kind = if to == SessionStatus::Expired { EventType::SessionExpired } else { EventType::SessionClosed };
    let event = outbox::new_event(app, kind, outbox::over(view, to), None);
    app.store.finish_closing(&session.id, to, &event).await.or_500()
}

/// Brings a session up to date with the clock, without calling the gateway: an open session
/// past its expiry starts closing, and the settler is woken to close its QR codes now.
pub async fn refresh(app: &App<'_>, session: SessionRow) -> R<SessionRow> {
    if session.status() != SessionStatus::Open || clock::now_ms() < session.expires_at {
        return Ok(session);
    }
    app.store.start_closing(&session.id, SessionStatus::Open, checkout_api::CloseReason::Expired).await.or_500()?;
    app.wake_settler(clock::now_ms()).await;
    app.store.session(&session.id).await.or_500()?.ok_or_else(gone)
}
