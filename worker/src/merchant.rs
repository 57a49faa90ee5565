//! The merchant server's API (Bearer `MERCHANT_API_KEY`): create a session, read it, refund it,
//! close it. `Idempotency-Key` makes creation and refunds safe to retry for 24 hours.

use checkout_api::session::parse_json;
use checkout_api::{fitting_pay_types, ids, ApiError, CreateRefund, CreateSession, SessionStatus};
use worker::Request;

use crate::app::{ok_json, Answer, App, OrInternal};
use crate::http;
use crate::random;
use crate::settle;
use crate::store::{num, s, text};

/// Checks the merchant's bearer key in constant time.
pub fn authorize(app: &App<'_>, req: &Request) -> Result<(), ApiError> {
    let given = http::bearer(req).unwrap_or_default();
    if qfpay::sign::secret_eq(&app.settings.merchant_api_key, &given) {
        Ok(())
    } else {
        Err(ApiError::new(401, "unauthorized", "Authorization: Bearer <MERCHANT_API_KEY> is missing or wrong"))
    }
}

/// Runs `work` (which answers a status and a JSON text) at most once per `Idempotency-Key`:
/// the same key with the same body gets the stored answer; with another body, 409.
async fn idempotent<'a, F, Fut>(app: &'a App<'a>, req: &Request, scope: &str, body: &[u8], work: F) -> Answer
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(u16, String), ApiError>>,
{
    let respond = |(status, text): (u16, String)| http::json_text(status, &text).map_err(crate::app::internal);
    let Some(key) = req.headers().get("Idempotency-Key").ok().flatten().filter(|k| !k.is_empty()) else {
        return work().await.and_then(respond);
    };
    if key.len() > 255 {
        return Err(ApiError::field("Idempotency-Key", "at most 255 characters"));
    }
    let hash = qfpay::sign::sha256_hex(body);
    match app.store.begin_idempotent(scope, &key, &hash, random::now_ms()).await.or_500()? {
        None => {}
        Some(record) if record.body_hash != hash => {
            return Err(ApiError::new(
                409,
                "idempotency_conflict",
                "this Idempotency-Key was used with a different body",
            ))
        }
        Some(record) if record.status == 0 => {
            return Err(ApiError::new(
                409,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still being processed; retry shortly",
            ))
        }
        Some(record) => return http::json_text(record.status as u16, &record.response).map_err(crate::app::internal),
    }
    match work().await {
        Ok((status, text)) => {
            app.store.finish_idempotent(scope, &key, status, &text).await.or_500()?;
            respond((status, text))
        }
        Err(e) => {
            // A failure that changed nothing frees the key so the merchant can retry.
            app.store.release_idempotent(scope, &key).await.or_500()?;
            Err(e)
        }
    }
}

/// `POST /v1/sessions`.
pub async fn create_session(app: &App<'_>, mut req: Request) -> Answer {
    authorize(app, &req)?;
    let body = http::json_body(&mut req).await?;
    idempotent(app, &req, "sessions", &body, || create_session_inner(app, &body)).await
}

async fn create_session_inner(app: &App<'_>, body: &[u8]) -> Result<(u16, String), ApiError> {
    let new = parse_json::<CreateSession>(body)?.validate(app.settings.session_ttl_minutes)?;
    let request = &new.request;
    let offered: Vec<String> = fitting_pay_types(&request.currency, request.amount, request.pay_types.as_deref())
        .into_iter()
        .map(|p| p.pay_type)
        .collect();
    if offered.is_empty() {
        return Err(ApiError::field(
            "currency",
            "no pay type that a web checkout can complete accepts this currency and amount",
        ));
    }
    let id = ids::session_id(&random::bytes());
    let secret = ids::client_secret(&random::bytes());
    let now = random::now_ms();
    let expires_at = now + u64::from(new.expires_in_minutes) * 60_000;
    let metadata = request.metadata.as_ref().map(|m| serde_json::to_string(m).unwrap_or_default());
    app.store
        .run(
            "INSERT INTO sessions (id, secret_hash, status, amount, currency, goods_name, reference, pay_types, return_url, metadata, created_at, expires_at) \
             VALUES (?1, ?2, 'open', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            &[
                s(&id),
                s(&qfpay::sign::sha256_hex(secret.as_bytes())),
                num(request.amount),
                s(&request.currency),
                s(&request.goods_name),
                s(&request.reference),
                s(&serde_json::to_string(&offered).unwrap_or_default()),
                text(request.return_url.as_deref()),
                text(metadata.as_deref()),
                num(now),
                num(expires_at),
            ],
        )
        .await
        .or_500()?;
    app.ctx.note_session(&id);
    let row = app
        .store
        .session(&id)
        .await
        .or_500()?
        .ok_or_else(|| ApiError::new(500, "internal_error", "session not stored"))?;
    let mut view = row.view(Vec::new(), Vec::new());
    view.client_secret = Some(secret);
    Ok((201, serde_json::to_string(&view).unwrap_or_default()))
}

