//! The merchant API over HTTP: one blocking client, the retries that are safe, and the
//! worker's errors (`{"error": {"code", "message", "field"?}}`) as one clear line.
//!
//! What is retried, and why it is safe: a request that got no answer (connection refused,
//! reset, timed out) is sent again, identically, a few times with growing pauses. Creations
//! and refunds carry an `Idempotency-Key`, so the worker answers a repeat with the first
//! answer; closing and reading are idempotent by nature. An answer of 429 or 503 with
//! `Retry-After` is waited out and retried only for reads; for a write the CLI says when to
//! run it again, and with which key (`idempotency`).

mod encode;
pub mod idempotency;
mod target;

use std::time::Duration;

pub use encode::{encode_query, path_segment};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
pub use target::Target;

use crate::Failure;
use crate::{output, progress};

/// The most items a page of the worker's lists holds (the CLI asks for full pages).
pub use checkout_api::listing::MAX_LIMIT as PAGE_SIZE;

/// One page of a list (`GET /v1/sessions`, `GET /v1/events`); by default each item kept as the
/// worker wrote it, so `--json` prints its bytes.
#[derive(Debug, Deserialize)]
pub struct Page<T = Box<RawValue>> {
    /// The items, in the list's order.
    pub data: Vec<T>,
    /// Whether more follow.
    pub has_more: bool,
}

/// Whether an answer is worth the same request again later: the worker failed (5xx) or asked
/// to slow down (429). Every other answer is final for that request.
pub fn worth_retrying(status: u16) -> bool {
    status >= 500 || status == 429
}

/// Requests that got no answer are sent at most this many times in all.
const NETWORK_TRIES: u32 = 4;
/// A read refused with `Retry-After` is retried at most this many times...
const BUSY_RETRIES: u32 = 3;
/// ...waiting at most this long each time (a longer `Retry-After` is reported instead).
const MAX_BUSY_WAIT_SECONDS: u64 = 60;

/// An answer from the worker.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body as received.
    pub text: String,
    /// `Retry-After` in seconds, when sent.
    pub retry_after: Option<u64>,
    /// The request was sent more than once (an earlier try got no answer).
    pub resent: bool,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// A client of one deployment.
pub struct Client {
    agent: ureq::Agent,
    /// The deployment and its key.
    pub target: Target,
}

impl Client {
    /// A client for `QFPAY_WORKER_URL` with `MERCHANT_API_KEY`; a missing or unsafe setting is
    /// a usage error.
    pub fn from_env() -> Result<Client, Failure> {
        Ok(Client::new(Target::from_env().map_err(Failure::Usage)?))
    }

    /// A client for `target`.
    pub fn new(target: Target) -> Client {
        let config = ureq::Agent::config_builder()
            // Error statuses are answers to read, not transport failures.
            .http_status_as_error(false)
            // A redirect could carry the bearer key somewhere else: none are followed.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(40)))
            .user_agent(concat!("qfpay-cli/", env!("CARGO_PKG_VERSION")))
            .build();
        Client { agent: config.into(), target }
    }

    /// `GET path`, waiting out a bounded number of 429/503 answers with `Retry-After`.
    pub fn get(&self, path: &str) -> Result<Reply, Failure> {
        let mut busy = 0;
        loop {
            let reply = self.send("GET", path, None, None)?;
            let wait = reply.retry_after.filter(|s| *s <= MAX_BUSY_WAIT_SECONDS);
            match wait {
                Some(seconds) if matches!(reply.status, 429 | 503) && busy < BUSY_RETRIES => {
                    busy += 1;
                    let why = format!(
                        "the worker answered {} ({}): waiting as Retry-After asks",
                        reply.status,
                        code_of(&reply)
                    );
                    progress::countdown(&why, seconds.max(1));
                }
                _ => return Ok(reply),
            }
        }
    }

    /// `POST path` with a JSON body (none for `close`) and an optional `Idempotency-Key`.
    pub fn post(&self, path: &str, body: Option<&Value>, idempotency_key: Option<&str>) -> Result<Reply, Failure> {
        self.send("POST", path, body, idempotency_key)
    }

    /// One request, sent again identically while no answer comes back.
    fn send(&self, method: &str, path: &str, body: Option<&Value>, key: Option<&str>) -> Result<Reply, Failure> {
        let url = format!("{}{path}", self.target.base);
        let body = body.map(Value::to_string);
        let mut pause = 1;
        for attempt in 1..=NETWORK_TRIES {
            match self.send_once(method, &url, body.as_deref(), key) {
                Ok(reply) => return Ok(Reply { resent: attempt > 1, ..reply }),
                Err(e) if attempt < NETWORK_TRIES && transient(&e) => {
                    let why = format!("no answer from {} ({e}); sending the same request again", self.target.base);
                    progress::countdown(&why, pause);
                    pause *= 2;
                }
                Err(e) => {
                    return Err(Failure::Remote(self.target.redact(&format!(
                        "could not reach the worker at {} ({e}); check QFPAY_WORKER_URL and that the worker is running",
                        self.target.base
                    ))))
                }
            }
        }
        unreachable!("the last try returns")
    }

