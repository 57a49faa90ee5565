//! The worker's API under `wrangler dev` against the simulator: every flow of issue 4, run in
//! sequence on one stack (starting workerd once keeps the suite fast). Each step says which
//! flow failed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::{Options, Stack, CLIENT_KEY, MERCHANT_API_KEY};
use serde_json::{json, Value};

fn tea(reference: &str) -> Value {
    json!({"amount": 3800, "currency": "HKD", "goods_name": "Milk tea set", "reference": reference,
           "return_url": "https://shop.example/thanks"})
}

/// Every response body and header the tests saw, for the key scan at the end.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn add(&mut self, text: &str) {
        self.0.push(text.to_owned());
    }
}

async fn pay(stack: &Stack, id: &str, secret: &str, pay_type: &str, seen: &mut Seen) -> Value {
    // A session starts at most one attempt a second: a 429 says when to try again.
    for _ in 0..3 {
        let (status, answer, text) =
            stack.widget("POST", &format!("/v1/checkout/{id}/pay"), secret, Some(json!({"pay_type": pay_type}))).await;
        seen.add(&text);
        if status == 429 && answer["error"]["code"] == "attempt_too_soon" {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            continue;
        }
        assert_eq!(status, 201, "pay {pay_type}: {text}");
        return answer;
    }
    panic!("pay {pay_type}: still refused after waiting");
}

/// Now in Unix seconds, the unit of every time the API answers.
fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// `field` of `v` as a Unix time in seconds within `range` seconds of now (a time in
/// milliseconds is a thousand times too large to be).
fn seconds_near_now(v: &Value, field: &str, range: std::ops::RangeInclusive<i64>) -> u64 {
    let t = v[field].as_u64().unwrap_or_else(|| panic!("{field} is a whole number: {v}"));
    let offset = t as i64 - now_seconds() as i64;
    assert!(range.contains(&offset), "{field} is {t}, {offset} s from now in Unix seconds: not seconds? {v}");
    t
}

