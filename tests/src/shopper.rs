//! A shopper's checkout, as the load and fault runs drive it without a browser: the merchant's
//! server creates the session (tried again under one `Idempotency-Key`), the widget asks for a
//! QR code (tried again after `Retry-After` when refused for now, as the widget does), the phone
//! pays it at the simulator's wallet, and the widget polls until it says paid. Answers are
//! counted by status and error code. Used by the bench's capacity trials and the chaos runs.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How often the widget polls a session's status.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// How often a careful client sends a call that got no answer, a 5xx or a 429.
const CAREFUL_TRIES: usize = 20;

/// An answer as counted: its status, and for an error its code (`"429 too_many_attempts"`).
pub fn answer_key(status: u16, body: &Value) -> String {
    match body["error"]["code"].as_str() {
        Some(code) => format!("{status} {code}"),
        None => status.to_string(),
    }
}

/// The `Retry-After` of an answer in seconds (1 when absent, at most 30).
pub fn retry_after(resp: &reqwest::Response) -> u64 {
    let header = resp.headers().get("Retry-After").and_then(|v| v.to_str().ok());
    header.and_then(|v| v.trim().parse().ok()).unwrap_or(1).clamp(1, 30)
}

/// Asks the worker `w` for a QR code of `pay_type` on session `id`, tried again after
/// `Retry-After` when refused for now (429, 503) until `patience` runs out. Returns the QR code
/// (none when refused for good or out of patience); every refusal is pushed to `refusals`.
pub async fn pay_for_qr(
    http: &reqwest::Client,
    w: &str,
    (id, secret): (&str, &str),
    pay_type: &str,
    patience: Duration,
    refusals: &mut Vec<String>,
) -> Option<String> {
    let started = Instant::now();
    while started.elapsed() < patience {
        let url = format!("{w}/v1/checkout/{id}/pay");
        let sent = http.post(url).bearer_auth(secret).json(&json!({"pay_type": pay_type})).send().await;
        let Ok(resp) = sent else {
            refusals.push("no answer".into());
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let status = resp.status().as_u16();
        let wait = retry_after(&resp);
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status == 201 {
            return body["qrcode"].as_str().map(str::to_owned);
        }
        refusals.push(answer_key(status, &body));
        if status != 429 && status != 503 {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    None
}

/// POSTs `body` to `url` with `auth` as bearer (and `key` as `Idempotency-Key`); the status and
/// the JSON answer (`Null` when not JSON), or `None` when nothing answered.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    auth: &str,
    body: Value,
    key: Option<&str>,
) -> Option<(u16, Value)> {
    let mut req = http.post(url).bearer_auth(auth).json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.json().await.unwrap_or(Value::Null)))
}

