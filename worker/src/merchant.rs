//! The merchant server's API (Bearer `MERCHANT_API_KEY`): create a session, read it, refund it,
//! close it. `Idempotency-Key` makes creation and refunds safe to retry for 24 hours.

use checkout_api::session::parse_json;
use checkout_api::views::SessionView;
use checkout_api::{
    fitting_pay_types, ids, ApiError, AttemptStatus, CloseReason, CreateRefund, CreateSession, ErrorCode, RefundStatus,
    SessionStatus,
};
use worker::Request;

use crate::app::{ok_json, Answer, App, OrInternal};
use crate::clock;
use crate::http;
use crate::random;
use crate::settle;
use crate::store::{NewRefund, NewSession, SESSIONS_SCOPE};

/// Checks the merchant's bearer key (`MERCHANT_API_KEY`, or `MERCHANT_API_KEY_NEXT` during a
/// rotation) in constant time. Wrong keys are also counted per client before any route runs
/// (`limits::merchant`), so guessing is slowed down.
pub fn authorize(app: &App<'_>, req: &Request) -> Result<(), ApiError> {
    let given = http::bearer(req).unwrap_or_default();
    if app.settings.merchant_keys.accepts(&given) {
        Ok(())
    } else {
        Err(unauthorized())
    }
}

/// The answer to a missing or wrong merchant key.
pub fn unauthorized() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "Authorization: Bearer <MERCHANT_API_KEY> is missing or wrong")
}

/// Runs `work` (which answers a status and a JSON text) at most once per `Idempotency-Key`:
/// the same key with the same body gets the stored answer; with another body, 409.
pub async fn idempotent<'a, F, Fut>(app: &'a App<'a>, req: &Request, scope: &str, body: &[u8], work: F) -> Answer
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(u16, String), ApiError>>,
{
    let (status, text, _) = idempotent_text(app, req, scope, body, work).await?;
    http::json_text(status, &text).map_err(crate::app::internal)
}

/// [`idempotent`]'s work, answering the status, the JSON text and whether it is a stored
/// answer replayed. What `work` answers is stored as it is, so it must hold no secret.
async fn idempotent_text<'a, F, Fut>(
    app: &'a App<'a>,
    req: &Request,
    scope: &str,
    body: &[u8],
    work: F,
) -> Result<(u16, String, bool), ApiError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(u16, String), ApiError>>,
{
    let Some(key) = req.headers().get("Idempotency-Key").ok().flatten().filter(|k| !k.is_empty()) else {
        return work().await.map(|(status, text)| (status, text, false));
    };
    if key.len() > 255 {
        return Err(ApiError::field("Idempotency-Key", "at most 255 characters"));
    }
    let hash = qfpay::sign::sha256_hex(body);
    match app.store.begin_idempotent(scope, &key, &hash, clock::now_ms()).await.or_500()? {
        None => {}
        Some(record) if record.body_hash != hash => {
            return Err(ApiError::new(
                ErrorCode::IdempotencyConflict,
                "this Idempotency-Key was used with a different body",
            ))
        }
        Some(record) if record.status == 0 => {
            return Err(ApiError::new(
                ErrorCode::IdempotencyInProgress,
                "a request with this Idempotency-Key is still being processed; retry shortly",
            ))
        }
        // Stored within the last 24 hours, perhaps by a worker whose times were milliseconds.
        Some(record) => {
            let response = checkout_api::views::stored_body_in_seconds(&record.response).unwrap_or(record.response);
            return Ok((record.status as u16, response, true));
        }
    }
    match work().await {
        Ok((status, text)) => {
            app.store.finish_idempotent(scope, &key, status, &text).await.or_500()?;
            Ok((status, text, false))
        }
        // A crash point leaves the key taken, as a worker that died here would.
        Err(e) if crate::faults::is_crash(&e) => Err(e),
        Err(e) => {
            // A failure that changed nothing frees the key so the merchant can retry (work
            // that changed something answers Ok, with its error stored under the key).
            app.store.release_idempotent(scope, &key).await.or_500()?;
            Err(e)
        }
    }
}

