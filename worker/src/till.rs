//! In-store payments through the same worker: a shop's till scans the shopper's wallet code
//! and calls `POST /v1/sessions/{id}/charge {auth_code, pay_type?}` with the merchant key
//! (`Idempotency-Key` honoured). The worker signs the CPM payment and answers at once when it
//! is final. While the shopper confirms in the wallet (`1143`/`1145`) it queries every few
//! seconds, up to a limit, then answers `202` with the session to poll. An outcome still unknown
//! at the attempt's end (a minute and a half) is reversed by the settler, so no shopper is
//! charged for a sale the till abandoned.

use checkout_api::budget::CallClass;
use checkout_api::session::parse_json;
use checkout_api::upstream::ASK_AGAIN_MS;
use checkout_api::{ApiError, AttemptStatus, ChargeRequest, ErrorCode, SessionStatus};
use qfpay::PaymentRequest;
use worker::Request;

use crate::app::{Answer, App, OrInternal};
use crate::clock;
use crate::gateway::sleep;
use crate::http;
use crate::merchant::{authorize, idempotent, load};
use crate::pay;
use crate::settle;
use crate::store::AttemptRow;

/// How long the request waits for the shopper's confirmation before answering `202` (ms).
const WAIT_MS: u64 = 20_000;
/// When an unconfirmed charge is reversed, after it started (ms).
const REVERSE_AFTER_MS: u64 = 90_000;

type R<T> = std::result::Result<T, ApiError>;

/// `POST /v1/sessions/{id}/charge`.
pub async fn charge(app: &App<'_>, mut req: Request, id: &str) -> Answer {
    authorize(app, &req)?;
    let body = http::json_body(&mut req).await?;
    idempotent(app, &req, &format!("charge:{id}"), &body, || charge_inner(app, id, &body)).await
}

async fn charge_inner(app: &App<'_>, id: &str, body: &[u8]) -> R<(u16, String)> {
    let request = parse_json::<ChargeRequest>(body)?;
    let session = load(app, id).await?;
    let enabled = app.settings.pay_types_set.then_some(app.settings.pay_types.as_slice());
    let pay_type = request.pay_type_for(enabled, &session.currency);
    request.validate(&pay_type, &session.currency, session.amount)?;
    if app.settings.pay_types_set && !app.settings.pay_types.contains(&pay_type) {
        return Err(ApiError::field("pay_type", format!("{pay_type} is not enabled for this merchant (PAY_TYPES)")));
    }
    if !session.status().accepts_attempts() {
        return Err(ApiError::new(ErrorCode::SessionNotOpen, format!("the session is {}", session.status().as_str())));
    }
    crate::checkout::make_room(app, &session).await?;
    let attempt = record_attempt(app, id, &pay_type).await?;
    // From here on the charge exists: whatever happens is the answer stored under the key.
    match send_and_wait(app, &attempt, (&request.auth_code, &pay_type), session.amount, &session.currency).await {
        Ok(()) => answer(app, id, &attempt.id).await,
        // Never sent: nothing changed at the gateway, so the key is freed for the till's retry.
        Err(e) if e.code == ErrorCode::UpstreamBusy.code() => Err(e),
        Err(e) => Ok((e.status, e.body())),
    }
}

/// Records the CPM attempt before the gateway hears of it; the settler reverses it at its end
/// if it is still open.
async fn record_attempt(app: &App<'_>, session_id: &str, pay_type: &str) -> R<AttemptRow> {
    let now = clock::now_ms();
    let plan =
        pay::Plan { session_id, pay_type, expires_at: now + REVERSE_AFTER_MS, next_check_at: now + ASK_AGAIN_MS };
    if let Some(attempt) = pay::record(app, &plan).await? {
        return Ok(attempt);
    }
    if let Some(session) = app.store.session(session_id).await.or_500()? {
        crate::checkout::may_start_attempt(app, &session).await?;
    }
    Err(ApiError::new(ErrorCode::SessionNotOpen, "the session was closed while the charge was starting"))
}