async fn load(app: &App<'_>, id: &str) -> Result<crate::store::SessionRow, ApiError> {
    app.ctx.note_session(id);
    let row = app
        .store
        .session(id)
        .await
        .or_500()?
        .ok_or_else(|| ApiError::new(404, "not_found", "no session with this id"))?;
    settle::refresh(app, row).await
}

/// `GET /v1/sessions/{id}`.
pub async fn get_session(app: &App<'_>, req: Request, id: &str) -> Answer {
    authorize(app, &req)?;
    let row = load(app, id).await?;
    ok_json(200, &app.store.session_view(&row).await.or_500()?)
}

/// `POST /v1/sessions/{id}/refunds`.
pub async fn create_refund(app: &App<'_>, mut req: Request, id: &str) -> Answer {
    authorize(app, &req)?;
    let body = http::json_body(&mut req).await?;
    idempotent(app, &req, &format!("refunds:{id}"), &body, || create_refund_inner(app, id, &body)).await
}

async fn create_refund_inner(app: &App<'_>, id: &str, body: &[u8]) -> Result<(u16, String), ApiError> {
    let request = parse_json::<CreateRefund>(body)?;
    let session = load(app, id).await?;
    if session.status() != SessionStatus::Paid {
        return Err(ApiError::new(409, "not_paid", "only a paid session can be refunded"));
    }
    let attempt_id = session.paid_attempt_id.clone().unwrap_or_default();
    let attempt = app
        .store
        .attempt(&attempt_id)
        .await
        .or_500()?
        .ok_or_else(|| ApiError::new(500, "internal_error", "paid attempt missing"))?;
    if let Some(info) = qfpay::tables::pay_type(&attempt.pay_type).filter(|i| !i.refundable) {
        return Err(ApiError::new(
            409,
            "not_refundable",
            format!("payments by {} ({}) cannot be refunded", info.code, info.name_en),
        ));
    }
    request.validate(session.amount - session.amount_refunded.min(session.amount))?;
    // Reserve the amount first, so concurrent refunds can never add up past the payment.
    let reserved = app
        .store
        .run(
            "UPDATE sessions SET amount_refunded = amount_refunded + ?1 WHERE id = ?2 AND amount_refunded + ?1 <= amount",
            &[num(request.amount), s(id)],
        )
        .await
        .or_500()?;
    if reserved != 1 {
        return Err(ApiError::new(409, "refund_exceeds_payment", "amount: more than is left to refund"));
    }
    let refund_id = ids::refund_id(&random::bytes());
    app.store
        .run(
            "INSERT INTO refunds (id, session_id, attempt_id, out_trade_no, amount, reason, status, automatic, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7)",
            &[
                s(&refund_id),
                s(id),
                s(&attempt.id),
                s(&ids::refund_out_trade_no(&random::bytes())),
                num(request.amount),
                text(request.reason.as_deref()),
                num(random::now_ms()),
            ],
        )
        .await
        .or_500()?;
    let refund = app
        .store
        .refund(&refund_id)
        .await
        .or_500()?
        .ok_or_else(|| ApiError::new(500, "internal_error", "refund not stored"))?;
    let done = settle::send_refund(app, &refund, &attempt).await?;
    let status = if done.status == "failed" { 402 } else { 201 };
    Ok((status, serde_json::to_string(&done.view()).unwrap_or_default()))
}

/// `POST /v1/sessions/{id}/close`.
pub async fn close_session(app: &App<'_>, req: Request, id: &str) -> Answer {
    authorize(app, &req)?;
    let session = load(app, id).await?;
    if session.status() == SessionStatus::Paid {
        return Err(ApiError::new(409, "already_paid", "the session is paid; refund it instead"));
    }
    for attempt in app.store.attempts(id).await.or_500()?.iter().filter(|a| a.status().is_open()) {
        if settle::close_attempt(app, &session, attempt).await? {
            return Err(ApiError::new(409, "already_paid", "the session was paid while closing; refund it instead"));
        }
    }
    app.store
        .run("UPDATE sessions SET status = 'closed' WHERE id = ?1 AND status IN ('open', 'expired')", &[s(id)])
        .await
        .or_500()?;
    let row = app
        .store
        .session(id)
        .await
        .or_500()?
        .ok_or_else(|| ApiError::new(404, "not_found", "no session with this id"))?;
    ok_json(200, &app.store.session_view(&row).await.or_500()?)
}
