//! Writes that must happen at most once (`sessions create`, `refunds create`): their
//! `Idempotency-Key`, and what to tell the merchant when the outcome is not known.
//!
//! The danger is a second session or a second refund: a merchant who runs the command again
//! gets a fresh key, and the worker cannot tell that run from a new request. So whenever the
//! outcome may not be what the answer says (no answer, a 5xx or 429, the key's first request
//! still running or interrupted) and whenever the CLI itself sent the request more than once,
//! the key is printed with the command to retry under it.

use checkout_api::ErrorCode;

use super::{code_of, worth_retrying, Reply};
use crate::Failure;

/// A fresh Idempotency-Key: unique per run, the same across this run's own resends.
pub fn fresh_key(what: &str) -> String {
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    format!("qfpay-cli-{what}-{millis}-{:016x}", fastrand::u64(..))
}

/// One write, for the advice: its key, and the session it concerns when known.
pub struct Write<'a> {
    /// The `Idempotency-Key` sent.
    pub key: &'a str,
    /// The session (`refunds create`); `None` for `sessions create`.
    pub session: Option<&'a str>,
}

/// How an answer to a write stands, for what the merchant should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A success, or a refusal that nothing repeats differently (a 4xx other than those below).
    Final,
    /// Not known: a 5xx, a 429, or the key's first request still being processed.
    Unknown,
    /// The key's first request was interrupted: it may have done the write.
    Interrupted,
}

/// Where `reply` leaves the write.
pub fn outcome(reply: &Reply) -> Outcome {
    let code = code_of(reply);
    if code == ErrorCode::IdempotencyInterrupted.code() {
        Outcome::Interrupted
    } else if worth_retrying(reply.status) || code == ErrorCode::IdempotencyInProgress.code() {
        Outcome::Unknown
    } else {
        Outcome::Final
    }
}

impl Write<'_> {
    /// The advice for a write whose outcome is unknown: retry with the same key.
    pub fn retry_advice(&self) -> String {
        format!(
            "the outcome may not be final: to retry without doing it twice, run the same command again with \
             --idempotency-key {} (a new key could do it a second time)",
            self.key
        )
    }

    /// The advice after an interrupted first request: look before retrying.
    fn interrupted_advice(&self) -> String {
        let look = match self.session {
            Some(id) => format!("run `qfpay sessions get {id}` first"),
            None => "list the sessions with your reference first (`qfpay sessions list --reference ...`)".to_owned(),
        };
        format!(
            "the first request with --idempotency-key {} was interrupted and may have been done: {look}; a pending \
             refund settles on its own. Only if it is not there, run the command again without --idempotency-key",
            self.key
        )
    }

    /// `failure` (the request got no answer) with the advice to retry under the same key.
    pub fn no_answer(&self, failure: Failure) -> Failure {
        match failure {
            Failure::Remote(msg) => Failure::Remote(format!("{msg}; {}", self.retry_advice())),
            other => other,
        }
    }

    /// The failure for an answer that is not the write's success: `message` (the worker's error)
    /// with what to do next, by the answer's [`outcome`].
    pub fn refused(&self, reply: &Reply, message: String) -> Failure {
        let advice = match outcome(reply) {
            Outcome::Interrupted => Some(self.interrupted_advice()),
            Outcome::Unknown => Some(self.retry_advice()),
            Outcome::Final if reply.resent => Some(self.resent_note()),
            Outcome::Final => None,
        };
        Failure::Remote(match advice {
            Some(advice) => format!("{message}; {advice}"),
            None => message,
        })
    }

    /// Said after any answer when the CLI sent the request more than once.
    pub fn resent_note(&self) -> String {
        format!(
            "the first try got no answer, so the request was sent again with the same Idempotency-Key {}: the \
             worker answers a repeat with the first request's outcome, so it was done at most once; to check \
             or retry, use --idempotency-key {}",
            self.key, self.key
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, code: &str, resent: bool) -> Reply {
        let text = format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#);
        Reply { status, text, retry_after: None, resent }
    }

    fn message(write: &Write, reply: &Reply) -> String {
        match write.refused(reply, "HTTP".into()) {
            Failure::Remote(msg) => msg,
            _ => panic!("a remote failure"),
        }
    }

    #[test]
    fn only_a_final_refusal_without_a_resend_leaves_out_the_key() {
        let write = Write { key: "k-1", session: Some("cs_1") };
        for (status, code) in
            [(500, "internal_error"), (503, "upstream_busy"), (429, "rate_limited"), (409, "idempotency_in_progress")]
        {
            let msg = message(&write, &reply(status, code, false));
            assert!(msg.contains("--idempotency-key k-1"), "{status} {code}: {msg}");
            assert_eq!(outcome(&reply(status, code, false)), Outcome::Unknown);
        }
        let msg = message(&write, &reply(409, "idempotency_interrupted", false));
        assert!(msg.contains("qfpay sessions get cs_1") && msg.contains("k-1"), "{msg}");
        assert_eq!(message(&write, &reply(409, "refund_exceeds_payment", false)), "HTTP");
        assert_eq!(message(&write, &reply(400, "invalid_field", false)), "HTTP");
        let msg = message(&write, &reply(409, "refund_exceeds_payment", true));
        assert!(msg.contains("sent again with the same Idempotency-Key k-1"), "{msg}");
    }

    #[test]
    fn keys_are_fresh() {
        assert_ne!(fresh_key("session"), fresh_key("session"));
        assert!(fresh_key("refund").starts_with("qfpay-cli-refund-"));
    }
}
