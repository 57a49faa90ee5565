//! What the abuser cost the gateway, read from the simulator: its session's orders in the
//! ledger (`/sim/orders`, by its attempts' `out_trade_no`), and the calls of the abuse phase
//! (`/sim/stats`) beyond what the honest shoppers' own orders explain.

use std::collections::BTreeSet;

use checkout_api::budget::MAX_ATTEMPTS_PER_SESSION;
use e2e::figures::tally;
use e2e::Stack;
use serde_json::{json, Value};

/// The simulator's counters and ledger at one moment.
pub struct GatewayAt {
    /// `GET /sim/stats`.
    pub stats: Value,
    /// `GET /sim/orders`'s orders.
    pub orders: Vec<Value>,
}

impl GatewayAt {
    /// Reads both from the stack's simulator.
    pub async fn read(stack: &Stack) -> GatewayAt {
        let (_, stats) = stack.sim("GET", "/sim/stats", None).await;
        let (_, ledger) = stack.sim("GET", "/sim/orders", None).await;
        GatewayAt { stats, orders: ledger["orders"].as_array().cloned().unwrap_or_default() }
    }

    /// Payment orders in the ledger.
    fn payment_orders(&self) -> usize {
        self.orders.iter().filter(|o| o["kind"] == "payment").count()
    }

    /// Calls made on gateway `path` since `before`.
    pub fn calls_since(&self, before: &GatewayAt, path: &str) -> u64 {
        let n = |g: &GatewayAt| g.stats["calls_by_path"][path].as_u64().unwrap_or(0);
        n(self).saturating_sub(n(before))
    }
}

/// What the abuser's session cost the gateway between `before` and `after`. Its orders are the
/// ledger's payment orders with its attempts' `out_trade_no`. Its calls are the phase's payment
/// calls beyond the orders the honest shoppers created, plus every close and reversal of the
/// phase (honest shoppers pay their one QR code and close nothing): a retried honest call would
/// count against the abuser, so the figure can only be too high.
pub async fn flood(stack: &Stack, id: &str, before: &GatewayAt, after: &GatewayAt) -> Value {
    let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    let attempts = view["attempts"].as_array().cloned().unwrap_or_default();
    let otns: BTreeSet<&str> = attempts.iter().filter_map(|a| a["out_trade_no"].as_str()).collect();
    let orders: Vec<&Value> = after
        .orders
        .iter()
        .filter(|o| o["kind"] == "payment" && otns.contains(o["out_trade_no"].as_str().unwrap_or_default()))
        .collect();
    let honest_orders = (after.payment_orders() - before.payment_orders()).saturating_sub(orders.len()) as u64;
    let payment_calls = after.calls_since(before, "/trade/v1/payment").saturating_sub(honest_orders);
    let close_calls = after.calls_since(before, "/trade/v1/close") + after.calls_since(before, "/trade/v1/reversal");
    json!({
        "abuser_attempts": attempts.len(),
        "abuser_attempts_by_status": tally(attempts.iter().map(|a| a["status"].as_str().unwrap_or("?"))),
        "abuser_orders": orders.len(),
        "abuser_orders_by_state": tally(orders.iter().map(|o| o["state"].as_str().unwrap_or("?"))),
        "abuser_payment_calls": payment_calls,
        "abuser_close_calls": close_calls,
        "abuser_gateway_calls": payment_calls + close_calls,
        "abuser_gateway_calls_cap": 2 * MAX_ATTEMPTS_PER_SESSION,
        "abuser_phase_calls_by_path": {
            "payment": after.calls_since(before, "/trade/v1/payment"),
            "close": after.calls_since(before, "/trade/v1/close"),
            "query": after.calls_since(before, "/trade/v1/query"),
            "honest_orders": honest_orders,
        },
    })
}
