//! Calls to the worker: bearer client secret, JSON, a timeout per request.
//!
//! An answer is handed to a callback rather than awaited: the widget has no other use for
//! futures, and Rust's async machinery (a task queue, wakers, a state machine per `async fn`)
//! was a twentieth of its download. The callback always runs once, later (never before the
//! call returns): a promise that fulfils or rejects settles it.

use gloo_timers::callback::Timeout;
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
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
    fn unanswered() -> Self {
        CallError { status: 0, code: "network".into(), message: String::new(), request_id: None }
    }
}

/// What a call's answer is handed to: the JSON for 2xx, else the error.
pub type Answer = Box<dyn FnOnce(Result<JsValue, CallError>)>;

/// Sends one request and hands its answer to `then`. `wait_seconds`: ask the worker to hold
/// the answer until something changes (`Prefer: wait=N`, RFC 7240).
pub fn call(
    method: &str,
    url: &str,
    secret: &str,
    body: Option<String>,
    timeout_ms: u32,
    wait_seconds: Option<u32>,
    then: Answer,
) {
    let Some((request, controller)) = request(method, url, secret, body, wait_seconds) else {
        // Settled through a promise like any answer, so `then` still runs later, not now.
        return answer(Promise::reject(&JsValue::NULL), then);
    };
    let Some(window) = crate::dom::window() else { return answer(Promise::reject(&JsValue::NULL), then) };
    // Dropped with the callback once the answer comes, which cancels it.
    let timeout = Timeout::new(timeout_ms, move || controller.abort());
    answer(
        window.fetch_with_request(&request),
        Box::new(move |result| {
            drop(timeout);
            then(result);
        }),
    );
}

/// The request, and the controller that aborts it; `None` when the browser refuses to build it.
fn request(
    method: &str,
    url: &str,
    secret: &str,
    body: Option<String>,
    wait_seconds: Option<u32>,
) -> Option<(Request, AbortController)> {
    let headers = Headers::new().ok()?;
    headers.set("Authorization", &["Bearer ", secret].concat()).ok()?;
    if let Some(seconds) = wait_seconds {
        headers.set("Prefer", &["wait=", &crate::format::number(seconds.into())].concat()).ok()?;
    }
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(b) = &body {
        headers.set("Content-Type", "application/json").ok()?;
        init.set_body(&JsValue::from_str(b));
    }
    init.set_headers(&headers);
    let controller = AbortController::new().ok()?;
    init.set_signal(Some(&controller.signal()));
    let request = Request::new_with_str_and_init(url, &init).ok()?;
    Some((request, controller))
}

/// Hands `then` the JSON of a `fetch` under way (`pending`, a promise of a `Response`), for
/// 2xx; else the error it answered. The loader starts the session's first request this way,
/// before the wasm has compiled.
pub fn answer(pending: Promise, then: Answer) {
    settle(
        &pending,
        Box::new(move |response| {
            let Some(response) = response.and_then(|r| r.dyn_into::<Response>().ok()) else {
                return then(Err(CallError::unanswered()));
            };
            let status = response.status();
            let request_id = response.headers().get("Request-Id").ok().flatten();
            let json = response.json().unwrap_or_else(|_| Promise::resolve(&JsValue::NULL));
            settle(
                &json,
                Box::new(move |json| {
                    let json = json.unwrap_or(JsValue::NULL);
                    if (200..300).contains(&status) {
                        return then(Ok(json));
                    }
                    let error = js_sys::Reflect::get(&json, &"error".into()).unwrap_or(JsValue::NULL);
                    let field = |name: &str| {
                        js_sys::Reflect::get(&error, &name.into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
                    };
                    then(Err(CallError { status, code: field("code"), message: field("message"), request_id }));
                }),
            );
        }),
    );
}

#[wasm_bindgen]
extern "C" {
    /// A promise, for its `then` with a JS function (js-sys's `then` takes a Rust closure that
    /// the caller must keep alive).
    type Settling;
    #[wasm_bindgen(method)]
    fn then(this: &Settling, callback: &JsValue);
}

/// Runs `then` once `promise` settles, with its value when it fulfilled and `None` when it
/// rejected. `Promise.allSettled` always fulfils, so the one callback runs exactly once and
/// then frees itself (`once_into_js`): no callback is left waiting, as the unused half of a
/// `then(fulfilled, rejected)` pair would be.
fn settle(promise: &Promise, then: Box<dyn FnOnce(Option<JsValue>)>) {
    let settled = Promise::all_settled(&Array::of1(promise));
    let callback = Closure::once_into_js(move |results: JsValue| {
        let outcome = js_sys::Reflect::get_u32(&results, 0).unwrap_or(JsValue::NULL);
        let field = |name: &str| js_sys::Reflect::get(&outcome, &name.into()).ok();
        let fulfilled = field("status").and_then(|s| s.as_string()).as_deref() == Some("fulfilled");
        then(if fulfilled { field("value") } else { None });
    });
    settled.unchecked_ref::<Settling>().then(&callback);
}
