//! A faithful local QFPay gateway (see `shared/spec/QFPAY.md`), for development, demos and
//! every test: the same paths, parameters, signatures and answers, a wallet page that plays
//! the shopper's phone, signed notifications on the gateway's retry schedule, rate limits, and
//! faults on demand; and a switch for each behaviour QFPay's documentation leaves open.
//!
//! [`app`] builds the router so tests can drive it in-process; [`serve`] runs it on a socket.

// Handlers return `Result<_, Response>`: the early answer is the error, and boxing it would
// only add noise on paths that run once per request.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;

pub mod config;
pub mod faults;
pub mod ledger;
pub mod switches;

mod answer_sign;
mod calendar;
mod clock;
mod control;
mod end_order;
mod gateway;
mod json_dumps;
mod logger;
mod notify;
mod rate_limit;
mod routes;
mod signing;
mod stats;
mod wallet;

pub use config::{parse_merchants, Merchant, SimConfig};
pub use faults::Faults;
pub use json_dumps::python_json_dumps;
pub use notify::RETRY_SCHEDULE_SECONDS;
pub use switches::{AnswerSignature, EndOrder, Switches};

use clock::Clock;
use ledger::Ledger;
use logger::Logger;
use notify::Notifier;
use rate_limit::RateLimiter;
use stats::Stats;

/// The simulator's shared state.
pub struct Sim {
    config: SimConfig,
    clock: Clock,
    ledger: Mutex<Ledger>,
    faults: Mutex<Faults>,
    switches: Mutex<Switches>,
    stats: Mutex<Stats>,
    limiter: Mutex<RateLimiter>,
    rng: Mutex<fastrand::Rng>,
    notifier: Notifier,
    /// Fingerprints of gateway requests seen, for the `answer-drop-first` fault.
    seen_requests: Mutex<std::collections::HashSet<u64>>,
    /// The request log's writer.
    log: Logger,
}

/// Locks a mutex, carrying on after a panic elsewhere (the data stays usable for a simulator).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sim {
    fn new(config: SimConfig) -> Arc<Self> {
        Arc::new(Sim {
            clock: Clock::new(config.start_unix, config.time_scale),
            faults: Mutex::new(config.faults.clone()),
            switches: Mutex::new(config.switches.clone()),
            rng: Mutex::new(fastrand::Rng::with_seed(config.seed)),
            ledger: Mutex::new(Ledger::default()),
            stats: Mutex::new(Stats::default()),
            limiter: Mutex::new(RateLimiter::default()),
            notifier: Notifier::default(),
            seen_requests: Mutex::default(),
            log: if config.log_requests { Logger::stdout() } else { Logger::off() },
            config,
        })
    }

    /// The switches in force now.
    fn switches(&self) -> Switches {
        lock(&self.switches).clone()
    }

    /// A roll of the fault dice: true with probability `share`.
    fn chance(&self, share: f64) -> bool {
        share > 0.0 && lock(&self.rng).f64() < share
    }

    /// A wallet token: 128 bits from the operating system's CSPRNG, in lower-case hex. Whoever
    /// has it can pay or decline the order, so it must not be guessable from other tokens, as
    /// the seeded fault dice would be.
    fn token(&self) -> String {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes).expect("the operating system's random source is available");
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Lets the notifier look at its queue now (after the clock moved).
    fn notifier_wake(&self) {
        self.notifier.wake_now();
    }

    /// Moves processing orders whose time is up to paid, and queues their notifications.
    fn tick(&self) {
        let now = self.clock.now();
        let done = lock(&self.ledger).tick(now);
        for id in done {
            self.notifier.schedule(self, id, now);
        }
    }
}

/// The router, with its background notifier started. Needs a Tokio runtime.
pub fn app(config: SimConfig) -> Router {
    app_with_state(config).0
}

/// The router and a handle on the state (for tests that look inside).
pub fn app_with_state(config: SimConfig) -> (Router, Arc<Sim>) {
    let sim = Sim::new(config);
    notify::start(sim.clone());
    (routes::router(sim.clone()), sim)
}

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: SimConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer's address lets the control API answer loopback callers only.
    let service = app(config).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
