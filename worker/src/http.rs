//! Small HTTP helpers: JSON answers, the error shape, bodies with a size limit, bearer tokens,
//! and outgoing POSTs with a timeout (to the gateway, to the merchant's webhook receiver).

use std::time::Duration;

use checkout_api::{ApiError, ErrorCode};
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use serde::Serialize;
use worker::wasm_bindgen::JsValue;
use worker::{Delay, Fetch, Headers, Method, Request, RequestInit, Response, Result};

/// Largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A JSON answer.
pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response> {
    let body = serde_json::to_string(value).map_err(|e| worker::Error::RustError(e.to_string()))?;
    json_text(status, &body)
}

/// A JSON answer from text already serialised.
pub fn json_text(status: u16, body: &str) -> Result<Response> {
    let mut resp = Response::ok(body)?.with_status(status);
    resp.headers_mut().set("Content-Type", "application/json; charset=utf-8")?;
    resp.headers_mut().set("Cache-Control", "no-store")?;
    Ok(resp)
}

/// The error answer, with `Retry-After` when the error knows when to try again.
pub fn error(e: &ApiError) -> Result<Response> {
    let mut resp = json_text(e.status, &e.body())?;
    if let Some(seconds) = e.retry_after_s {
        resp.headers_mut().set("Retry-After", &seconds.to_string())?;
    }
    Ok(resp)
}

/// The raw body, refused past [`MAX_BODY_BYTES`]. A declared `Content-Length` over the limit
/// is refused before anything is read; otherwise the body is read as it streams in with a
/// running count, so one sent without a length (`Transfer-Encoding: chunked`) is refused at
/// the first chunk past the limit, never held whole in memory, and never waited out.
pub async fn body(req: &mut Request) -> std::result::Result<Vec<u8>, ApiError> {
    if let Some(len) = req.headers().get("Content-Length").ok().flatten().and_then(|l| l.parse::<usize>().ok()) {
        if len > MAX_BODY_BYTES {
            return Err(too_large());
        }
    }
    let unreadable = || ApiError::new(ErrorCode::UnreadableBody, "the request body could not be read");
    // A request without a body (no stream at all) reads as empty.
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let mut stream = req.stream().map_err(|_| unreadable())?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| unreadable())?;
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::BodyTooLarge, format!("the request body is larger than {MAX_BODY_BYTES} bytes"))
}

/// A JSON body: content type checked, size limited.
pub async fn json_body(req: &mut Request) -> std::result::Result<Vec<u8>, ApiError> {
    let content_type = req.headers().get("Content-Type").ok().flatten().unwrap_or_default();
    if !content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "Content-Type must be application/json"));
    }
    body(req).await
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer(req: &Request) -> Option<String> {
    crate::head::bearer(req.headers())
}

/// An answer to an outgoing request.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    headers: Headers,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).ok().flatten()
    }
}

/// POSTs `body` to `url` and reads the answer, giving up after `timeout_ms`: the reply, or
/// why there was none. Redirects are not followed.
pub async fn post(
    url: &str,
    headers: &[(&str, String)],
    body: &str,
    timeout_ms: u64,
) -> std::result::Result<Reply, String> {
    let all = Headers::new();
    for (name, value) in headers {
        all.set(name, value).map_err(|e| e.to_string())?;
    }
    let mut init = RequestInit::new();
    // A redirect is never followed: a webhook receiver or a gateway that answers 3xx gets no
    // second request to a place nobody configured (its answer counts as a failure).
    init.with_method(Method::Post)
        .with_headers(all)
        .with_body(Some(JsValue::from_str(body)))
        .with_redirect(worker::RequestRedirect::Manual);
    let request = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let exchange = Box::pin(async move {
        let mut resp = Fetch::Request(request).send().await.map_err(|e| format!("network error: {e}"))?;
        let status = resp.status_code();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(Reply { status, body, headers })
    });
    let timeout = Box::pin(Delay::from(Duration::from_millis(timeout_ms)));
    match select(exchange, timeout).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err("timed out".into()),
    }
}
