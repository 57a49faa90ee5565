//! The reports and what breaks them: the fault run's figures that must be 0, the abuser run's
//! bars, and writing either report under `target/chaos/`.

use checkout_api::budget::{CLIENT_PAY_SHARE, MAX_ATTEMPTS_PER_SESSION};
use e2e::root;
use serde_json::{json, Value};

/// The fault run's figures that must be 0; a missing or `null` one (a figure that could not be
/// read) fails the run too.
pub const MUST_BE_ZERO: [&str; 12] = [
    "sessions_stuck_closing",
    "obligations_past_cap",
    "gateway_429",
    "mismatches",
    "refunds_over_paid",
    "lost_acknowledged",
    "webhooks_lost",
    "webhook_bad_signatures",
    "events_duplicated",
    "refunds_stuck",
    "open_at_gateway_after_expiry",
    "abandoned_unsettled",
];

/// The honest shoppers' pay p95 beside the abuser may be at most this many times their p95
/// alone.
pub const MAX_P95_RATIO: f64 = 2.0;

/// The must-be-0 figures of a fault run's `report` that are not 0 (missing or `null` ones
/// included).
pub fn broken(report: &Value) -> Vec<&'static str> {
    MUST_BE_ZERO.iter().copied().filter(|k| report[*k].as_u64() != Some(0)).collect()
}

/// The abuser run's bars, each named with whether it held: every honest shopper paid and was
/// seen paid in both groups, and none was told `503 upstream_busy` beside the abusers; the
/// flood's gateway calls and orders within its session's cap; the many-sessions abuser ran
/// (created sessions) and its payment calls stayed within one client's share of the gate
/// ([`CLIENT_PAY_SHARE`] a minute, on average and in its busiest minute: the per-client
/// limiter in front allows 10 a minute, approximately); no 429 from the gateway; the honest pay
/// p95 at most [`MAX_P95_RATIO`] times its value alone. A missing figure breaks its bar.
pub fn bars(r: &Value) -> Vec<(&'static str, bool)> {
    let n = |k: &str| r[k].as_u64();
    let same = |a: &str, b: &str| n(a).is_some() && n(a) == n(b);
    let cap = 2 * MAX_ATTEMPTS_PER_SESSION;
    let share = CLIENT_PAY_SHARE as u64;
    vec![
        ("honest_paid == honest_seen_paid", same("honest_paid", "honest_seen_paid")),
        ("honest_paid_alone == honest_seen_paid_alone", same("honest_paid_alone", "honest_seen_paid_alone")),
        ("honest_paid == honest_shoppers", same("honest_paid", "honest_shoppers")),
        ("honest_paid_alone == honest_shoppers", same("honest_paid_alone", "honest_shoppers")),
        ("abuser_gateway_calls <= 2 x attempts cap", n("abuser_gateway_calls").is_some_and(|c| c <= cap)),
        ("abuser_orders <= attempts cap", n("abuser_orders").is_some_and(|c| c <= MAX_ATTEMPTS_PER_SESSION)),
        ("honest_upstream_busy == 0", n("honest_upstream_busy") == Some(0)),
        ("abuser_sessions > 0", n("abuser_sessions").is_some_and(|c| c > 0)),
        (
            "abuser_payment_calls_per_minute <= CLIENT_PAY_SHARE",
            r["abuser_payment_calls_per_minute"].as_f64().is_some_and(|x| x <= share as f64),
        ),
        (
            "abuser_payment_calls_peak_minute <= CLIENT_PAY_SHARE",
            n("abuser_payment_calls_peak_minute").is_some_and(|c| c <= share),
        ),
        ("gateway_429 == 0", n("gateway_429") == Some(0)),
        ("honest_pay_p95_ratio <= max", r["honest_pay_p95_ratio"].as_f64().is_some_and(|x| x <= MAX_P95_RATIO)),
    ]
}

/// Adds `extra`'s keys to `report`.
pub fn merge(report: &mut Value, extra: Value) {
    if let (Value::Object(into), Value::Object(from)) = (report, extra) {
        into.extend(from);
    }
}

