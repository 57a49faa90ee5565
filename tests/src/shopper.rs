//! A shopper's widget, as the load and fault runs drive it without a browser: the pay request
//! tried again after `Retry-After` when refused for now, as the widget does, and the answers
//! counted by status and error code.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

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