/// Sends the CPM payment and, while its outcome is pending or unknown, queries it until it is
/// final or the wait is over.
async fn send_and_wait(
    app: &App<'_>,
    attempt: &AttemptRow,
    (auth_code, pay_type): (&str, &str),
    amount: u64,
    currency: &str,
) -> R<()> {
    let payment = PaymentRequest {
        txamt: amount,
        txcurrcd: currency.to_owned(),
        pay_type: pay_type.to_owned(),
        auth_code: Some(auth_code.to_owned()),
        notify_url: Some(format!("{}/v1/qfpay/notify", app.settings.public_url)),
        ..Default::default()
    };
    match pay::send(app, attempt, payment).await? {
        pay::Sent::Paid => return Ok(()),
        pay::Sent::Refused { respcd, reason } => {
            return Err(ApiError::new(ErrorCode::PaymentRefused, format!("{reason} (respcd {respcd})")))
        }
        // Never sent: it ends here, and the till may try again shortly.
        pay::Sent::NoBudget(wait) => return Err(crate::checkout::busy(wait)),
        // A CPM charge has no QR code: "created" or abandoned, only a query tells.
        pay::Sent::Pending(_)
        | pay::Sent::Unknown
        | pay::Sent::Created(_)
        | pay::Sent::Abandoned(_)
        | pay::Sent::UnsafeLink => {}
    }
    wait_for_outcome(app, attempt).await
}

/// Queries the charge every few seconds until it is final or the wait is over.
async fn wait_for_outcome(app: &App<'_>, attempt: &AttemptRow) -> R<()> {
    let started = clock::now_ms();
    while clock::now_ms() < started + WAIT_MS {
        sleep(ASK_AGAIN_MS).await;
        // The till is waiting: its queries come from the payments' share of the budget.
        if let Some(answer) = settle::query_order(app, attempt, CallClass::Pay).await? {
            settle::apply_attempt_row(app, attempt, answer.payment(&attempt.out_trade_no)).await?;
        }
        let now = app.store.attempt(&attempt.id).await.or_500()?;
        match now.as_ref().map(AttemptRow::status) {
            Some(AttemptStatus::Failed) => {
                let code = now.and_then(|a| a.respcd).unwrap_or_default();
                return Err(ApiError::new(ErrorCode::PaymentRefused, format!("the wallet refused it (respcd {code})")));
            }
            Some(status) if !status.is_open() => return Ok(()),
            _ => {}
        }
    }
    Ok(())
}

/// The charge as it stands: `200` and the session when this charge paid it (`409
/// already_paid` when another payment had); `202` and the session while the
/// charge is still unconfirmed (poll `GET /v1/sessions/{id}`; the webhook tells the outcome);
/// `402` when it ended unpaid (refused, reversed, closed); `409 payment_held` when the gateway
/// reported another amount.
async fn answer(app: &App<'_>, id: &str, attempt_id: &str) -> R<(u16, String)> {
    let row = load(app, id).await?;
    let attempt = app.store.attempt(attempt_id).await.or_500()?.map(|a| a.status());
    let ended = |code: ErrorCode, what: &str| ApiError::new(code, format!("the charge ended {what}"));
    let status = match (row.status(), attempt) {
        // Paid, but by another payment (the shopper paid a QR code meanwhile): this charge did
        // not pay the sale. It was reversed, or, if it went through, is a second payment that is
        // refunded automatically where the merchant has that on (`payment.duplicate`).
        (SessionStatus::Paid, Some(status)) if row.paid_attempt_id.as_deref() != Some(attempt_id) => {
            let what = match status {
                AttemptStatus::Paid => "this charge is a second payment, refunded automatically unless AUTO_REFUND_DOUBLE_PAYMENTS=false or its wallet takes no refunds (payment.duplicate)".to_owned(),
                AttemptStatus::Held => "this charge was taken for another amount and is held: check it with QFPay (payment.held)".to_owned(),
                s if s.is_open() => "this charge is still being confirmed: it will be reversed, or, if the wallet completes it first, refunded as a second payment (payment.duplicate); do not charge again".to_owned(),
                s => format!("this charge was not taken (it ended {}); do not charge again", s.as_str()),
            };
            let message = format!("the session was already paid by another payment: {what}");
            let e = ApiError::new(ErrorCode::AlreadyPaid, message);
            return Ok((e.status, e.body()));
        }
        (SessionStatus::Paid, _) => 200,
        (_, Some(AttemptStatus::Held)) => {
            let e = ended(ErrorCode::PaymentHeld, "held: the gateway reported another amount or currency");
            return Ok((e.status, e.body()));
        }
        // Reversed, even after the gateway first reported it paid: the money went back.
        (_, Some(AttemptStatus::Reversed)) => {
            let e = ended(
                ErrorCode::PaymentRefused,
                "reversed: any money taken went back to the shopper; do not hand over the goods",
            );
            return Ok((e.status, e.body()));
        }
        (_, Some(s)) if !s.is_open() => {
            let e = ended(ErrorCode::PaymentRefused, s.as_str());
            return Ok((e.status, e.body()));
        }
        _ => 202,
    };
    let view = app.store.session_view(&row).await.or_500()?;
    Ok((status, serde_json::to_string(&view).unwrap_or_default()))
}
