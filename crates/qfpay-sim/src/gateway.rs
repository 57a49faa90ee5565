//! The gateway's own paths: `/trade/v1/payment`, `query`, `refund`, `close`, `reversal`.
//!
//! Every call is admitted first, by the [`Admitted`] extractor, in the gateway's order: rate
//! limit (HTTP 429), injected faults, content type and size, `X-QF-APPCODE`, `X-QF-SIGN`
//! (`1108`), the `mchid` rule (`1104`), then the form read as the path's request type. Answers
//! are JSON with `respcd`, `respmsg`, `resperr` and the fields of each endpoint page; a
//! payment's answer also carries the guide's `data` object.
//!
//! Signature type: `X-QF-SIGNTYPE` says `SHA256` or `MD5`, and when it is absent the gateway
//! means MD5, strictly: a SHA256 signature sent without the header is answered `1108`, with a
//! `resperr` that names the likely cause. The guide's own Python example does exactly that, so
//! [`SimConfig::lenient_sign_type`](crate::SimConfig::lenient_sign_type) reads 64 hex digits
//! without the header as SHA256, to run that example unchanged.
//!
//! Answers given once the signature verified are signed with the merchant's key
//! (`answer_sign.rs`). An identical retry gets the original answer, or under the
//! `duplicate-exists` fault the gateway's "exists" code; refunds succeed at once, or under
//! `refund-pending` stay in progress (`1145`) for a while first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequest, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use qfpay::request::Form;
use qfpay::sign::{verify, SignType};
use qfpay::tables::{pay_type, RespClass, RESP_CODES};
use qfpay::{
    CloseRequest, GatewayRequest, InvalidField, PayMode, PaymentRequest, QueryRequest, RefundRequest, RespCode,
    ReversalRequest, Txdtm, HONG_KONG_OFFSET_SECONDS,
};
use serde_json::{json, Value};

use crate::answer_sign::AdmittedKey;
use crate::config::Merchant;
use crate::ledger::{hk_time, Kind, Ledger, Order, OrderId, OrderState};
use crate::rate_limit::{PER_MINUTE, PER_SECOND};
use crate::{lock, Sim};

/// Largest request body the simulator reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Simulated seconds a CPM code ending in `1143`/`1145` stays pending before it pays.
pub const CPM_PENDING_SECONDS: u64 = 10;

/// A gateway call that passed admission: who sent it, its form, and the form read as `R`.
///
/// As a handler's last argument it runs the whole admission, in the gateway's order; a call
/// that fails a step is answered there and never reaches the handler.
pub struct Admitted<R> {
    /// The merchant whose appcode and signature the call carries.
    pub merchant: Merchant,
    /// The form as sent, to recognise an identical retry.
    pub form: Form,
    /// The form read and validated as the path's request.
    pub request: R,
}

/// A request type a gateway path takes: its path is the protocol crate's
/// [`GatewayRequest::PATH`], and it reads the form the way the gateway reads it.
pub trait GatewayForm: GatewayRequest + Sized {
    /// Reads and validates the form; the error names the field.
    fn parse(form: &Form) -> Result<Self, InvalidField>;
}

/// Each request type already has a `from_form`; the trait only lets the extractor name it.
macro_rules! gateway_forms {
    ($($request:ty),*) => {$(
        impl GatewayForm for $request {
            fn parse(form: &Form) -> Result<Self, InvalidField> {
                <$request>::from_form(form)
            }
        }
    )*};
}

gateway_forms!(PaymentRequest, QueryRequest, RefundRequest, CloseRequest, ReversalRequest);

impl<R: GatewayForm> FromRequest<Arc<Sim>> for Admitted<R> {
    type Rejection = Response;

    async fn from_request(req: Request, sim: &Arc<Sim>) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let (merchant, form) = admit(sim, R::PATH, &parts, body).await?;
        // Last: a well-signed call with a wrong field is answered 1104 (or 1266 for the amount).
        let request = R::parse(&form).map_err(invalid)?;
        Ok(Admitted { merchant, form, request })
    }
}

