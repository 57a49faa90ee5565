//! The widget's API: the session's id in the path, its client secret as a bearer token. The
//! secret opens that one session and nothing else; amounts and goods come from the session,
//! never from the browser.

use checkout_api::budget::{AttemptRefusal, CallClass};
use checkout_api::session::parse_json;
use checkout_api::views::{CheckoutView, PayAnswer, StatusView};
use checkout_api::{fitting_pay_types, ids, ApiError, AttemptEvent, ErrorCode, PayRequest};
use qfpay::{GatewayRequest, PaymentAnswer, PaymentRequest, RespClass};
use worker::Request;

use crate::app::{ok_json, Answer, App, OrInternal};
use crate::clock;
use crate::gateway::Outcome;
use crate::http;
use crate::random;
use crate::settle;
use crate::store::{NewAttempt, SessionRow};

/// The session `id` if the bearer token is its client secret. A wrong secret and an unknown
/// id get the same answer, so the API says nothing about which sessions exist.
async fn authorize(app: &App<'_>, req: &Request, id: &str) -> Result<SessionRow, ApiError> {
    let denied = || {
        ApiError::new(
            ErrorCode::Unauthorized,
            "Authorization: Bearer <client_secret> of this session is missing or wrong",
        )
    };
    let secret = http::bearer(req).ok_or_else(denied)?;
    app.ctx.note_session(id);
    let row = app.store.session(id).await.or_500()?.ok_or_else(denied)?;
    if !qfpay::sign::secret_eq(&row.secret_hash, &qfpay::sign::sha256_hex(secret.as_bytes())) {
        return Err(denied());
    }
    settle::refresh(app, row).await
}

/// `GET /v1/checkout/{id}`.
pub async fn get_checkout(app: &App<'_>, req: Request, id: &str) -> Answer {
    let session = authorize(app, &req, id).await?;
    let attempt = app.store.latest_attempt(id).await.or_500()?;
    let allowed = session.pay_type_list();
    let view = CheckoutView {
        id: session.id.clone(),
        status: session.status(),
        amount: session.amount,
        currency: session.currency.clone(),
        currency_exponent: qfpay::tables::currency(&session.currency).map_or(2, |c| c.exponent),
        goods_name: session.goods_name.clone(),
        merchant_name: app.settings.merchant_name.clone(),
        expires_at: session.expires_at,
        pay_types: fitting_pay_types(&session.currency, session.amount, Some(&allowed)),
        attempt: attempt.map(|a| a.view()),
    };
    ok_json(200, &view)
}

