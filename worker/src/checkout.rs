//! The widget's API: the session's id in the path, its client secret as a bearer token. The
//! secret opens that one session and nothing else; amounts and goods come from the session,
//! never from the browser.

use checkout_api::budget::AttemptRefusal;
use checkout_api::session::parse_json;
use checkout_api::views::{CheckoutView, PayAnswer, StatusView, UnixSeconds};
use checkout_api::{fitting_pay_types, ApiError, ErrorCode, PayRequest};
use qfpay::PaymentRequest;
use worker::Request;

use crate::app::{ok_json, Answer, App, OrInternal};
use crate::clock;
use crate::http;
use crate::pay;
use crate::settle;
use crate::store::SessionRow;
use crate::watch::{self, Waited};

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

/// `GET /v1/checkout/{id}`: one D1 round trip (the session and its attempts in one batch).
pub async fn get_checkout(app: &App<'_>, req: Request, id: &str) -> Answer {
    app.store.load_session(id).await.or_500()?;
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
        expires_at: UnixSeconds::from_ms(session.expires_at),
        pay_types: fitting_pay_types(&session.currency, session.amount, Some(&allowed)),
        attempt: attempt.map(|a| a.view()),
    };
    ok_json(200, &view)
}

/// `POST /v1/checkout/{id}/pay`.
pub async fn pay(app: &App<'_>, mut req: Request, id: &str) -> Answer {
    // The body first (at most 16 KiB; the client decides how slowly it comes), so the rows
    // loaded next are as fresh as the decisions taken on them.
    let body = http::json_body(&mut req).await?;
    // The session and its attempts in one round trip, for every read below until a write.
    app.store.load_session(id).await.or_500()?;
    let session = authorize(app, &req, id).await?;
    // One client, through one session or many, must not spend the budget: its payments across
    // sessions are counted before any gateway call (even a close). A request with its session's
    // derived secret was counted by the router before anything was read, so a refusal costs
    // next to nothing; any other (a wrong secret, refused above uncounted; a demo session's
    // secret) once the secret is checked.
    if !app.ctx.pay_counted() {
        let client = crate::limits::pay_attempt(app.env, &req).await?;
        app.ctx.note_pay_counted(client);
    }
    let choice = parse_json::<PayRequest>(&body)?;
    if !session.status().accepts_attempts() {
        return Err(ApiError::new(ErrorCode::SessionNotOpen, format!("the session is {}", session.status().as_str())));
    }
    let offered = fitting_pay_types(&session.currency, session.amount, Some(&session.pay_type_list()));
    let Some(option) = offered.iter().find(|p| p.pay_type == choice.pay_type) else {
        return Err(ApiError::field("pay_type", "is not one this session offers"));
    };
    // An order QFPay cannot cancel that is still payable is shown again rather than made twice.
    if let Some(live) = live_order(app, &session, &option.pay_type).await? {
        return ok_json(201, &live);
    }
    make_room(app, &session).await?;
    let now = clock::now_ms();
    let info = qfpay::tables::pay_type(&option.pay_type).ok_or_else(|| ApiError::field("pay_type", "unknown"))?;
    // The order's life follows the session's (5 to 120 minutes, QFPay's range) where the pay
    // type takes `expired_time`; otherwise it lives the gateway's default 30 minutes.
    let remaining_minutes = (session.expires_at.saturating_sub(now) / 60_000).clamp(5, 120) as u32;
    let minutes = if info.expired_time { remaining_minutes } else { 30 };
    let expires_at = now + u64::from(minutes) * 60_000;
    let next_check_at = checkout_api::upstream::next_query_at(now, 0, expires_at, app.settings.query_after_seconds);
    let plan = pay::Plan {
        session_id: id,
        pay_type: &option.pay_type,
        expires_at,
        next_check_at: next_check_at.unwrap_or(expires_at),
    };
    let Some(attempt) = pay::record(app, &plan).await? else {
        // A close, or a concurrent attempt, got there first: say which.
        may_start_attempt(app, &session).await?;
        return Err(session_over());
    };
    let request = PaymentRequest {
        txamt: session.amount,
        txcurrcd: session.currency.clone(),
        pay_type: option.pay_type.clone(),
        expired_time: info.expired_time.then_some(minutes),
        goods_name: Some(session.goods_name.clone()),
        notify_url: Some(format!("{}/v1/qfpay/notify", app.settings.public_url)),
        return_url: session.return_url.clone().filter(|_| option.how == checkout_api::pay_options::PayHow::Redirect),
        extend_info: (option.pay_type == qfpay::request::WECHAT_H5).then(|| h5_extend_info(app, &req)),
        ..Default::default()
    };
    match pay::send(app, &attempt, request).await? {
        pay::Sent::Created(answer) => ok_json(
            201,
            &PayAnswer {
                attempt_id: attempt.id.clone(),
                pay_type: option.pay_type.clone(),
                qrcode: answer.qrcode,
                redirect_url: answer.pay_url,
                expires_at: UnixSeconds::from_ms(expires_at),
            },
        ),
        // A QR or page payment is never paid by its creation; should a gateway say so, the
        // store has it, and the status says paid.
        pay::Sent::Paid => Err(ApiError::new(ErrorCode::AlreadyPaid, "this session has just been paid")),
        // `1143`/`1145`/`1298`: the gateway is still confirming. Not a refusal: telling the
        // shopper "refused" could make them pay again; the settler queries it in a few seconds
        // (the guide: ask again in 3-5 s).
        pay::Sent::Pending(code) => Err(ApiError::new(
            ErrorCode::PaymentPending,
            format!(
                "the gateway is still confirming this payment (respcd {code}); do not pay again, follow the status"
            ),
        )),
        pay::Sent::Refused { respcd, reason } => Err(pay::refused(&respcd, &reason)),
        pay::Sent::NoBudget(wait) => Err(busy(wait)),
        pay::Sent::Unknown => Err(ApiError::new(
            ErrorCode::GatewayUnavailable,
            "the payment gateway did not answer; try again in a moment",
        )),
        pay::Sent::Abandoned(why) => Err(ApiError::new(ErrorCode::SessionNotOpen, why)),
        pay::Sent::UnsafeLink => Err(ApiError::new(
            ErrorCode::GatewayUnavailable,
            "the payment gateway answered a wallet link that is not a web address; choose another way to pay",
        )),
    }
}

