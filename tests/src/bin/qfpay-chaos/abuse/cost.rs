//! What the abusers cost the gateway, read from the simulator: each abuser's orders in the
//! ledger (`/sim/orders`, by its sessions' attempts' `out_trade_no`), and the calls of the abuse
//! phase (`/sim/stats`). The phase's calls are shared out by what the ledger explains: a payment
//! call per order, a close or reversal per order ended before payment. Honest shoppers pay their
//! one QR code and close nothing. A call the ledger does not explain (an identical retry, a
//! second close of one order) is counted against each abuser, so each figure can only be too
//! high.

use std::collections::BTreeSet;

use checkout_api::budget::{CLIENT_PAY_SHARE, MAX_ATTEMPTS_PER_SESSION};
use e2e::figures::tally;
use e2e::Stack;
use serde_json::{json, Value};

/// The gateway's payment path.
const PAYMENT: &str = "/trade/v1/payment";

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
    fn payment_orders(&self) -> u64 {
        self.orders.iter().filter(|o| o["kind"] == "payment").count() as u64
    }

    /// Calls made on gateway `path` since `before`.
    pub fn calls_since(&self, before: &GatewayAt, path: &str) -> u64 {
        let n = |g: &GatewayAt| g.stats["calls_by_path"][path].as_u64().unwrap_or(0);
        n(self).saturating_sub(n(before))
    }

    /// Close and reversal calls made since `before`.
    fn end_calls_since(&self, before: &GatewayAt) -> u64 {
        self.calls_since(before, "/trade/v1/close") + self.calls_since(before, "/trade/v1/reversal")
    }
}

/// One abuser's attempts (as the merchant API shows them) and its payment orders in the ledger.
#[derive(Debug, Default)]
pub struct Whose {
    /// Every attempt of its sessions.
    pub attempts: Vec<Value>,
    /// The ledger's payment orders with those attempts' `out_trade_no`.
    pub orders: Vec<Value>,
}

impl Whose {
    /// Reads the attempts of `sessions` and finds their orders in `at`'s ledger.
    pub async fn read(stack: &Stack, sessions: &[String], at: &GatewayAt) -> Whose {
        let mut attempts = Vec::new();
        for id in sessions {
            let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
            attempts.extend(view["attempts"].as_array().cloned().unwrap_or_default());
        }
        Whose::of(attempts, at)
    }

    /// `attempts` and their orders in `at`'s ledger.
    fn of(attempts: Vec<Value>, at: &GatewayAt) -> Whose {
        let otns: BTreeSet<&str> = attempts.iter().filter_map(|a| a["out_trade_no"].as_str()).collect();
        let orders = at
            .orders
            .iter()
            .filter(|o| o["kind"] == "payment" && otns.contains(o["out_trade_no"].as_str().unwrap_or_default()))
            .cloned()
            .collect();
        Whose { attempts, orders }
    }

    /// Its orders ended before payment (closed or reversed): a close or reversal call each.
    fn ended(&self) -> u64 {
        self.orders.iter().filter(|o| o["state"] == "closed" || o["state"] == "reversed").count() as u64
    }

    /// Its payment orders.
    fn order_count(&self) -> u64 {
        self.orders.len() as u64
    }

    /// Its attempts by status and its orders by state.
    fn by_status(&self) -> (Value, Value) {
        let attempts = tally(self.attempts.iter().map(|a| a["status"].as_str().unwrap_or("?")));
        let orders = tally(self.orders.iter().map(|o| o["state"].as_str().unwrap_or("?")));
        (json!(attempts), json!(orders))
    }
}

/// Payment calls the phase made beyond its new orders (none when every call made one).
fn unexplained_payments(before: &GatewayAt, after: &GatewayAt) -> u64 {
    let new_orders = after.payment_orders().saturating_sub(before.payment_orders());
    after.calls_since(before, PAYMENT).saturating_sub(new_orders)
}

/// What the flood's one session cost between `before` and `after`: its orders, and its calls:
/// a payment each plus the phase's unexplained payment calls, and every close and reversal of
/// the phase but those that ended the many-sessions abuser's orders (`many`).
pub fn flood(flood: &Whose, many: &Whose, before: &GatewayAt, after: &GatewayAt) -> Value {
    let new_orders = after.payment_orders().saturating_sub(before.payment_orders());
    let honest_orders = new_orders.saturating_sub(flood.order_count() + many.order_count());
    let payment_calls = flood.order_count() + unexplained_payments(before, after);
    let close_calls = after.end_calls_since(before).saturating_sub(many.ended());
    let (attempts, orders) = flood.by_status();
    json!({
        "abuser_attempts": flood.attempts.len(),
        "abuser_attempts_by_status": attempts,
        "abuser_orders": flood.orders.len(),
        "abuser_orders_by_state": orders,
        "abuser_payment_calls": payment_calls,
        "abuser_close_calls": close_calls,
        "abuser_gateway_calls": payment_calls + close_calls,
        "abuser_gateway_calls_cap": 2 * MAX_ATTEMPTS_PER_SESSION,
        "abuser_phase_calls_by_path": {
            "payment": after.calls_since(before, PAYMENT),
            "close": after.calls_since(before, "/trade/v1/close"),
            "reversal": after.calls_since(before, "/trade/v1/reversal"),
            "query": after.calls_since(before, "/trade/v1/query"),
            "honest_orders": honest_orders,
        },
    })
}

