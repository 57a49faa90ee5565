//! `POST /v1/qfpay/notify`: the gateway's signed notifications. The signature is checked over
//! the raw body bytes (MD5(body + key), constant time) before anything is read; a notification
//! is stored once by `syssn`, so repeats and replays change nothing; the answer is `SUCCESS`.

use checkout_api::ApiError;
use qfpay::Notification;
use worker::{Request, Response};

use crate::app::{internal, App, OrInternal};
use crate::http;
use crate::random;
use crate::settle;
use crate::store::{num, s};

/// Handles one notification.
pub async fn receive(app: &App<'_>, mut req: Request) -> Result<Response, ApiError> {
    let body = http::body(&mut req).await?;
    let signature = req.headers().get("X-QF-SIGN").ok().flatten().unwrap_or_default();
    if !qfpay::sign::verify_notification(&body, &app.settings.gateway.credentials.key, &signature) {
        return Err(ApiError::new(401, "bad_signature", "X-QF-SIGN does not match the body"));
    }
    let note = Notification::parse(&body).map_err(|e| ApiError::new(400, "invalid_body", e.to_string()))?;
    if !note.is_success() {
        return Response::ok("SUCCESS").map_err(internal);
    }
    app.store
        .run(
            "INSERT OR IGNORE INTO notifications (syssn, notify_type, out_trade_no, body, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[s(&note.syssn), s(&note.notify_type), s(&note.out_trade_no), s(&String::from_utf8_lossy(&body)), num(random::now_ms())],
        )
        .await
        .or_500()?;
    // Processing is idempotent, so a repeat (already stored) is processed again harmlessly:
    // that also finishes a first delivery that failed half way.
    match note.notify_type.as_str() {
        "payment" => payment(app, &note).await?,
        "refund" => refund(app, &note).await?,
        _ => {}
    }
    Response::ok("SUCCESS").map_err(internal)
}

async fn payment(app: &App<'_>, note: &Notification) -> Result<(), ApiError> {
    let Some(attempt) = app.store.attempt_by_out_trade_no(&note.out_trade_no).await.or_500()? else {
        return Ok(());
    };
    app.ctx.note_session(&attempt.session_id);
    let session = app.store.session(&attempt.session_id).await.or_500()?;
    if session.as_ref().is_some_and(|s| s.amount != note.txamt) {
        worker::console_error!("notification amount differs from the session: out_trade_no {}", note.out_trade_no);
        return Err(ApiError::new(400, "amount_mismatch", "txamt differs from the payment"));
    }
    settle::attempt_paid(app, &attempt, Some(&note.syssn), random::now_ms()).await
}

async fn refund(app: &App<'_>, note: &Notification) -> Result<(), ApiError> {
    app.store
        .run(
            "UPDATE refunds SET status = 'succeeded', syssn = ?1, respcd = '0000' WHERE out_trade_no = ?2 AND status = 'pending'",
            &[s(&note.syssn), s(&note.out_trade_no)],
        )
        .await
        .or_500()?;
    Ok(())
}
