//! The API as a contract (`GET /openapi.json`): the document is valid OpenAPI 3.1 by a real
//! validator, a TypeScript client generated from it typechecks a merchant's code, the worker's
//! router serves exactly the documented routes, and every documented endpoint, called under
//! `wrangler dev` against the simulator, answers a documented status with a body that matches
//! that status's schema (objects checked strictly: a field the document lacks fails too).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::receiver::Receiver;
use e2e::{root, Options, Stack, CLIENT_KEY};
use serde_json::{json, Value};

fn js_dir() -> PathBuf {
    let dir = root().join("tests/js");
    assert!(dir.join("node_modules").exists(), "tests/js has no node_modules: run `npm ci` there (cargo xtask setup)");
    dir
}

/// Runs a Node tool from tests/js with the Node `cargo xtask setup` chose first on PATH (the
/// harness's own lookup: the user's Node when new enough, else the project's); answers
/// (success, output).
fn node(args: &[&str], cwd: &std::path::Path) -> (bool, String) {
    let out = Command::new("node")
        .args(args)
        .current_dir(cwd)
        .env("PATH", e2e::path_with_node())
        .output()
        .expect("node runs (Node 22.12 or newer on PATH, or `cargo xtask setup`)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qfpay-openapi-{name}-{}-{}", std::process::id(), e2e::free_port()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

fn generated() -> Value {
    checkout_api::openapi::document()
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let dir = temp_dir("validate");
    let file = dir.join("openapi.json");
    std::fs::write(&file, checkout_api::openapi::document_text()).unwrap();
    let script = js_dir().join("validate-openapi.mjs");
    let (ok, out) = node(&[script.to_str().unwrap(), file.to_str().unwrap()], &js_dir());
    assert!(ok, "the OpenAPI validator refused the document:\n{out}");
    assert!(out.contains(r#""valid":true"#) && out.contains(r#""version":"3.1""#), "{out}");
    // The validator can fail: a parameter `in` the body (OpenAPI 2's way) is refused.
    let mut broken = generated();
    broken["paths"]["/v1/sessions"]["get"]["parameters"][0]["in"] = json!("body");
    std::fs::write(&file, broken.to_string()).unwrap();
    let (ok, out) = node(&[script.to_str().unwrap(), file.to_str().unwrap()], &js_dir());
    assert!(!ok, "a broken document passed: {out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_generated_typescript_client_typechecks_a_merchants_code() {
    let dir = temp_dir("ts");
    let spec = dir.join("openapi.json");
    std::fs::write(&spec, checkout_api::openapi::document_text()).unwrap();
    let js = js_dir();
    let generator = js.join("node_modules/openapi-typescript/bin/cli.js");
    let (ok, out) =
        node(&[generator.to_str().unwrap(), spec.to_str().unwrap(), "-o", dir.join("api.d.ts").to_str().unwrap()], &js);
    assert!(ok, "openapi-typescript failed:\n{out}");
    std::fs::copy(js.join("openapi-consumer.ts"), dir.join("consumer.ts")).unwrap();
    let tsc = js.join("node_modules/typescript/bin/tsc");
    let args = ["--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext"];
    let run = |files: &[&str]| {
        let mut all: Vec<&str> = vec![tsc.to_str().unwrap()];
        all.extend(args);
        all.extend(files);
        node(&all, &dir)
    };
    let (ok, out) = run(&["consumer.ts", "api.d.ts"]);
    assert!(ok, "tsc refused the consumer of the generated client:\n{out}");
    // The check can fail: code using a field the API does not have is refused.
    std::fs::write(
        dir.join("wrong.ts"),
        "import type { components } from \"./api\";\nexport const f = (s: components[\"schemas\"][\"SessionView\"]) => s.total;\n",
    )
    .unwrap();
    let (ok, out) = run(&["wrong.ts", "api.d.ts"]);
    assert!(!ok && out.contains("total"), "tsc accepted a field the API lacks: {out}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The routes `worker/src/lib.rs` matches, as (method, path template): the `(Method::X, [..])`
/// arms of its router and the `segments == [..]` routes answered before it.
fn router_routes() -> BTreeSet<(String, String)> {
    let source = std::fs::read_to_string(root().join("worker/src/lib.rs")).expect("worker/src/lib.rs");
    let mut out = BTreeSet::new();
    for line in source.lines().map(str::trim) {
        let (method, rest) = if let Some(rest) = line.strip_prefix("(Method::") {
            let (method, rest) = rest.split_once(',').expect("a router arm");
            (method.to_ascii_uppercase(), rest)
        } else if let Some(rest) = line.strip_prefix("if segments == ") {
            // Answered before the router: GET (the line says so when it checks the method).
            ("GET".to_owned(), rest)
        } else {
            continue;
        };
        let Some(list) = rest.split_once('[').and_then(|(_, r)| r.split_once(']')).map(|(l, _)| l) else { continue };
        let segments: Vec<String> = list
            .split(',')
            .map(str::trim)
            .map(|s| s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).map_or("{id}".to_owned(), str::to_owned))
            .collect();
        out.insert((method, format!("/{}", segments.join("/"))));
    }
    out
}

#[test]
fn the_router_serves_exactly_the_documented_routes() {
    let mut served = router_routes();
    assert!(served.len() >= 15, "the router's routes were found: {served:?}");
    // The demo shop's route exists only with DEMO_SHOP=true under QFPAY_ENV=local: not API.
    assert!(served.remove(&("POST".to_owned(), "/demo/sessions".to_owned())), "{served:?}");
    let doc = generated();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served but not documented: {missing:?}; documented but not served: {extra:?}"
    );
}

/// Every time in `body` (a field named `*_at`, `created` or `at`, and `oldest`'s) that is not
/// Unix seconds within a day of now, as `path: value`. A time in milliseconds is 1000 times too
/// large, so it is always among them.
fn times_not_in_seconds(body: &Value) -> Vec<String> {
    fn walk(value: &Value, path: &str, now: u64, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    let here = format!("{path}.{key}");
                    let is_time = key.ends_with("_at") || key == "created" || key == "at" || path.ends_with(".oldest");
                    match item {
                        Value::Null => {}
                        _ if is_time && item.as_u64().is_none_or(|t| t.abs_diff(now) > 86_400) => {
                            out.push(format!("{here}: {item}"));
                        }
                        _ => walk(item, &here, now, out),
                    }
                }
            }
            Value::Array(items) => {
                items.iter().enumerate().for_each(|(i, v)| walk(v, &format!("{path}[{i}]"), now, out))
            }
            _ => {}
        }
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let mut out = Vec::new();
    walk(body, "", now, &mut out);
    out
}

#[test]
fn a_time_in_milliseconds_is_caught() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let (s, ms) = (now.as_secs(), now.as_millis() as u64);
    let good =
        json!({"created_at": s, "paid_at": null, "attempts": [{"expires_at": s + 1800}], "oldest": {"event": s}});
    assert_eq!(times_not_in_seconds(&good), Vec::<String>::new());
    let bad = json!({"data": [{"created": s, "tries": [{"at": ms, "latency_ms": 3}]}], "oldest": {"session": ms}});
    assert_eq!(times_not_in_seconds(&bad), [format!(".data[0].tries[0].at: {ms}"), format!(".oldest.session: {ms}")]);
}

/// Checks answers against the document and records which operations were called.
struct Contract {
    doc: Value,
    /// The component schemas, with objects closed to undocumented fields.
    strict: Value,
    called: BTreeSet<(String, String, u16)>,
}

impl Contract {
    fn new(doc: Value) -> Contract {
        let mut strict = doc["components"]["schemas"].clone();
        for schema in strict.as_object_mut().unwrap().values_mut() {
            if schema.get("properties").is_some() && schema.get("additionalProperties").is_none() {
                schema["unevaluatedProperties"] = json!(false);
            }
        }
        Contract { doc, strict, called: BTreeSet::new() }
    }

    /// Fails unless `status` is documented for the operation and `body` matches its schema.
    fn check(&mut self, method: &str, template: &str, status: u16, body: &Value, raw: &str) {
        let op = &self.doc["paths"][template][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let answer = &op["responses"][status.to_string()];
        assert!(answer.is_object(), "{method} {template} answered {status}, which it does not document: {raw}");
        let content = answer["content"].as_object().expect("documented content");
        if let Some(json_answer) = content.get("application/json") {
            assert!(!body.is_null(), "{method} {template} {status}: not JSON: {raw}");
            let schema = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": {"schemas": self.strict},
                "allOf": [json_answer["schema"]]
            });
            let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
            let errors: Vec<String> =
                validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
            assert!(errors.is_empty(), "{method} {template} {status}: the body breaks its schema: {errors:?}\n{body}");
            // The document itself names time fields as schemas, not as times.
            let wrong = if template == "/openapi.json" { Vec::new() } else { times_not_in_seconds(body) };
            assert!(wrong.is_empty(), "{method} {template} {status}: times not in Unix seconds: {wrong:?}\n{body}");
            if let Some(codes) = answer["x-error-codes"].as_array() {
                let code = &body["error"]["code"];
                assert!(codes.contains(code), "{method} {template} {status}: {code} is not documented there");
            }
        } else {
            assert!(content.contains_key("text/plain") && !raw.is_empty(), "{method} {template} {status}: {raw}");
        }
        self.called.insert((method.to_owned(), template.to_owned(), status));
    }

    fn operations(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        out
    }
}

#[test]
fn the_answer_check_can_fail() {
    let refused = |method: &'static str, template: &'static str, status: u16, body: Value| {
        let result = std::panic::catch_unwind(move || {
            Contract::new(generated()).check(method, template, status, &body, "(test)");
        });
        assert!(result.is_err(), "{method} {template} {status} passed: the check cannot fail");
    };
    let list = json!({"data": [], "has_more": false});
    Contract::new(generated()).check("GET", "/v1/sessions", 200, &list, "(test)");
    refused("GET", "/v1/sessions", 200, json!({"data": [], "has_more": false, "next": "x"}));
    refused("GET", "/v1/sessions", 200, json!({"data": [{"id": "cs_1"}], "has_more": false}));
    refused("GET", "/v1/sessions", 418, list.clone());
    refused("GET", "/v1/sessions", 400, json!({"error": {"code": "no_such_code", "message": "m"}}));
    // A documented code under another endpoint's status list is refused too.
    refused("GET", "/v1/sessions", 409, json!({"error": {"code": "already_paid", "message": "m"}}));
}

fn tea(reference: &str) -> Value {
    json!({"amount": 3800, "currency": "HKD", "goods_name": "Milk tea set", "reference": reference})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_endpoint_answers_as_documented() {
    let receiver = Receiver::start().await;
    let stack = Stack::start(Options { webhook_url: Some(receiver.url.clone()), ..Options::default() }).await;
    let mut c = Contract::new(generated());
    let stack = &stack;
    let get = |path: &'static str| async move {
        let resp = stack.http.get(format!("{}{path}", stack.worker_url)).send().await.expect("an answer");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        (status, headers, text)
    };

    // The service routes, the document itself first: it is what the contract is generated as.
    let (status, headers, text) = get("/openapi.json").await;
    let served: Value = serde_json::from_str(&text).expect("the document is JSON");
    assert_eq!(served, generated(), "the worker serves the document the contract's types generate");
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/json"));
    assert!(headers["cache-control"].to_str().unwrap().contains("max-age"), "{headers:?}");
    assert_eq!(headers["access-control-allow-origin"], "*");
    c.check("GET", "/openapi.json", status, &served, &text);
    let (status, _, text) = get("/healthz").await;
    c.check("GET", "/healthz", status, &serde_json::from_str(&text).unwrap_or(Value::Null), &text);

    // Sessions: create (and a 400, a 401), read (and a 404), list (and a 400).
    let (status, created, text) = stack.merchant("POST", "/v1/sessions", Some(tea("contract-1")), Some("c-1")).await;
    c.check("POST", "/v1/sessions", status, &created, &text);
    assert_eq!(status, 201, "{text}");
    let (id, secret) =
        (created["id"].as_str().unwrap().to_owned(), created["client_secret"].as_str().unwrap().to_owned());
    let (status, bad, text) = stack
        .merchant(
            "POST",
            "/v1/sessions",
            Some(json!({"amount": 0, "currency": "HKD", "goods_name": "x", "reference": "r"})),
            None,
        )
        .await;
    assert_eq!(status, 400, "{text}");
    c.check("POST", "/v1/sessions", status, &bad, &text);
    let (status, denied, text) = stack.merchant_with("sk_wrong_key_for_the_contract_test", "GET", "/v1/sessions").await;
    assert_eq!(status, 401, "{text}");
    c.check("GET", "/v1/sessions", status, &denied, &text);
    let (status, session, text) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    c.check("GET", "/v1/sessions/{id}", status, &session, &text);
    let (status, missing, text) = stack.merchant("GET", "/v1/sessions/cs_no_such_session", None, None).await;
    assert_eq!(status, 404, "{text}");
    c.check("GET", "/v1/sessions/{id}", status, &missing, &text);
    let (status, list, text) = stack.merchant("GET", "/v1/sessions?reference=contract-1", None, None).await;
    assert_eq!((status, list["data"][0]["id"].as_str()), (200, Some(id.as_str())), "{text}");
    c.check("GET", "/v1/sessions", status, &list, &text);
    let (status, bad, text) = stack.merchant("GET", "/v1/sessions?status=done", None, None).await;
    assert_eq!(status, 400, "{text}");
    c.check("GET", "/v1/sessions", status, &bad, &text);

    // The widget: checkout (and a 401), pay, status; the shopper pays at the simulator.
    let (status, checkout, text) = stack.widget("GET", &format!("/v1/checkout/{id}"), &secret, None).await;
    c.check("GET", "/v1/checkout/{id}", status, &checkout, &text);
    let (status, denied, text) = stack.widget("GET", &format!("/v1/checkout/{id}"), "cs_secret_wrong", None).await;
    assert_eq!(status, 401, "{text}");
    c.check("GET", "/v1/checkout/{id}", status, &denied, &text);
    let (status, paying, text) =
        stack.widget("POST", &format!("/v1/checkout/{id}/pay"), &secret, Some(json!({"pay_type": "800201"}))).await;
    assert_eq!(status, 201, "{text}");
    c.check("POST", "/v1/checkout/{id}/pay", status, &paying, &text);
    let qrcode = paying["qrcode"].as_str().expect("an MPM answer has a qrcode");
    let wallet = stack.http.post(format!("{qrcode}/pay")).header("Accept", "application/json").send().await.unwrap();
    assert_eq!(wallet.status().as_u16(), 200);
    let paid = stack.wait_status(&id, &secret, Duration::from_secs(30), |v| v["status"] == "paid").await;
    assert_eq!(paid["status"], "paid", "{paid}");
    let (status, view, text) = stack.widget("GET", &format!("/v1/checkout/{id}/status"), &secret, None).await;
    c.check("GET", "/v1/checkout/{id}/status", status, &view, &text);
    let (status, again, text) =
        stack.widget("POST", &format!("/v1/checkout/{id}/pay"), &secret, Some(json!({"pay_type": "800201"}))).await;
    assert_eq!(status, 409, "{text}");
    c.check("POST", "/v1/checkout/{id}/pay", status, &again, &text);

    // The gateway's notification, replayed as QFPay signs it (a repeat changes nothing).
    let (_, session, text) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
    c.check("GET", "/v1/sessions/{id}", 200, &session, &text);
    let attempt = &session["attempts"][0];
    let note = json!({"notify_type": "payment", "status": "1", "syssn": attempt["syssn"], "out_trade_no": attempt["out_trade_no"],
                      "txamt": "3800", "txcurrcd": "HKD", "respcd": qfpay::RespCode::SUCCESS})
    .to_string();
    let signature = qfpay::sign::sign_notification(note.as_bytes(), &qfpay::ClientKey::new(CLIENT_KEY));
    for sig in [signature.as_str(), "0000"] {
        let resp = stack
            .http
            .post(format!("{}/v1/qfpay/notify", stack.worker_url))
            .header("X-QF-SIGN", sig)
            .body(note.clone())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        c.check("POST", "/v1/qfpay/notify", status, &serde_json::from_str(&text).unwrap_or(Value::Null), &text);
    }

    // Refunds: one that succeeds, one on an unpaid session.
    let (status, refund, text) =
        stack.merchant("POST", &format!("/v1/sessions/{id}/refunds"), Some(json!({"amount": 800})), Some("c-r1")).await;
    assert_eq!(status, 201, "{text}");
    c.check("POST", "/v1/sessions/{id}/refunds", status, &refund, &text);
    let (other, _) = stack.session(tea("contract-2")).await;
    let (status, unpaid, text) =
        stack.merchant("POST", &format!("/v1/sessions/{other}/refunds"), Some(json!({"amount": 800})), None).await;
    assert_eq!(status, 409, "{text}");
    c.check("POST", "/v1/sessions/{id}/refunds", status, &unpaid, &text);
    // Resolving: only an unresolved refund can be (tests/refund_ends.rs resolves one).
    let refund_id = refund["id"].as_str().expect("a refund id");
    let (status, final_already, text) = stack
        .merchant("POST", &format!("/v1/refunds/{refund_id}/resolve"), Some(json!({"status": "failed"})), None)
        .await;
    assert_eq!((status, final_already["error"]["code"].as_str()), (409, Some("refund_not_unresolved")), "{text}");
    c.check("POST", "/v1/refunds/{id}/resolve", status, &final_already, &text);

    // Close: an open session, then a paid one (refused).
    let (status, closed, text) = stack.merchant("POST", &format!("/v1/sessions/{other}/close"), None, None).await;
    assert!(status == 200 || status == 202, "{text}");
    c.check("POST", "/v1/sessions/{id}/close", status, &closed, &text);
    let (status, refused, text) = stack.merchant("POST", &format!("/v1/sessions/{id}/close"), None, None).await;
    assert_eq!(status, 409, "{text}");
    c.check("POST", "/v1/sessions/{id}/close", status, &refused, &text);

    // The till: a scanned wallet code charged (the simulator pays this code at once).
    let (till, _) = stack.session(tea("contract-3")).await;
    let charge = json!({"auth_code": "134567890120000", "pay_type": "800208"});
    let (status, charged, text) =
        stack.merchant("POST", &format!("/v1/sessions/{till}/charge"), Some(charge), None).await;
    assert_eq!(status, 200, "{text}");
    c.check("POST", "/v1/sessions/{id}/charge", status, &charged, &text);

    // Notifications for orders the worker never made: none here, an empty list.
    let (status, unmatched, text) = stack.merchant("GET", "/v1/notifications", None, None).await;
    assert_eq!(status, 200, "{text}");
    c.check("GET", "/v1/notifications", status, &unmatched, &text);
    let (status, health, text) = stack.merchant("GET", "/v1/health", None, None).await;
    assert_eq!(status, 200, "{text}");
    c.check("GET", "/v1/health", status, &health, &text);

    // Events: the feed, one event, a resend, and a 404.
    let (status, feed, text) = stack.merchant("GET", "/v1/events", None, None).await;
    c.check("GET", "/v1/events", status, &feed, &text);
    let event_id = feed["data"][0]["id"].as_str().expect("the payment made an event").to_owned();
    let (status, newest, text) = stack.merchant("GET", "/v1/events?latest=true&limit=1", None, None).await;
    c.check("GET", "/v1/events", status, &newest, &text);
    let last = feed["data"].as_array().and_then(|d| d.last()).map(|e| e["id"].clone());
    assert_eq!(newest["data"][0]["id"].clone(), last.unwrap(), "latest=true&limit=1 is the newest: {text}");
    let (status, both, text) =
        stack.merchant("GET", &format!("/v1/events?after={event_id}&latest=true"), None, None).await;
    assert_eq!((status, both["error"]["field"].as_str()), (400, Some("latest")), "{text}");
    c.check("GET", "/v1/events", status, &both, &text);
    let (status, event, text) = stack.merchant("GET", &format!("/v1/events/{event_id}"), None, None).await;
    c.check("GET", "/v1/events/{id}", status, &event, &text);
    let (status, resent, text) = stack.merchant("POST", &format!("/v1/events/{event_id}/resend"), None, None).await;
    assert_eq!(status, 200, "{text}");
    c.check("POST", "/v1/events/{id}/resend", status, &resent, &text);
    let (status, missing, text) = stack.merchant("GET", "/v1/events/evt_no_such_event", None, None).await;
    assert_eq!(status, 404, "{text}");
    c.check("GET", "/v1/events/{id}", status, &missing, &text);

    // A webhook the receiver got is an event the document describes under `webhooks`.
    let hook = receiver.wait_for(Duration::from_secs(20), |_| true).await.expect("a webhook arrived");
    let body = hook.body;
    let kind = body["type"].as_str().expect("a type").to_owned();
    let webhook = c.doc["webhooks"][&kind]["post"]["requestBody"]["content"]["application/json"]["schema"].clone();
    assert!(webhook.is_object(), "{kind} is not a documented webhook");
    let schema = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "components": {"schemas": c.strict}, "allOf": [webhook]});
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&body), "the {kind} webhook breaks its schema: {body}");
    assert_eq!(times_not_in_seconds(&body), Vec::<String>::new(), "the {kind} webhook's times are Unix seconds");

    // Every documented operation was called; the error answers were among them.
    let called: BTreeSet<(String, String)> = c.called.iter().map(|(m, p, _)| (m.clone(), p.clone())).collect();
    let uncalled: Vec<_> = c.operations().difference(&called).cloned().collect();
    assert!(uncalled.is_empty(), "documented but never called: {uncalled:?}");
    let statuses: BTreeSet<u16> = c.called.iter().map(|(_, _, s)| *s).collect();
    for s in [400, 401, 404, 409] {
        assert!(statuses.contains(&s), "no {s} answer was checked: {statuses:?}");
    }
}
