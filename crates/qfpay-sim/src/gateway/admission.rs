//! Admission: whether a gateway call gets in, checked once for every path by the [`Admitted`]
//! extractor, in the gateway's order. Rate limit (HTTP 429), injected faults, content type
//! and size, `X-QF-APPCODE`, `X-QF-SIGN` (`1108`, checked by the simulator's own
//! [`crate::signing`]), the `mchid` rule (`1104`), then the form read by the path's own rules
//! (`forms/`). A call that fails a step is answered here, so no handler repeats a check.
//!
//! Signature type: `X-QF-SIGNTYPE` says `SHA256` or `MD5`, and when it is absent the gateway
//! means MD5, strictly: a SHA256 signature sent without the header is answered `1108`, with a
//! `resperr` that names the likely cause. The guide's own Python example does exactly that, so
//! [`SimConfig::lenient_sign_type`](crate::SimConfig::lenient_sign_type) reads 64 hex digits
//! without the header as SHA256, to run that example unchanged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequest, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use qfpay::request::Form;
use qfpay::tables::{RespClass, RESP_CODES};
use qfpay::{RespCode, SignType};
use serde_json::{json, Value};

use super::forms::{FieldError, GatewayForm};
use super::{answer_taken, error_answer, error_value, fingerprint, refuse};
use crate::answer_sign::AdmittedKey;
use crate::config::Merchant;
use crate::rate_limit::{PER_MINUTE, PER_SECOND};
use crate::signing::{signtype_header, verify, SHA256_HEX_LEN};
use crate::{lock, Sim};

/// Largest request body the simulator reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

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

impl<R: GatewayForm> FromRequest<Arc<Sim>> for Admitted<R> {
    type Rejection = Response;

    async fn from_request(req: Request, sim: &Arc<Sim>) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let (merchant, form) = admit(sim, R::PATH, &parts, body).await?;
        // Last: a well-signed call with a wrong field is answered 1104 (or 1266 for the amount).
        match R::parse(&form) {
            Ok(request) => Ok(Admitted { merchant, form, request }),
            Err(err) => Err(refuse_form::<R>(sim, &merchant, &form, err)),
        }
    }
}

/// The answer to a form with a wrong field. A payment or refund that names an `out_trade_no`
/// uses it up all the same, like any refused request (unless it was used already, which is
/// answered as such).
fn refuse_form<R: GatewayForm>(sim: &Sim, merchant: &Merchant, form: &Form, err: FieldError) -> Response {
    let answer = invalid(err);
    let (Some(kind), Some(number)) = (R::NUMBER_KIND, form.get("out_trade_no")) else {
        return Json(answer).into_response();
    };
    let print = fingerprint(form);
    let mut ledger = lock(&sim.ledger);
    match ledger.number_use(&merchant.appcode, number) {
        Some(used) => answer_taken(sim, &used, kind, &print),
        None => refuse(&mut ledger, &merchant.appcode, number, kind, print, answer),
    }
}

