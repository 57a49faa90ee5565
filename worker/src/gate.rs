//! The upstream gate: one Durable Object per merchant that every isolate asks before calling
//! the gateway. It keeps sliding windows of granted calls, a little under QFPay's limits of 100
//! a second and 400 a minute, so the worker itself never causes a 429.
//!
//! The window arithmetic is `qfpay::ratelimit` (pure, tested natively, shared with the
//! simulator's limiter); this object only feeds it the time and keeps the grants in storage.

use std::cell::{Cell, RefCell};

use qfpay::ratelimit::{Limits, SlidingWindows};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// Calls granted per second and per minute: 90 and 380 (QFPay allows 100 and 400; the margin
/// keeps the worker clear of a 429).
const LIMITS: Limits = Limits::new(90, 380);
/// Where the granted times are stored.
const STORAGE_KEY: &str = "granted";

// The macro generates public glue without docs.
#[allow(missing_docs)]
mod glue {
    use super::*;

    /// The gate's state: the times of calls granted in the last minute, kept in the object's
    /// storage too, so a restart or an eviction does not forget the last minute's calls.
    #[durable_object(fetch)]
    pub struct UpstreamGate {
        pub(super) state: State,
        pub(super) granted: RefCell<SlidingWindows>,
        pub(super) loaded: Cell<bool>,
    }
}
pub use glue::UpstreamGate;

impl DurableObject for UpstreamGate {
    fn new(state: State, _env: Env) -> Self {
        UpstreamGate { state, granted: RefCell::new(SlidingWindows::default()), loaded: Cell::new(false) }
    }

    async fn fetch(&self, _req: Request) -> Result<Response> {
        if !self.loaded.get() {
            // Storage calls close the object's input gate, so no other request interleaves here.
            if let Ok(Some(saved)) = self.state.storage().get::<Vec<u64>>(STORAGE_KEY).await {
                *self.granted.borrow_mut() = SlidingWindows::from_granted(saved);
            }
            self.loaded.set(true);
        }
        let now = worker::Date::now().as_millis();
        let wait = self.granted.borrow_mut().acquire(LIMITS, now);
        if wait == 0 {
            let snapshot: Vec<u64> = self.granted.borrow().granted().collect();
            self.state.storage().put(STORAGE_KEY, snapshot).await?;
        }
        Response::from_json(&serde_json::json!({ "granted": wait == 0, "retry_after_ms": wait }))
    }
}
