//! Calls to the worker: bearer client secret, JSON, a timeout per request.

use gloo_timers::callback::Timeout;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, Request, RequestInit, Response};

/// A failed call: the HTTP status (0 for network errors and timeouts), the API's error code
/// and message (empty when the answer was not the worker's error JSON), and the answer's
/// `Request-Id`.
#[derive(Debug, Clone)]
pub struct CallError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl CallError {
    fn unanswered(code: &str) -> Self {
        CallError { status: 0, code: code.into(), message: String::new(), request_id: None }
    }
}

/// Sends one request and returns the JSON answer for 2xx. `wait_seconds`: ask the worker to
/// hold the answer until something changes (`Prefer: wait=N`, RFC 7240).
pub async fn call(
    method: &str,
    url: &str,
    secret: &str,
    body: Option<String>,
    timeout_ms: u32,
    wait_seconds: Option<u32>,
) -> Result<JsValue, CallError> {
    let net = |_| CallError::unanswered("network");
    let headers = Headers::new().map_err(net)?;
    headers.set("Authorization", &["Bearer ", secret].concat()).map_err(net)?;
    if let Some(seconds) = wait_seconds {
        headers.set("Prefer", &["wait=", &crate::format::number(seconds.into())].concat()).map_err(net)?;
    }
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(b) = &body {
        headers.set("Content-Type", "application/json").map_err(net)?;
        init.set_body(&JsValue::from_str(b));
    }
    init.set_headers(&headers);
    let controller = AbortController::new().map_err(net)?;
    init.set_signal(Some(&controller.signal()));
    let request = Request::new_with_str_and_init(url, &init).map_err(net)?;
    let window = web_sys::window().ok_or(CallError::unanswered("no_window"))?;
    // Dropping the timeout (when the answer comes first) cancels it.
    let abort = controller.clone();
    let _timeout = Timeout::new(timeout_ms, move || abort.abort());
    answer(window.fetch_with_request(&request)).await
}

/// The JSON of a `fetch` under way (`pending`, a promise of a `Response`), for 2xx; else the
/// error it answered. The loader starts the session's first request this way, before the wasm
/// has compiled.
pub async fn answer(pending: js_sys::Promise) -> Result<JsValue, CallError> {
    let net = |_| CallError::unanswered("network");
    let response: Response = JsFuture::from(pending).await.map_err(net)?.dyn_into().map_err(net)?;
    let status = response.status();
    let request_id = response.headers().get("Request-Id").ok().flatten();
    let json = match response.json() {
        Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    };
    if (200..300).contains(&status) {
        Ok(json)
    } else {
        let error = js_sys::Reflect::get(&json, &"error".into()).unwrap_or(JsValue::NULL);
        let field = |name: &str| {
            js_sys::Reflect::get(&error, &name.into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
        };
        Err(CallError { status, code: field("code"), message: field("message"), request_id })
    }
}
