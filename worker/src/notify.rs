//! `POST /v1/qfpay/notify`: the gateway's signed notifications. The signature is checked over
//! the raw body bytes (MD5(body + key), constant time) before anything is read; a notification
//! is stored once by `syssn`, so repeats and replays change nothing; the answer is `SUCCESS`.

use checkout_api::{ApiError, ErrorCode, RefundEvent};
use qfpay::Notification;
use worker::{Request, Response};

use crate::app::{internal, App, OrInternal};
use crate::clock;
use crate::http;
use crate::settle;
use crate::store::AttemptRow;

/// Handles one notification.
pub async fn receive(app: &App<'_>, mut req: Request) -> Result<Response, ApiError> {
    let body = http::body(&mut req).await?;
    let signature = req.headers().get("X-QF-SIGN").ok().flatten().unwrap_or_default();
    if !qfpay::sign::verify_notification(&body, &app.settings.gateway.credentials.key, &signature) {
        return Err(ApiError::new(ErrorCode::BadSignature, "X-QF-SIGN does not match the body"));
    }
    let note = match Notification::parse(&body) {
        Ok(note) => note,
        // Signed by QFPay but not a shape we read (fields may be added or left out in later
        // versions): kept, and acknowledged, so QFPay does not retry it for a day.
        Err(e) => {
            worker::console_error!("a signed notification could not be read ({e}); stored and acknowledged");
            let key = format!("unread-{}", &qfpay::sign::sha256_hex(&body)[..32]);
            let text = String::from_utf8_lossy(&body);
            app.store.store_notification(&key, "unread", "", &text, clock::now_ms()).await.or_500()?;
            return Response::ok("SUCCESS").map_err(internal);
        }
    };
    if !note.is_success() {
        return Response::ok("SUCCESS").map_err(internal);
    }
    let text = String::from_utf8_lossy(&body);
    // A payment's is stored in the same D1 round trip that reads its attempt and session.
    let attempt = if note.notify_type == "payment" {
        app.store.payment_notification(&note.syssn, &note.out_trade_no, &text, clock::now_ms()).await.or_500()?
    } else {
        app.store
            .store_notification(&note.syssn, &note.notify_type, &note.out_trade_no, &text, clock::now_ms())
            .await
            .or_500()?;
        None
    };
    // Another merchant's under an agent's appcode: kept and acknowledged, never applied.
    let ours = app.settings.gateway.credentials.mchid.as_deref();
    if let (Some(ours), Some(theirs)) = (ours, note.mchid.as_deref()) {
        if ours != theirs {
            worker::console_log!("notification for another mchid; stored, not applied");
            return Response::ok("SUCCESS").map_err(internal);
        }
    }
    // Processing is idempotent, so a repeat (already stored) is processed again harmlessly:
    // that also finishes a first delivery that failed half way.
    match note.notify_type.as_str() {
        "payment" => payment(app, &note, attempt).await?,
        "refund" => refund(app, &note).await?,
        _ => {}
    }
    Response::ok("SUCCESS").map_err(internal)
}

async fn payment(app: &App<'_>, note: &Notification, attempt: Option<AttemptRow>) -> Result<(), ApiError> {
    let Some(attempt) = attempt else {
        // Not ours (QFPay sends every notification of the appcode here): acknowledged, stored,
        // listed at GET /v1/notifications.
        worker::console_log!("notification for an order this worker never made: {}", note.out_trade_no);
        return Ok(());
    };
    app.ctx.note_session(&attempt.session_id);
    // A wrong amount or currency is recorded (held) and acknowledged, so the gateway stops
    // retrying; the merchant hears `payment.held`.
    let reported =
        settle::Reported { syssn: Some(&note.syssn), txamt: Some(note.txamt), txcurrcd: note.txcurrcd.as_deref() };
    settle::payment_reported(app, &attempt, &reported).await
}

async fn refund(app: &App<'_>, note: &Notification) -> Result<(), ApiError> {
    let Some(refund) = app.store.refund_by_out_trade_no(&note.out_trade_no).await.or_500()? else { return Ok(()) };
    app.ctx.note_session(&refund.session_id);
    settle::end_refund(app, &refund, RefundEvent::Succeeded, Some(&note.syssn), Some(qfpay::RespCode::SUCCESS)).await
}
