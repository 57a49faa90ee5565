//! `qfpay-sim-load`: how many signed `/trade/v1/query` calls per second the simulator answers
//! on loopback. Starts the simulator in-process on 127.0.0.1 (rate limits off: they would cap
//! it at 100/s by design), creates some orders, then runs a bounded number of concurrent
//! clients for a bounded time and prints the throughput and latency percentiles.
//!
//! `cargo run --release -p qfpay-sim --bin qfpay-sim-load -- [--seconds 5] [--concurrency 32]`

use std::time::{Duration, Instant};

use qfpay::{GatewayRequest, QueryRequest};
use qfpay_sim::{Merchant, SimConfig};

fn arg(name: &str, default: u64, max: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    let value = args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok());
    value.unwrap_or(default).clamp(1, max)
}

#[tokio::main]
async fn main() {
    let seconds = arg("--seconds", 5, 60);
    let concurrency = arg("--concurrency", 32, 256) as usize;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let mut config = SimConfig::new(vec![Merchant::demo()], 1_698_804_000);
    config.rate_limit = false;
    config.public_url = base.clone();
    tokio::spawn(qfpay_sim::serve(listener, config, std::future::pending()));
    let creds =
        qfpay::Credentials { appcode: "DEMOAPPCODE".into(), key: qfpay::ClientKey::new("DEMOKEY"), mchid: None };
    let client = reqwest::Client::new();
    for i in 0..100 {
        let pay = qfpay::PaymentRequest {
            txamt: 1500,
            txcurrcd: "HKD".into(),
            pay_type: "800201".into(),
            out_trade_no: format!("LOAD-{i}"),
            txdtm: "2023-11-01 10:00:00".into(),
            ..Default::default()
        };
        send(&client, &base, &pay.sign(&creds).expect("valid")).await;
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (client, base, creds) = (client.clone(), base.clone(), creds.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker;
            while Instant::now() < deadline {
                let q = QueryRequest { out_trade_no: vec![format!("LOAD-{}", i % 100)], ..Default::default() };
                let signed = q.sign(&creds).expect("valid");
                let started = Instant::now();
                send(&client, &base, &signed).await;
                latencies.push(started.elapsed());
                i += concurrency;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    println!(
        "qfpay-sim query load: {} calls in {seconds} s with {concurrency} clients = {:.0} queries/s; p50 {:.2} ms, p99 {:.2} ms",
        all.len(),
        all.len() as f64 / seconds as f64,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
}

async fn send(client: &reqwest::Client, base: &str, signed: &qfpay::SignedRequest) {
    let mut req = client.post(signed.url(base)).body(signed.body.clone());
    for (name, value) in &signed.headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await.expect("the simulator answers");
    let body = resp.bytes().await.expect("a body");
    assert!(body.starts_with(b"{"), "JSON answers");
}
