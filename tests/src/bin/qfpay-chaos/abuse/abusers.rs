//! The abusers, neither of which waits as `Retry-After` asks, their answers counted by endpoint
//! and [`answer_key`]:
//! - the flood: one client sending `POST /v1/checkout/{id}/pay` and
//!   `GET /v1/checkout/{id}/status` with one session's secret, from one loopback address and a
//!   few connections, with no pause;
//! - the many-sessions abuser: a script behind a shop's public Buy button. The merchant's server
//!   creates a session each time it is pressed, as for anyone; the script presses it about 36
//!   times a minute and starts a payment on each session once a second (the most one session
//!   may), over a few connections, all from one client address named in `CF-Connecting-IP` (a
//!   documentation address: the worker does not count loopback clients, so a loopback one would
//!   prove nothing).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::address::{client_seen_as, documentation_ip, TEST_NET_2};
use e2e::shopper::{answer_key, create_session};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use super::PAY_TYPE;

/// Sessions the many-sessions abuser creates a minute (about what spends the merchant's whole
/// payment share at 10 attempts each, were nothing counted per client).
pub const SESSIONS_PER_MINUTE: u32 = 36;
/// Its requests in flight at once: a few connections.
pub const CONNECTIONS: usize = 3;
/// Its local address (the one `wrangler dev` sees).
const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(127, 66, 6, 7);

/// The address the many-sessions abuser's widget requests name in `CF-Connecting-IP`:
/// 198.51.100.66, a documentation address (RFC 5737), one client.
pub fn client_ip() -> Ipv4Addr {
    documentation_ip(TEST_NET_2, 65)
}

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

/// What the many-sessions abuser did.
#[derive(Debug, Default)]
pub struct ManySessions {
    /// The sessions it created, in order.
    pub sessions: Vec<String>,
    /// Why a session could not be created, for each that could not.
    pub not_created: Vec<String>,
    /// Its pay answers (endpoint `pay`).
    pub answers: Answers,
    /// From its start to its last answer.
    pub took: Duration,
}

/// Runs the many-sessions abuser on the worker `w` until `until`: a session created through the
/// merchant API every 60 / [`SESSIONS_PER_MINUTE`] s, each starting payments once a second.
pub async fn many_sessions(w: String, until: Instant) -> ManySessions {
    let started = Instant::now();
    let merchant = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("a client");
    let widget = client_seen_as(LOCAL_IP, IpAddr::V4(client_ip()));
    let gate = Arc::new(Semaphore::new(CONNECTIONS));
    let every = Duration::from_secs_f64(60.0 / f64::from(SESSIONS_PER_MINUTE));
    let mut out = ManySessions::default();
    let mut tasks = Vec::new();
    while Instant::now() < until {
        let next = tokio::time::Instant::now() + every;
        let n = out.sessions.len() + out.not_created.len();
        let reference = format!("buy-button-{n}");
        let body = json!({"amount": 999, "currency": "HKD", "goods_name": "Tea", "reference": reference});
        match create_session(&merchant, &w, body, &reference).await {
            Ok((id, secret)) => {
                out.sessions.push(id.clone());
                let (http, pay, gate, answers) = (widget.clone(), pay_url(&w, &id), gate.clone(), out.answers.clone());
                tasks.push(tokio::spawn(session_payments(http, pay, secret, until, gate, answers)));
            }
            Err(why) => out.not_created.push(why),
        }
        tokio::time::sleep_until(next).await;
    }
    for t in tasks {
        let _ = t.await;
    }
    out.took = started.elapsed();
    out
}

/// A session's pay endpoint.
fn pay_url(w: &str, id: &str) -> String {
    format!("{w}/v1/checkout/{id}/pay")
}

/// One of the many sessions: a payment started every second whatever the last answer said (its
/// `Retry-After` included), each waiting for one of the abuser's connections ([`CONNECTIONS`]),
/// until the session has started all it may (`429 too_many_attempts`) or `until`.
async fn session_payments(
    http: reqwest::Client,
    pay: String,
    secret: String,
    until: Instant,
    gate: Arc<Semaphore>,
    answers: Answers,
) {
    let mut every_second = tokio::time::interval(Duration::from_secs(1));
    every_second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every_second.tick().await;
        if Instant::now() >= until {
            return;
        }
        let answer = {
            let _connection = gate.acquire().await.expect("the gate stays open");
            answer_of(http.post(&pay).bearer_auth(&secret).json(&json!({"pay_type": PAY_TYPE})).send().await).await
        };
        let spent = answer == "429 too_many_attempts";
        count(&answers, "pay", answer);
        if spent {
            return;
        }
    }
}