/// `POST /v1/sessions`. The answer stored under an `Idempotency-Key` is the session without
/// its `client_secret` (the secret is never stored anywhere, only its SHA256 in `sessions`).
/// The secret is derived from the session id under the merchant key
/// ([`MerchantKeys::client_secret`](crate::config::MerchantKeys::client_secret)), so the
/// first answer and every replay carry the same one. We chose deriving over answering replays
/// without the secret: a merchant whose first answer was lost retries precisely to get
/// something to hand to the page. A replay after the key it was derived under was rotated
/// out cannot derive it again; it answers the session without `client_secret` (and says so
/// in `client_secret_note`), and the merchant creates another session.
pub async fn create_session(app: &App<'_>, mut req: Request) -> Answer {
    authorize(app, &req)?;
    let body = http::json_body(&mut req).await?;
    let (status, text, replayed) =
        idempotent_text(app, &req, SESSIONS_SCOPE, &body, || create_session_inner(app, &body)).await?;
    if status != 201 {
        return http::json_text(status, &text).map_err(crate::app::internal);
    }
    let mut view: SessionView = serde_json::from_str(&text).map_err(|_| internal_answer())?;
    // An answer stored by an older version may still hold a (random) secret: it is given
    // again if it opens the session. No answer with a secret is stored any more.
    let stored = view.client_secret.take();
    view.client_secret = if replayed {
        // The one secret whose SHA256 the session holds: derived under either key in force.
        let row = app.store.session(&view.id).await.or_500()?.ok_or_else(internal_answer)?;
        app.settings
            .merchant_keys
            .client_secrets(&view.id)
            .into_iter()
            .chain(stored)
            .find(|s| qfpay::sign::secret_eq(&row.secret_hash, &qfpay::sign::sha256_hex(s.as_bytes())))
    } else {
        Some(app.settings.merchant_keys.client_secret(&view.id))
    };
    if view.client_secret.is_some() {
        return ok_json(status, &view);
    }
    let mut answer = serde_json::to_value(&view).map_err(|_| internal_answer())?;
    answer["client_secret_note"] = CLIENT_SECRET_ROTATED.into();
    ok_json(status, &answer)
}

/// What a replay says when its secret cannot be derived again.
const CLIENT_SECRET_ROTATED: &str = "this session was created under a merchant key no longer in force, so its client_secret cannot be given again; create a new session";

fn internal_answer() -> ApiError {
    ApiError::new(ErrorCode::InternalError, "the stored answer could not be read")
}

/// Creates the session and answers it without its secret (the answer may be stored).
async fn create_session_inner(app: &App<'_>, body: &[u8]) -> Result<(u16, String), ApiError> {
    let new = parse_json::<CreateSession>(body)?.validate(app.settings.session_ttl_minutes)?;
    if new.request.expires_in_seconds.is_some() && !app.settings.is_local() {
        return Err(ApiError::field(
            "expires_in_seconds",
            "is a testing aid accepted only with QFPAY_ENV=local; use expires_in_minutes (5-120)",
        ));
    }
    let request = &new.request;
    let asked = checkout_api::pay_options::narrow(request.pay_types.as_deref(), &app.settings.pay_types)?;
    let offered: Vec<String> =
        fitting_pay_types(&request.currency, request.amount, Some(&asked)).into_iter().map(|p| p.pay_type).collect();
    if offered.is_empty() {
        return Err(ApiError::field(
            "currency",
            "no pay type that a web checkout can complete accepts this currency and amount",
        ));
    }
    let id = ids::session_id(&random::bytes());
    let secret = app.settings.merchant_keys.client_secret(&id);
    let now = clock::now_ms();
    let expires_at = now + u64::from(new.expires_in_seconds) * 1000;
    let metadata = request.metadata.as_ref().map(|m| serde_json::to_string(m).unwrap_or_default());
    // `{CHECKOUT_SESSION_ID}` becomes this session's id, so the page the wallet sends the
    // shopper back to knows which session to show again.
    let return_url = request.return_url.as_deref().map(|url| checkout_api::session::return_url_for(url, &id));
    let pay_types = serde_json::to_string(&offered).unwrap_or_default();
    record_session(
        app,
        &NewSession {
            id: &id,
            secret_hash: &qfpay::sign::sha256_hex(secret.as_bytes()),
            amount: request.amount,
            currency: &request.currency,
            goods_name: &request.goods_name,
            reference: &request.reference,
            pay_types_json: &pay_types,
            return_url: return_url.as_deref(),
            metadata_json: metadata.as_deref(),
            created_at: now,
            expires_at,
        },
    )
    .await?;
    let row = app
        .store
        .session(&id)
        .await
        .or_500()?
        .ok_or_else(|| ApiError::new(ErrorCode::InternalError, "session not stored"))?;
    let view = row.view(Vec::new(), Vec::new());
    Ok((201, serde_json::to_string(&view).unwrap_or_default()))
}

