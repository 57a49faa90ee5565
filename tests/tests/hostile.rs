//! Bad input, table-driven: each request gets its documented 4xx, and nothing changes — not
//! in the worker's sessions, not at the gateway.

use e2e::{Options, Stack, CLIENT_KEY, MERCHANT_API_KEY};
use serde_json::{json, Value};

struct Case {
    what: &'static str,
    method: &'static str,
    path: String,
    auth: Option<String>,
    content_type: Option<&'static str>,
    origin: Option<&'static str>,
    signature: Option<String>,
    body: Vec<u8>,
    status: u16,
}

fn case(what: &'static str, method: &'static str, path: &str, auth: Option<&str>, body: Value, status: u16) -> Case {
    Case {
        what,
        method,
        path: path.to_owned(),
        auth: auth.map(str::to_owned),
        content_type: Some("application/json"),
        origin: None,
        signature: None,
        body: body.to_string().into_bytes(),
        status,
    }
}

async fn snapshot(stack: &Stack, ids: &[&str]) -> (Vec<Value>, usize) {
    let mut sessions = Vec::new();
    for id in ids {
        sessions.push(stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await.1);
    }
    let (_, ledger) = stack.sim("GET", "/sim/orders", None).await;
    (sessions, ledger["orders"].as_array().map_or(0, Vec::len))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_and_changes_nothing() {
    let stack = Stack::start(Options::default()).await;
    let tea = json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": "h-1"});
    let (open_id, open_secret) = stack.session(tea.clone()).await;
    let (paid_id, paid_secret) =
        stack.session(json!({"amount": 500, "currency": "HKD", "goods_name": "Tea", "reference": "h-2"})).await;
    let (_, pay, _) = stack
        .widget("POST", &format!("/v1/checkout/{paid_id}/pay"), &paid_secret, Some(json!({"pay_type": "802001"})))
        .await;
    stack
        .http
        .post(format!("{}/pay", pay["qrcode"].as_str().unwrap()))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    stack.wait_status(&paid_id, &paid_secret, std::time::Duration::from_secs(20), |v| v["status"] == "paid").await;
    let before = snapshot(&stack, &[&open_id, &paid_id]).await;

    let key = Some(MERCHANT_API_KEY);
    let sessions = "/v1/sessions";
    let pay_path = format!("/v1/checkout/{open_id}/pay");
    let with = |mut v: Value, k: &str, x: Value| {
        v[k] = x;
        v
    };
    let mut cases = vec![
        case("amount as a string", "POST", sessions, key, with(tea.clone(), "amount", json!("3800")), 400),
        case("amount zero", "POST", sessions, key, with(tea.clone(), "amount", json!(0)), 400),
        case("amount negative", "POST", sessions, key, with(tea.clone(), "amount", json!(-5)), 400),
        case("amount huge", "POST", sessions, key, with(tea.clone(), "amount", json!(1e20)), 400),
        case("amount fractional", "POST", sessions, key, with(tea.clone(), "amount", json!(12.5)), 400),
        case("currency unknown", "POST", sessions, key, with(tea.clone(), "currency", json!("XBT")), 400),
        case(
            "goods_name of 21 emoji",
            "POST",
            sessions,
            key,
            with(tea.clone(), "goods_name", json!("🍵".repeat(21))),
            400,
        ),
        case("reference with a NUL", "POST", sessions, key, with(tea.clone(), "reference", json!("a\u{0}b")), 400),
        // Unicode in odd places is text like any other: shown with textContent, never as markup.
        case(
            "goods_name with a bidi control",
            "POST",
            sessions,
            key,
            with(tea.clone(), "goods_name", json!("tea\u{202e}")),
            201,
        ),
        case("missing fields", "POST", sessions, key, json!({"amount": 100}), 400),
        case("an unknown field", "POST", sessions, key, with(tea.clone(), "discount", json!(100)), 400),
        case("not an object", "POST", sessions, key, json!([1, 2, 3]), 400),
        case("no merchant key", "POST", sessions, None, tea.clone(), 401),
        case("the client secret as merchant key", "POST", sessions, Some(&open_secret), tea.clone(), 401),
        case("pay type unknown", "POST", &pay_path, Some(&open_secret), json!({"pay_type": "999999"}), 400),
        case("pay type CPM", "POST", &pay_path, Some(&open_secret), json!({"pay_type": "800208"}), 400),
        case(
            "pay with an amount",
            "POST",
            &pay_path,
            Some(&open_secret),
            json!({"pay_type": "800201", "amount": 1}),
            400,
        ),
        case(
            "pay with another session's secret",
            "POST",
            &pay_path,
            Some(&paid_secret),
            json!({"pay_type": "800201"}),
            401,
        ),
        case("pay with no secret", "POST", &pay_path, None, json!({"pay_type": "800201"}), 401),
        case(
            "refund of an open session",
            "POST",
            &format!("/v1/sessions/{open_id}/refunds"),
            key,
            json!({"amount": 100}),
            409,
        ),
        case("refund of FPS", "POST", &format!("/v1/sessions/{paid_id}/refunds"), key, json!({"amount": 100}), 409),
        case("refund negative", "POST", &format!("/v1/sessions/{paid_id}/refunds"), key, json!({"amount": -1}), 400),
        case("close a paid session", "POST", &format!("/v1/sessions/{paid_id}/close"), key, json!({}), 409),
        case("unknown session", "GET", "/v1/sessions/cs_nope", key, json!({}), 404),
        case("unknown route", "GET", "/v1/everything", key, json!({}), 404),
    ];
    let mut big = case("a 1 MB body", "POST", sessions, key, json!({}), 413);
    big.body = vec![b' '; 1 << 20];
    cases.push(big);
    let mut plain = case("text/plain body", "POST", sessions, key, tea.clone(), 415);
    plain.content_type = Some("text/plain");
    cases.push(plain);
    let mut foreign =
        case("a foreign origin", "POST", &pay_path, Some(&open_secret), json!({"pay_type": "800201"}), 403);
    foreign.origin = Some("https://evil.example");
    cases.push(foreign);
    let note = r#"{"notify_type": "payment", "status": "1", "syssn": "1", "out_trade_no": "QCPX", "txamt": "3800", "respcd": "0000"}"#;
    let good = qfpay::sign::sign_notification(note.as_bytes(), &qfpay::ClientKey::new(CLIENT_KEY));
    let mut forged = case("a forged notification", "POST", "/v1/qfpay/notify", None, json!({}), 401);
    forged.body = note.as_bytes().to_vec();
    forged.signature = Some(qfpay::sign::sign_notification(note.as_bytes(), &qfpay::ClientKey::new("guess")));
    cases.push(forged);
    let mut truncated = case("a truncated notification", "POST", "/v1/qfpay/notify", None, json!({}), 401);
    truncated.body = note.as_bytes()[..note.len() - 10].to_vec();
    truncated.signature = Some(good.clone());
    cases.push(truncated);
    let mut unsigned = case("an unsigned notification", "POST", "/v1/qfpay/notify", None, json!({}), 401);
    unsigned.body = note.as_bytes().to_vec();
    cases.push(unsigned);

    for c in &cases {
        let mut req = stack
            .http
            .request(c.method.parse().unwrap(), format!("{}{}", stack.worker_url, c.path))
            .body(c.body.clone());
        if let Some(a) = &c.auth {
            req = req.bearer_auth(a);
        }
        if let Some(t) = c.content_type {
            req = req.header("Content-Type", t);
        }
        if let Some(o) = c.origin {
            req = req.header("Origin", o);
        }
        if let Some(s) = &c.signature {
            req = req.header("X-QF-SIGN", s);
        }
        let resp = req.send().await.expect("the worker answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(status, c.status, "{}: {text}", c.what);
        if status >= 400 {
            let v: Value =
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("{}: a JSON error, got {text}", c.what));
            assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string(), "{}: {text}", c.what);
            assert!(!text.contains(CLIENT_KEY) && !text.contains(MERCHANT_API_KEY), "{}: a key in the answer", c.what);
        }
    }
    let after = snapshot(&stack, &[&open_id, &paid_id]).await;
    assert_eq!(before.0, after.0, "no session changed");
    assert_eq!(before.1, after.1, "nothing reached the gateway");
}
