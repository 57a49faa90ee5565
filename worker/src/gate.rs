//! The upstream gate: one Durable Object per merchant that every isolate asks before calling
//! the gateway. It keeps sliding windows of granted calls, a little under QFPay's limits of 100
//! a second and 400 a minute, so the worker itself never causes a 429.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// Calls granted per second (QFPay allows 100).
pub const PER_SECOND: usize = 90;
/// Calls granted per minute (QFPay allows 400).
pub const PER_MINUTE: usize = 380;
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
        pub(super) granted: RefCell<VecDeque<u64>>,
        pub(super) loaded: Cell<bool>,
    }
}
pub use glue::UpstreamGate;

impl DurableObject for UpstreamGate {
    fn new(state: State, _env: Env) -> Self {
        UpstreamGate { state, granted: RefCell::new(VecDeque::new()), loaded: Cell::new(false) }
    }

    async fn fetch(&self, _req: Request) -> Result<Response> {
        if !self.loaded.get() {
            // Storage calls close the object's input gate, so no other request interleaves here.
            if let Ok(Some(saved)) = self.state.storage().get::<Vec<u64>>(STORAGE_KEY).await {
                *self.granted.borrow_mut() = saved.into();
            }
            self.loaded.set(true);
        }
        let now = worker::Date::now().as_millis();
        let wait = self.acquire(now);
        if wait == 0 {
            let snapshot: Vec<u64> = self.granted.borrow().iter().copied().collect();
            self.state.storage().put(STORAGE_KEY, snapshot).await?;
        }
        Response::from_json(&serde_json::json!({ "granted": wait == 0, "retry_after_ms": wait }))
    }
}

impl UpstreamGate {
    /// Grants a call now (0) or says how many ms until one is possible.
    fn acquire(&self, now: u64) -> u64 {
        let mut granted = self.granted.borrow_mut();
        while granted.front().is_some_and(|t| now.saturating_sub(*t) >= 60_000) {
            granted.pop_front();
        }
        if granted.len() >= PER_MINUTE {
            return granted.front().map_or(1, |t| (t + 60_000).saturating_sub(now).max(1));
        }
        let in_last_second: Vec<&u64> = granted.iter().rev().take_while(|t| now.saturating_sub(**t) < 1000).collect();
        if in_last_second.len() >= PER_SECOND {
            return in_last_second.last().map_or(1, |t| (**t + 1000).saturating_sub(now).max(1));
        }
        granted.push_back(now);
        0
    }
}
