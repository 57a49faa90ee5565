//! CORS for the widget's API: only the merchant sites in `ALLOWED_ORIGINS` (and the worker's
//! own origin, which serves the demo shop) may call `/v1/checkout/*` from a browser. A request
//! from any other origin is refused before it can change anything, with a `403
//! origin_not_allowed` that still carries CORS headers: the refusal is all that origin can
//! read, and it lets the widget on that page say what to fix instead of "network error".

use checkout_api::{ApiError, ErrorCode};
use worker::{Response, Result};

use crate::config::Settings;
use crate::head::Head;

fn own_origin(head: &Head) -> Option<String> {
    let url = worker::Url::parse(&head.url).ok()?;
    Some(url.origin().ascii_serialization())
}

/// Refuses a browser request from an origin that is not allowed.
pub fn check(head: &Head, settings: &Settings) -> std::result::Result<(), ApiError> {
    let Some(origin) = head.header("Origin") else {
        return Ok(());
    };
    if settings.allowed_origins.contains(&origin) || own_origin(head).as_deref() == Some(origin.as_str()) {
        return Ok(());
    }
    Err(ApiError::new(ErrorCode::OriginNotAllowed, "this origin is not in the worker's ALLOWED_ORIGINS"))
}

/// Adds the CORS headers to a widget API answer. Every origin gets them: an allowed one for its
/// answers, any other for its preflight and its `403 origin_not_allowed` ([`check`] refuses it
/// before anything else runs, so nothing else can reach it).
pub fn decorate(mut resp: Response, path: &str, origin: Option<&str>) -> Result<Response> {
    let Some(origin) = origin else { return Ok(resp) };
    if !path.starts_with("/v1/checkout/") {
        return Ok(resp);
    }
    let headers = resp.headers_mut();
    headers.set("Access-Control-Allow-Origin", origin)?;
    headers.set("Vary", "Origin")?;
    headers.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")?;
    // `Prefer`: the status request's `wait=N` (the widget's long wait for a change).
    headers.set("Access-Control-Allow-Headers", "Authorization, Content-Type, Prefer")?;
    headers.set("Access-Control-Max-Age", "600")?;
    // A limited widget may read how long to wait (`429` answers carry it), and any widget the
    // id to quote.
    headers.set("Access-Control-Expose-Headers", "Retry-After, Request-Id")?;
    Ok(resp)
}
