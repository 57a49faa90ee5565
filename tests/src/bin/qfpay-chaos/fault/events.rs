//! The worker's events: its feed read page by page, what each session's final state calls for
//! (cross-checked against the feed), what the abandoned sessions still lack, and the webhook
//! figures (what the receiver verified, how late, what never arrived).

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use e2e::receiver::Receiver;
use e2e::Stack;
use serde_json::{json, Map, Value};

use super::reconcile::Snapshot;
use super::shoppers::Tally;
use crate::report::merge;

/// The events that tell the merchant a session was paid (once per session, whichever).
const PAYMENT_EVENTS: [&str; 2] = ["checkout.session.paid", "checkout.session.late_payment"];

/// Every event the worker emitted, oldest first, read page by page from `GET /v1/events`;
/// `None` when a page cannot be read.
pub async fn feed(stack: &Stack) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(id) => format!("/v1/events?limit=100&after={id}"),
            None => "/v1/events?limit=100".to_owned(),
        };
        let (status, page, text) = stack.merchant("GET", &path, None, None).await;
        if status != 200 {
            eprintln!("chaos: GET {path} answered {status}: {text}");
            return None;
        }
        let data = page["data"].as_array().cloned().unwrap_or_default();
        after = data.last().and_then(|e| e["id"].as_str()).map(str::to_owned);
        out.extend(data);
        if page["has_more"] != true || after.is_none() {
            return Some(out);
        }
    }
}

/// The session an event is about.
fn event_session(event: &Value) -> &str {
    event["data"]["session"]["id"].as_str().unwrap_or_default()
}

/// True when the feed holds an event of one of `kinds` for `session`.
fn has_event(feed: &[Value], session: &str, kinds: &[&str]) -> bool {
    feed.iter().any(|e| event_session(e) == session && kinds.iter().any(|k| e["type"] == *k))
}

/// What the abandoned sessions still lack, judged from the event feed alone (reading a session
/// through the API would bring it up to date, which is the settler's job here): a session paid
/// at the wallet needs its payment event, a short one nobody paid its `expired` event.
pub fn abandoned_lacking(feed: &[Value], tally: &Tally) -> Vec<String> {
    let unpaid = tally
        .paid_without_client
        .iter()
        .filter(|id| !has_event(feed, id, &PAYMENT_EVENTS))
        .map(|id| format!("{id}: paid at the wallet with nobody watching, never settled paid by the settler"));
    let unexpired = tally
        .left_to_expire
        .iter()
        .filter(|id| !has_event(feed, id, &["checkout.session.expired"]))
        .map(|id| format!("{id}: short session nobody paid, never expired by the settler"));
    unpaid.chain(unexpired).collect()
}

/// The events a session's final state calls for, each as the types that satisfy it and, for a
/// refund, the refund's id: one payment event if the gateway (or the worker) shows it paid, one
/// `expired` or `closed` event if it is over, one final event per ended refund.
fn required_events(view: &Value, by_otn: &HashMap<String, Value>) -> Vec<(Vec<&'static str>, Option<String>)> {
    let mut needs = Vec::new();
    let attempts = view["attempts"].as_array().into_iter().flatten();
    let gateway_paid = attempts.filter_map(|a| by_otn.get(a["out_trade_no"].as_str()?)).any(|o| o["state"] == "paid");
    if gateway_paid || view["status"] == "paid" {
        needs.push((PAYMENT_EVENTS.to_vec(), None));
    }
    match view["status"].as_str() {
        Some("expired") => needs.push((vec!["checkout.session.expired"], None)),
        Some("closed") => needs.push((vec!["checkout.session.closed"], None)),
        _ => {}
    }
    for r in view["refunds"].as_array().into_iter().flatten() {
        let kind = match (r["status"].as_str(), r["automatic"] == true) {
            (Some("succeeded"), true) => "payment.duplicate_refunded",
            (Some("succeeded"), false) => "refund.succeeded",
            (Some("failed"), _) => "refund.failed",
            (Some("unresolved"), _) => "refund.unresolved",
            _ => continue,
        };
        needs.push((vec![kind], r["id"].as_str().map(str::to_owned)));
    }
    needs
}