/// A still-payable order of this session that nothing can end early (a Hong Kong type): the
/// same pay type gets it again (another would be a second payable code); another pay type is
/// refused while it lives if its payments cannot be refunded (FPS), since a second payment of
/// the session could then not be given back.
async fn live_order(app: &App<'_>, session: &SessionRow, pay_type: &str) -> Result<Option<PayAnswer>, ApiError> {
    let now = clock::now_ms();
    let attempts = app.store.attempts(&session.id).await.or_500()?;
    let live = attempts.iter().filter(|a| {
        a.status().is_open()
            && now < a.expires_at
            && app.settings.end_order(&a.pay_type) == qfpay::tables::EndOrder::None
            && (a.qrcode.is_some() || a.redirect_url.is_some())
    });
    let wanted_refundable = qfpay::tables::pay_type(pay_type).is_none_or(|p| p.refundable);
    for attempt in live {
        if !wanted_refundable && attempt.pay_type != pay_type {
            // A payment that cannot be refunded must never be a session's second payment.
            let name = qfpay::tables::pay_type(pay_type).map_or("this wallet", |p| p.wallet.display_name());
            return Err(ApiError::new(
                ErrorCode::PaymentPending,
                format!(
                    "another code of this session can be paid until it expires ({} s from now), and {name} payments cannot be refunded; pay that one, or wait",
                    seconds_until(attempt.expires_at, now)
                ),
            ));
        }
        if attempt.pay_type == pay_type {
            return Ok(Some(PayAnswer {
                attempt_id: attempt.id.clone(),
                pay_type: attempt.pay_type.clone(),
                qrcode: attempt.qrcode.clone(),
                redirect_url: attempt.redirect_url.clone(),
                expires_at: UnixSeconds::from_ms(attempt.expires_at),
            }));
        }
        let info = qfpay::tables::pay_type(&attempt.pay_type);
        if info.is_some_and(|p| !p.refundable) {
            let name = info.map_or("this wallet", |p| p.wallet.display_name());
            return Err(ApiError::new(
                ErrorCode::PaymentPending,
                format!(
                    "a {name} code of this session can be paid until it expires ({} s from now) and {name} payments cannot be refunded; pay it, or wait",
                    seconds_until(attempt.expires_at, now)
                ),
            ));
        }
    }
    Ok(None)
}

