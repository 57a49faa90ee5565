//! The rules that move money states, shared by the pay flow, status polling, notifications
//! and the merchant API: an attempt paid, an attempt checked by query, an attempt closed, a
//! session expired, a refund sent. Each change is a conditional UPDATE, so concurrent callers
//! (a notification and a poll, two isolates) agree on one outcome.

use checkout_api::{ids, AttemptStatus};
use qfpay::{
    CloseRequest, GatewayRequest, OrderChangeAnswer, OrderRef, PaymentStatus, QueryAnswer, QueryRequest, RefundRequest,
    Txdtm, HONG_KONG_OFFSET_SECONDS,
};

use crate::app::{App, OrInternal};
use crate::gateway::Outcome;
use crate::random;
use crate::store::{num, s, text, AttemptRow, RefundRow, SessionRow};
use checkout_api::ApiError;

type R<T> = std::result::Result<T, ApiError>;

/// Merchant-local gateway time for now.
pub fn txdtm_now() -> String {
    Txdtm::from_unix((random::now_ms() / 1000) as i64, HONG_KONG_OFFSET_SECONDS).to_string()
}

/// Records that an attempt was paid. The first paid attempt of a session pays it; a second
/// one (a shopper who scanned two QR codes) is refunded automatically when configured.
pub async fn attempt_paid(app: &App<'_>, attempt: &AttemptRow, syssn: Option<&str>, paid_at: u64) -> R<()> {
    app.store
        .run(
            "UPDATE attempts SET status = 'paid', paid_at = ?1, syssn = COALESCE(?2, syssn), respcd = '0000' WHERE id = ?3 AND status != 'paid'",
            &[num(paid_at), text(syssn), s(&attempt.id)],
        )
        .await
        .or_500()?;
    let won = app
        .store
        .run(
            "UPDATE sessions SET status = 'paid', paid_at = ?1, paid_attempt_id = ?2 WHERE id = ?3 AND paid_attempt_id IS NULL",
            &[num(paid_at), s(&attempt.id), s(&attempt.session_id)],
        )
        .await
        .or_500()?;
    if won == 1 {
        // Any other attempt still open may have been paid too (a shopper who scanned two QR
        // codes while a close failed): closing it now finds that out (`1260`) at once, instead
        // of whenever its notification arrives, and starts the automatic refund.
        if let Some(session) = app.store.session(&attempt.session_id).await.or_500()? {
            for other in app
                .store
                .attempts(&session.id)
                .await
                .or_500()?
                .iter()
                .filter(|a| a.id != attempt.id && a.status().is_open())
            {
                Box::pin(close_attempt(app, &session, other)).await?;
            }
        }
        return Ok(());
    }
    let session = app.store.session(&attempt.session_id).await.or_500()?;
    let paid_by_other = session.as_ref().and_then(|s| s.paid_attempt_id.as_deref()).is_some_and(|id| id != attempt.id);
    if paid_by_other && app.settings.auto_refund_double_payments {
        if let (Some(session), Some(paid)) = (session, app.store.attempt(&attempt.id).await.or_500()?) {
            refund_double_payment(app, &session, &paid).await?;
        }
    }
    Ok(())
}

async fn refund_double_payment(app: &App<'_>, session: &SessionRow, attempt: &AttemptRow) -> R<()> {
    let id = ids::refund_id(&random::bytes());
    let out_trade_no = ids::refund_out_trade_no(&random::bytes());
    // The unique index on automatic refunds makes this insert happen once per attempt.
    let inserted = app
        .store
        .run(
            "INSERT OR IGNORE INTO refunds (id, session_id, attempt_id, out_trade_no, amount, reason, status, automatic, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'second payment of a paid session', 'pending', 1, ?6)",
            &[s(&id), s(&session.id), s(&attempt.id), s(&out_trade_no), num(session.amount), num(random::now_ms())],
        )
        .await
        .or_500()?;
    if inserted == 1 {
        if let Some(refund) = app.store.refund(&id).await.or_500()? {
            send_refund(app, &refund, attempt).await?;
        }
    }
    Ok(())
}

/// Sends a recorded refund to the gateway and records the outcome. A refusal releases the
/// amount reserved on the session (merchant refunds); no answer leaves it pending.
pub async fn send_refund(app: &App<'_>, refund: &RefundRow, attempt: &AttemptRow) -> R<RefundRow> {
    let Some(syssn) = attempt.syssn.clone() else {
        return Err(ApiError::new(
            409,
            "payment_not_settled",
            "the payment's gateway number is not known yet; try again shortly",
        ));
    };
    let request = RefundRequest {
        syssn,
        out_trade_no: refund.out_trade_no.clone(),
        txamt: refund.amount,
        txdtm: txdtm_now(),
        udid: None,
        original_pay_type: Some(attempt.pay_type.clone()),
    };
    let signed = request.sign(&app.settings.gateway.credentials).map_err(ApiError::from)?;
    let outcome = app.gateway().call(&signed, OrderChangeAnswer::parse, |a| &a.outcome.respcd).await;
    let (status, syssn, respcd) = match &outcome {
        Outcome::Answer(a) if a.outcome.respcd.is_success() => {
            ("succeeded", a.syssn.clone(), a.outcome.respcd.code().to_owned())
        }
        Outcome::Answer(a) if a.outcome.respcd.class() == qfpay::RespClass::PendingAskAgain => {
            ("pending", a.syssn.clone(), a.outcome.respcd.code().to_owned())
        }
        Outcome::Answer(a) => ("failed", None, a.outcome.respcd.code().to_owned()),
        Outcome::Unknown(_) => ("pending", None, String::new()),
    };
    let changed = app
        .store
        .run(
            "UPDATE refunds SET status = ?1, syssn = COALESCE(?2, syssn), respcd = NULLIF(?3, '') WHERE id = ?4 AND status = 'pending'",
            &[s(status), text(syssn.as_deref()), s(&respcd), s(&refund.id)],
        )
        .await
        .or_500()?;
    if status == "failed" && changed == 1 && refund.automatic == 0 {
        app.store
            .run(
                "UPDATE sessions SET amount_refunded = amount_refunded - ?1 WHERE id = ?2",
                &[num(refund.amount), s(&refund.session_id)],
            )
            .await
            .or_500()?;
    }
    app.store.refund(&refund.id).await.or_500()?.ok_or_else(|| ApiError::new(500, "internal_error", "refund vanished"))
}