/// `POST /v1/checkout/{id}/pay`.
pub async fn pay(app: &App<'_>, mut req: Request, id: &str) -> Answer {
    let session = authorize(app, &req, id).await?;
    let body = http::json_body(&mut req).await?;
    let choice = parse_json::<PayRequest>(&body)?;
    if !session.status().accepts_attempts() {
        return Err(ApiError::new(ErrorCode::SessionNotOpen, format!("the session is {}", session.status().as_str())));
    }
    let offered = fitting_pay_types(&session.currency, session.amount, Some(&session.pay_type_list()));
    let Some(option) = offered.iter().find(|p| p.pay_type == choice.pay_type) else {
        return Err(ApiError::field("pay_type", "is not one this session offers"));
    };
    // Before any gateway call (even a close): one client's secret must not spend the budget.
    make_room(app, &session).await?;
    let now = clock::now_ms();
    let info = qfpay::tables::pay_type(&option.pay_type).ok_or_else(|| ApiError::field("pay_type", "unknown"))?;
    let remaining_minutes = (session.expires_at.saturating_sub(now) / 60_000).clamp(5, 120) as u32;
    let minutes = if info.expired_time { remaining_minutes.min(30) } else { 30 };
    let expires_at = (now + u64::from(minutes) * 60_000).min(session.expires_at.max(now + 5 * 60_000));
    let attempt_id = ids::attempt_id(&random::bytes());
    let out_trade_no = ids::payment_out_trade_no(&random::bytes());
    // Recorded before the gateway hears of it, so no payment can exist that we do not know;
    // its first background query is planned with it.
    let next_check_at = checkout_api::upstream::next_query_at(now, 0, expires_at, app.settings.query_after_seconds);
    let recorded = app
        .store
        .insert_attempt(&NewAttempt {
            id: &attempt_id,
            session_id: id,
            out_trade_no: &out_trade_no,
            pay_type: &option.pay_type,
            created_at: now,
            expires_at,
            next_check_at: next_check_at.unwrap_or(expires_at),
        })
        .await
        .or_500()?;
    if !recorded {
        // A close, or a concurrent attempt, got there first: say which.
        may_start_attempt(app, &session).await?;
        return Err(session_over());
    }
    app.wake_settler(next_check_at.unwrap_or(expires_at)).await;
    let request = PaymentRequest {
        txamt: session.amount,
        txcurrcd: session.currency.clone(),
        pay_type: option.pay_type.clone(),
        out_trade_no: out_trade_no.clone(),
        txdtm: clock::txdtm_now(),
        expired_time: info.expired_time.then_some(minutes),
        goods_name: Some(session.goods_name.clone()),
        notify_url: Some(format!("{}/v1/qfpay/notify", app.settings.public_url)),
        return_url: session.return_url.clone().filter(|_| option.how == checkout_api::pay_options::PayHow::Redirect),
        ..Default::default()
    };
    let signed = request.sign(&app.settings.gateway.credentials).map_err(ApiError::from)?;
    match app.gateway().call(CallClass::Pay, &signed, PaymentAnswer::parse, |a| &a.outcome.respcd).await {
        Outcome::Answer(answer) if answer.outcome.respcd.is_success() => {
            if let Some(url) = answer.pay_url.as_deref().filter(|u| !safe_redirect(u, app.settings.is_local())) {
                // A wallet link that is not a web address (`javascript:`, `data:`) is never
                // stored or shown: the order is closed and the shopper picks again.
                worker::console_error!(
                    "payment {out_trade_no}: the gateway's pay_url is not https ({} bytes); refused",
                    url.len()
                );
                app.store.end_attempt(&attempt_id, AttemptEvent::Failed, None).await.or_500()?;
                settle::send_close(app, session.amount, &out_trade_no, &option.pay_type).await?;
                return Err(ApiError::new(
                    ErrorCode::GatewayUnavailable,
                    "the payment gateway answered a wallet link that is not a web address; choose another way to pay",
                ));
            }
            let created = app
                .store
                .attempt_created(
                    &attempt_id,
                    answer.syssn.as_deref(),
                    answer.qrcode.as_deref(),
                    answer.pay_url.as_deref(),
                )
                .await
                .or_500()?;
            if !created {
                // The session was closed while the gateway created the order (its close found
                // no order yet): close the order now, so no shopper can pay it. If that close
                // fails, the settler's reconciliation still finds a payment of it.
                settle::send_close(app, session.amount, &out_trade_no, &option.pay_type).await?;
                return Err(session_over());
            }
            ok_json(
                201,
                &PayAnswer {
                    attempt_id,
                    pay_type: option.pay_type.clone(),
                    qrcode: answer.qrcode,
                    redirect_url: answer.pay_url,
                    expires_at,
                },
            )
        }
        // `1143`/`1145`/`1298`: the gateway is still confirming. Not a refusal: telling the
        // shopper "refused" could make them pay again. The attempt stays open and the settler
        // queries it in a few seconds (the guide: ask again in 3-5 s).
        Outcome::Answer(answer) if answer.outcome.respcd.class() == RespClass::PendingAskAgain => {
            let code = answer.outcome.respcd.code().to_owned();
            app.store
                .attempt_pending(&attempt_id, &code, clock::now_ms() + checkout_api::upstream::ASK_AGAIN_MS)
                .await
                .or_500()?;
            app.wake_settler(clock::now_ms() + checkout_api::upstream::ASK_AGAIN_MS).await;
            Err(ApiError::new(
                ErrorCode::PaymentPending,
                format!(
                    "the gateway is still confirming this payment (respcd {code}); do not pay again, follow the status"
                ),
            ))
        }
        Outcome::Answer(answer) => {
            let code = answer.outcome.respcd.code().to_owned();
            app.store.end_attempt(&attempt_id, AttemptEvent::Failed, Some(&code)).await.or_500()?;
            let reason = answer.outcome.respcd.info().map_or("refused by the payment gateway", |i| i.text_en);
            Err(ApiError::new(
                ErrorCode::PaymentRefused,
                format!("{reason} (respcd {code}); choose another way to pay"),
            ))
        }
        // Never sent: the gateway never heard of it, so it ends here, with no close to send.
        Outcome::NoBudget(wait) => {
            app.store.forget_unsent_attempt(&attempt_id).await.or_500()?;
            Err(busy(wait))
        }
        // No answer: the attempt stays `creating`, and the settler asks the gateway about it.
        Outcome::Unknown(why) => {
            worker::console_error!("payment {out_trade_no}: no gateway answer ({why}); left for a status check");
            Err(ApiError::new(
                ErrorCode::GatewayUnavailable,
                "the payment gateway did not answer; try again in a moment",
            ))
        }
    }
}