/// The gateway's error answer: HTTP 200, a respcd, and `resperr` naming the problem.
pub fn error_answer(respcd: &str, resperr: impl Into<String>) -> Response {
    let respmsg = RespCode::new(respcd).info().map_or("error", |i| i.text_en);
    Json(json!({"respcd": respcd, "respmsg": respmsg, "resperr": resperr.into()})).into_response()
}

fn invalid(err: InvalidField) -> Response {
    let respcd = if err.field == "txamt" { RespCode::WRONG_AMOUNT } else { RespCode::INVALID_PARAMETER };
    error_answer(respcd, err.to_string())
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The admission steps in the gateway's order: counted, rate limit, latency and 5xx faults,
/// content type and size, appcode, signature and mchid, transient fault.
async fn admit(sim: &Sim, path: &str, parts: &Parts, body: Body) -> Result<(Merchant, Form), Response> {
    let appcode = header_text(&parts.headers, "x-qf-appcode").unwrap_or("").to_owned();
    count_call(sim, path);
    if sim.config.rate_limit && !lock(&sim.limiter).admit(&appcode, Instant::now()) {
        lock(&sim.stats).rate_limited += 1;
        return Err(too_many_requests());
    }
    inject_latency_and_5xx(sim).await?;
    let form = read_form(&parts.method, &parts.headers, parts.uri.query(), body).await?;
    let merchant = authenticate(sim, &appcode, &parts.headers, &form)?;
    // From here on every answer, errors included, is signed with this merchant's key.
    if let Some(slot) = parts.extensions.get::<AdmittedKey>() {
        slot.record(&merchant.key);
    }
    check_mchid(&merchant, &form)?;
    if sim.chance(lock(&sim.faults).transient) {
        lock(&sim.stats).fault("transient");
        let codes: Vec<&str> = transient_codes().collect();
        let code = codes[lock(&sim.rng).usize(..codes.len())];
        return Err(error_answer(code, "simulated transient fault; retry later"));
    }
    Ok((merchant, form))
}

/// The gateway's answer past the rate limit: HTTP 429 with its maintenance code.
fn too_many_requests() -> Response {
    let resperr = format!("rate limit: {PER_SECOND} requests per second and {PER_MINUTE} per minute per merchant");
    let body = json!({"respcd": RespCode::SYSTEM_MAINTENANCE, "respmsg": "too many requests", "resperr": resperr});
    (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
}

/// The codes a `transient` fault answers: every code the table classes as transient, so a
/// client's retry rule meets each of them.
fn transient_codes() -> impl Iterator<Item = &'static str> {
    RESP_CODES.iter().filter(|r| r.class == RespClass::TransientRetry).map(|r| r.code)
}

fn count_call(sim: &Sim, path: &str) {
    let minute = sim.clock.now_secs().div_euclid(60);
    let real_minute = sim.clock.real_elapsed().as_secs() / 60;
    let mut stats = lock(&sim.stats);
    *stats.calls_by_path.entry(path.to_owned()).or_default() += 1;
    *stats.calls_by_minute.entry(real_minute).or_default() += 1;
    *stats.calls_by_sim_minute.entry(minute).or_default() += 1;
}

async fn inject_latency_and_5xx(sim: &Sim) -> Result<(), Response> {
    let faults = lock(&sim.faults).clone();
    let mut delay = faults.latency;
    if sim.chance(faults.spike) {
        lock(&sim.stats).fault("latency_spike");
        delay += if faults.spike_latency == 0 { 1500 } else { faults.spike_latency };
    }
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if sim.chance(faults.http_5xx) {
        lock(&sim.stats).fault("http_5xx");
        // A load balancer's page, not the gateway's JSON: clients must cope with both.
        return Err((StatusCode::SERVICE_UNAVAILABLE, Html("<html><body>503 Service Unavailable</body></html>"))
            .into_response());
    }
    Ok(())
}

/// The form: the query string of a `GET` (close and reversal allow it), else the body, which
/// must be form-encoded and at most [`MAX_BODY_BYTES`].
async fn read_form(method: &Method, headers: &HeaderMap, query: Option<&str>, body: Body) -> Result<Form, Response> {
    if method == Method::GET {
        return Ok(Form::parse(query.unwrap_or("").as_bytes()));
    }
    let content_type = header_text(headers, "content-type").unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(error_answer(
            RespCode::MALFORMED_REQUEST,
            format!("Content-Type must be application/x-www-form-urlencoded (got {content_type:?})"),
        ));
    }
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        error_answer(RespCode::MALFORMED_REQUEST, format!("request body is larger than {MAX_BODY_BYTES} bytes"))
    })?;
    Ok(Form::parse(&bytes))
}

