//! The abuser: one client flooding `POST /v1/checkout/{id}/pay` and
//! `GET /v1/checkout/{id}/status` with one session's secret, from one loopback address and a few
//! connections, with no pause and no regard for `Retry-After`. Its answers are counted by
//! endpoint and [`answer_key`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use e2e::shopper::answer_key;
use serde_json::{json, Value};

use super::PAY_TYPE;

/// Answers counted: by endpoint, then by [`answer_key`].
pub type Answers = Arc<Mutex<BTreeMap<&'static str, BTreeMap<String, u64>>>>;

/// Counts one answer of `endpoint`.
fn count(answers: &Answers, endpoint: &'static str, key: String) {
    let mut all = answers.lock().expect("not poisoned");
    *all.entry(endpoint).or_default().entry(key).or_insert(0) += 1;
}

/// What a request came to, as counted.
async fn answer_of(sent: reqwest::Result<reqwest::Response>) -> String {
    match sent {
        Err(_) => "no answer".into(),
        Ok(resp) => {
            let status = resp.status().as_u16();
            answer_key(status, &resp.json().await.unwrap_or(Value::Null))
        }
    }
}

/// One of the flood's loops: pay, status, pay, status, ... with no pause and no regard for
/// `Retry-After`, until `until`.
pub async fn flood_loop(
    http: reqwest::Client,
    w: String,
    id: String,
    secret: String,
    until: Instant,
    answers: Answers,
) {
    let pay = format!("{w}/v1/checkout/{id}/pay");
    let status = format!("{w}/v1/checkout/{id}/status");
    while Instant::now() < until {
        let sent = http.post(&pay).bearer_auth(&secret).json(&json!({"pay_type": PAY_TYPE})).send().await;
        count(&answers, "pay", answer_of(sent).await);
        let sent = http.get(&status).bearer_auth(&secret).send().await;
        count(&answers, "status", answer_of(sent).await);
    }
}
