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
    // Bodies sent without a length (chunked) get the same 16 KiB cap: refused at the first
    // chunk past it, before the body ends (the test never ends it), on every endpoint that
    // reads one, the unauthenticated notification endpoint first.
    let chunked = [
        ("/v1/qfpay/notify", None),
        ("/v1/sessions", Some(MERCHANT_API_KEY.to_owned())),
        (pay_path.as_str(), Some(open_secret.clone())),
    ];
    for (path, auth) in chunked {
        let (status, text) = endless_chunked_post(&stack, path, auth.as_deref()).await;
        assert_eq!(status, 413, "chunked oversize body to {path}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: a JSON error, got {text}"));
        assert_eq!(v["error"]["code"], "body_too_large", "{path}: {text}");
    }

    let after = snapshot(&stack, &[&open_id, &paid_id]).await;
    assert_eq!(before.0, after.0, "no session changed");
    assert_eq!(before.1, after.1, "nothing reached the gateway");

    // A gateway that answers a `javascript:` pay_url (a sim fault): the worker never hands it
    // to the widget, and no stored view carries it.
    let (status, _) = stack.sim("POST", "/sim/faults", Some(json!({"bad_pay_url": true}))).await;
    assert_eq!(status, 200);
    let (id, secret) =
        stack.session(json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": "h-3"})).await;
    let (status, answer, text) =
        stack.widget("POST", &format!("/v1/checkout/{id}/pay"), &secret, Some(json!({"pay_type": "801512"}))).await;
    assert_ne!(status, 201, "a javascript: pay_url is not a payment to follow: {text}");
    assert!(answer["error"]["code"].is_string(), "the error shape: {text}");
    let (_, checkout, checkout_text) = stack.widget("GET", &format!("/v1/checkout/{id}"), &secret, None).await;
    let (_, session, session_text) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    for (what, text) in [("the pay answer", &text), ("the checkout", &checkout_text), ("the session", &session_text)] {
        assert!(!text.to_ascii_lowercase().contains("javascript:"), "{what} carries the script URL: {text}");
    }
    assert!(checkout["attempt"]["redirect_url"].is_null(), "{checkout}");
    assert_ne!(session["status"], "paid", "{session}");
    stack.sim("POST", "/sim/faults", Some(json!({}))).await;
}

/// POSTs 20 KiB with `Transfer-Encoding: chunked` and never ends the body: the answer must
/// come anyway (within 15 s), or the worker read past its cap waiting for the end.
async fn endless_chunked_post(stack: &Stack, path: &str, auth: Option<&str>) -> (u16, String) {
    let address = stack.worker_url.trim_start_matches("http://").to_owned();
    let auth = auth.map(|a| format!("Authorization: Bearer {a}\r\n")).unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{auth}\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let what = path.to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut socket = std::net::TcpStream::connect(&address).expect("the worker listens");
        socket.set_read_timeout(Some(std::time::Duration::from_secs(15))).expect("a timeout");
        socket.write_all(head.as_bytes()).expect("the request head");
        // The worker may answer, and close, before the last chunk is written.
        let chunk = [b' '; 4096];
        for _ in 0..5 {
            let mut piece = format!("{:x}\r\n", chunk.len()).into_bytes();
            piece.extend_from_slice(&chunk);
            piece.extend_from_slice(b"\r\n");
            if socket.write_all(&piece).is_err() {
                break;
            }
        }
        // The head and the short JSON body; stop at its end (the socket may stay open).
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while let Ok(n) = socket.read(&mut buffer) {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&answer);
            if text.contains("\r\n\r\n") && text.trim_end().trim_end_matches('0').trim_end().ends_with('}') {
                break;
            }
        }
        answer
    })
    .await
    .expect("the client thread");
    let text = String::from_utf8_lossy(&answer).into_owned();
    assert!(!answer.is_empty(), "no answer to a chunked oversize body to {what} within 15 s");
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    // The body may itself be chunked: keep the JSON object only.
    let json = body.find('{').and_then(|start| body.rfind('}').map(|end| body[start..=end].to_owned()));
    (status, json.unwrap_or_default())
}

