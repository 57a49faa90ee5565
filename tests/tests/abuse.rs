//! One client, many sessions: a script behind a shop's public Buy button creates sessions (as
//! the merchant's server does for anyone who clicks) and starts a payment on each, all from one
//! address. Past a few a minute it is refused at once, before any gateway call, while a shopper
//! on another address pays as usual.

use e2e::{Options, Stack};
use serde_json::json;

/// Starts a payment on a new session from `ip`; returns the status and the answer.
async fn pay_from(stack: &Stack, ip: &str, reference: &str) -> (u16, serde_json::Value, Option<String>) {
    let (id, secret) =
        stack.session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": reference})).await;
    let resp = stack
        .http
        .post(format!("{}/v1/checkout/{id}/pay", stack.worker_url))
        .bearer_auth(&secret)
        .header("CF-Connecting-IP", ip)
        .json(&json!({"pay_type": "800201"}))
        .send()
        .await
        .expect("the worker answers");
    let status = resp.status().as_u16();
    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, resp.json().await.unwrap_or_default(), retry_after)
}

async fn payment_calls(stack: &Stack) -> u64 {
    let (_, stats) = stack.sim("GET", "/sim/stats", None).await;
    stats["calls_by_path"]["/trade/v1/payment"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_spend_the_budget_through_many_sessions() {
    let stack = Stack::start(Options::default()).await;
    let before = payment_calls(&stack).await;
    let mut answers = Vec::new();
    for i in 0..14 {
        answers.push(pay_from(&stack, "198.51.100.23", &format!("buy-button-{i}")).await);
    }
    let accepted = answers.iter().filter(|(s, _, _)| *s == 201).count();
    let refused: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 429).collect();
    assert!((1..=10).contains(&accepted), "a few a minute are taken: {accepted}");
    assert!(refused.len() >= 4, "the rest are refused: {answers:?}");
    for (_, body, retry_after) in &refused {
        assert_eq!(body["error"]["code"], "rate_limited", "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("payment attempts")), "{body}");
        assert_eq!(retry_after.as_deref(), Some("60"), "told when to ask again");
    }
    assert_eq!(payment_calls(&stack).await - before, accepted as u64, "a refused attempt never reaches the gateway");

    // Another address of the same IPv6 /64 is the same client; another network is not.
    let (status, _, _) = pay_from(&stack, "2001:db8:7:1::1", "v6-a").await;
    assert_eq!(status, 201);
    let mut v6 = Vec::new();
    for i in 0..11 {
        v6.push(pay_from(&stack, &format!("2001:db8:7:1::{:x}", i + 2), &format!("v6-{i}")).await.0);
    }
    assert!(v6.contains(&429), "one /64 is one client: {v6:?}");
    let (status, body, _) = pay_from(&stack, "203.0.113.40", "honest").await;
    assert_eq!(status, 201, "an honest shopper elsewhere pays: {body}");
}
