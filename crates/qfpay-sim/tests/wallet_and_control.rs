//! The wallet page, the control API, rate limits and faults.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use qfpay::PaymentRequest;
use serde_json::json;

#[tokio::test]
async fn wallet_page_shows_the_order_and_pays_by_form_or_json() {
    let app = demo();
    let a = call(&app, &demo_credentials(), &mpm("W1")).await;
    let path = wallet_path(a["qrcode"].as_str().unwrap());
    let (status, body, _) = send(&app, Request::get(&path).body(Body::empty()).unwrap()).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status.as_u16(), 200);
    assert!(html.contains("HKD 15.00") && html.contains("港式奶茶 x2") && html.contains("WeChat Pay"), "{html}");
    assert!(html.contains(&format!("action=\"{path}/pay\"")) && html.contains(&format!("action=\"{path}/decline\"")));
    let (status, body, _) = send(&app, Request::post(format!("{path}/pay")).body(Body::empty()).unwrap()).await;
    assert_eq!(status.as_u16(), 200);
    assert!(String::from_utf8(body).unwrap().contains("Payment paid"));
    let (status, again) = json(
        &app,
        Request::post(format!("{path}/pay")).header("Accept", "application/json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), again["ok"].as_bool()), (409, Some(false)), "paying twice is refused: {again}");
}

#[tokio::test]
async fn decline_fails_the_order() {
    let app = demo();
    let a = call(&app, &demo_credentials(), &mpm("D1")).await;
    let path = wallet_path(a["qrcode"].as_str().unwrap());
    let (status, d) = json(
        &app,
        Request::post(format!("{path}/decline")).header("Accept", "application/json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), d["status"].as_str(), d["respcd"].as_str()), (200, Some("declined"), Some("1201")));
    let row = call(&app, &demo_credentials(), &query("D1")).await;
    assert_eq!(
        qfpay::QueryAnswer::parse(row.to_string().as_bytes()).unwrap().rows[0].status(),
        qfpay::PaymentStatus::Failed
    );
}

#[tokio::test]
async fn wap_payment_returns_the_browser_to_the_shop() {
    let app = demo();
    let wap = PaymentRequest {
        pay_type: "801512".into(),
        return_url: Some("https://shop.example/thanks?order=W2".into()),
        ..mpm("W2")
    };
    let a = call(&app, &demo_credentials(), &wap).await;
    assert!(a.get("qrcode").is_none());
    let path = wallet_path(a["pay_url"].as_str().unwrap());
    let (status, _, headers) = send(&app, Request::post(format!("{path}/pay")).body(Body::empty()).unwrap()).await;
    assert_eq!(status.as_u16(), 303);
    assert_eq!(headers["location"], "https://shop.example/thanks?order=W2");
}

#[tokio::test]
async fn control_api_lists_the_ledger_and_counts_calls() {
    let app = demo();
    call(&app, &demo_credentials(), &mpm("L1")).await;
    call(&app, &demo_credentials(), &query("L1")).await;
    control(&app, "POST", "/sim/orders/L1/pay", None).await;
    let (_, orders) = control(&app, "GET", "/sim/orders", None).await;
    let order = &orders["orders"][0];
    assert_eq!(
        (order["out_trade_no"].as_str(), order["state"].as_str(), order["txamt"].as_u64()),
        (Some("L1"), Some("paid"), Some(1500))
    );
    let (_, stats) = control(&app, "GET", "/sim/stats", None).await;
    assert_eq!(stats["calls_by_path"]["/trade/v1/payment"], 1);
    assert_eq!(stats["calls_by_path"]["/trade/v1/query"], 1);
    assert_eq!(stats["calls_total"], 2);
    let (status, _) = control(&app, "POST", "/sim/orders/NOPE/pay", None).await;
    assert_eq!(status.as_u16(), 404);
    let (status, err) = control(&app, "POST", "/sim/clock/advance", Some(json!({"seconds": -5}))).await;
    assert_eq!(status.as_u16(), 400, "{err}");
}

#[tokio::test]
async fn rate_limit_answers_429_past_100_a_second() {
    let app = demo();
    let creds = demo_credentials();
    let mut limited = 0;
    for i in 0..120 {
        let signed = qfpay::GatewayRequest::sign(&query(&format!("Q{i}")), &creds).unwrap();
        let mut req = Request::post(signed.path);
        for (n, v) in &signed.headers {
            req = req.header(*n, v);
        }
        let (status, _, _) = send(&app, req.body(Body::from(signed.body)).unwrap()).await;
        limited += usize::from(status.as_u16() == 429);
    }
    assert!(limited >= 20, "120 calls at once: at least 20 over the limit, got {limited}");
    let (_, stats) = control(&app, "GET", "/sim/stats", None).await;
    assert_eq!(stats["rate_limited"].as_u64(), Some(limited as u64));
}

#[tokio::test]
async fn faults_set_at_run_time() {
    let app = demo();
    let (status, _) = control(&app, "POST", "/sim/faults", Some(json!({"5xx": 1.0}))).await;
    assert_eq!(status.as_u16(), 200);
    let (status, body, _) = send(&app, {
        let signed = qfpay::GatewayRequest::sign(&mpm("F1"), &demo_credentials()).unwrap();
        let mut req = Request::post(signed.path);
        for (n, v) in &signed.headers {
            req = req.header(*n, v);
        }
        req.body(Body::from(signed.body)).unwrap()
    })
    .await;
    assert_eq!(status.as_u16(), 503, "{}", String::from_utf8_lossy(&body));
    control(&app, "POST", "/sim/faults", Some(json!({"transient": 1.0}))).await;
    let a = call(&app, &demo_credentials(), &mpm("F1")).await;
    assert_eq!(qfpay::RespCode::new(a["respcd"].as_str().unwrap()).class(), qfpay::RespClass::TransientRetry, "{a}");
    control(&app, "POST", "/sim/faults", Some(json!({}))).await;
    assert_eq!(
        call(&app, &demo_credentials(), &mpm("F1")).await["respcd"],
        "0000",
        "a transient fault created nothing"
    );
    let (status, _) = control(&app, "POST", "/sim/faults", Some(json!({"5xx": 3}))).await;
    assert_eq!(status.as_u16(), 400);
    let (status, _) = control(&app, "POST", "/sim/faults", Some(json!({"gremlins": 1}))).await;
    assert_eq!(status.as_u16(), 400);
}

#[tokio::test]
async fn pending_fault_keeps_a_paid_order_processing() {
    let app = demo();
    control(&app, "POST", "/sim/faults", Some(json!({"pending": 20}))).await;
    call(&app, &demo_credentials(), &mpm("S1")).await;
    control(&app, "POST", "/sim/orders/S1/pay", None).await;
    assert_eq!(row_of(&call(&app, &demo_credentials(), &query("S1")).await)["respcd"], "1145");
    control(&app, "POST", "/sim/clock/advance", Some(json!({"seconds": 21}))).await;
    assert_eq!(row_of(&call(&app, &demo_credentials(), &query("S1")).await)["respcd"], "0000");
}

/// A request as it arrives from `peer` over a socket (`serve` records the peer's address).
fn from_peer(mut req: Request<Body>, peer: &str) -> Request<Body> {
    let addr: std::net::SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    req
}

#[tokio::test]
async fn control_api_answers_this_machine_only() {
    let app = demo();
    let a = call(&app, &demo_credentials(), &mpm("L1")).await;
    let wallet = wallet_path(a["qrcode"].as_str().unwrap());
    let get = |path: &str, host: &str| Request::get(path).header("Host", host).body(Body::empty()).unwrap();
    // From loopback, by a loopback name: the control API answers.
    for host in ["127.0.0.1:8788", "localhost:8788", "[::1]:8788", "localhost"] {
        let (status, _, _) = send(&app, from_peer(get("/sim/orders", host), "127.0.0.1:50000")).await;
        assert_eq!(status.as_u16(), 200, "{host}");
    }
    // From the network, or by another name (a web page's DNS rebinding): refused, whatever
    // the control path; the wallet page still opens for a phone on the network.
    let refused = [
        (get("/sim/orders", "192.168.1.5:8788"), "192.168.1.7:50000"),
        (get("/sim/orders", "127.0.0.1:8788"), "192.168.1.7:50000"),
        (get("/sim/orders", "evil.example:8788"), "127.0.0.1:50000"),
        (get("/sim/orders", "127.0.0.1.evil.example"), "127.0.0.1:50000"),
        (get("/sim/stats", "evil.example"), "127.0.0.1:50000"),
        (get("/sim/faults", "evil.example"), "127.0.0.1:50000"),
    ];
    for (req, peer) in refused {
        let what = format!("{} {:?} from {peer}", req.uri(), req.headers().get("Host"));
        let (status, body, _) = send(&app, from_peer(req, peer)).await;
        assert_eq!(status.as_u16(), 403, "{what}: {}", String::from_utf8_lossy(&body));
    }
    let pay = Request::post("/sim/orders/L1/pay").header("Host", "evil.example").body(Body::empty()).unwrap();
    let (status, _, _) = send(&app, from_peer(pay, "127.0.0.1:50000")).await;
    assert_eq!(status.as_u16(), 403, "paying by order number is control too");
    let (status, _, _) = send(&app, from_peer(get(&wallet, "192.168.1.5:8788"), "192.168.1.7:50000")).await;
    assert_eq!(status.as_u16(), 200, "the wallet page answers the network");
    let (status, orders) = json(&app, Request::get("/sim/orders").body(Body::empty()).unwrap()).await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(orders["orders"][0]["state"], "created", "nothing was paid: {orders}");
}

#[tokio::test]
async fn wallet_tokens_do_not_follow_the_seed() {
    // Two simulators with the same seed roll the same fault dice, but their wallet tokens
    // come from the operating system's CSPRNG: 32 hex digits, never repeated.
    let mut tokens = std::collections::HashSet::new();
    for _ in 0..2 {
        let app = demo();
        for n in 0..3 {
            let a = call(&app, &demo_credentials(), &mpm(&format!("T{n}"))).await;
            let token = a["qrcode"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
            assert!(token.len() == 32 && token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
            assert!(tokens.insert(token), "a token repeated");
        }
    }
}

#[tokio::test]
async fn bad_pay_url_fault_answers_a_javascript_url() {
    let app = demo();
    let (status, _) = json(
        &app,
        Request::post("/sim/faults")
            .header("Content-Type", "application/json")
            .body(Body::from(json!({"bad_pay_url": true}).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(status.as_u16(), 200);
    let wap = PaymentRequest { pay_type: "801512".into(), ..mpm("J1") };
    let a = call(&app, &demo_credentials(), &wap).await;
    assert!(a["pay_url"].as_str().unwrap().starts_with("javascript:"), "{a}");
    let qr = call(&app, &demo_credentials(), &mpm("J2")).await;
    assert!(qr["qrcode"].as_str().unwrap().starts_with("http://sim.test/sim/wallet/"), "QR codes are unchanged: {qr}");
}

#[tokio::test]
async fn served_on_a_socket_the_control_api_checks_the_host() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(qfpay_sim::serve(listener, config(vec![qfpay_sim::Merchant::demo()]), async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let ok = http.get(format!("{base}/sim/orders")).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let rebound = http.get(format!("{base}/sim/orders")).header("Host", "rebind.evil.example").send().await.unwrap();
    assert_eq!(rebound.status().as_u16(), 403);
    let _ = stop.send(());
}