fn seconds_until(expires_at: u64, now: u64) -> u64 {
    expires_at.saturating_sub(now).div_ceil(1000)
}

/// `extend_info` for WeChat Pay H5 (QFPay: mandatory): the page is the merchant's (the widget's
/// origin, which CORS already checked, else the worker's public URL), its name the merchant's,
/// and the IP the shopper's own (`CF-Connecting-IP`, set by Cloudflare's edge).
fn h5_extend_info(app: &App<'_>, req: &Request) -> String {
    let header = |name: &str| req.headers().get(name).ok().flatten().filter(|v| !v.is_empty());
    let page = header("Origin").filter(|o| app.settings.allowed_origins.contains(o));
    let ip = header("CF-Connecting-IP").unwrap_or_else(|| "127.0.0.1".into());
    qfpay::h5_extend_info(page.as_deref().unwrap_or(&app.settings.public_url), &app.settings.merchant_name, &ip)
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
/// the attempt's schedule whether or not anyone polls, so shoppers' requests never become
/// upstream calls. With `Prefer: wait=N` an unsettled status is held up to N seconds by the
/// session's watch (`crate::watch`) and read again the moment a change is announced.
pub async fn status(app: &App<'_>, req: Request, id: &str) -> Answer {
    let prefer = req.headers().get("Prefer").ok().flatten();
    let wait = prefer.as_deref().and_then(checkout_api::wait::requested_seconds);
    let read_at = watch::read_started();
    app.store.load_session(id).await.or_500()?;
    let session = authorize(app, &req, id).await?;
    let mut view = status_view(app, session).await?;
    let Some(seconds) = wait.filter(|_| view.awaits_change()) else { return ok_json(200, &view) };
    match watch::wait(app.env, id, read_at, seconds).await {
        Ok(Waited::Changed) => {
            app.store.load_session(id).await.or_500()?;
            let session = app
                .store
                .session(id)
                .await
                .or_500()?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no session with this id"))?;
            view = status_view(app, session).await?;
        }
        Ok(Waited::TimedOut) => {}
        // The session holds its most waits: answered now, like a poll.
        Ok(Waited::Busy) => return ok_json(200, &view),
        // The watch is unreachable: answered now; the widget asks again.
        Err(e) => {
            worker::console_error!("session watch: {e}");
            return ok_json(200, &view);
        }
    }
    let mut answer = ok_json(200, &view)?;
    let _ = answer.headers_mut().set("Preference-Applied", &format!("wait={seconds}"));
    Ok(answer)
}

async fn status_view(app: &App<'_>, session: SessionRow) -> Result<StatusView, ApiError> {
    let attempt = app.store.latest_attempt(&session.id).await.or_500()?;
    Ok(StatusView {
        status: session.status(),
        attempt: attempt.map(|a| a.view()),
        paid_at: session.paid_at.map(UnixSeconds::from_ms),
        expires_at: UnixSeconds::from_ms(session.expires_at),
    })
}