/// The merchant the call claims to be, once its signature proves it (`1108` otherwise).
fn authenticate(sim: &Sim, appcode: &str, headers: &HeaderMap, form: &Form) -> Result<Merchant, Response> {
    let refuse = |resperr: &str| error_answer(RespCode::SIGNATURE_ERROR, resperr);
    if appcode.is_empty() {
        return Err(refuse("X-QF-APPCODE header is missing"));
    }
    let merchant = sim.config.merchants.get(appcode).ok_or_else(|| refuse("unknown X-QF-APPCODE"))?;
    let signature = header_text(headers, "x-qf-sign").ok_or_else(|| refuse("X-QF-SIGN header is missing"))?;
    let declared = header_text(headers, "x-qf-signtype");
    let sign_type = sign_type(declared, signature, sim.config.lenient_sign_type)
        .ok_or_else(|| refuse("X-QF-SIGNTYPE must be SHA256 or MD5"))?;
    if !verify(form.pairs(), &merchant.key, sign_type, signature) {
        return Err(refuse(&signature_mismatch(declared, signature, sign_type)));
    }
    Ok(merchant.clone())
}

/// The hash a signature is checked with: the declared `X-QF-SIGNTYPE`, else MD5 as the gateway
/// reads it, or, when `lenient`, SHA256 for 64 hex digits. `None` for an unknown declared type.
fn sign_type(declared: Option<&str>, signature: &str, lenient: bool) -> Option<SignType> {
    match declared {
        Some(text) => SignType::parse(text),
        None if lenient && signature.len() == SignType::Sha256.hex_len() => Some(SignType::Sha256),
        None => Some(SignType::Md5),
    }
}

/// The `resperr` of a signature that does not verify. A SHA256-length signature without
/// `X-QF-SIGNTYPE` is the guide's example's mistake, and the gateway would not say why; the
/// simulator does, so the fix is found on a laptop instead of in production.
fn signature_mismatch(declared: Option<&str>, signature: &str, checked_as: SignType) -> String {
    let mismatch = format!("X-QF-SIGN does not match the parameters ({})", checked_as.header_value());
    match declared {
        None if checked_as == SignType::Md5 && signature.len() == SignType::Sha256.hex_len() => format!(
            "{mismatch}: it has 64 hex digits but no X-QF-SIGNTYPE was sent, so it is read as MD5, as the \
             gateway does; send X-QF-SIGNTYPE: SHA256 with a SHA256 signature"
        ),
        _ => mismatch,
    }
}

/// A merchant with a `mchid` must send it, and only its own; one without must send none.
fn check_mchid(merchant: &Merchant, form: &Form) -> Result<(), Response> {
    let refuse = |resperr: &str| Err(error_answer(RespCode::INVALID_PARAMETER, resperr));
    match (&merchant.mchid, form.get("mchid")) {
        (Some(expected), Some(sent)) if expected == sent => Ok(()),
        (Some(_), Some(_)) => refuse("mchid: does not belong to this appcode"),
        (Some(_), None) => refuse("mchid: is required for this merchant"),
        (None, Some(_)) => refuse("mchid: must not be sent; this merchant has none"),
        (None, None) => Ok(()),
    }
}

