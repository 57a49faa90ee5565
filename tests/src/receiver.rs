//! A merchant's webhook receiver for the tests and the chaos run: an HTTP server on a loopback
//! port chosen at run time that verifies every delivery with the Standard Webhooks reference
//! library (`standardwebhooks`), as a merchant would, and keeps what arrived. It can be told to
//! fail every other delivery, or to be down, to prove that retries deliver every event.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;

/// The secret the tests configure the worker with (`WEBHOOK_SECRET`).
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 200 to every verified delivery.
    Up,
    /// 500 to every other delivery (the 1st, 3rd, ...), whatever the event.
    FailEveryOther,
    /// 500 to the first delivery of each event, 2xx to the next: half the deliveries fail.
    FailFirstTry,
    /// 503 to everything: the merchant's server is down.
    Down,
    /// Every delivery answered 2xx after 500 ms, as a busy merchant's server would.
    Slow,
    /// `307` to another address (`/moved`) for every delivery: a redirect must not be followed.
    Redirect,
}

/// One verified delivery that was answered 2xx.
#[derive(Debug, Clone)]
pub struct Received {
    /// The event id (`webhook-id`, and the body's `id`).
    pub id: String,
    /// The event type.
    pub kind: String,
    /// The session's id.
    pub session: String,
    /// The whole body.
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
}

#[derive(Default)]
struct Shared {
    mode: AtomicU8,
    requests: AtomicUsize,
    bad_signatures: AtomicUsize,
    accepted: Mutex<Vec<Received>>,
    refused_once: Mutex<std::collections::BTreeSet<String>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    moved: AtomicUsize,
}

/// The running receiver; it stops when dropped.
pub struct Receiver {
    /// Where the worker delivers (`WEBHOOK_URL`).
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Receiver {
    /// Starts a receiver on a free loopback port.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}/hooks", listener.local_addr().expect("an address"));
        let shared = Arc::new(Shared::default());
        let app = Router::new().route("/hooks", post(deliver)).route("/moved", post(moved)).with_state(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Receiver { url, shared, stop: Some(stop) }
    }

    /// Changes how it answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Every accepted delivery, repeats included, in arrival order.
    pub fn accepted(&self) -> Vec<Received> {
        self.shared.accepted.lock().expect("not poisoned").clone()
    }

    /// Accepted deliveries de-duplicated by event id, as a merchant would keep them.
    pub fn unique(&self) -> BTreeMap<String, Received> {
        let mut out = BTreeMap::new();
        for r in self.accepted() {
            out.entry(r.id.clone()).or_insert(r);
        }
        out
    }

    /// Every request that reached it, answered or refused.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The most deliveries that were in flight at once.
    pub fn most_in_flight(&self) -> usize {
        self.shared.most_in_flight.load(Ordering::SeqCst)
    }

    /// Requests that reached `/moved`, where `Redirect` points (must stay 0).
    pub fn moved(&self) -> usize {
        self.shared.moved.load(Ordering::SeqCst)
    }

    /// Deliveries whose signature did not verify (must stay 0).
    pub fn bad_signatures(&self) -> usize {
        self.shared.bad_signatures.load(Ordering::SeqCst)
    }

    /// Waits until an accepted event satisfies `pred`, or `timeout` passes.
    pub async fn wait_for(&self, timeout: Duration, pred: impl Fn(&Received) -> bool) -> Option<Received> {
        let started = Instant::now();
        loop {
            if let Some(found) = self.accepted().into_iter().find(|r| pred(r)) {
                return Some(found);
            }
            if started.elapsed() > timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn moved(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.moved.fetch_add(1, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

async fn deliver(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let answer = match shared.mode.load(Ordering::SeqCst) {
        m if m == Mode::Redirect as u8 => (StatusCode::TEMPORARY_REDIRECT, [("location", "/moved")]).into_response(),
        m => {
            if m == Mode::Slow as u8 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            verify_and_keep(&shared, &headers, &body).into_response()
        }
    };
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    answer
}

fn verify_and_keep(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> StatusCode {
    let n = shared.requests.fetch_add(1, Ordering::SeqCst);
    let webhook = standardwebhooks::Webhook::new(WEBHOOK_SECRET).expect("a valid secret");
    if webhook.verify(body, headers).is_err() {
        shared.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return StatusCode::BAD_REQUEST;
    }
    match shared.mode.load(Ordering::SeqCst) {
        m if m == Mode::Down as u8 => return StatusCode::SERVICE_UNAVAILABLE,
        m if m == Mode::FailEveryOther as u8 && n % 2 == 0 => return StatusCode::INTERNAL_SERVER_ERROR,
        m if m == Mode::FailFirstTry as u8 => {
            let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            if shared.refused_once.lock().expect("not poisoned").insert(id) {
                return StatusCode::INTERNAL_SERVER_ERROR;
            }
        }
        _ => {}
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return StatusCode::BAD_REQUEST };
    let header_id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if value["id"].as_str() != Some(header_id) {
        return StatusCode::BAD_REQUEST;
    }
    let received = Received {
        id: header_id.to_owned(),
        kind: value["type"].as_str().unwrap_or_default().to_owned(),
        session: value["data"]["session"]["id"].as_str().unwrap_or_default().to_owned(),
        body: value,
        at: Instant::now(),
    };
    shared.accepted.lock().expect("not poisoned").push(received);
    StatusCode::NO_CONTENT
}
