//! Calls to QFPay: through the upstream gate, with a timeout, retried with exponential back-off
//! and jitter on network errors, 429, 5xx and transient respcd. A retry sends the identical
//! signed request (same `out_trade_no`), which the gateway answers with the original outcome,
//! so a payment is never made twice; when no answer comes at all the outcome is `Unknown` and
//! the caller settles it later by query.

use std::time::Duration;

use checkout_api::budget::CallClass;
use qfpay::{AnswerError, RespClass, RespCode, SignType, SignedRequest};
use worker::{Delay, Env};

use crate::config::{AnswerSignature, Settings};
use crate::context::Ctx;
use crate::http;
use crate::random;

/// How long one gateway call may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Tries per call (the first and two retries).
const TRIES: u32 = 3;
/// The longest the worker waits for the gate: a second's window clearing is worth a short wait;
/// a minute's budget used up is answered at once (no request is held for it).
const GATE_PATIENCE_MS: u64 = 1000;

/// Why the gate did not grant a call.
enum Denied {
    /// The budget is used up for this many ms.
    Budget(u64),
    /// The gate could not be asked.
    Gate(String),
}

/// Why a try did not give an answer.
enum Retry {
    /// Try again (no answer, HTTP error, transient code, bad signature).
    Again(String),
    /// Stop: the outcome is unknown and only a query can tell it.
    SettleByQuery(String),
}

/// What a gateway call came to.
pub enum Called<T> {
    /// The gateway answered (any respcd but a transient one).
    Answer(T),
    /// No usable answer after every try: the outcome at the gateway is not known.
    Unknown(String),
    /// Never sent: the merchant's upstream budget for this class of call is used up for now.
    /// The gateway knows nothing of it; try again after this many ms.
    NoBudget(u64),
}

/// The gateway, for one request.
pub struct Gateway<'a> {
    pub env: &'a Env,
    pub settings: &'a Settings,
    pub ctx: &'a Ctx,
}

