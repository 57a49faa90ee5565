//! Refunds: sent (again, identically, when their answer was lost), settled by query, ended
//! with their event.

use checkout_api::budget::CallClass;
use checkout_api::events::EventType;
use checkout_api::{upstream, ApiError, ErrorCode, RefundEvent};
use qfpay::{GatewayRequest, OrderChangeAnswer, PaymentStatus, QueryRow, RefundRequest, RespClass, RespCode};

use crate::app::{App, OrInternal};
use crate::clock;
use crate::gateway::Outcome;
use crate::outbox;
use crate::store::{AttemptRow, RefundRow};

use super::{gone, R};

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