/// Checks the feed against what every session's state calls for: returns (events never
/// emitted, events emitted more than once, a line for each).
fn cross_check(snap: &Snapshot, feed: &[Value]) -> (usize, usize, Vec<String>) {
    let (mut missing, mut duplicated, mut details) = (0, 0, Vec::new());
    for (id, _, view) in snap.views.iter().filter(|(_, status, _)| *status == 200) {
        for (kinds, refund) in required_events(view, &snap.by_otn) {
            let found = feed
                .iter()
                .filter(|e| event_session(e) == id && kinds.iter().any(|k| e["type"] == *k))
                .filter(|e| refund.as_deref().is_none_or(|r| e["data"]["refund"]["id"] == r))
                .count();
            let what = format!("{id}{}: {}", refund.as_deref().map(|r| format!(" {r}")).unwrap_or_default(), kinds[0]);
            match found {
                0 => {
                    missing += 1;
                    details.push(format!("{what} event never emitted (session {})", view["status"]));
                }
                1 => {}
                n => {
                    duplicated += 1;
                    details.push(format!("{what} event emitted {n} times"));
                }
            }
        }
    }
    (missing, duplicated, details)
}

/// Seconds from each wallet payment made at or after `since` to the receiver verifying the
/// session's `checkout.session.paid`, longest first, with the session.
fn webhook_delays(receiver: &Receiver, tally: &Tally, since: Instant) -> Vec<(f64, String)> {
    let paid_events: HashMap<String, Instant> = receiver
        .unique()
        .into_values()
        .filter(|r| r.kind == "checkout.session.paid")
        .map(|r| (r.session, r.at))
        .collect();
    let mut delays: Vec<(f64, String)> = tally
        .paid_at_wallet
        .iter()
        .filter(|(_, paid)| **paid >= since)
        .filter_map(|(id, paid)| {
            Some((paid_events.get(id)?.saturating_duration_since(*paid).as_secs_f64(), id.clone()))
        })
        .collect();
    delays.sort_by(|a, b| b.0.total_cmp(&a.0));
    delays
}

/// How an event that never arrived stands at the worker (`GET /v1/events/{id}`), for the report.
async fn delivery_line(stack: &Stack, event: &Value) -> String {
    let id = event["id"].as_str().unwrap_or_default();
    let (_, detail, _) = stack.merchant("GET", &format!("/v1/events/{id}"), None, None).await;
    format!(
        "{id} ({} of {}): never received; delivery {}, {} tries, next try at {}, last error {}",
        event["type"],
        event_session(event),
        detail["delivery"],
        detail["tries"].as_array().map_or(0, Vec::len),
        detail["next_try_at"],
        detail["tries"].as_array().and_then(|t| t.last()).map_or(Value::Null, |t| t["error"].clone()),
    )
}

/// The webhook figures. Delays: from each wallet payment to its `checkout.session.paid`, over
/// the whole run and over the payments made once the receiver stopped failing
/// (`receiver_up`). Expected: every event of the worker's feed (the record of what was
/// emitted), plus any event the sessions' final state calls for that the feed lacks (never
/// emitted, so never received either). Delivered: unique ids the receiver verified. Lost:
/// expected ones never received. Returns the figures and a line for each problem.
pub async fn webhook_figures(
    stack: &Stack,
    snap: &Snapshot,
    receiver: &Receiver,
    tally: &Tally,
    receiver_up: Instant,
) -> (Value, Vec<String>) {
    let received = receiver.unique();
    let all = webhook_delays(receiver, tally, tally.started);
    let up = webhook_delays(receiver, tally, receiver_up);
    let common = json!({
        "webhooks_delivered": received.len(),
        "webhook_requests": receiver.requests(),
        "webhook_bad_signatures": receiver.bad_signatures(),
        "max_webhook_delay_seconds": all.first().map_or(0.0, |d| d.0),
        "max_webhook_delay_session": all.first().map(|d| d.1.clone()),
        "max_webhook_delay_seconds_receiver_up": up.first().map_or(0.0, |d| d.0),
    });
    let Some(feed) = &snap.feed else {
        // Null figures fail the run: nothing can be said of what was lost.
        let mut out = json!({"webhooks_expected": null, "webhooks_lost": null, "events_duplicated": null});
        merge(&mut out, common);
        return (out, vec!["the event feed could not be read".to_owned()]);
    };
    let (missing, duplicated, mut details) = cross_check(snap, feed);
    let emitted: BTreeSet<&str> = feed.iter().filter_map(|e| e["id"].as_str()).collect();
    let never: Vec<&Value> =
        feed.iter().filter(|e| !received.contains_key(e["id"].as_str().unwrap_or_default())).collect();
    for event in never.iter().take(10) {
        details.push(delivery_line(stack, event).await);
    }
    let unknown = received.keys().filter(|id| !emitted.contains(id.as_str())).count();
    let mut out = json!({
        "webhooks_expected": emitted.len() + missing,
        "webhooks_lost": never.len() + missing,
        "webhooks_not_in_feed": unknown,
        "events_duplicated": duplicated,
        "events_by_type": events_by_type(feed),
    });
    merge(&mut out, common);
    (out, details)
}