/// The answer to a call whose `out_trade_no` is taken. An identical retry of the same kind
/// gets the original answer again, or, under the `duplicate-exists` fault, the gateway's
/// "exists" code (`1102` payment, `2011` refund) as a real gateway may answer; any other reuse
/// is refused with that code.
fn answer_taken(sim: &Sim, existing: &Order, kind: Kind, print: &[(String, String)]) -> Response {
    let code = match kind {
        Kind::Payment => RespCode::DUPLICATE_REQUEST,
        Kind::Refund => RespCode::DUPLICATE_SERIAL,
    };
    if existing.kind != kind || existing.fingerprint != print {
        return error_answer(code, "out_trade_no: already used by another payment or refund of this merchant");
    }
    if !lock(&sim.faults).duplicate_exists {
        return Json(existing.answer.clone()).into_response();
    }
    lock(&sim.stats).fault("duplicate_exists");
    let what = match kind {
        Kind::Payment => "payment",
        Kind::Refund => "refund",
    };
    error_answer(
        code,
        format!("out_trade_no: this {what} exists already (an identical retry); query it for its outcome"),
    )
}

fn fingerprint(form: &Form) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = form.pairs().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
    pairs.sort();
    pairs
}

/// `POST /trade/v1/payment`.
pub async fn payment(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, form, request: req }: Admitted<PaymentRequest>,
) -> Response {
    let now = sim.clock.now();
    let print = fingerprint(&form);
    let mut ledger = lock(&sim.ledger);
    if let Some(id) = ledger.by_out_trade_no(&merchant.appcode, &req.out_trade_no) {
        return answer_taken(&sim, ledger.get(id), Kind::Payment, &print);
    }
    let token = sim.token();
    let id = create_payment(&sim, &mut ledger, &merchant, &req, now, token, print);
    let became_paid = ledger.get(id).is_paid();
    let answer = Json(ledger.get(id).answer.clone()).into_response();
    drop(ledger);
    if became_paid {
        sim.notifier.schedule(&sim, id, now);
    }
    answer
}

/// What a CPM `auth_code` makes happen (the simulator's rule, documented in the README):
/// ending in `0000` pays at once; `1143` or `1145` is pending for a while, then pays; ending in a
/// declining respcd (`1202`, `2005`, `1201`, ...) fails with that code; anything else pays.
fn cpm_outcome(auth_code: &str) -> Result<bool, String> {
    let tail = auth_code.get(auth_code.len().saturating_sub(4)..).unwrap_or("");
    match tail {
        RespCode::SUCCESS => Ok(true),
        RespCode::AWAITING_PASSWORD | RespCode::PROCESSING => Ok(false),
        code if RespCode::new(code).class() == RespClass::Declined && RespCode::new(code).info().is_some() => {
            Err(code.to_owned())
        }
        _ => Ok(true),
    }
}

