//! CORS for the widget's API: only the merchant sites in `ALLOWED_ORIGINS` (and the worker's
//! own origin, which serves the demo shop) may call `/v1/checkout/*` from a browser. A request
//! from any other origin is refused before it can change anything.

use checkout_api::{ApiError, ErrorCode};
use worker::{Request, Response, Result};

use crate::config::Settings;

fn own_origin(req: &Request) -> Option<String> {
    let url = req.url().ok()?;
    Some(url.origin().ascii_serialization())
}

/// Refuses a browser request from an origin that is not allowed.
pub fn check(req: &Request, settings: &Settings) -> std::result::Result<(), ApiError> {
    let Some(origin) = req.headers().get("Origin").ok().flatten() else {
        return Ok(());
    };
    if settings.allowed_origins.contains(&origin) || own_origin(req).as_deref() == Some(origin.as_str()) {
        return Ok(());
    }
    Err(ApiError::new(ErrorCode::OriginNotAllowed, "this origin is not in the worker's ALLOWED_ORIGINS"))
}

/// Adds the CORS headers to a widget API answer for an allowed origin.
pub fn decorate(mut resp: Response, path: &str, origin: Option<&str>, allowed_origins: &[String]) -> Result<Response> {
    let Some(origin) = origin else { return Ok(resp) };
    if !path.starts_with("/v1/checkout/") {
        return Ok(resp);
    }
    if allowed_origins.iter().any(|o| o == origin) {
        let headers = resp.headers_mut();
        headers.set("Access-Control-Allow-Origin", origin)?;
        headers.set("Vary", "Origin")?;
        headers.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")?;
        headers.set("Access-Control-Allow-Headers", "Authorization, Content-Type")?;
        headers.set("Access-Control-Max-Age", "600")?;
        // A limited widget may read how long to wait (`429` answers carry it).
        headers.set("Access-Control-Expose-Headers", "Retry-After")?;
    }
    Ok(resp)
}
