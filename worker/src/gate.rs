//! The upstream gate: one Durable Object per merchant that every isolate asks before calling
//! the gateway. It keeps sliding windows of granted calls, a little under QFPay's limits of 100
//! a second and 400 a minute, so the worker itself never causes a 429.

use std::cell::RefCell;
use std::collections::VecDeque;

use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// Calls granted per second (QFPay allows 100).
pub const PER_SECOND: usize = 90;
/// Calls granted per minute (QFPay allows 400).
pub const PER_MINUTE: usize = 380;

// The macro generates public glue without docs.
#[allow(missing_docs)]
mod glue {
    use super::*;

    /// The gate's state: the times of calls granted in the last minute.
    #[durable_object(fetch)]
    pub struct UpstreamGate {
        pub(super) granted: RefCell<VecDeque<u64>>,
    }
}
pub use glue::UpstreamGate;

impl DurableObject for UpstreamGate {
    fn new(_state: State, _env: Env) -> Self {
        UpstreamGate { granted: RefCell::new(VecDeque::new()) }
    }

    async fn fetch(&self, _req: Request) -> Result<Response> {
        let now = worker::Date::now().as_millis();
        let wait = self.acquire(now);
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