/// Appends lines to the report's `details`.
pub fn add_details(report: &mut Value, lines: impl IntoIterator<Item = String>) {
    if let Some(details) = report["details"].as_array_mut() {
        details.extend(lines.into_iter().map(Value::from));
    }
}

/// Writes `text` to `target/chaos/<name>` (creating the folder).
pub fn write(name: &str, text: &str) {
    let dir = root().join("target/chaos");
    std::fs::create_dir_all(&dir).expect("target/chaos");
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("target/chaos/{name}: {e}"));
}

/// Writes the fault run's report, prints it, and exits non-zero if a must-be-0 figure is not 0.
pub fn finish(report: &Value) {
    let text = serde_json::to_string_pretty(report).unwrap_or_default();
    write("report.json", &text);
    println!("{text}");
    let broken = broken(report);
    if !broken.is_empty() {
        eprintln!("chaos: a promise was broken ({}; see the report)", broken.join(", "));
        std::process::exit(1);
    }
}

/// Judges the abuser run's `report` by [`bars`] (written into it as `bars` and `broken`),
/// writes it, prints it, and exits 1 when a bar is broken.
pub fn finish_abuse(mut report: Value) {
    let bars = bars(&report);
    report["bars"] = bars.iter().map(|(k, ok)| (k.to_string(), json!(ok))).collect::<serde_json::Map<_, _>>().into();
    let broken: Vec<&str> = bars.iter().filter(|(_, ok)| !ok).map(|(k, _)| *k).collect();
    report["broken"] = json!(broken);
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    write("abuse.json", &text);
    println!("{text}");
    if !broken.is_empty() {
        eprintln!("chaos --abuser: a bar was broken ({}; see target/chaos/abuse.json)", broken.join(", "));
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn a_figure_not_zero_or_unreadable_breaks_the_run() {
        let mut report: Value = MUST_BE_ZERO.iter().map(|k| (k.to_string(), json!(0))).collect::<Map<_, _>>().into();
        assert!(broken(&report).is_empty());
        report["webhooks_lost"] = json!(2);
        report["refunds_stuck"] = Value::Null;
        report.as_object_mut().unwrap().remove("open_at_gateway_after_expiry");
        assert_eq!(broken(&report), vec!["webhooks_lost", "refunds_stuck", "open_at_gateway_after_expiry"]);
    }

    #[test]
    fn the_abuse_bars() {
        let good = json!({"honest_shoppers": 20, "honest_paid": 20, "honest_seen_paid": 20, "honest_paid_alone": 20,
            "honest_seen_paid_alone": 20, "abuser_gateway_calls": 19, "abuser_orders": 10, "gateway_429": 0,
            "honest_pay_p95_ratio": 1.4, "honest_upstream_busy": 0, "abuser_sessions": 36,
            "abuser_payment_calls_per_minute": 20.0, "abuser_payment_calls_peak_minute": 20});
        assert!(bars(&good).iter().all(|(_, ok)| *ok), "{:?}", bars(&good));
        let mut bad = good.clone();
        bad["honest_seen_paid"] = json!(19);
        bad["abuser_gateway_calls"] = json!(21);
        bad.as_object_mut().unwrap().remove("gateway_429");
        bad["honest_pay_p95_ratio"] = Value::Null;
        let broken: Vec<&str> = bars(&bad).into_iter().filter(|(_, ok)| !ok).map(|(k, _)| k).collect();
        assert_eq!(broken.len(), 4, "{broken:?}");
        // The many sessions: one busy answer, a client past its share, or an abuser that never ran.
        let mut flooded = good.clone();
        flooded["honest_upstream_busy"] = json!(1);
        flooded["abuser_payment_calls_per_minute"] = json!(20.5);
        flooded["abuser_payment_calls_peak_minute"] = json!(21);
        flooded.as_object_mut().unwrap().remove("abuser_sessions");
        let broken: Vec<&str> = bars(&flooded).into_iter().filter(|(_, ok)| !ok).map(|(k, _)| k).collect();
        assert_eq!(
            broken,
            [
                "honest_upstream_busy == 0",
                "abuser_sessions > 0",
                "abuser_payment_calls_per_minute <= CLIENT_PAY_SHARE",
                "abuser_payment_calls_peak_minute <= CLIENT_PAY_SHARE"
            ]
        );
    }
}