impl Gateway<'_> {
    /// Sends `signed` until it gets an answer `parse` accepts, or gives up.
    pub async fn call<T>(
        &self,
        class: CallClass,
        signed: &SignedRequest,
        parse: fn(&[u8]) -> Result<T, AnswerError>,
        respcd: fn(&T) -> &RespCode,
    ) -> Called<T> {
        let mut last = String::from("not tried");
        for attempt in 0..TRIES {
            if attempt > 0 {
                sleep(checkout_api::upstream::retry_delay_ms(attempt - 1, random::unit())).await;
            }
            match self.acquire(class).await {
                Ok(()) => {}
                // Nothing of this call reached the gateway yet: say so, at once.
                Err(Denied::Budget(wait)) if attempt == 0 => return Called::NoBudget(wait),
                Err(Denied::Budget(wait)) => {
                    last = format!("the upstream budget is used up for {wait} ms");
                    continue;
                }
                Err(Denied::Gate(why)) => {
                    last = why;
                    continue;
                }
            }
            match self.send(signed).await.and_then(|reply| self.judge(reply, parse, respcd)) {
                Ok(answer) => return Called::Answer(answer),
                Err(Retry::Again(why)) => last = why,
                Err(Retry::SettleByQuery(why)) => return Called::Unknown(why),
            }
        }
        Called::Unknown(last)
    }

    /// What one reply comes to: an answer, a reason to try again, or a reason to stop and let
    /// a query settle it.
    fn judge<T>(
        &self,
        reply: http::Reply,
        parse: fn(&[u8]) -> Result<T, AnswerError>,
        respcd: fn(&T) -> &RespCode,
    ) -> Result<T, Retry> {
        if reply.status != 200 {
            self.ctx.note_upstream(&format!("http {}", reply.status));
            return Err(Retry::Again(format!("HTTP {}", reply.status)));
        }
        if !self.signature_holds(&reply) {
            // Guide, 签名验证: an answer whose signature does not verify is not the gateway's
            // word; it counts as no answer, and a query settles the order.
            worker::console_error!(
                "gateway answer with a bad X-QF-SIGN ({} bytes); treated as no answer",
                reply.body.len()
            );
            return Err(Retry::Again("the answer's X-QF-SIGN did not verify".into()));
        }
        let answer = parse(&reply.body).map_err(|e| Retry::Again(e.to_string()))?;
        let code = respcd(&answer).clone();
        self.ctx.note_upstream(code.code());
        match code.class() {
            RespClass::TransientRetry => Err(Retry::Again(format!("transient respcd {code}"))),
            // A real gateway may answer an identical retry "order exists" instead of replaying
            // its first answer: what happened is then learnt by query, never taken as a refusal.
            _ if code.is(RespCode::DUPLICATE_REQUEST) || code.is(RespCode::DUPLICATE_SERIAL) => {
                Err(Retry::SettleByQuery(format!("the gateway answered {code} (order exists); settled by query")))
            }
            _ => Ok(answer),
        }
    }

    /// Whether the reply's `X-QF-SIGN` is acceptable under `QFPAY_ANSWER_SIGNATURE` (MD5 unless
    /// `X-QF-SIGNTYPE` says otherwise, as the guide says). `log` accepts every answer and says
    /// which reading matched; an enforced reading refuses an unsigned answer too.
    fn signature_holds(&self, reply: &http::Reply) -> bool {
        let setting = self.settings.answer_signature;
        if setting == AnswerSignature::Off {
            return true;
        }
        let Some(signature) = reply.header("X-QF-SIGN") else {
            return !matches!(setting, AnswerSignature::Enforce(_));
        };
        let sign_type = reply.header("X-QF-SIGNTYPE").and_then(|t| SignType::parse(&t)).unwrap_or(SignType::Md5);
        let key = &self.settings.gateway.credentials.key;
        match setting {
            AnswerSignature::Enforce(reading) => reading.holds(&reply.body, key, sign_type, &signature),
            _ => {
                let matched = qfpay::sign::matching_readings(&reply.body, key, sign_type, &signature);
                let names: Vec<&str> = matched.iter().map(|r| r.name()).collect();
                self.ctx.note_answer_signature(&if names.is_empty() { "none".into() } else { names.join("|") });
                true
            }
        }
    }

    /// Asks the merchant's upstream gate for a call of `class`: waits only for a second's
    /// window to clear, never for the minute's budget.
    async fn acquire(&self, class: CallClass) -> Result<(), Denied> {
        let gate = |e: worker::Error| Denied::Gate(e.to_string());
        let namespace = self.env.durable_object("UPSTREAM_GATE").map_err(gate)?;
        let stub = namespace
            .id_from_name(&self.settings.gateway.credentials.appcode)
            .and_then(|id| id.get_stub())
            .map_err(gate)?;
        // A payment for a shopper's client counts against that client's share too.
        let client = self.ctx.pay_client().filter(|_| class == CallClass::Pay);
        let url = match client {
            Some(client) => format!("https://gate/acquire?class={}&client={client}", class.as_str()),
            None => format!("https://gate/acquire?class={}", class.as_str()),
        };
        let mut waited = 0;
        loop {
            let mut resp = stub.fetch_with_str(&url).await.map_err(gate)?;
            let answer: serde_json::Value = resp.json().await.map_err(gate)?;
            if answer["granted"].as_bool() == Some(true) {
                return Ok(());
            }
            let wait = answer["retry_after_ms"].as_u64().unwrap_or(100).max(1);
            if waited + wait > GATE_PATIENCE_MS {
                return Err(Denied::Budget(wait));
            }
            sleep(wait).await;
            waited += wait;
        }
    }

    async fn send(&self, signed: &SignedRequest) -> Result<http::Reply, Retry> {
        let headers: Vec<(&str, String)> = signed.headers.iter().map(|(n, v)| (*n, v.clone())).collect();
        let url = signed.url(&self.settings.gateway.base_url);
        http::post(&url, &headers, &signed.body, TIMEOUT.as_millis() as u64).await.map_err(Retry::Again)
    }
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: u64) {
    Delay::from(Duration::from_millis(ms)).await;
}