/// Sends `request` (built afresh each time) until an answer is not `ok`, at most `limit`
/// times; returns how many were ok and the first other answer's status, headers and body.
async fn flood(
    limit: usize,
    ok: u16,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> (usize, u16, reqwest::header::HeaderMap, String) {
    for sent in 0..limit {
        let resp = request().send().await.expect("the worker answers");
        let status = resp.status().as_u16();
        if status != ok {
            let headers = resp.headers().clone();
            return (sent, status, headers, resp.text().await.unwrap_or_default());
        }
    }
    (limit, ok, reqwest::header::HeaderMap::new(), String::new())
}

/// As [`flood`], 25 requests at a time: a slow machine still sends hundreds within the
/// limiter's 10 s window.
async fn flood_parallel(
    limit: usize,
    ok: u16,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> (usize, u16, reqwest::header::HeaderMap, String) {
    let mut sent = 0;
    while sent < limit {
        let batch: Vec<_> = (0..25).map(|_| tokio::spawn(request().send())).collect();
        for task in batch {
            let resp = task.await.expect("the request task").expect("the worker answers");
            let status = resp.status().as_u16();
            if status != ok {
                let headers = resp.headers().clone();
                return (sent, status, headers, resp.text().await.unwrap_or_default());
            }
            sent += 1;
        }
    }
    (limit, ok, reqwest::header::HeaderMap::new(), String::new())
}

/// A 429's documented answer: `rate_limited`, and `Retry-After` in seconds.
fn assert_limited(what: &str, status: u16, headers: &reqwest::header::HeaderMap, text: &str, retry_after: &str) {
    assert_eq!(status, 429, "{what}: {text}");
    let v: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("{what}: a JSON error, got {text}"));
    assert_eq!(v["error"]["code"], "rate_limited", "{what}: {text}");
    assert_eq!(headers.get("retry-after").and_then(|h| h.to_str().ok()), Some(retry_after), "{what}: Retry-After");
    assert!(!text.contains(MERCHANT_API_KEY), "{what}: the key in the answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_crowd_out_the_others() {
    let stack = Stack::start(Options::default()).await;
    let tea = |r: &str| json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": r});
    let (id, secret) = stack.session(tea("l-1")).await;
    let (other_id, other_secret) = stack.session(tea("l-2")).await;
    let before = snapshot(&stack, &[&id, &other_id]).await;
    let status_url = |id: &str| format!("{}/v1/checkout/{id}/status", stack.worker_url);
    let get = |url: String, ip: &'static str, secret: String| {
        let http = stack.http.clone();
        move || http.get(&url).bearer_auth(&secret).header("CF-Connecting-IP", ip)
    };

    // One session's polls: past 60 in 10 s it is told to wait; the same client's other
    // session is not.
    let (ok, status, headers, text) = flood(200, 200, get(status_url(&id), "198.51.100.1", secret.clone())).await;
    assert!(ok >= 30, "a polling widget's pace and more is allowed ({ok} were)");
    assert_limited("one session flooded", status, &headers, &text, "10");
    let (status, _, text) = read(get(status_url(&other_id), "198.51.100.1", other_secret.clone())()).await;
    assert_eq!(status, 200, "another session from the same client: {text}");

    // Anyone can know a session id: a flood with a wrong secret uses up its own budget, never
    // the shopper's who holds the right one.
    let (_, status, headers, text) =
        flood(200, 401, get(status_url(&other_id), "198.51.100.2", "cs_secret_guess".into())).await;
    assert_limited("wrong secrets flooded", status, &headers, &text, "10");
    let (status, _, text) = read(get(status_url(&other_id), "198.51.100.3", other_secret.clone())()).await;
    assert_eq!(status, 200, "the shopper with the right secret: {text}");

    // One client's requests, whatever the session: past 300 in 10 s it is told to wait;
    // other clients are not.
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let (_, status, headers, text) = flood_parallel(700, 401, || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        stack
            .http
            .get(status_url(&format!("cs_nobody{n}")))
            .bearer_auth("cs_secret_nobody")
            .header("CF-Connecting-IP", "198.51.100.4")
    })
    .await;
    assert_limited("one client flooded", status, &headers, &text, "10");
    let (status, _, text) = read(get(status_url(&other_id), "198.51.100.5", other_secret.clone())()).await;
    assert_eq!(status, 200, "another client: {text}");

    // Wrong merchant keys: past 10 a minute from one client they are answered 429 at once; the
    // right key is always let through (an IP is no identity: the merchant must not be locked out).
    let session_url = format!("{}/v1/sessions/{id}", stack.worker_url);
    let merchant = |key: &'static str, ip: &'static str| {
        let (http, url) = (stack.http.clone(), session_url.clone());
        move || http.get(&url).bearer_auth(key).header("CF-Connecting-IP", ip)
    };
    let (wrong, status, headers, text) =
        flood(30, 401, merchant("sk_guess_00000000000000000000000000000", "198.51.100.6")).await;
    assert!((10..=20).contains(&wrong), "ten wrong keys a minute are answered 401 (twice if a minute began): {wrong}");
    assert_limited("wrong merchant keys", status, &headers, &text, "60");
    let (status, _, text) = read(merchant(MERCHANT_API_KEY, "198.51.100.6")()).await;
    assert_eq!(status, 200, "the right key from the same client: {text}");
    let (status, _, text) = read(merchant(MERCHANT_API_KEY, "198.51.100.7")()).await;
    assert_eq!(status, 200, "the right key from another client: {text}");

    let after = snapshot(&stack, &[&id, &other_id]).await;
    assert_eq!(before.0, after.0, "no session changed");
    assert_eq!(before.1, after.1, "nothing reached the gateway");
}

