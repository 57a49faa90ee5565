//! Every answer's `Request-Id`: drawn when a request arrives, sent as a header, repeated in an
//! error's body (`error.request_id`) and recorded in the request's log line, so a merchant who
//! quotes it points at the one line that tells what happened.

use checkout_api::ids;
use worker::{Response, Result};

use crate::random;

/// The header's name.
pub const HEADER: &str = "Request-Id";

/// A fresh id (`req_` and 16 characters).
pub fn draw() -> String {
    ids::request_id(&random::bytes())
}

/// `resp` with the `Request-Id` header: an error the worker built now, whose body already
/// carries the id.
pub fn header(mut resp: Response, id: &str) -> Result<Response> {
    resp.headers_mut().set(HEADER, id)?;
    Ok(resp)
}

/// `resp` with the `Request-Id` header and, for an error's JSON body, the id inside it too
/// (answers replayed from an `Idempotency-Key` included: they were stored without it).
pub async fn stamp(resp: Response, id: &str) -> Result<Response> {
    let mut resp = header(resp, id)?;
    let json = resp.headers().get("Content-Type")?.is_some_and(|t| t.starts_with("application/json"));
    if resp.status_code() < 400 || !json {
        return Ok(resp);
    }
    let (status, headers) = (resp.status_code(), resp.headers().clone());
    let text = resp.text().await?;
    let body = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut value) if value["error"].is_object() => {
            value["error"]["request_id"] = serde_json::Value::from(id);
            value.to_string()
        }
        _ => text,
    };
    Ok(Response::ok(body)?.with_status(status).with_headers(headers))
}