fn create_payment(
    sim: &Sim,
    ledger: &mut Ledger,
    merchant: &Merchant,
    req: &PaymentRequest,
    now: f64,
    token: String,
    print: Vec<(String, String)>,
) -> OrderId {
    let info = pay_type(&req.pay_type).expect("validated pay type");
    let minutes = if info.expired_time { req.expired_time.unwrap_or(30) } else { 30 };
    let syssn = ledger.next_syssn(now as i64);
    let wallet_url = format!("{}/sim/wallet/{token}", sim.config.public_url.trim_end_matches('/'));
    let order = Order {
        appcode: merchant.appcode.clone(),
        kind: Kind::Payment,
        out_trade_no: req.out_trade_no.clone(),
        syssn: syssn.clone(),
        pay_type: req.pay_type.clone(),
        mode: Some(info.mode),
        txamt: req.txamt,
        txcurrcd: req.txcurrcd.clone(),
        txdtm: req.txdtm.clone(),
        created_at: now as i64,
        paid_at: None,
        expires_at: Some(now + f64::from(minutes) * 60.0),
        goods_name: req.goods_name.clone().unwrap_or_default(),
        notify_url: req.notify_url.clone(),
        return_url: req.return_url.clone(),
        state: OrderState::Created,
        refunded: 0,
        orig_syssn: None,
        token,
        fingerprint: print,
        answer: Value::Null,
        notifications_sent: 0,
        notification_acknowledged: false,
    };
    let id = ledger.insert(order);
    let mut respcd = RespCode::new(RespCode::SUCCESS);
    if info.mode == PayMode::Cpm {
        let pending = lock(&sim.faults).pending;
        match cpm_outcome(req.auth_code.as_deref().unwrap_or("")) {
            Ok(true) => {
                let _ = ledger.pay(id, now, pending);
            }
            Ok(false) => {
                let _ = ledger.pay(id, now, pending + CPM_PENDING_SECONDS);
            }
            Err(code) => {
                let _ = ledger.fail(id, now, &code);
            }
        }
        respcd = RespCode::new(ledger.get(id).row_respcd(now));
    }
    let order = ledger.get(id);
    let mut flat = json!({
        "respcd": respcd.code(),
        "respmsg": if respcd.is_success() { "" } else { respcd.info().map_or("", |i| i.text_en) },
        "resperr": "",
        "txamt": order.txamt.to_string(),
        "txcurrcd": order.txcurrcd,
        "pay_type": order.pay_type,
        "out_trade_no": order.out_trade_no,
        "syssn": syssn,
        "sysdtm": hk_time(order.created_at),
        "txdtm": order.txdtm,
        "udid": req.udid.clone().unwrap_or_default(),
        "chnlsn": "",
        "chnlsn2": "",
        "cardcd": "",
    });
    let txstatus = match info.mode {
        PayMode::Cpm if respcd.is_success() => "SUCCESS",
        PayMode::Cpm if respcd.class() == RespClass::PendingAskAgain => "PENDING",
        PayMode::Cpm => "FAILED",
        _ => "PENDING",
    };
    match info.mode {
        PayMode::Mpm => flat["qrcode"] = json!(wallet_url),
        PayMode::Wap | PayMode::Web | PayMode::CardOnline if lock(&sim.faults).bad_pay_url => {
            lock(&sim.stats).fault("bad_pay_url");
            flat["pay_url"] = json!(format!("javascript:alert(document.domain)//{}", order.token));
        }
        PayMode::Wap | PayMode::Web | PayMode::CardOnline => flat["pay_url"] = json!(wallet_url),
        PayMode::InApp | PayMode::Jsapi | PayMode::MiniProgram => {
            flat["pay_params"] = json!({"sim_wallet_url": wallet_url, "package": format!("prepay_id={syssn}")})
        }
        PayMode::Cpm | PayMode::CardOffline => {}
    }
    flat["data"] = json!({
        "txamt": order.txamt.to_string(),
        "out_trade_no": order.out_trade_no,
        "txcurrcd": order.txcurrcd,
        "txstatus": txstatus,
        "qf_trade_no": syssn,
        "pay_type": order.pay_type,
        "txdtm": order.txdtm,
    });
    ledger.get_mut(id).answer = flat;
    id
}

