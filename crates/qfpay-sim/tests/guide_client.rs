//! The guide's own Python example (`tests/data/guide_client.py`, its signing untouched: SHA256
//! and no `X-QF-SIGNTYPE`) run with `python3` against the simulator on a loopback port: the
//! strict default answers it `1108` as the gateway would; lenient sign type runs it unchanged,
//! refund by `qf_trade_no` included; and adding `X-QF-SIGNTYPE: SHA256` is the fix.

use std::process::Command;

use qfpay_sim::{Merchant, SimConfig};
use serde_json::Value;

/// The simulator on `127.0.0.1:<free port>`, stopped when the handle is dropped.
struct Running {
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(lenient_sign_type: bool) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let mut config = SimConfig::new(vec![Merchant::demo()], now);
    config.public_url = url.clone();
    config.lenient_sign_type = lenient_sign_type;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(qfpay_sim::serve(listener, config, async move {
        let _ = stopped.await;
    }));
    Running { url, _stop: stop }
}

/// Runs the guide's client with `args`; its answers by label ("Payment created", ...).
async fn guide_client(url: &str, args: &[&str]) -> Vec<(String, Value)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/guide_client.py");
    let mut command = Command::new("python3");
    command
        .arg(script)
        .args(args)
        .env("QFPAY_ENV", "local")
        .env("QFPAY_BASE_URL", url)
        .env("QFPAY_APPCODE", "DEMOAPPCODE")
        .env("QFPAY_KEY", "DEMOKEY")
        .env_remove("QFPAY_MCHID")
        // urllib honours proxy variables; the simulator is on loopback.
        .env("no_proxy", "127.0.0.1")
        .env("NO_PROXY", "127.0.0.1");
    // The simulator answers on this runtime; the blocking wait happens off it.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the waiting thread")
        .expect("python3 runs (it is needed by this test)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "guide_client.py failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(label, json)| (label.to_owned(), serde_json::from_str(json).expect("a JSON answer")))
        .collect()
}

fn answer<'a>(lines: &'a [(String, Value)], label: &str) -> Option<&'a Value> {
    lines.iter().find(|(l, _)| l == label).map(|(_, v)| v)
}

#[tokio::test]
async fn the_guides_example_gets_1108_from_the_strict_simulator() {
    let sim = start(false).await;
    let lines = guide_client(&sim.url, &[]).await;
    let payment = answer(&lines, "Payment created").expect("the payment's answer");
    assert_eq!(payment["respcd"], "1108", "SHA256 without X-QF-SIGNTYPE is read as MD5: {payment}");
    assert!(payment["resperr"].as_str().unwrap().contains("X-QF-SIGNTYPE"), "names the cause: {payment}");
    assert!(answer(&lines, "Transaction status").is_none(), "the example stops at a failed payment");
}

#[tokio::test]
async fn the_guides_example_runs_unchanged_with_lenient_sign_type() {
    let sim = start(true).await;
    let lines = guide_client(&sim.url, &[]).await;
    let payment = answer(&lines, "Payment created").expect("the payment's answer");
    assert_eq!(payment["respcd"], "0000", "{payment}");
    let status = answer(&lines, "Transaction status").expect("the query's answer");
    assert_eq!((status["respcd"].as_str(), status["data"][0]["respcd"].as_str()), (Some("0000"), Some("1143")));

    // The shopper pays; the guide's refund_transaction names the payment `qf_trade_no`.
    let out_trade_no = payment["data"]["out_trade_no"].as_str().unwrap();
    let qf_trade_no = payment["data"]["qf_trade_no"].as_str().unwrap();
    let client = reqwest::Client::builder().no_proxy().build().expect("a client");
    let paid = client
        .post(format!("{}/sim/orders/{out_trade_no}/pay", sim.url))
        .send()
        .await
        .expect("the control API answers");
    assert_eq!(paid.status().as_u16(), 200);
    let refund_no = format!("{out_trade_no}R");
    let lines = guide_client(&sim.url, &["refund", &refund_no, "100", qf_trade_no]).await;
    let refund = answer(&lines, "Refund").expect("the refund's answer");
    assert_eq!((refund["respcd"].as_str(), refund["orig_syssn"].as_str()), (Some("0000"), Some(qf_trade_no)));
}

#[tokio::test]
async fn the_guides_example_works_strictly_once_it_sends_the_header() {
    let sim = start(false).await;
    let lines = guide_client(&sim.url, &["--signtype-header"]).await;
    let payment = answer(&lines, "Payment created").expect("the payment's answer");
    assert_eq!(payment["respcd"], "0000", "{payment}");
    let status = answer(&lines, "Transaction status").expect("the query's answer");
    assert_eq!(status["data"][0]["out_trade_no"], payment["data"]["out_trade_no"]);
}
