//! One payment attempt's life, for the widget's pay and the till's charge alike: record it
//! before the gateway hears of it, send it, and apply what the answer means
//! ([`qfpay::verdict::payment`]) to the store. The callers only turn the result into their
//! HTTP answer.

use checkout_api::budget::CallClass;
use checkout_api::{ids, ApiError, AttemptEvent, ErrorCode};
use qfpay::tables::PayMode;
use qfpay::verdict::PayVerdict;
use qfpay::{GatewayRequest, PaymentAnswer, PaymentRequest};

use crate::app::{App, OrInternal};
use crate::clock;
use crate::gateway::Called;
use crate::random;
use crate::settle::{self, Reported};
use crate::store::{AttemptRow, NewAttempt};

type R<T> = std::result::Result<T, ApiError>;

/// What a new attempt is: its session, pay type and planned times.
pub struct Plan<'a> {
    pub session_id: &'a str,
    pub pay_type: &'a str,
    pub expires_at: u64,
    pub next_check_at: u64,
}

/// Records a new attempt (its number drawn here) before anything is sent, so no payment can
/// exist that we do not know of. `None` when the session refused it (closed meanwhile, too
/// many attempts or one a moment ago).
pub async fn record(app: &App<'_>, plan: &Plan<'_>) -> R<Option<AttemptRow>> {
    let now = clock::now_ms();
    let id = ids::attempt_id(&random::bytes());
    let out_trade_no = ids::payment_out_trade_no(&random::bytes());
    let new = NewAttempt {
        id: &id,
        session_id: plan.session_id,
        out_trade_no: &out_trade_no,
        pay_type: plan.pay_type,
        created_at: now,
        expires_at: plan.expires_at,
        next_check_at: plan.next_check_at,
    };
    // The settler is woken for the attempt's first check while the row is written, not after:
    // one hop fewer on the shopper's wait. A wake for an attempt that was then refused costs
    // only a sweep that finds nothing due.
    let wake = app.wake_settler(plan.next_check_at.min(plan.expires_at));
    let (inserted, ()) = futures_util::future::join(app.store.insert_attempt(&new), wake).await;
    let Some(attempt) = inserted.or_500()? else {
        return Ok(None);
    };
    crate::faults::crash_point(app, "after_attempt_recorded")?;
    Ok(Some(attempt))
}

