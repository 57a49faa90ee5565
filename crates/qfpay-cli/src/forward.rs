//! `qfpay events forward --to http://localhost:3000/webhooks`: follows a deployment's event
//! feed and delivers each event to a receiver on this machine, signed as the worker signs
//! (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`) with a local
//! `whsec_` secret, so a receiver under development sees what production will send it. The
//! events' bytes are the worker's, unchanged. Progress goes to stderr, one line a delivery;
//! Ctrl-C stops it. A delivery is tried three times; one that still fails is reported, and
//! `--after` with the id printed before it starts again there.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use checkout_api::events::WebhookSecret;
use clap::Args;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::api::Client;
use crate::events::{follow, FeedArgs};
use crate::Failure;

/// How many times one event is tried before it is reported and skipped.
const TRIES: u32 = 3;

#[derive(Args, Debug)]
pub struct ForwardArgs {
    /// The local receiver's URL (http://localhost:3000/webhooks).
    #[arg(long)]
    pub to: String,
    /// The whsec_ secret to sign with (default: $WEBHOOK_SECRET): the one your receiver checks.
    #[arg(long)]
    pub secret: Option<String>,
    /// Where to start, and how often to look.
    #[command(flatten)]
    pub feed: FeedArgs,
}

/// The headers of one delivery of `id` at `timestamp`, as the worker sends them.
pub fn headers(secret: &WebhookSecret, id: &str, timestamp: u64, body: &str) -> [(&'static str, String); 4] {
    [
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", secret.signature(id, timestamp, body)),
        ("content-type", "application/json".to_owned()),
    ]
}

pub fn run(client: &Client, args: &ForwardArgs) -> Result<(), Failure> {
    let given = args.secret.clone().or_else(|| std::env::var("WEBHOOK_SECRET").ok().filter(|s| !s.is_empty()));
    let given = given.ok_or_else(|| Failure::Usage("give --secret whsec_... or set WEBHOOK_SECRET".into()))?;
    let secret = WebhookSecret::parse(&given).map_err(|why| Failure::Usage(format!("the webhook secret {why}")))?;
    let to = args.to.trim();
    if !(to.starts_with("http://") || to.starts_with("https://")) {
        return Err(Failure::Usage(format!("--to {to:?} must be an http:// or https:// URL")));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    eprintln!("qfpay: forwarding events to {to}; Ctrl-C stops");
    let mut last_delivered: Option<String> = None;
    follow(client, &args.feed, |raw| {
        let event: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        let kind = event["type"].as_str().unwrap_or_default();
        match deliver(&agent, to, &secret, &id, raw) {
            Ok((status, ms)) => {
                eprintln!("{id}  {kind}  -> {status} ({ms} ms)");
                last_delivered = Some(id);
            }
            Err(why) => {
                let again = last_delivered.as_deref().map_or("--from-start".to_owned(), |l| format!("--after {l}"));
                eprintln!("{id}  {kind}  not delivered after {TRIES} tries: {why}; to send it again: {again}");
            }
        }
    })
}

/// Sends `raw` up to [`TRIES`] times, a second apart, until a 2xx: its status and latency.
fn deliver(
    agent: &ureq::Agent,
    to: &str,
    secret: &WebhookSecret,
    id: &str,
    raw: &RawValue,
) -> Result<(u16, u128), String> {
    let mut why = String::new();
    for attempt in 0..TRIES {
        if attempt > 0 {
            std::thread::sleep(Duration::from_secs(1));
        }
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut request = agent.post(to);
        for (name, value) in headers(secret, id, timestamp, raw.get()) {
            request = request.header(name, &value);
        }
        let started = Instant::now();
        match request.send(raw.get()) {
            Ok(answer) if answer.status().is_success() => {
                return Ok((answer.status().as_u16(), started.elapsed().as_millis()))
            }
            Ok(answer) => why = format!("HTTP {}", answer.status().as_u16()),
            Err(e) => why = e.to_string(),
        }
    }
    Err(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_are_signed_as_the_worker_signs() {
        // The Standard Webhooks specification's example, as `checkout_api::events` tests it.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sent = headers(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(sent[0], ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".to_owned()));
        assert_eq!(sent[1], ("webhook-timestamp", "1614265330".to_owned()));
        assert_eq!(sent[2], ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_owned()));
    }
}