/// Stores a new session and wakes the settler for its expiry, so it is closed at the gateway
/// the moment it expires, whoever is watching.
pub async fn record_session(app: &App<'_>, new: &NewSession<'_>) -> Result<(), ApiError> {
    app.store.insert_session(new).await.or_500()?;
    app.wake_settler(new.expires_at).await;
    app.ctx.note_session(new.id);
    Ok(())
}

pub async fn load(app: &App<'_>, id: &str) -> Result<crate::store::SessionRow, ApiError> {
    app.ctx.note_session(id);
    let row = app
        .store
        .session(id)
        .await
        .or_500()?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no session with this id"))?;
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
    let (attempt, left) = payment_to_refund(app, &session, request.attempt_id.as_deref()).await?;
    if let Some(info) = qfpay::tables::pay_type(&attempt.pay_type).filter(|i| !i.refundable) {
        return Err(ApiError::new(
            ErrorCode::NotRefundable,
            format!("payments by {} ({}) cannot be refunded", info.code, info.name_en),
        ));
    }
    request.validate(left.amount)?;
    if attempt.syssn.is_none() {
        return Err(ApiError::new(
            ErrorCode::PaymentNotSettled,
            "the payment's gateway number is not known yet; try again shortly",
        ));
    }
    // The row and the reservation of its amount are one transaction, so concurrent refunds
    // can never add up past the payment, and no reservation exists without its refund.
    let refund_id = ids::refund_id(&random::bytes());
    let out_trade_no = ids::refund_out_trade_no(&random::bytes());
    let txdtm = clock::txdtm_now();
    let new = NewRefund {
        id: &refund_id,
        session_id: id,
        attempt_id: &attempt.id,
        out_trade_no: &out_trade_no,
        amount: request.amount,
        reason: request.reason.as_deref(),
        txdtm: &txdtm,
        created_at: clock::now_ms(),
    };
    let reserved = match left.paid_other {
        None => app.store.reserve_refund(&new).await,
        Some(paid) => app.store.reserve_payment_refund(&new, paid).await,
    };
    if !reserved.or_500()? {
        return Err(ApiError::new(ErrorCode::RefundExceedsPayment, "amount: more than is left to refund"));
    }
    crate::faults::crash_point(app, "after_refund_reserved")?;
    // From here on the refund exists: whatever happens is the answer stored under the key
    // (which is never freed), and a refund whose sending failed is finished by the settler.
    Ok(match send_reserved(app, &refund_id, &attempt).await {
        Ok(done) => {
            let status = if done.status() == RefundStatus::Failed { 402 } else { 201 };
            (status, serde_json::to_string(&done.view()).unwrap_or_default())
        }
        Err(e) => (e.status, e.body()),
    })
}

/// What is left to refund of a payment.
struct Left {
    /// At most this much may be asked for now (the check before the reservation's own).
    amount: u64,
    /// For a payment that did not pay the session: what it took, against which its refunds
    /// are counted (the session's `amount_refunded` counts only its own payment's).
    paid_other: Option<u64>,
}