    fn send_once(&self, method: &str, url: &str, body: Option<&str>, key: Option<&str>) -> Result<Reply, ureq::Error> {
        let auth = format!("Bearer {}", self.target.key());
        let mut response = match (method, body) {
            ("GET", _) => {
                self.agent.get(url).header("Authorization", &auth).header("Accept", "application/json").call()?
            }
            (_, body) => {
                let mut req = self.agent.post(url).header("Authorization", &auth).header("Accept", "application/json");
                if let Some(key) = key {
                    req = req.header("Idempotency-Key", key);
                }
                match body {
                    Some(body) => req.header("Content-Type", "application/json").send(body)?,
                    None => req.send_empty()?,
                }
            }
        };
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string()?;
        Ok(Reply { status, text, retry_after, resent: false })
    }

    /// The failure for an answer that is not the one asked for: the worker's error as one
    /// line (status, code, message, field), with what `Retry-After` asks.
    pub fn failure(&self, reply: &Reply) -> Failure {
        Failure::Remote(self.error_text(reply))
    }

    /// [`Client::failure`]'s message, to add advice to.
    pub fn error_text(&self, reply: &Reply) -> String {
        self.target.redact(&describe_error(reply))
    }
}

/// Errors worth sending the identical request again for: nothing was answered.
fn transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound
    )
}

/// The worker's error code, or `no error code`.
fn code_of(reply: &Reply) -> String {
    reply.json()["error"]["code"].as_str().unwrap_or("no error code").to_owned()
}

/// `HTTP 400 invalid_field: must be at least 1 (field: amount)`, plus advice for a wrong
/// key and for `Retry-After`.
pub fn describe_error(reply: &Reply) -> String {
    let json = reply.json();
    let error = &json["error"];
    let mut line = match (error["code"].as_str(), error["message"].as_str()) {
        // The worker's words are shown as text: a control character in them is escaped.
        (Some(code), message) => format!(
            "HTTP {} {}: {}",
            reply.status,
            output::escape_controls(code),
            output::escape_controls(message.unwrap_or("(no message)"))
        ),
        _ => {
            let text: String = reply.text.chars().take(200).collect();
            format!("HTTP {} from the worker, not its JSON error: {:?}", reply.status, text.trim())
        }
    };
    if let Some(field) = error["field"].as_str() {
        line.push_str(&format!(" (field: {})", output::escape_controls(field)));
    }
    if reply.status == 401 {
        line.push_str("; check MERCHANT_API_KEY (the worker's key, at least 32 characters)");
    }
    match reply.retry_after {
        Some(0) => line.push_str("; the worker says it can be tried again now (Retry-After: 0)"),
        Some(seconds) => {
            line.push_str(&format!("; the worker asks to wait {seconds} s before trying again (Retry-After)"))
        }
        None => {}
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, text: &str, retry_after: Option<u64>) -> Reply {
        Reply { status, text: text.into(), retry_after, resent: false }
    }

    #[test]
    fn errors_show_status_code_message_and_field() {
        let r =
            reply(400, r#"{"error":{"code":"invalid_field","message":"must be at least 1","field":"amount"}}"#, None);
        assert_eq!(describe_error(&r), "HTTP 400 invalid_field: must be at least 1 (field: amount)");
        let r = reply(429, r#"{"error":{"code":"rate_limited","message":"slow down"}}"#, Some(60));
        assert_eq!(
            describe_error(&r),
            "HTTP 429 rate_limited: slow down; the worker asks to wait 60 s before trying again (Retry-After)"
        );
        let r = reply(401, r#"{"error":{"code":"unauthorized","message":"wrong"}}"#, None);
        assert!(describe_error(&r).contains("check MERCHANT_API_KEY"));
        let r = reply(502, "<html>Bad gateway</html>", None);
        assert_eq!(describe_error(&r), "HTTP 502 from the worker, not its JSON error: \"<html>Bad gateway</html>\"");
        let r = reply(400, "{\"error\":{\"code\":\"invalid_field\",\"message\":\"bad \\u001b[2J\"}}", None);
        assert_eq!(describe_error(&r), "HTTP 400 invalid_field: bad \\u{1b}[2J");
    }

    #[test]
    fn only_failures_and_slow_downs_are_worth_retrying() {
        assert!(worth_retrying(500) && worth_retrying(503) && worth_retrying(429));
        assert!(!worth_retrying(400) && !worth_retrying(404) && !worth_retrying(409) && !worth_retrying(200));
    }
}
