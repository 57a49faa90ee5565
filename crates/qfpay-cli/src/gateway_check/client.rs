//! The gateway over HTTP, as the check needs it: signed forms out, answers back with their
//! `X-QF-SIGN` kept for [`super::answer_signature`].
//!
//! The check makes dozens of calls with the merchant's real appcode, which live traffic may
//! share, so it paces itself (one call per [`SPACING`], far under QFPay's 100/s and 400/min),
//! waits out a 429, a 5xx or a transient respcd a bounded number of times with growing
//! pauses, and resends the identical signed request (the gateway answers an identical payment
//! with its first answer), so a passing hiccup is not mistaken for a finding.
//! Redirects are not followed: a signed form goes to the configured host or nowhere.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use qfpay::tables::RespClass;
use qfpay::{Config, GatewayRequest, RespCode, SignType, SignedRequest};

use crate::Failure;

/// The least time between two calls: five a second at most.
const SPACING: Duration = Duration::from_millis(200);
/// A call refused with 429, failing with a 5xx or answered a transient respcd is sent at most
/// this many times in all...
const TRIES: u32 = 5;
/// ...waiting at most this long before each resend (a longer `Retry-After` is cut to it).
const MAX_WAIT: Duration = Duration::from_secs(30);
/// The largest answer read: the gateway's answers are a few kilobytes.
const MAX_ANSWER_BYTES: u64 = 1 << 20;

/// One answer, as received.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body's bytes (an answer signature may cover them exactly).
    pub body: Vec<u8>,
    /// `X-QF-SIGN`, when sent.
    pub signature: Option<String>,
    /// `X-QF-SIGNTYPE`, when sent.
    pub sign_type: Option<String>,
}

impl Answer {
    /// The body as a JSON object's top-level `respcd`, when it has one.
    pub fn respcd(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        match &value["respcd"] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// A paced client of one gateway with one merchant's credentials.
pub struct Gateway {
    agent: ureq::Agent,
    config: Config,
    /// How calls are signed: SHA256 unless the gateway refused it.
    sign_type: Cell<SignType>,
    last_call: Cell<Option<Instant>>,
    calls: Cell<u32>,
    /// Every answer received, for the answer-signature finding.
    answers: RefCell<Vec<Answer>>,
}

impl Gateway {
    /// A client for `config`, signing with SHA256 until told otherwise.
    pub fn new(config: Config) -> Gateway {
        let agent = ureq::Agent::config_builder()
            // An error status is an answer to report, not a transport failure.
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(30)))
            .user_agent(concat!("qfpay-cli/", env!("CARGO_PKG_VERSION"), " (gateway check)"))
            .build();
        Gateway {
            agent: agent.into(),
            config,
            sign_type: Cell::new(SignType::Sha256),
            last_call: Cell::new(None),
            calls: Cell::new(0),
            answers: RefCell::new(Vec::new()),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Signs the remaining calls with `sign_type`.
    pub fn use_sign_type(&self, sign_type: SignType) {
        self.sign_type.set(sign_type);
    }

    /// How many calls were sent (resends included).
    pub fn calls(&self) -> u32 {
        self.calls.get()
    }

    /// Every answer received so far.
    pub fn answers(&self) -> Vec<Answer> {
        self.answers.borrow().clone()
    }

    /// Sends `request` signed the current way.
    pub fn call<R: GatewayRequest>(&self, request: &R) -> Result<Answer, Failure> {
        self.call_signed_with(request, self.sign_type.get())
    }

    /// Sends `request` signed with `sign_type`: MD5 goes without `X-QF-SIGNTYPE`, which the
    /// gateway reads as MD5 (the guide's own examples send none).
    pub fn call_signed_with<R: GatewayRequest>(&self, request: &R, sign_type: SignType) -> Result<Answer, Failure> {
        let mut signed = request.sign_with(&self.config.credentials, sign_type).map_err(|e| match e.field {
            "mchid" => Failure::Usage(format!("QFPAY_MCHID: {}", e.rule)),
            _ => Failure::Remote(format!("the check built an invalid request ({e}); please report this")),
        })?;
        if sign_type == SignType::Md5 {
            signed.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("X-QF-SIGNTYPE"));
        }
        self.send(&signed)
    }

    /// One call, paced, resent identically after a 429, a 5xx or a transient respcd; a call
    /// that never gets past them fails the check.
    fn send(&self, signed: &SignedRequest) -> Result<Answer, Failure> {
        let url = signed.url(&self.config.base_url);
        let mut pause = Duration::from_secs(1);
        for attempt in 1..=TRIES {
            self.pace();
            let (answer, retry_after) = self.send_once(&url, signed).map_err(|e| {
                Failure::Remote(format!(
                    "could not reach the gateway at {} ({e}); check the network and QFPAY_ENV",
                    self.config.base_url
                ))
            })?;
            if answer.status == 200 {
                self.answers.borrow_mut().push(answer.clone());
            }
            let busy = match answer.respcd() {
                _ if answer.status == 429 || answer.status >= 500 => format!("HTTP {}", answer.status),
                // "Maintenance", "slow connection", "bank busy": the table's transient codes.
                Some(code) if RespCode::new(code.as_str()).class() == RespClass::TransientRetry => {
                    format!("respcd {code}")
                }
                _ => return Ok(answer),
            };
            if attempt == TRIES {
                // A gateway this busy for this long would make any finding a guess.
                return Err(Failure::Remote(format!(
                    "the gateway at {} answered {} {busy} {TRIES} times in a row; try the check again later",
                    self.config.base_url, signed.path
                )));
            }
            // Exponential back-off with jitter, or what Retry-After asks, capped either way.
            let wait = retry_after.unwrap_or(pause + Duration::from_millis(fastrand::u64(0..500))).min(MAX_WAIT);
            let why = format!("the gateway answered {} {busy}: sending it again in {} s", signed.path, wait.as_secs());
            crate::progress::status(&why, true);
            std::thread::sleep(wait);
            pause *= 2;
        }
        unreachable!("the last try returns or fails")
    }

    /// Waits until [`SPACING`] has passed since the last call.
    fn pace(&self) {
        if let Some(last) = self.last_call.get() {
            if let Some(left) = SPACING.checked_sub(last.elapsed()) {
                std::thread::sleep(left);
            }
        }
        self.last_call.set(Some(Instant::now()));
        self.calls.set(self.calls.get() + 1);
    }

    fn send_once(&self, url: &str, signed: &SignedRequest) -> Result<(Answer, Option<Duration>), ureq::Error> {
        let mut request = self.agent.post(url);
        for (name, value) in &signed.headers {
            request = request.header(*name, value);
        }
        let mut response = request.send(&signed.body)?;
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (signature, sign_type) = (header("X-QF-SIGN"), header("X-QF-SIGNTYPE"));
        let retry_after = header("Retry-After").and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_vec()?;
        Ok((Answer { status, body, signature, sign_type }, retry_after))
    }
}