/// What the many-sessions abuser (`many`) cost between `before` and `after`, over `minutes` of
/// abuse: a payment call per order plus the phase's unexplained payment calls, and every close
/// and reversal of the phase but those that ended the flood's orders; per minute, and the most
/// payment calls in any 60 s (by the orders' creation times), each beside its bar
/// ([`CLIENT_PAY_SHARE`]).
pub fn many_sessions(many: &Whose, flood: &Whose, before: &GatewayAt, after: &GatewayAt, minutes: f64) -> Value {
    let unexplained = unexplained_payments(before, after);
    let payment_calls = many.order_count() + unexplained;
    let end_calls = after.end_calls_since(before).saturating_sub(flood.ended());
    let created: Vec<i64> = many.orders.iter().filter_map(|o| o["created_at"].as_i64()).collect();
    let minutes = minutes.max(1.0 / 60.0);
    let (attempts, orders) = many.by_status();
    json!({
        "abuser_sessions_attempts": many.attempts.len(),
        "abuser_sessions_attempts_by_status": attempts,
        "abuser_sessions_orders": many.orders.len(),
        "abuser_sessions_orders_by_state": orders,
        "abuser_sessions_payment_calls": payment_calls,
        "abuser_sessions_end_calls": end_calls,
        "abuser_payment_calls_per_minute": payment_calls as f64 / minutes,
        "abuser_payment_calls_peak_minute": most_in_a_minute(created) + unexplained,
        "abuser_payment_calls_per_minute_max": CLIENT_PAY_SHARE,
        "abuser_gateway_calls_per_minute": (payment_calls + end_calls) as f64 / minutes,
    })
}

/// The most of `times` (seconds) within any 60 s.
fn most_in_a_minute(mut times: Vec<i64>) -> u64 {
    times.sort_unstable();
    let (mut first, mut most) = (0, 0);
    for last in 0..times.len() {
        while times[last] - times[first] >= 60 {
            first += 1;
        }
        most = most.max(last + 1 - first);
    }
    most as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(otn: &str, state: &str, created_at: i64) -> Value {
        json!({"kind": "payment", "out_trade_no": otn, "state": state, "created_at": created_at})
    }

    fn at(payment: u64, close: u64, orders: Vec<Value>) -> GatewayAt {
        let stats = json!({"calls_by_path": {"/trade/v1/payment": payment, "/trade/v1/close": close}});
        GatewayAt { stats, orders }
    }

    #[test]
    fn the_busiest_minute() {
        assert_eq!(most_in_a_minute(vec![130, 0, 60, 10, 59, 61]), 4, "10, 59, 60 and 61");
        assert_eq!(most_in_a_minute(vec![]), 0);
        assert_eq!(most_in_a_minute(vec![5]), 1);
    }

    #[test]
    fn each_abuser_pays_for_its_own_orders_and_every_unexplained_call() {
        let before = at(20, 0, vec![order("H0", "paid", 0)]);
        let orders = vec![
            order("H0", "paid", 0),
            order("H1", "paid", 100),
            order("F1", "closed", 101),
            order("F2", "created", 102),
            order("M1", "closed", 103),
            order("M2", "reversed", 110),
            order("M3", "created", 170),
        ];
        // 6 new orders and one payment call more (a retry); 3 closes and reversals, one of them
        // a second try.
        let after = at(27, 4, orders);
        let attempts = |otns: &[&str]| otns.iter().map(|o| json!({"out_trade_no": o, "status": "closed"})).collect();
        let flood_of = Whose::of(attempts(&["F1", "F2"]), &after);
        let many_of = Whose::of(attempts(&["M1", "M2", "M3"]), &after);
        let f = flood(&flood_of, &many_of, &before, &after);
        assert_eq!((f["abuser_payment_calls"].as_u64(), f["abuser_close_calls"].as_u64()), (Some(3), Some(2)));
        assert_eq!(f["abuser_phase_calls_by_path"]["honest_orders"], 1);
        let m = many_sessions(&many_of, &flood_of, &before, &after, 2.0);
        assert_eq!(m["abuser_sessions_payment_calls"], 4);
        assert_eq!(m["abuser_sessions_end_calls"], 3);
        assert_eq!(m["abuser_payment_calls_per_minute"], 2.0);
        assert_eq!(m["abuser_gateway_calls_per_minute"], 3.5);
        assert_eq!(m["abuser_payment_calls_peak_minute"], 3, "M1 and M2 in one minute, and the retry");
    }
}