/// The payment a refund is for: the one that paid the session, or `attempt_id`, another
/// payment of the session that took money (a second payment, a held one). The error names the
/// field and the rule.
async fn payment_to_refund(
    app: &App<'_>,
    session: &crate::store::SessionRow,
    attempt_id: Option<&str>,
) -> Result<(crate::store::AttemptRow, Left), ApiError> {
    let paid_by = session.paid_attempt_id.as_deref().filter(|_| session.status() == SessionStatus::Paid);
    let Some(wanted) = attempt_id.filter(|a| Some(*a) != paid_by) else {
        let paid_by = paid_by.ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotPaid,
                "only a paid session can be refunded (or name another payment in attempt_id)",
            )
        })?;
        let attempt = app.store.attempt(paid_by).await.or_500()?;
        let attempt = attempt.ok_or_else(|| ApiError::new(ErrorCode::InternalError, "paid attempt missing"))?;
        let left = session.amount - session.amount_refunded.min(session.amount);
        return Ok((attempt, Left { amount: left, paid_other: None }));
    };
    let attempt = app.store.attempt(wanted).await.or_500()?.filter(|a| a.session_id == session.id);
    let attempt = attempt
        .ok_or_else(|| ApiError::field("attempt_id", "names no payment of this session (pa_... from its attempts)"))?;
    let paid = match attempt.status() {
        AttemptStatus::Paid => session.amount,
        AttemptStatus::Held => attempt.held_txamt.ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotRefundable,
                "attempt_id: this held payment's amount is not known in the session's currency (another currency, or held before the worker kept amounts); refund it at QFPay's portal",
            )
            .about("attempt_id")
        })?,
        other => {
            return Err(ApiError::new(
                ErrorCode::NotPaid,
                format!("attempt_id: this payment took no money (it is {}); nothing to refund", other.as_str()),
            )
            .about("attempt_id"))
        }
    };
    let refunded: u64 = app
        .store
        .refunds(&session.id)
        .await
        .or_500()?
        .iter()
        .filter(|r| r.attempt_id == attempt.id && r.status() != RefundStatus::Failed)
        .map(|r| r.amount)
        .sum();
    Ok((attempt, Left { amount: paid.saturating_sub(refunded), paid_other: Some(paid) }))
}

/// Sends a refund just reserved; if that fails on our side, the refund as it stands (pending,
/// for the settler to finish).
async fn send_reserved(
    app: &App<'_>,
    refund_id: &str,
    attempt: &crate::store::AttemptRow,
) -> Result<crate::store::RefundRow, ApiError> {
    let missing = || ApiError::new(ErrorCode::InternalError, "refund not stored");
    let refund = app.store.refund(refund_id).await.or_500()?.ok_or_else(missing)?;
    match settle::send_refund(app, &refund, attempt).await {
        Ok(done) => Ok(done),
        Err(e) => {
            worker::console_error!("refund {refund_id}: {} ({}); the settler finishes it", e.code, e.message);
            app.store.refund(refund_id).await.or_500()?.ok_or_else(missing)
        }
    }
}

/// `POST /v1/sessions/{id}/close`: the session starts closing and its open QR codes are
/// closed at the gateway now; `200` with `closed` once every one is confirmed, else `202` with
/// `closing` (the settler keeps trying, and `checkout.session.closed` follows).
pub async fn close_session(app: &App<'_>, req: Request, id: &str) -> Answer {
    authorize(app, &req)?;
    let session = load(app, id).await?;
    if session.status().on_close().is_err() {
        return Err(ApiError::new(ErrorCode::AlreadyPaid, "the session is paid; refund it instead"));
    }
    app.store.start_closing(id, session.status(), CloseReason::Closed).await.or_500()?;
    let session = load(app, id).await?;
    if session.status() == SessionStatus::Paid {
        return Err(ApiError::new(ErrorCode::AlreadyPaid, "the session was paid while closing; refund it instead"));
    }
    for attempt in app.store.attempts(id).await.or_500()?.iter().filter(|a| a.status().is_open()) {
        if settle::close_attempt(app, &session, attempt).await? == settle::CloseOutcome::Paid {
            return Err(ApiError::new(ErrorCode::AlreadyPaid, "the session was paid while closing; refund it instead"));
        }
    }
    let session = load(app, id).await?;
    settle::finish_closing(app, &session).await?;
    app.wake_settler(clock::now_ms()).await;
    let row = load(app, id).await?;
    let status = if row.status() == SessionStatus::Closing { 202 } else { 200 };
    ok_json(status, &app.store.session_view(&row).await.or_500()?)
}