/// `POST /trade/v1/query`.
pub async fn query(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, request: req, .. }: Admitted<QueryRequest>,
) -> Response {
    sim.tick();
    let now = sim.clock.now();
    let appcode = merchant.appcode.as_str();
    let ledger = lock(&sim.ledger);
    let matching: Vec<&Order> = if req.syssn.is_empty() && req.out_trade_no.is_empty() {
        let start = req.start_time.as_deref().and_then(|t| Txdtm::parse("start_time", t).ok());
        let end = req.end_time.as_deref().and_then(|t| Txdtm::parse("end_time", t).ok());
        ledger
            .of_merchant(appcode)
            .filter(|o| req.pay_type.as_deref().is_none_or(|p| p == o.pay_type))
            .filter(|o| req.respcd.as_deref().is_none_or(|r| r == o.row_respcd(now)))
            .filter(|o| start.as_ref().is_none_or(|s| o.created_at >= s.to_unix(HONG_KONG_OFFSET_SECONDS)))
            .filter(|o| end.as_ref().is_none_or(|e| o.created_at <= e.to_unix(HONG_KONG_OFFSET_SECONDS)))
            .collect()
    } else {
        let by_syssn = req.syssn.iter().filter_map(|s| ledger.by_syssn(appcode, s));
        let by_ref = req.out_trade_no.iter().filter_map(|o| ledger.by_out_trade_no(appcode, o));
        let mut ids: Vec<OrderId> = by_syssn.chain(by_ref).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().map(|id| ledger.get(id)).collect()
    };
    let page = req.page.unwrap_or(1) as usize;
    let page_size = req.page_size.unwrap_or(10) as usize;
    let rows: Vec<Value> = matching.iter().skip((page - 1) * page_size).take(page_size).map(|o| o.row(now)).collect();
    Json(json!({
        "respcd": RespCode::SUCCESS, "respmsg": "", "resperr": "",
        "page": page.to_string(), "page_size": page_size.to_string(), "data": rows,
    }))
    .into_response()
}

/// Whether `now` is inside the gateway's 23:30-00:30 Hong Kong refund blackout.
fn in_refund_blackout(now: i64) -> bool {
    let minute_of_day = (now + HONG_KONG_OFFSET_SECONDS).rem_euclid(86_400) / 60;
    !(30..23 * 60 + 30).contains(&minute_of_day)
}

/// `POST /trade/v1/refund`.
pub async fn refund(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, form, request: req }: Admitted<RefundRequest>,
) -> Response {
    sim.tick();
    let now = sim.clock.now();
    let appcode = merchant.appcode;
    let print = fingerprint(&form);
    let mut ledger = lock(&sim.ledger);
    if let Some(id) = ledger.by_out_trade_no(&appcode, &req.out_trade_no) {
        return answer_taken(&sim, ledger.get(id), Kind::Refund, &print);
    }
    let Some(paid_id) = ledger.by_syssn(&appcode, &req.syssn).filter(|&id| ledger.get(id).kind == Kind::Payment) else {
        return error_answer(RespCode::NO_SUCH_ORDER, "syssn: no payment with this number for this merchant");
    };
    let payment = ledger.get(paid_id).clone();
    if let Err(refusal) = check_refund(&sim, &payment, &req, now) {
        return refusal;
    }
    let pending = lock(&sim.faults).refund_pending;
    let refund_id = record_refund(&mut ledger, &payment, &req, print, now, pending);
    ledger.get_mut(paid_id).refunded += req.txamt;
    let answer = ledger.get(refund_id).answer.clone();
    drop(ledger);
    // A refund in progress is notified when it succeeds (`Sim::tick`), like a pending payment.
    if pending == 0 {
        sim.notifier.schedule(&sim, refund_id, now);
    }
    Json(answer).into_response()
}

