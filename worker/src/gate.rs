//! The upstream gate: one Durable Object per merchant that every isolate asks before calling
//! the gateway (`https://gate/acquire?class=pay|close|refund|query`). It is a scheduler with
//! priorities: `checkout_api::budget` keeps a reserved share of each minute per class under
//! QFPay's limits, so the worker itself never causes a 429 and no class of call (nor one client
//! flooding one class) can starve another, and a payment made for a shopper's client
//! (`&client=`, a fingerprint of its network) counts against that client's share of the
//! payments (`budget::CLIENT_PAY_SHARE`, and no more than the average client while payments are
//! busy). It answers at once: granted, or how long to wait.
//!
//! The arithmetic is pure and natively tested in `checkout_api::budget` (over
//! `qfpay::ratelimit`'s windows); this object feeds it the time and keeps the grants in
//! storage, so a restart or an eviction does not forget the last minute's calls.

use std::cell::{Cell, RefCell};

use checkout_api::budget::{Budget, CallClass};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// Where the grants are stored: (class, time) pairs.
const STORAGE_KEY: &str = "grants";

// The macro generates public glue without docs.
#[allow(missing_docs)]
mod glue {
    use super::*;

    /// The gate's state: the last minute's grants by class, kept in storage too.
    #[durable_object(fetch)]
    pub struct UpstreamGate {
        pub(super) state: State,
        pub(super) budget: RefCell<Budget>,
        pub(super) loaded: Cell<bool>,
    }
}
pub use glue::UpstreamGate;

impl DurableObject for UpstreamGate {
    fn new(state: State, _env: Env) -> Self {
        UpstreamGate { state, budget: RefCell::new(Budget::default()), loaded: Cell::new(false) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        if !self.loaded.get() {
            // Storage calls close the object's input gate, so no other request interleaves here.
            if let Ok(Some(saved)) = self.state.storage().get::<Vec<(String, u64)>>(STORAGE_KEY).await {
                let grants = saved.into_iter().filter_map(|(c, t)| CallClass::parse(&c).map(|c| (c, t)));
                *self.budget.borrow_mut() = Budget::from_saved(grants);
            }
            self.loaded.set(true);
        }
        let url = req.url()?;
        let class = url.query_pairs().find(|(k, _)| k == "class").and_then(|(_, v)| CallClass::parse(&v));
        let class = class.unwrap_or(CallClass::Query);
        let client = url.query_pairs().find(|(k, _)| k == "client").map(|(_, v)| v.into_owned());
        let now = crate::clock::now_ms();
        let wait = self.budget.borrow_mut().acquire_for(class, client.as_deref(), now);
        if wait == 0 {
            let snapshot: Vec<(String, u64)> =
                self.budget.borrow().saved().into_iter().map(|(c, t)| (c.as_str().to_owned(), t)).collect();
            self.state.storage().put(STORAGE_KEY, snapshot).await?;
        }
        Response::from_json(&serde_json::json!({ "granted": wait == 0, "retry_after_ms": wait }))
    }
}
