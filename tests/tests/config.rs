//! A worker missing a secret says which one, on every request and at /healthz, and never
//! prints a value.

use e2e::{Options, Stack, CLIENT_KEY, MERCHANT_API_KEY};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_is_named_never_shown() {
    let stack = Stack::start(Options { omit_setting: Some("QFPAY_KEY"), ..Options::default() }).await;
    let health = stack.http.get(format!("{}/healthz", stack.worker_url)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["problem"]["setting"], "QFPAY_KEY", "{body}");
    let (status, err, text) = stack
        .merchant(
            "POST",
            "/v1/sessions",
            Some(json!({"amount": 100, "currency": "HKD", "goods_name": "x", "reference": "r"})),
            None,
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str(), err["error"]["field"].as_str()),
        (503, Some("misconfigured"), Some("QFPAY_KEY")),
        "{text}"
    );
    assert!(!text.contains(MERCHANT_API_KEY) && !text.contains(CLIENT_KEY));
    let (status, _, _) = stack.widget("GET", "/v1/checkout/cs_x/status", "cs_secret_x", None).await;
    assert_eq!(status, 503, "every request answers 503");
}

/// The demo shop's route hands anyone a payable session: with any gateway but the local
/// simulator, `DEMO_SHOP=true` is a configuration problem, on every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shop_is_refused_outside_the_simulator() {
    let settings = ["QFPAY_ENV=test", "QFPAY_BASE_URL=", "DEMO_SHOP=true"].map(String::from).to_vec();
    let stack = Stack::start(Options { extra_settings: settings, ..Options::default() }).await;
    let health = stack.http.get(format!("{}/healthz", stack.worker_url)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["problem"]["setting"], "DEMO_SHOP", "{body}");
    for path in ["/demo/sessions", "/v1/sessions"] {
        let resp =
            stack.http.post(format!("{}{path}", stack.worker_url)).bearer_auth(MERCHANT_API_KEY).send().await.unwrap();
        let status = resp.status().as_u16();
        let err: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(
            (status, err["error"]["code"].as_str(), err["error"]["field"].as_str()),
            (503, Some("misconfigured"), Some("DEMO_SHOP")),
            "{path}: {err}"
        );
    }
}
