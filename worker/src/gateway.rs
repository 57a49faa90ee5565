//! Calls to QFPay: through the upstream gate, with a timeout, retried with exponential back-off
//! and jitter on network errors, 429, 5xx and transient respcd. A retry sends the identical
//! signed request (same `out_trade_no`), which the gateway answers with the original outcome,
//! so a payment is never made twice; when no answer comes at all the outcome is `Unknown` and
//! the caller settles it later by query.

use std::time::Duration;

use qfpay::{AnswerError, RespClass, RespCode, SignedRequest};
use worker::{Delay, Env};

use crate::config::Settings;
use crate::context::Ctx;
use crate::http;
use crate::random;

/// How long one gateway call may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Tries per call (the first and two retries).
const TRIES: u32 = 3;
/// The longest the worker waits for the gate before giving up on a call.
const GATE_PATIENCE_MS: u64 = 3000;

/// What a gateway call came to.
pub enum Outcome<T> {
    /// The gateway answered (any respcd but a transient one).
    Answer(T),
    /// No usable answer after every try: the outcome at the gateway is not known.
    Unknown(String),
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
        signed: &SignedRequest,
        parse: fn(&[u8]) -> Result<T, AnswerError>,
        respcd: fn(&T) -> &RespCode,
    ) -> Outcome<T> {
        let mut last = String::from("not tried");
        for attempt in 0..TRIES {
            if attempt > 0 {
                sleep(checkout_api::upstream::retry_delay_ms(attempt - 1, random::unit())).await;
            }
            if let Err(why) = self.acquire().await {
                last = why;
                continue;
            }
            match self.send(signed).await {
                Ok((200, body)) => match parse(&body) {
                    Ok(answer) => {
                        let code = respcd(&answer).clone();
                        self.ctx.note_upstream(code.code());
                        if code.class() == RespClass::TransientRetry {
                            last = format!("transient respcd {code}");
                            continue;
                        }
                        return Outcome::Answer(answer);
                    }
                    Err(e) => last = e.to_string(),
                },
                Ok((status, _)) => {
                    self.ctx.note_upstream(&format!("http {status}"));
                    last = format!("HTTP {status}");
                }
                Err(why) => last = why,
            }
        }
        Outcome::Unknown(last)
    }

    /// Waits for the merchant's upstream gate to grant a call.
    async fn acquire(&self) -> Result<(), String> {
        let namespace = self.env.durable_object("UPSTREAM_GATE").map_err(|e| e.to_string())?;
        let stub = namespace
            .id_from_name(&self.settings.gateway.credentials.appcode)
            .and_then(|id| id.get_stub())
            .map_err(|e| e.to_string())?;
        let mut waited = 0;
        loop {
            let mut resp = stub.fetch_with_str("https://gate/acquire").await.map_err(|e| e.to_string())?;
            let answer: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
            if answer["granted"].as_bool() == Some(true) {
                return Ok(());
            }
            let wait = answer["retry_after_ms"].as_u64().unwrap_or(100).clamp(1, 1000);
            if waited + wait > GATE_PATIENCE_MS {
                return Err("the upstream rate budget is used up".into());
            }
            sleep(wait).await;
            waited += wait;
        }
    }

    async fn send(&self, signed: &SignedRequest) -> Result<(u16, Vec<u8>), String> {
        let headers: Vec<(&str, String)> = signed.headers.iter().map(|(n, v)| (*n, v.clone())).collect();
        let url = signed.url(&self.settings.gateway.base_url);
        http::post(&url, &headers, &signed.body, TIMEOUT.as_millis() as u64).await
    }
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: u64) {
    Delay::from(Duration::from_millis(ms)).await;
}