/// Asks the gateway about an open attempt and records what it says.
pub async fn check_attempt(app: &App<'_>, attempt: &AttemptRow) -> R<()> {
    let query = QueryRequest::by_out_trade_no(
        attempt.out_trade_no.clone(),
        &Txdtm::parse("txdtm", &txdtm_now()).map_err(ApiError::from)?,
    );
    let signed = query.sign(&app.settings.gateway.credentials).map_err(ApiError::from)?;
    let Outcome::Answer(answer) = app.gateway().call(&signed, QueryAnswer::parse, |a| &a.outcome.respcd).await else {
        return Ok(());
    };
    let Some(row) = answer.payment(&attempt.out_trade_no) else {
        // The gateway never created this order: a lost request, not a payment.
        if attempt.status() == AttemptStatus::Creating && random::now_ms() > attempt.created_at + 60_000 {
            app.store
                .move_attempt(&attempt.id, &[AttemptStatus::Creating], AttemptStatus::Failed, Some("1268"))
                .await
                .or_500()?;
        }
        return Ok(());
    };
    let respcd = row.respcd.as_ref().map(|r| r.code().to_owned());
    match row.status() {
        PaymentStatus::Paid | PaymentStatus::Refunded | PaymentStatus::PartlyRefunded => {
            attempt_paid(app, attempt, row.syssn.as_deref(), random::now_ms()).await?
        }
        PaymentStatus::Pending => {}
        PaymentStatus::Failed => {
            let to = if respcd.as_deref() == Some("1181") { AttemptStatus::Expired } else { AttemptStatus::Failed };
            app.store
                .move_attempt(&attempt.id, &[AttemptStatus::Creating, AttemptStatus::Pending], to, respcd.as_deref())
                .await
                .or_500()?;
        }
        PaymentStatus::Closed => {
            app.store
                .move_attempt(
                    &attempt.id,
                    &[AttemptStatus::Creating, AttemptStatus::Pending],
                    AttemptStatus::Closed,
                    respcd.as_deref(),
                )
                .await
                .or_500()?;
        }
    }
    Ok(())
}

/// Closes an open attempt at the gateway. If the gateway says it was paid meanwhile (`1260`),
/// it is recorded as paid instead; returns whether it ended paid.
pub async fn close_attempt(app: &App<'_>, session: &SessionRow, attempt: &AttemptRow) -> R<bool> {
    if !attempt.status().is_open() {
        return Ok(attempt.status() == AttemptStatus::Paid);
    }
    let request = CloseRequest(OrderRef {
        out_trade_no: Some(attempt.out_trade_no.clone()),
        txamt: session.amount,
        txdtm: txdtm_now(),
        ..Default::default()
    });
    let signed = request.sign(&app.settings.gateway.credentials).map_err(ApiError::from)?;
    match app.gateway().call(&signed, OrderChangeAnswer::parse, |a| &a.outcome.respcd).await {
        Outcome::Answer(a) if a.outcome.respcd.code() == "1260" => {
            check_attempt(app, attempt).await?;
            Ok(app.store.attempt(&attempt.id).await.or_500()?.is_some_and(|a| a.status() == AttemptStatus::Paid))
        }
        Outcome::Answer(a) if a.outcome.respcd.is_success() || a.outcome.respcd.code() == "1268" => {
            app.store
                .move_attempt(
                    &attempt.id,
                    &[AttemptStatus::Creating, AttemptStatus::Pending],
                    AttemptStatus::Closed,
                    None,
                )
                .await
                .or_500()?;
            Ok(false)
        }
        // Any other answer or none: the attempt stays open and later checks settle it.
        _ => Ok(false),
    }
}

/// Brings a session up to date with the clock: an open session past its expiry has its open
/// attempts checked one last time and closed, then expires (unless one turned out paid).
pub async fn refresh(app: &App<'_>, session: SessionRow) -> R<SessionRow> {
    if session.status() != checkout_api::SessionStatus::Open || random::now_ms() < session.expires_at {
        return Ok(session);
    }
    for attempt in app.store.attempts(&session.id).await.or_500()?.iter().filter(|a| a.status().is_open()) {
        check_attempt(app, attempt).await?;
        if let Some(fresh) = app.store.attempt(&attempt.id).await.or_500()? {
            close_attempt(app, &session, &fresh).await?;
        }
    }
    app.store
        .run("UPDATE sessions SET status = 'expired' WHERE id = ?1 AND status = 'open'", &[s(&session.id)])
        .await
        .or_500()?;
    app.store.session(&session.id).await.or_500()?.ok_or_else(|| ApiError::new(404, "not_found", "no such session"))
}