async fn wallet(stack: &Stack, url: &str, action: &str) -> (u16, Value) {
    let resp = stack
        .http
        .post(format!("{url}/{action}"))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("the wallet answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_api_against_the_simulator() {
    let stack = Stack::start(Options::default()).await;
    let mut seen = Seen::default();

    // Health and configuration.
    let resp = stack.http.get(format!("{}/healthz", stack.worker_url)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // Session creation, validation and idempotency.
    let (status, created, text) = stack.merchant("POST", "/v1/sessions", Some(tea("order-1")), Some("idem-1")).await;
    seen.add(&text);
    assert_eq!(status, 201, "{text}");
    assert!(created["id"].as_str().unwrap().starts_with("cs_"));
    assert_eq!((created["status"].as_str(), created["amount"].as_u64()), (Some("open"), Some(3800)));
    // Times are Unix seconds: created now, expiring SESSION_TTL_MINUTES (30) later.
    let created_at = seconds_near_now(&created, "created_at", -300..=300);
    let expires_at = seconds_near_now(&created, "expires_at", 1500..=2100);
    assert!((1799..=1801).contains(&(expires_at - created_at)), "30 minutes apart: {created}");
    let (status, again, _) = stack.merchant("POST", "/v1/sessions", Some(tea("order-1")), Some("idem-1")).await;
    assert_eq!((status, &again["id"]), (201, &created["id"]), "same key, same body: same answer");
    let (status, conflict, _) = stack.merchant("POST", "/v1/sessions", Some(tea("order-2")), Some("idem-1")).await;
    assert_eq!((status, conflict["error"]["code"].as_str()), (409, Some("idempotency_conflict")));
    for (body, field) in [
        (json!({"amount": 0, "currency": "HKD", "goods_name": "x", "reference": "r"}), "amount"),
        (json!({"amount": 100, "currency": "GBP", "goods_name": "x", "reference": "r"}), "currency"),
        (json!({"amount": 100, "currency": "HKD", "goods_name": "x", "reference": "r", "colour": "red"}), "colour"),
        (json!({"amount": 100, "currency": "HKD", "goods_name": "x".repeat(21), "reference": "r"}), "goods_name"),
    ] {
        let (status, err, text) = stack.merchant("POST", "/v1/sessions", Some(body), None).await;
        seen.add(&text);
        assert_eq!((status, err["error"]["field"].as_str()), (400, Some(field)), "{text}");
    }
    let wrong_key = stack
        .http
        .post(format!("{}/v1/sessions", stack.worker_url))
        .bearer_auth("sk_wrong_key_123")
        .json(&tea("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_key.status().as_u16(), 401);
    let huge = stack
        .http
        .post(format!("{}/v1/sessions", stack.worker_url))
        .bearer_auth(MERCHANT_API_KEY)
        .header("Content-Type", "application/json")
        .body("x".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status().as_u16(), 413);
    let form = stack
        .http
        .post(format!("{}/v1/sessions", stack.worker_url))
        .bearer_auth(MERCHANT_API_KEY)
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 415);

    // The whole MPM flow: checkout, pay, scan at the simulator's wallet, notification, paid.
    let (id, secret) =
        (created["id"].as_str().unwrap().to_owned(), created["client_secret"].as_str().unwrap().to_owned());
    let (status, checkout, text) = stack.widget("GET", &format!("/v1/checkout/{id}"), &secret, None).await;
    seen.add(&text);
    assert_eq!(status, 200, "{text}");
    assert_eq!(checkout["expires_at"].as_u64(), Some(expires_at), "the widget reads the same expiry: {checkout}");
    let offered: Vec<&str> =
        checkout["pay_types"].as_array().unwrap().iter().map(|p| p["pay_type"].as_str().unwrap()).collect();
    assert!(offered.contains(&"800201") && offered.contains(&"801512") && !offered.contains(&"800208"), "{offered:?}");
    let answer = pay(&stack, &id, &secret, "800201", &mut seen).await;
    seconds_near_now(&answer, "expires_at", 240..=2100);
    let qrcode = answer["qrcode"].as_str().expect("an MPM answer has a qrcode").to_owned();
    assert!(qrcode.starts_with(&format!("{}/sim/wallet/", stack.sim_url)), "{qrcode}");
    let (status, paid) = wallet(&stack, &qrcode, "pay").await;
    assert_eq!((status, paid["status"].as_str()), (200, Some("paid")));
    let status_view = stack.wait_status(&id, &secret, Duration::from_secs(20), |v| v["status"] == "paid").await;
    assert_eq!(status_view["status"], "paid", "MPM: the notification settles it: {status_view}");
    assert_eq!(status_view["attempt"]["status"], "paid");
    seconds_near_now(&status_view, "paid_at", -300..=5);
    assert_eq!(status_view["expires_at"].as_u64(), Some(expires_at));
    let (_, session, text) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    seen.add(&text);
    assert_eq!((session["status"].as_str(), session["attempts"][0]["status"].as_str()), (Some("paid"), Some("paid")));
    let paid_at = seconds_near_now(&session, "paid_at", -300..=5);
    assert_eq!(session["attempts"][0]["paid_at"].as_u64(), Some(paid_at), "{session}");
    seconds_near_now(&session["attempts"][0], "created_at", -300..=5);
    seconds_near_now(&session["attempts"][0], "expires_at", 0..=2100);
    let (status, again, _) =
        stack.widget("POST", &format!("/v1/checkout/{id}/pay"), &secret, Some(json!({"pay_type": "800201"}))).await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("session_not_open")),
        "a paid session takes no new attempt"
    );

    // Refunds: partial, repeated, never above the payment; idempotent.
    let (status, r1, text) = stack
        .merchant("POST", &format!("/v1/sessions/{id}/refunds"), Some(json!({"amount": 1000})), Some("refund-1"))
        .await;
    seen.add(&text);
    assert_eq!((status, r1["status"].as_str()), (201, Some("succeeded")), "{text}");
    let (status, r1_again, _) = stack
        .merchant("POST", &format!("/v1/sessions/{id}/refunds"), Some(json!({"amount": 1000})), Some("refund-1"))
        .await;
    assert_eq!((status, &r1_again["id"]), (201, &r1["id"]), "a retried refund is not sent twice");
    let (status, over, _) =
        stack.merchant("POST", &format!("/v1/sessions/{id}/refunds"), Some(json!({"amount": 2801})), None).await;
    assert_eq!((status, over["error"]["code"].as_str()), (409, Some("refund_exceeds_payment")));
    let (status, rest, _) =
        stack.merchant("POST", &format!("/v1/sessions/{id}/refunds"), Some(json!({"amount": 2800})), None).await;
    assert_eq!((status, rest["status"].as_str()), (201, Some("succeeded")));
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_eq!(
        (session["amount_refunded"].as_u64(), session["refunds"].as_array().map(Vec::len)),
        (Some(3800), Some(2))
    );
    let (_, ledger) = stack.sim("GET", "/sim/orders", None).await;
    let refunded: u64 = ledger["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "refund")
        .map(|o| o["txamt"].as_u64().unwrap())
        .sum();
    assert_eq!(refunded, 3800, "the gateway's ledger agrees");
    seconds_near_now(&session["refunds"][0], "created_at", -300..=5);

    // The session list takes its time range in seconds too; milliseconds are refused by name.
    let (status, page, text) =
        stack.merchant("GET", &format!("/v1/sessions?created_gte={created_at}&limit=100"), None, None).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        page["data"].as_array().unwrap().iter().any(|s| s["id"] == created["id"]),
        "created_gte in seconds: {text}"
    );
    let ms = created_at * 1000;
    let (status, err, text) = stack.merchant("GET", &format!("/v1/sessions?created_gte={ms}"), None, None).await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("created_gte")), "{text}");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("created_gte: must be Unix seconds") && message.contains("milliseconds"), "{message}");
    let (_, events, _) = stack.merchant("GET", "/v1/events?latest=true&limit=1", None, None).await;
    seconds_near_now(&events["data"][0], "created", -300..=5);
    seconds_near_now(&events["data"][0]["data"]["session"], "created_at", -600..=5);

    // A wrong secret, and another session's secret, open nothing.
    let (other_id, other_secret) = stack.session(tea("order-3")).await;
    let (status, _, _) = stack.widget("GET", &format!("/v1/checkout/{id}"), &other_secret, None).await;
    assert_eq!(status, 401, "another session's secret");
    let (status, _, _) = stack.widget("GET", &format!("/v1/checkout/{other_id}"), "cs_secret_wrong", None).await;
    assert_eq!(status, 401, "a wrong secret");

    // Decline at the wallet: the query path sees the failure; a second attempt then pays.
    let answer = pay(&stack, &other_id, &other_secret, "805801", &mut seen).await;
    let (status, _) = wallet(&stack, answer["qrcode"].as_str().unwrap(), "decline").await;
    assert_eq!(status, 200);
    let failed = stack
        .wait_status(&other_id, &other_secret, Duration::from_secs(30), |v| v["attempt"]["status"] == "failed")
        .await;
    assert_eq!(
        (failed["status"].as_str(), failed["attempt"]["status"].as_str()),
        (Some("open"), Some("failed")),
        "{failed}"
    );
    let answer = pay(&stack, &other_id, &other_secret, "800201", &mut seen).await;
    wallet(&stack, answer["qrcode"].as_str().unwrap(), "pay").await;
    let paid = stack.wait_status(&other_id, &other_secret, Duration::from_secs(20), |v| v["status"] == "paid").await;
    assert_eq!(paid["status"], "paid", "second attempt pays: {paid}");

    // A WAP type: a redirect URL; the wallet page sends the browser back to the shop.
    let (wap_id, wap_secret) = stack.session(tea("order-4")).await;
    let answer = pay(&stack, &wap_id, &wap_secret, "801512", &mut seen).await;
    let redirect = answer["redirect_url"].as_str().expect("a WAP answer has a redirect_url").to_owned();
    let no_follow = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = no_follow.post(format!("{redirect}/pay")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "https://shop.example/thanks");
    let paid = stack.wait_status(&wap_id, &wap_secret, Duration::from_secs(20), |v| v["status"] == "paid").await;
    assert_eq!(paid["status"], "paid", "WAP: {paid}");

    // A dropped notification: the worker's own query settles it.
    stack.sim("POST", "/sim/faults", Some(json!({"notify_drop": 1.0}))).await;
    let (drop_id, drop_secret) = stack.session(tea("order-5")).await;
    let answer = pay(&stack, &drop_id, &drop_secret, "801501", &mut seen).await;
    wallet(&stack, answer["qrcode"].as_str().unwrap(), "pay").await;
    let paid = stack.wait_status(&drop_id, &drop_secret, Duration::from_secs(30), |v| v["status"] == "paid").await;
    assert_eq!(paid["status"], "paid", "dropped notification, settled by query: {paid}");
    stack.sim("POST", "/sim/faults", Some(json!({}))).await;

    // A new attempt closes the previous one at the gateway.
    let (two_id, two_secret) = stack.session(tea("order-6")).await;
    let first = pay(&stack, &two_id, &two_secret, "800201", &mut seen).await;
    pay(&stack, &two_id, &two_secret, "805801", &mut seen).await;
    let (status, closed) = wallet(&stack, first["qrcode"].as_str().unwrap(), "pay").await;
    assert_eq!((status, closed["error"].as_str()), (409, Some("this order was closed")), "the first QR no longer pays");

    // Forged and replayed notifications.
    let forged = stack
        .http
        .post(format!("{}/v1/qfpay/notify", stack.worker_url))
        .header("X-QF-SIGN", "0".repeat(32))
        .body(r#"{"notify_type": "payment"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401);
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    let paid_order = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["state"] == "paid" && o["kind"] == "payment")
        .unwrap()
        .clone();
    let body = format!(
        r#"{{"notify_type": "payment", "status": "1", "syssn": "{}", "out_trade_no": "{}", "txamt": "3800", "respcd": "0000"}}"#,
        paid_order["syssn"].as_str().unwrap(),
        paid_order["out_trade_no"].as_str().unwrap()
    );
    let sig = qfpay::sign::sign_notification(body.as_bytes(), &qfpay::ClientKey::new(CLIENT_KEY));
    for _ in 0..2 {
        let replay = stack
            .http
            .post(format!("{}/v1/qfpay/notify", stack.worker_url))
            .header("X-QF-SIGN", &sig)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status().as_u16(), 200);
        assert_eq!(replay.text().await.unwrap(), "SUCCESS", "a replay is harmless and acknowledged");
    }
    let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    assert_eq!(session["refunds"].as_array().map(Vec::len), Some(2), "a replay started no refund");

    // A shopper with two QR codes: once one is paid, the worker closes the other at the
    // gateway, so it cannot be paid too. The first is PayMe's, which QFPay cannot cancel: it
    // stays open beside the second (followed to its own expiry); the second, WeChat Pay's, is
    // closed once the first is paid. (When both are paid, the second payment is refunded
    // automatically: the chaos run shows it, see RELIABILITY.md.)
    let (dbl_id, dbl_secret) = stack.session(tea("order-7")).await;
    pay(&stack, &dbl_id, &dbl_secret, "805801", &mut seen).await;
    let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{dbl_id}"), None, None).await;
    let first_otn = view["attempts"][0]["out_trade_no"].as_str().unwrap().to_owned();
    let second = pay(&stack, &dbl_id, &dbl_secret, "800201", &mut seen).await;
    // The first attempt's payment reaches us as the gateway would report it (signed), as if it
    // had been paid at the very moment it was being closed.
    let body = format!(
        r#"{{"notify_type": "payment", "status": "1", "syssn": "99990000000001", "out_trade_no": "{first_otn}", "txamt": "3800", "respcd": "0000"}}"#
    );
    let sig = qfpay::sign::sign_notification(body.as_bytes(), &qfpay::ClientKey::new(CLIENT_KEY));
    let resp = stack
        .http
        .post(format!("{}/v1/qfpay/notify", stack.worker_url))
        .header("X-QF-SIGN", &sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (status, refused) = wallet(&stack, second["qrcode"].as_str().unwrap(), "pay").await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (409, Some("this order was closed")),
        "the second QR no longer pays"
    );
    let (_, view, _) = stack.merchant("GET", &format!("/v1/sessions/{dbl_id}"), None, None).await;
    assert_eq!(view["status"], "paid", "paid once: {view}");
    assert_eq!(
        (view["attempts"][0]["status"].as_str(), view["attempts"][1]["status"].as_str()),
        (Some("paid"), Some("closed"))
    );
    assert_eq!(view["refunds"].as_array().map(Vec::len), Some(0), "nothing to refund");

    // CORS: the allowed origin gets headers; a foreign origin is refused before anything runs.
    let ok = stack
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/v1/checkout/{id}/status", stack.worker_url))
        .header("Origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 204);
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://shop.example");
    let foreign = stack
        .http
        .post(format!("{}/v1/checkout/{two_id}/pay", stack.worker_url))
        .header("Origin", "https://evil.example")
        .bearer_auth(&two_secret)
        .json(&json!({"pay_type": "800201"}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403);
    // The refusal itself is readable there (the widget names it), and quotable by its id.
    assert_eq!(foreign.headers()["access-control-allow-origin"], "https://evil.example");
    let request_id = foreign.headers()["request-id"].to_str().unwrap().to_owned();
    assert!(request_id.starts_with("req_"), "{request_id}");
    let refusal: serde_json::Value = foreign.json().await.unwrap();
    assert_eq!(refusal["error"]["code"], "origin_not_allowed");
    assert_eq!(refusal["error"]["request_id"], request_id.as_str(), "the body repeats the Request-Id");
    assert!(
        stack.worker_log().contains(&format!("\"request_id\":\"{request_id}\"")),
        "the log line records the Request-Id"
    );

    // The client key is in no response, header or log line; client secrets are in no log line.
    for text in &seen.0 {
        assert!(!text.contains(CLIENT_KEY), "a response carried the client key: {text}");
    }
    let log = stack.worker_log();
    assert!(log.contains("\"path\":\"/v1/checkout/"), "the worker logs one JSON line per request");
    assert!(!log.contains(CLIENT_KEY), "the worker's log carries the client key");
    assert!(!log.contains(&secret) && !log.contains(&two_secret), "the worker's log carries a client secret");
    assert!(!log.contains(MERCHANT_API_KEY), "the worker's log carries the merchant key");
}

/// The widget's files load from a shop's page on another origin (a module script and the
/// wasm it fetches are CORS requests): `www/_headers` gives them
/// `Access-Control-Allow-Origin: *`, as `wrangler dev` applies it here and Cloudflare does for a
/// deployment (its build copies the same file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_files_allow_any_origin() {
    let stack = Stack::start(Options::default()).await;
    for path in ["/qfpay-checkout.js", "/qfpay-checkout.d.ts", "/pkg/qfpay_checkout.js", "/pkg/qfpay_checkout_bg.wasm"]
    {
        let resp = stack
            .http
            .get(format!("{}{path}", stack.worker_url))
            .header("Origin", "https://shop.example")
            .send()
            .await
            .expect("the worker answers");
        assert_eq!(resp.status().as_u16(), 200, "GET {path}");
        let allow = resp.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap_or("").to_owned());
        assert_eq!(allow.as_deref(), Some("*"), "GET {path}: access-control-allow-origin");
    }
    // The rule is the widget's alone: the demo shop's page gets none.
    let resp = stack.http.get(format!("{}/index.html", stack.worker_url)).send().await.expect("the worker answers");
    assert!(resp.headers().get("access-control-allow-origin").is_none(), "the demo page must not allow every origin");
}