fn invalid(err: FieldError) -> Value {
    let respcd = if err.field == "txamt" { RespCode::WRONG_AMOUNT } else { RespCode::INVALID_PARAMETER };
    error_value(respcd, err.to_string())
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The admission steps in the gateway's order: counted, rate limit, latency and 5xx faults,
/// content type and size, appcode, signature and mchid, transient fault.
async fn admit(sim: &Sim, path: &str, parts: &Parts, body: Body) -> Result<(Merchant, Form), Response> {
    let appcode = header_text(&parts.headers, "x-qf-appcode").unwrap_or("").to_owned();
    count_call(sim, path);
    check_rate_limit(sim, &appcode)?;
    inject_latency_and_5xx(sim, path).await?;
    let form = read_form(&parts.method, &parts.headers, parts.uri.query(), body).await?;
    let merchant = authenticate(sim, &appcode, &parts.headers, &form)?;
    // From here on every answer, errors included, is signed with this merchant's key.
    if let Some(slot) = parts.extensions.get::<AdmittedKey>() {
        slot.record(&merchant.key);
    }
    check_mchid(&merchant, &form)?;
    inject_transient(sim)?;
    Ok((merchant, form))
}

fn count_call(sim: &Sim, path: &str) {
    let minute = sim.clock.now_secs().div_euclid(60);
    let real_minute = sim.clock.real_elapsed().as_secs() / 60;
    let mut stats = lock(&sim.stats);
    *stats.calls_by_path.entry(path.to_owned()).or_default() += 1;
    *stats.calls_by_minute.entry(real_minute).or_default() += 1;
    *stats.calls_by_sim_minute.entry(minute).or_default() += 1;
}

/// The gateway's limits per merchant, when the simulator enforces them.
fn check_rate_limit(sim: &Sim, appcode: &str) -> Result<(), Response> {
    if sim.config.rate_limit && !lock(&sim.limiter).admit(appcode, Instant::now()) {
        lock(&sim.stats).rate_limited += 1;
        return Err(too_many_requests());
    }
    Ok(())
}

/// The gateway's answer past the rate limit: HTTP 429 with its maintenance code.
fn too_many_requests() -> Response {
    let resperr = format!("rate limit: {PER_SECOND} requests per second and {PER_MINUTE} per minute per merchant");
    let body = json!({"respcd": RespCode::SYSTEM_MAINTENANCE, "respmsg": "too many requests", "resperr": resperr});
    (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
}

async fn inject_latency_and_5xx(sim: &Sim, path: &str) -> Result<(), Response> {
    let faults = lock(&sim.faults).clone();
    let mut delay = faults.latency;
    if sim.chance(faults.spike) {
        lock(&sim.stats).fault("latency_spike");
        delay += if faults.spike_latency == 0 { 1500 } else { faults.spike_latency };
    }
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let refund_route_down = path == "/trade/v1/refund" && sim.chance(faults.refund_5xx);
    if refund_route_down || sim.chance(faults.http_5xx) {
        lock(&sim.stats).fault(if refund_route_down { "refund_5xx" } else { "http_5xx" });
        // A load balancer's page, not the gateway's JSON: clients must cope with both.
        return Err((StatusCode::SERVICE_UNAVAILABLE, Html("<html><body>503 Service Unavailable</body></html>"))
            .into_response());
    }
    Ok(())
}

/// The `transient` fault: a signed call answered with one of the gateway's retry-later codes.
fn inject_transient(sim: &Sim) -> Result<(), Response> {
    if !sim.chance(lock(&sim.faults).transient) {
        return Ok(());
    }
    lock(&sim.stats).fault("transient");
    let codes: Vec<&str> = transient_codes().collect();
    let code = codes[lock(&sim.rng).usize(..codes.len())];
    Err(error_answer(code, "simulated transient fault; retry later"))
}

/// The codes a `transient` fault answers: every code the table classes as transient, so a
/// client's retry rule meets each of them.
fn transient_codes() -> impl Iterator<Item = &'static str> {
    RESP_CODES.iter().filter(|r| r.class == RespClass::TransientRetry).map(|r| r.code)
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
        Some(text) => signtype_header(text),
        None if lenient && signature.len() == SHA256_HEX_LEN => Some(SignType::Sha256),
        None => Some(SignType::Md5),
    }
}

/// The `resperr` of a signature that does not verify. A SHA256-length signature without
/// `X-QF-SIGNTYPE` is the guide's example's mistake, and the gateway would not say why; the
/// simulator does, so the fix is found on a laptop instead of in production.
fn signature_mismatch(declared: Option<&str>, signature: &str, checked_as: SignType) -> String {
    let mismatch = format!("X-QF-SIGN does not match the parameters ({})", checked_as.header_value());
    match declared {
        None if checked_as == SignType::Md5 && signature.len() == SHA256_HEX_LEN => format!(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_faults_answer_the_tables_transient_codes() {
        let codes: Vec<&str> = transient_codes().collect();
        // The list the simulator wrote by hand before, in the same order, so a seeded run
        // draws the same codes as it did.
        assert_eq!(codes, ["1100", "1204", "1205", "1252", "1254", "1295", "1296", "1297"]);
    }
}