/// Whether a gateway's wallet link may be stored and followed: `https:`, or `http:` only
/// against the local simulator; nothing with spaces or control characters.
fn safe_redirect(url: &str, local: bool) -> bool {
    let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    let https = url.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://"));
    let http = url.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("http://"));
    clean && (https || (local && http))
}

/// Readies a session for a new attempt (the widget's or a till's): refused when it has
/// started too many or one a moment ago, before any gateway call; then, one open attempt at a
/// time, the previous one is closed first, and if it turns out paid, that is the answer.
pub async fn make_room(app: &App<'_>, session: &SessionRow) -> Result<(), ApiError> {
    may_start_attempt(app, session).await?;
    for previous in app.store.attempts(&session.id).await.or_500()?.iter().filter(|a| a.status().is_open()) {
        if settle::close_attempt(app, session, previous).await? == settle::CloseOutcome::Paid {
            return Err(ApiError::new(ErrorCode::AlreadyPaid, "this session has just been paid"));
        }
    }
    Ok(())
}

/// Refuses another attempt when the session has started too many, or one a moment ago: a
/// 429 with `Retry-After`, before anything is sent to the gateway.
pub async fn may_start_attempt(app: &App<'_>, session: &SessionRow) -> Result<(), ApiError> {
    let (count, last) = app.store.attempt_count(&session.id).await.or_500()?;
    let now = clock::now_ms();
    match checkout_api::budget::may_start_attempt(count, last, now) {
        Ok(()) => Ok(()),
        Err(AttemptRefusal::TooSoon(wait)) => Err(ApiError::new(
            ErrorCode::AttemptTooSoon,
            "a payment attempt was started a moment ago; try again in a few seconds",
        )
        .retry_after(wait.div_ceil(1000))),
        Err(AttemptRefusal::TooMany) => Err(ApiError::new(
            ErrorCode::TooManyAttempts,
            format!(
                "this session has started {} payment attempts, the most one session may; ask for a new checkout",
                checkout_api::budget::MAX_ATTEMPTS_PER_SESSION
            ),
        )
        .retry_after(session.expires_at.saturating_sub(now).div_ceil(1000))),
    }
}

/// The merchant's upstream budget for payments is used up for `wait_ms`: try again then.
pub fn busy(wait_ms: u64) -> ApiError {
    ApiError::new(ErrorCode::UpstreamBusy, "the payment gateway's rate budget is used up for now; try again shortly")
        .retry_after(wait_ms.div_ceil(1000))
}

fn session_over() -> ApiError {
    ApiError::new(ErrorCode::SessionNotOpen, "the session was closed while the payment was being started")
}

/// `GET /v1/checkout/{id}/status`: answered from D1 only. The settler queries the gateway on
/// the attempt's schedule whether or not anyone polls, so shoppers' polls never become
/// upstream calls.
pub async fn status(app: &App<'_>, req: Request, id: &str) -> Answer {
    let session = authorize(app, &req, id).await?;
    let attempt = app.store.latest_attempt(id).await.or_500()?;
    ok_json(
        200,
        &StatusView {
            status: session.status(),
            attempt: attempt.map(|a| a.view()),
            paid_at: session.paid_at,
            expires_at: session.expires_at,
        },
    )
}
