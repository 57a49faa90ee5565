//! Per-request facts for the one-line log: which session, which upstream codes.

use std::cell::{Cell, RefCell};

/// Collected while a request is handled, printed once at its end.
#[derive(Default)]
pub struct Ctx {
    request_id: String,
    session: RefCell<Option<String>>,
    upstream: RefCell<Vec<String>>,
    answer_signatures: RefCell<Vec<String>>,
    d1_queries: Cell<u32>,
    pay_client: RefCell<Option<String>>,
    pay_counted: Cell<bool>,
}

impl Ctx {
    /// The context of the request with this `Request-Id`.
    pub fn new(request_id: &str) -> Self {
        Ctx { request_id: request_id.to_owned(), ..Ctx::default() }
    }

    /// Records the session the request is about.
    pub fn note_session(&self, id: &str) {
        *self.session.borrow_mut() = Some(id.to_owned());
    }

    /// Records that the payment request was counted against its client's payments
    /// (`limits::pay_attempt`), and the client (a fingerprint of its network, `None` for one
    /// that is not counted), so the upstream gate can keep that client to its share.
    pub fn note_pay_counted(&self, key: Option<String>) {
        self.pay_counted.set(true);
        *self.pay_client.borrow_mut() = key;
    }

    /// Whether [`Ctx::note_pay_counted`] was called.
    pub fn pay_counted(&self) -> bool {
        self.pay_counted.get()
    }

    /// The client noted by [`Ctx::note_pay_counted`].
    pub fn pay_client(&self) -> Option<String> {
        self.pay_client.borrow().clone()
    }

    /// Records a gateway answer's respcd (or HTTP status).
    pub fn note_upstream(&self, code: &str) {
        self.upstream.borrow_mut().push(code.to_owned());
    }

    /// Records which readings of an answer's `X-QF-SIGN` matched (`none` when none did), so
    /// the log shows what the real gateway signs while `QFPAY_ANSWER_SIGNATURE=log`.
    pub fn note_answer_signature(&self, matched: &str) {
        self.answer_signatures.borrow_mut().push(matched.to_owned());
    }

    /// Records how many D1 round trips the request made.
    pub fn note_d1_queries(&self, count: u32) {
        self.d1_queries.set(count);
    }

    /// The upstream codes seen so far.
    pub fn upstream_codes(&self) -> Vec<String> {
        self.upstream.borrow().clone()
    }

    /// The log line: request id, method, path, status, session id, upstream codes, D1 round
    /// trips, duration; and for a rate-limit refusal, how many such refusals went without a
    /// line since the last one (`crate::refusal_log`).
    /// No secrets, no client secrets, no bodies.
    pub fn log_line(&self, method: &str, path: &str, status: u16, duration_ms: u64, unlogged: u64) -> String {
        let mut line = serde_json::json!({
            "request_id": self.request_id,
            "method": method,
            "path": path,
            "status": status,
            "session": *self.session.borrow(),
            "upstream_respcd": *self.upstream.borrow(),
            "answer_signature": *self.answer_signatures.borrow(),
            "d1_queries": self.d1_queries.get(),
            "duration_ms": duration_ms,
        });
        if unlogged > 0 {
            line["rate_limited_not_logged"] = unlogged.into();
        }
        line.to_string()
    }
}