/// The gateway's refund rules, in its order: refundable pay type, paid, outside the blackout,
/// within what is left of the payment.
fn check_refund(sim: &Sim, payment: &Order, req: &RefundRequest, now: f64) -> Result<(), Response> {
    if let Some(info) = pay_type(&payment.pay_type).filter(|i| !i.refundable) {
        return Err(error_answer(
            RespCode::REFUND_REFUSED,
            format!("syssn: payments of pay type {} ({}) cannot be refunded", info.code, info.name_en),
        ));
    }
    if !payment.is_paid() {
        return Err(error_answer(RespCode::NOT_PAID, "syssn: the payment is not paid"));
    }
    if sim.config.refund_blackout && in_refund_blackout(now as i64) {
        return Err(error_answer(RespCode::REFUND_BLACKOUT, "no refunds between 23:30 and 00:30 Hong Kong time"));
    }
    if payment.refunded + req.txamt > payment.txamt {
        let left = payment.txamt - payment.refunded;
        return Err(error_answer(
            RespCode::REFUND_EXCEEDS_PAYMENT,
            format!(
                "txamt: {} more would exceed the payment; {left} of {} is left to refund",
                req.txamt, payment.txamt
            ),
        ));
    }
    Ok(())
}

/// Adds the refund's own row: paid at once, or in progress (`1145`) for `pending` simulated
/// seconds. Its answer is kept for an identical retry. The amount counts against the payment
/// either way, so refunds in progress can never add up past it.
fn record_refund(
    ledger: &mut Ledger,
    payment: &Order,
    req: &RefundRequest,
    print: Vec<(String, String)>,
    now: f64,
    pending: u64,
) -> OrderId {
    let syssn = ledger.next_syssn(now as i64);
    let (state, paid_at, respcd) = match pending {
        0 => (OrderState::Paid, Some(now as i64), RespCode::new(RespCode::SUCCESS)),
        _ => (OrderState::Processing(now + pending as f64), None, RespCode::new(RespCode::PROCESSING)),
    };
    let respmsg = if respcd.is_success() { "" } else { respcd.info().map_or("", |i| i.text_en) };
    let answer = json!({
        "respcd": respcd.code(), "respmsg": respmsg, "resperr": "",
        "orig_syssn": payment.syssn, "syssn": syssn, "txamt": req.txamt.to_string(),
        "out_trade_no": req.out_trade_no, "txcurrcd": payment.txcurrcd,
        "txdtm": req.txdtm, "sysdtm": hk_time(now as i64),
    });
    ledger.insert(Order {
        kind: Kind::Refund,
        out_trade_no: req.out_trade_no.clone(),
        syssn,
        txamt: req.txamt,
        txdtm: req.txdtm.clone(),
        created_at: now as i64,
        paid_at,
        expires_at: None,
        return_url: None,
        state,
        refunded: 0,
        orig_syssn: Some(payment.syssn.clone()),
        token: String::new(),
        fingerprint: print,
        answer,
        notifications_sent: 0,
        notification_acknowledged: false,
        ..payment.clone()
    })
}

/// Finds the payment a close or reversal is about, checking its amount.
fn target_order(ledger: &Ledger, appcode: &str, r: &qfpay::OrderRef) -> Result<OrderId, Response> {
    let id = r
        .syssn
        .as_deref()
        .and_then(|s| ledger.by_syssn(appcode, s))
        .or_else(|| r.out_trade_no.as_deref().and_then(|o| ledger.by_out_trade_no(appcode, o)))
        .filter(|&id| ledger.get(id).kind == Kind::Payment)
        .ok_or_else(|| {
            error_answer(RespCode::NO_SUCH_ORDER, "no payment with this syssn or out_trade_no for this merchant")
        })?;
    if ledger.get(id).txamt != r.txamt {
        return Err(error_answer(
            RespCode::ORDER_MISMATCH,
            format!("txamt: the order's amount is {}", ledger.get(id).txamt),
        ));
    }
    Ok(id)
}

fn change_answer(ledger: &mut Ledger, id: OrderId, now: f64) -> Response {
    let syssn = ledger.next_syssn(now as i64);
    let order = ledger.get(id);
    Json(json!({
        "respcd": RespCode::SUCCESS, "respmsg": "", "resperr": "",
        "orig_syssn": order.syssn, "syssn": syssn, "txamt": order.txamt.to_string(),
        "out_trade_no": order.out_trade_no, "sysdtm": hk_time(now as i64),
    }))
    .into_response()
}