async fn read(req: reqwest::RequestBuilder) -> (u16, Value, String) {
    let (status, _, text) = read_raw(req).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

async fn read_raw(req: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = req.send().await.expect("the worker answers");
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_merchant_key_is_a_configuration_problem() {
    let short = "sk_short_key_20chars";
    assert_eq!(short.len(), 20);
    let stack =
        Stack::start(Options { extra_settings: vec![format!("MERCHANT_API_KEY={short}")], ..Options::default() }).await;
    let health = stack.http.get(format!("{}/healthz", stack.worker_url)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let text = health.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["problem"]["setting"], "MERCHANT_API_KEY", "{body}");
    let resp = stack
        .http
        .post(format!("{}/v1/sessions", stack.worker_url))
        .bearer_auth(short)
        .header("Content-Type", "application/json")
        .body(json!({"amount": 100, "currency": "HKD", "goods_name": "x", "reference": "r"}).to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let answer = resp.text().await.unwrap();
    let err: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        (status, err["error"]["code"].as_str(), err["error"]["field"].as_str()),
        (503, Some("misconfigured"), Some("MERCHANT_API_KEY")),
        "{answer}"
    );
    assert!(!text.contains(short) && !answer.contains(short), "the key's value is never shown");
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    assert_eq!(orders["orders"].as_array().map_or(0, Vec::len), 0, "nothing reached the gateway");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_keys_rotate_and_stored_answers_hold_no_secret() {
    const OLD: &str = MERCHANT_API_KEY;
    const NEW: &str = "sk_test_e2e_rotated_key_fedcba9876543210";
    let mut stack = Stack::start(Options::default()).await;
    let tea = json!({"amount": 3800, "currency": "HKD", "goods_name": "Tea", "reference": "rot-1"});
    let (http, sessions_url) = (stack.http.clone(), format!("{}/v1/sessions", stack.worker_url));
    let create = |key: &'static str, idempotency: &'static str| {
        http.post(&sessions_url)
            .bearer_auth(key)
            .header("Idempotency-Key", idempotency)
            .header("Content-Type", "application/json")
            .body(tea.to_string())
    };

    // The answer stored under an Idempotency-Key holds no secret; a replay answers the same
    // secret all the same, and it opens the session.
    let (status, first, text) = read(create(OLD, "rot-1")).await;
    assert_eq!(status, 201, "{text}");
    let (id, secret) = (first["id"].as_str().unwrap().to_owned(), first["client_secret"].as_str().unwrap().to_owned());
    let (status, replay, text) = read(create(OLD, "rot-1")).await;
    assert_eq!((status, &replay), (201, &first), "a replay is the first answer, secret included: {text}");
    let (status, _, text) = stack.widget("GET", &format!("/v1/checkout/{id}"), &secret, None).await;
    assert_eq!(status, 200, "the secret opens its session: {text}");
    let stored = stack.d1("SELECT scope, key, response FROM idempotency");
    assert!(!stored.is_empty(), "the answer was stored");
    for row in &stored {
        let response = row["response"].as_str().unwrap_or_default();
        assert!(
            !response.contains("cs_secret_") && !response.contains(&secret),
            "a stored answer holds a secret: {row}"
        );
    }

    // Rotation: the new key goes in MERCHANT_API_KEY_NEXT and both open the API.
    stack.reconfigure(&[&format!("MERCHANT_API_KEY_NEXT={NEW}")]).await;
    for key in [OLD, NEW] {
        let (status, _, text) = stack.merchant_with(key, "GET", &format!("/v1/sessions/{id}")).await;
        assert_eq!(status, 200, "during the rotation: {text}");
    }
    let (status, replay, text) = read(create(NEW, "rot-1")).await;
    assert_eq!((status, &replay["client_secret"]), (201, &first["client_secret"]), "{text}");

    // Rotation finished: the new key alone. The old one is refused; a replay of a creation
    // made under the old key cannot give its secret again, and says so.
    stack.reconfigure(&[&format!("MERCHANT_API_KEY={NEW}"), "MERCHANT_API_KEY_NEXT="]).await;
    let (status, err, text) = stack.merchant_with(OLD, "GET", &format!("/v1/sessions/{id}")).await;
    assert_eq!((status, err["error"]["code"].as_str()), (401, Some("unauthorized")), "{text}");
    let (status, _, text) = stack.merchant_with(NEW, "GET", &format!("/v1/sessions/{id}")).await;
    assert_eq!(status, 200, "{text}");
    let (status, replay, text) = read(create(NEW, "rot-1")).await;
    assert_eq!((status, replay["id"].as_str()), (201, Some(id.as_str())), "{text}");
    assert!(replay.get("client_secret").is_none() && replay["client_secret_note"].is_string(), "{text}");
    let (status, fresh, text) = read(create(NEW, "rot-2")).await;
    assert_eq!(status, 201, "{text}");
    let fresh_secret = fresh["client_secret"].as_str().unwrap();
    let fresh_id = fresh["id"].as_str().unwrap();
    let (status, _, text) = stack.widget("GET", &format!("/v1/checkout/{fresh_id}"), fresh_secret, None).await;
    assert_eq!(status, 200, "a session made under the new key opens with its secret: {text}");
    let log = stack.worker_log();
    assert!(!log.contains(OLD) && !log.contains(NEW), "a merchant key in the worker's log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_route_is_off_without_demo_shop() {
    let stack = Stack::start(Options { omit_setting: Some("DEMO_SHOP"), ..Options::default() }).await;
    let resp = stack.http.post(format!("{}/demo/sessions", stack.worker_url)).send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_eq!((status, v["error"]["code"].as_str()), (404, Some("not_found")), "{text}");
    let (status, events, _) = stack.merchant("GET", "/v1/events", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(events["data"].as_array().map_or(0, Vec::len), 0, "no session was made: {events}");
    let (_, orders) = stack.sim("GET", "/sim/orders", None).await;
    assert_eq!(orders["orders"].as_array().map_or(0, Vec::len), 0, "nothing reached the gateway");
}