/// How many events of each type the feed holds.
fn events_by_type(feed: &[Value]) -> Value {
    let mut counts = Map::new();
    for e in feed {
        let kind = e["type"].as_str().unwrap_or("?").to_owned();
        let n = counts.get(&kind).and_then(Value::as_u64).unwrap_or(0);
        counts.insert(kind, json!(n + 1));
    }
    Value::Object(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, session: &str, refund: Option<&str>) -> Value {
        let mut e = json!({"id": format!("evt_{kind}_{session}"), "type": kind, "data": {"session": {"id": session}}});
        if let Some(r) = refund {
            e["data"]["refund"] = json!({"id": r});
        }
        e
    }

    fn snapshot_of(view: Value, orders: Vec<Value>, feed: Vec<Value>) -> Snapshot {
        let by_otn = orders.iter().map(|o| (o["out_trade_no"].as_str().unwrap().to_owned(), o.clone())).collect();
        let id = view["id"].as_str().unwrap().to_owned();
        Snapshot { views: vec![(id, 200, view)], orders, by_otn, feed: Some(feed), stats: Value::Null }
    }

    #[test]
    fn a_payment_the_gateway_took_needs_its_event() {
        // The worker still shows the session open, but the gateway has the order paid.
        let view = json!({"id": "cs_1", "status": "open", "attempts": [{"out_trade_no": "P1"}], "refunds": []});
        let orders = vec![json!({"out_trade_no": "P1", "state": "paid"})];
        let snap = snapshot_of(view.clone(), orders.clone(), vec![]);
        let (missing, duplicated, details) = cross_check(&snap, snap.feed.as_ref().unwrap());
        assert_eq!((missing, duplicated), (1, 0), "{details:?}");
        let feed = vec![event("checkout.session.late_payment", "cs_1", None)];
        let snap = snapshot_of(view, orders, feed);
        assert_eq!(cross_check(&snap, snap.feed.as_ref().unwrap()).0, 0, "a late payment event counts");
    }

    #[test]
    fn every_ended_refund_and_expiry_needs_exactly_one_event() {
        let view = json!({"id": "cs_2", "status": "expired", "attempts": [], "refunds": [
            {"id": "re_a", "status": "succeeded", "automatic": true},
            {"id": "re_b", "status": "failed", "automatic": false},
            {"id": "re_c", "status": "pending", "automatic": false},
        ]});
        let feed = vec![
            event("checkout.session.expired", "cs_2", None),
            event("checkout.session.expired", "cs_2", None),
            event("refund.succeeded", "cs_2", Some("re_a")),
            event("refund.failed", "cs_2", Some("re_b")),
        ];
        let snap = snapshot_of(view, vec![], feed);
        let (missing, duplicated, details) = cross_check(&snap, snap.feed.as_ref().unwrap());
        // re_a is automatic: payment.duplicate_refunded, not refund.succeeded.
        assert_eq!((missing, duplicated), (1, 1), "{details:?}");
    }

    #[test]
    fn abandoned_sessions_lack_what_the_feed_does_not_show() {
        let mut tally = Tally::new();
        tally.paid_without_client = vec!["cs_p".into()];
        tally.left_to_expire = vec!["cs_e".into()];
        assert_eq!(abandoned_lacking(&[], &tally).len(), 2);
        let feed = vec![event("checkout.session.paid", "cs_p", None), event("checkout.session.expired", "cs_e", None)];
        assert!(abandoned_lacking(&feed, &tally).is_empty());
        let closed_instead =
            vec![event("checkout.session.paid", "cs_p", None), event("checkout.session.closed", "cs_e", None)];
        assert_eq!(abandoned_lacking(&closed_instead, &tally).len(), 1, "nobody closed it: it must expire");
    }
}