/// [`post`] as a careful client sends it: the same request (the same `Idempotency-Key`) again,
/// 500 ms later, while it gets no answer, a 5xx or a 429 (a session's attempts are spaced out),
/// up to 20 times. `None` when it never got another answer.
pub async fn retry_post(
    http: &reqwest::Client,
    url: &str,
    auth: &str,
    body: Value,
    key: Option<&str>,
) -> Option<(u16, Value)> {
    for _ in 0..CAREFUL_TRIES {
        match post(http, url, auth, body.clone(), key).await {
            Some((status, v)) if status < 500 && status != 429 => return Some((status, v)),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    None
}

/// Creates a session on the worker `w` as the merchant's server does (the merchant key, tried
/// again under `key` as [`retry_post`] does); its id and client secret, or what went wrong.
pub async fn create_session(
    http: &reqwest::Client,
    w: &str,
    body: Value,
    key: &str,
) -> Result<(String, String), String> {
    match retry_post(http, &format!("{w}/v1/sessions"), crate::MERCHANT_API_KEY, body, Some(key)).await {
        Some((201, s)) => match (s["id"].as_str(), s["client_secret"].as_str()) {
            (Some(id), Some(secret)) => Ok((id.to_owned(), secret.to_owned())),
            _ => Err("session answer without id".into()),
        },
        Some((status, s)) => Err(format!("session {}", answer_key(status, &s))),
        None => Err("session: no answer, or refused for now every time".into()),
    }
}

/// Presses `action` (`pay`, `decline`) on the simulator's wallet page of `qrcode`, as the
/// shopper's phone does; true when the wallet took it.
pub async fn wallet(http: &reqwest::Client, qrcode: &str, action: &str) -> bool {
    http.post(format!("{qrcode}/{action}"))
        .header("Accept", "application/json")
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Polls the session's status every [`POLL_EVERY`], as the widget does, until it says paid
/// (when it first did) or `patience` runs out (`None`).
pub async fn wait_paid(
    http: &reqwest::Client,
    w: &str,
    (id, secret): (&str, &str),
    patience: Duration,
) -> Option<Instant> {
    let started = Instant::now();
    while started.elapsed() < patience {
        if let Ok(r) = http.get(format!("{w}/v1/checkout/{id}/status")).bearer_auth(secret).send().await {
            if r.json::<Value>().await.is_ok_and(|v| v["status"] == "paid") {
                return Some(Instant::now());
            }
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    None
}

/// One honest shopper's way through a checkout.
pub struct Shopper<'a> {
    /// The worker's base URL.
    pub worker: &'a str,
    /// The merchant's server, which creates the session; the phone's wallet is paid with it too.
    pub merchant: &'a reqwest::Client,
    /// The shopper's browser (its own address; see [`crate::address`]).
    pub browser: &'a reqwest::Client,
    /// The QR pay type the shopper picks.
    pub pay_type: &'a str,
    /// How long after the QR code shows the phone pays it.
    pub pays_after: Duration,
    /// How long the shopper retries the pay request, and polls for the payment.
    pub patience: Duration,
}

/// What one checkout came to.
#[derive(Debug, Default)]
pub struct Checkout {
    /// The session's id, once created.
    pub session: Option<String>,
    /// Ms from the first pay request to the QR code, refusals and retries included.
    pub pay_ms: Option<f64>,
    /// Every answer but 201 to the pay request (`"503 upstream_busy"`, ...), and a failure to
    /// create the session.
    pub refusals: Vec<String>,
    /// Paid at the simulator's wallet.
    pub paid: bool,
    /// When the widget's status poll first said paid.
    pub seen_at: Option<Instant>,
}

impl Checkout {
    /// Seen paid by the widget's poll.
    pub fn seen(&self) -> bool {
        self.seen_at.is_some()
    }

    /// Pay answers `503 upstream_busy`: the merchant's payment budget was spent.
    pub fn upstream_busy(&self) -> usize {
        self.refusals.iter().filter(|r| *r == "503 upstream_busy").count()
    }
}

impl Shopper<'_> {
    /// Checks out a session of `body`, created under `Idempotency-Key` `key`: the QR code
    /// ([`pay_for_qr`]), the phone paying it [`Shopper::pays_after`] later, and the widget
    /// polling from a second after that until it says paid.
    pub async fn check_out(&self, body: Value, key: &str) -> Checkout {
        let mut out = Checkout::default();
        let (id, secret) = match create_session(self.merchant, self.worker, body, key).await {
            Ok(s) => s,
            Err(why) => {
                out.refusals.push(why);
                return out;
            }
        };
        out.session = Some(id.clone());
        let started = Instant::now();
        let qr = pay_for_qr(self.browser, self.worker, (&id, &secret), self.pay_type, self.patience, &mut out.refusals)
            .await;
        let Some(qr) = qr else { return out };
        out.pay_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(self.pays_after).await;
        out.paid = wallet(self.merchant, &qr, "pay").await;
        if out.paid {
            tokio::time::sleep(Duration::from_secs(1)).await;
            out.seen_at = wait_paid(self.browser, self.worker, (&id, &secret), self.patience).await;
        }
        out
    }
}

/// Starts `count` tasks evenly at `rate_per_minute` from now (task `i` at `i` gaps), as a
/// steady stream of shoppers arrives; their outcomes in order (the default for one that
/// panicked).
pub async fn at_rate<T, F, Fut>(count: usize, rate_per_minute: u32, task: F) -> Vec<T>
where
    T: Default + Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let gap = 60.0 / f64::from(rate_per_minute);
    let t0 = tokio::time::Instant::now();
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let run = task(i);
            tokio::spawn(async move {
                tokio::time::sleep_until(t0 + Duration::from_secs_f64(i as f64 * gap)).await;
                run.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(count);
    for t in tasks {
        out.push(t.await.unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_counted_by_status_and_code() {
        assert_eq!(answer_key(429, &json!({"error": {"code": "too_many_attempts"}})), "429 too_many_attempts");
        assert_eq!(answer_key(200, &json!({"status": "open"})), "200");
        let busy =
            Checkout { refusals: vec!["503 upstream_busy".into(), "429 rate_limited".into()], ..Checkout::default() };
        assert_eq!(busy.upstream_busy(), 1);
        assert!(!busy.seen());
    }
}
