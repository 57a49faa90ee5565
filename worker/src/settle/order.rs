//! Orders at the gateway: queried, their rows applied to attempts, closed (or reversed, for
//! CPM) so that they cannot be paid.

use checkout_api::budget::CallClass;
use checkout_api::events::EventType;
use checkout_api::{upstream, ApiError, AttemptEvent, AttemptStatus, SessionStatus};
use qfpay::{
    CloseRequest, GatewayRequest, OrderChangeAnswer, OrderRef, PaymentStatus, QueryAnswer, QueryRequest, QueryRow,
    RespCode, ReversalRequest, Txdtm,
};

use crate::app::{App, OrInternal};
use crate::clock;
use crate::gateway::Outcome;
use crate::outbox;
use crate::store::{AttemptRow, SessionRow};

use super::{payment_reported, Reported, R};

/// Answers to a close that mean the order cannot be paid any more: no such order, already
/// closed, already expired.
const CLOSED_FOR_GOOD: [&str; 3] = [RespCode::NO_SUCH_ORDER, RespCode::ORDER_CLOSED, RespCode::ORDER_EXPIRED];

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
    let cpm = is_cpm(&attempt.pay_type);
    if cpm {
        // A reversal returns a payment that went through: never reverse blind. Ask first, and
        // if the charge was paid, record it instead.
        let Some(q) = query_order(app, &attempt.out_trade_no, CallClass::Close).await? else {
            let at = upstream::order_change_retry_at(now, attempt.close_tries as u32);
            app.store.close_failed(&attempt.id, at).await.or_500()?;
            return Ok(CloseOutcome::Unconfirmed);
        };
        apply_attempt_row(app, attempt, q.payment(&attempt.out_trade_no)).await?;
        let fresh = app.store.attempt(&attempt.id).await.or_500()?;
        if let Some(status) = fresh.map(|a| a.status()).filter(|s| !s.is_open()) {
            return Ok(if status == AttemptStatus::Paid { CloseOutcome::Paid } else { CloseOutcome::Confirmed });
        }
    }
    let answer = send_close(app, session.amount, &attempt.out_trade_no, &attempt.pay_type).await?;
    match answer {
        Outcome::Answer(a) if a.outcome.respcd.is(RespCode::ALREADY_PAID) => {
            if let Some(q) = query_order(app, &attempt.out_trade_no, CallClass::Close).await? {
                apply_attempt_row(app, attempt, q.payment(&attempt.out_trade_no)).await?;
            }
            let paid =
                app.store.attempt(&attempt.id).await.or_500()?.is_some_and(|a| a.status() == AttemptStatus::Paid);
            if !paid {
                // The gateway said paid; until a query confirms it, the attempt is queried at
                // once, and no new attempt may start on the word "closed".
                app.store.attempt_pending(&attempt.id, RespCode::ALREADY_PAID, now).await.or_500()?;
                app.store
                    .close_failed(&attempt.id, upstream::order_change_retry_at(now, attempt.close_tries as u32))
                    .await
                    .or_500()?;
            }
            Ok(CloseOutcome::Paid)
        }
        // Closed now, never created, already closed (`1142`) or already expired (`1181`): the
        // order cannot be paid any more.
        Outcome::Answer(a) if a.outcome.respcd.is_success() || CLOSED_FOR_GOOD.contains(&a.outcome.respcd.code()) => {
            let own_time_up = session.status() == SessionStatus::Open && now >= attempt.expires_at;
            let event = match (cpm, own_time_up) {
                (true, _) => AttemptEvent::Reversed,
                (false, true) => AttemptEvent::Expired,
                (false, false) => AttemptEvent::Closed,
            };
            if !app.store.end_attempt(&attempt.id, event, None).await.or_500()? && cpm {
                reversed_after_paid(app, session, attempt).await?;
            }
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

/// Whether a pay type is a CPM charge (ended by a reversal, not a close).
fn is_cpm(pay_type: &str) -> bool {
    qfpay::tables::pay_type(pay_type).is_some_and(|p| p.mode == qfpay::tables::PayMode::Cpm)
}

/// A reversal went through for a charge that had meanwhile been recorded paid (its payment
/// and the reversal crossed): the money went back, so the merchant must hear of it.
async fn reversed_after_paid(app: &App<'_>, session: &SessionRow, attempt: &AttemptRow) -> R<()> {
    let paid = AttemptStatus::Paid.as_str();
    worker::console_error!("charge {} was reversed after it was recorded paid", attempt.out_trade_no);
    let view = app.store.session_view(session).await.or_500()?;
    let mut event = outbox::new_event(app, EventType::PaymentReversed, view, None);
    event.once_key = EventType::PaymentReversed.once_key(&attempt.id);
    let condition = format!("SELECT 1 FROM attempts WHERE id = ?9 AND status = '{paid}'");
    app.store.insert_event(&event, &condition, &[crate::store::s(&attempt.id)]).await.or_500()?;
    app.wake_settler(clock::now_ms()).await;
    Ok(())
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
    let signed = if is_cpm(pay_type) {
        ReversalRequest(order).sign(&app.settings.gateway.credentials)
    } else {
        CloseRequest(order).sign(&app.settings.gateway.credentials)
    }
    .map_err(ApiError::from)?;
    Ok(app.gateway().call(CallClass::Close, &signed, OrderChangeAnswer::parse, |a| &a.outcome.respcd).await)
}

/// One query for an order by its number, in `class` of the upstream budget; `None` when no
/// answer came.
pub async fn query_order(app: &App<'_>, out_trade_no: &str, class: CallClass) -> R<Option<QueryAnswer>> {
    let query = QueryRequest::by_out_trade_no(
        out_trade_no.to_owned(),
        &Txdtm::parse("txdtm", &clock::txdtm_now()).map_err(ApiError::from)?,
    );
    let signed = query.sign(&app.settings.gateway.credentials).map_err(ApiError::from)?;
    Ok(match app.gateway().call(class, &signed, QueryAnswer::parse, |a| &a.outcome.respcd).await {
        Outcome::Answer(answer) if answer.outcome.respcd.is_success() => Some(answer),
        _ => None,
    })
}