/// What sending the payment came to, after the store was brought up to date.
pub enum Sent {
    /// The QR code or wallet page exists (its answer, for the caller to show).
    Created(PaymentAnswer),
    /// A CPM charge went through and was recorded (paid, or held for another amount).
    Paid,
    /// Not final: the settler queries it; never tell the shopper "refused".
    Pending(String),
    /// Refused for good: the attempt ended `failed`.
    Refused { respcd: String, reason: String },
    /// Never sent (the budget is used up for this many ms): the attempt is forgotten.
    NoBudget(u64),
    /// No answer: the attempt stays open and the settler asks the gateway about it.
    Unknown,
    /// The gateway created the order but the session was closed meanwhile: the order was ended
    /// (or left to expire).
    Abandoned(&'static str),
    /// The gateway's wallet link is not a web address: never shown; the order was ended (or left
    /// to expire) and the shopper picks another way to pay.
    UnsafeLink,
}

/// Sends `request` (its number and `txdtm` are the attempt's) and applies the verdict.
pub async fn send(app: &App<'_>, attempt: &AttemptRow, mut request: PaymentRequest) -> R<Sent> {
    request.out_trade_no = attempt.out_trade_no.clone();
    // The order's own time: a close or reversal later sends the same (QFPay's documentation).
    request.txdtm = clock::txdtm_at(attempt.created_at);
    let mode = qfpay::tables::pay_type(&request.pay_type).map_or(PayMode::Mpm, |p| p.mode);
    let signed = request.sign(&app.settings.gateway.credentials).map_err(ApiError::from)?;
    let answer = match app.gateway().call(CallClass::Pay, &signed, PaymentAnswer::parse, |a| &a.outcome.respcd).await {
        Called::Answer(answer) => answer,
        Called::NoBudget(wait) => {
            app.store.forget_unsent_attempt(&attempt.id).await.or_500()?;
            return Ok(Sent::NoBudget(wait));
        }
        Called::Unknown(why) => {
            worker::console_error!("payment {}: no gateway answer ({why}); left for a query", attempt.out_trade_no);
            return Ok(Sent::Unknown);
        }
    };
    let now = clock::now_ms();
    match qfpay::verdict::payment(&answer, mode) {
        PayVerdict::Created => created(app, attempt, answer).await,
        PayVerdict::Paid => {
            let reported =
                Reported { syssn: answer.syssn.as_deref(), txamt: answer.txamt, txcurrcd: answer.txcurrcd.as_deref() };
            settle::payment_reported(app, attempt, &reported).await?;
            Ok(Sent::Paid)
        }
        PayVerdict::Pending(code) => {
            let at = now + checkout_api::upstream::ASK_AGAIN_MS;
            app.store.attempt_pending(&attempt.id, &code, at).await.or_500()?;
            app.wake_settler(at).await;
            Ok(Sent::Pending(code))
        }
        PayVerdict::Refused(code) => {
            app.store.end_attempt(&attempt.id, AttemptEvent::Failed, Some(code.code())).await.or_500()?;
            let reason = code.info().map_or("refused by the payment gateway", |i| i.text_en).to_owned();
            Ok(Sent::Refused { respcd: code.code().to_owned(), reason })
        }
    }
}

/// The order exists: store its QR code or wallet link, unless the link is not safe to follow
/// or the session closed meanwhile; then the order is ended where it can be.
async fn created(app: &App<'_>, attempt: &AttemptRow, answer: PaymentAnswer) -> R<Sent> {
    if let Some(url) = answer.pay_url.as_deref().filter(|u| !safe_redirect(u, app.settings.is_local())) {
        // A wallet link that is not a web address (`javascript:`, `data:`) is never stored or
        // shown: the order is ended (or followed to its expiry) and the shopper picks again.
        worker::console_error!(
            "payment {}: the gateway's pay_url is not https ({} bytes); refused",
            attempt.out_trade_no,
            url.len()
        );
        end_abandoned(app, attempt).await?;
        return Ok(Sent::UnsafeLink);
    }
    let stored = app
        .store
        .attempt_created(&attempt.id, answer.syssn.as_deref(), answer.qrcode.as_deref(), answer.pay_url.as_deref())
        .await
        .or_500()?;
    if !stored {
        // The session was closed while the gateway created the order (its close found no
        // order yet): end the order now where it can be; the settler follows it otherwise.
        end_abandoned(app, attempt).await?;
        return Ok(Sent::Abandoned("the session was closed while the payment was being started"));
    }
    Ok(Sent::Created(answer))
}

/// Ends an order nobody will use, through the settler's close (which knows which endpoint,
/// if any, ends this pay type, and follows it to its expiry otherwise).
async fn end_abandoned(app: &App<'_>, attempt: &AttemptRow) -> R<()> {
    let Some(session) = app.store.session(&attempt.session_id).await.or_500()? else { return Ok(()) };
    if let Some(fresh) = app.store.attempt(&attempt.id).await.or_500()? {
        settle::close_attempt(app, &session, &fresh).await?;
    }
    Ok(())
}

/// Whether a gateway's wallet link may be stored and followed: `https:`, or `http:` only
/// against the local simulator; nothing with spaces or control characters.
fn safe_redirect(url: &str, local: bool) -> bool {
    let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    let https = url.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://"));
    let http = url.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("http://"));
    clean && (https || (local && http))
}

/// The refusal the widget and the till answer for a refused payment.
pub fn refused(respcd: &str, reason: &str) -> ApiError {
    ApiError::new(ErrorCode::PaymentRefused, format!("{reason} (respcd {respcd}); choose another way to pay"))
}