/// What a close or reversal does to the order it targets: a new state, nothing, or a refusal.
type Change = fn(&Order, OrderState) -> Result<Option<OrderState>, Response>;

/// The shared body of close and reversal: find the order, apply `change`, answer.
fn change_order(sim: &Sim, appcode: &str, target: &qfpay::OrderRef, change: Change) -> Response {
    sim.tick();
    let now = sim.clock.now();
    let mut ledger = lock(&sim.ledger);
    let id = match target_order(&ledger, appcode, target) {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let order = ledger.get(id);
    match change(order, order.state_at(now)) {
        Err(answer) => return answer,
        Ok(Some(state)) => ledger.get_mut(id).state = state,
        Ok(None) => {}
    }
    change_answer(&mut ledger, id, now)
}

/// `POST` (or `GET`) `/trade/v1/close`: ends an unpaid order.
pub async fn close(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, request: req, .. }: Admitted<CloseRequest>,
) -> Response {
    change_order(&sim, &merchant.appcode, &req.0, |_, state| match state {
        OrderState::Paid | OrderState::Processing(_) => {
            Err(error_answer(RespCode::ALREADY_PAID, "the order is paid; refund it instead"))
        }
        OrderState::Created | OrderState::Expired => Ok(Some(OrderState::Closed)),
        OrderState::Closed | OrderState::Failed(_) | OrderState::Reversed => Ok(None),
    })
}

/// `POST` (or `GET`) `/trade/v1/reversal`: undoes a CPM payment, or cancels an unpaid order.
pub async fn reversal(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, request: req, .. }: Admitted<ReversalRequest>,
) -> Response {
    change_order(&sim, &merchant.appcode, &req.0, |order, state| match state {
        OrderState::Paid if order.mode != Some(PayMode::Cpm) => {
            Err(error_answer(RespCode::NOT_OPERABLE, "only CPM payments can be reversed; refund this one"))
        }
        OrderState::Paid if order.refunded > 0 => {
            Err(error_answer(RespCode::ALREADY_REFUNDED, "the order has refunds; it cannot be reversed"))
        }
        OrderState::Paid => Ok(Some(OrderState::Reversed)),
        OrderState::Processing(_) => {
            Err(error_answer(RespCode::PROCESSING, "the payment is still processing; try again shortly"))
        }
        OrderState::Created | OrderState::Expired => Ok(Some(OrderState::Closed)),
        OrderState::Closed | OrderState::Failed(_) | OrderState::Reversed => Ok(None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpm_codes_decide_the_outcome() {
        assert_eq!(cpm_outcome("2850000000000000"), Ok(true));
        assert_eq!(cpm_outcome("285000000000001143"), Ok(false));
        assert_eq!(cpm_outcome("28500000001202"), Err("1202".into()));
        assert_eq!(cpm_outcome("28500000002005"), Err("2005".into()));
        assert_eq!(cpm_outcome("1234"), Ok(true));
    }

    #[test]
    fn transient_faults_answer_the_tables_transient_codes() {
        let codes: Vec<&str> = transient_codes().collect();
        // The list the simulator wrote by hand before, in the same order, so a seeded run
        // draws the same codes as it did.
        assert_eq!(codes, ["1100", "1204", "1205", "1252", "1254", "1295", "1296", "1297"]);
    }

    #[test]
    fn refund_blackout_is_hong_kong_time() {
        // 2023-11-01 15:45 UTC is 23:45 in Hong Kong.
        assert!(in_refund_blackout(1_698_853_500));
        // 2023-11-01 16:35 UTC is 00:35 in Hong Kong.
        assert!(!in_refund_blackout(1_698_856_500));
    }
}
