//! `qfpay sim`'s flags, run as a real process on a loopback port: the signature type is strict
//! unless `--lenient-sign-type`, answers are signed as `--answer-sign-type` says,
//! `--duplicate-answers exists` answers an identical retry `1102`, the switches' flags set
//! `/sim/switches`, and the request log never holds up an answer, whether stdout is a pipe
//! nobody reads or closed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use qfpay::{ClientKey, SignType};
use serde_json::Value;

fn qfpay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qfpay")).args(args).output().expect("qfpay runs")
}

/// A running `qfpay sim`, killed when dropped (also when a test fails).
struct Sim {
    child: Child,
    addr: String,
    banner: Vec<String>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `qfpay sim --listen 127.0.0.1:0 <flags>` and reads its banner up to the address.
/// Returns the simulator and its stdout past the banner, which the caller must read or drop.
fn spawn(flags: &[&str]) -> (Sim, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qfpay"))
        .args(["sim", "--listen", "127.0.0.1:0", "--seed", "1"])
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("qfpay sim starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut banner = Vec::new();
    let addr = loop {
        let line = lines.next().expect("a banner line").expect("text");
        if let Some(url) = line.strip_prefix("qfpay-sim listening on http://") {
            break url.to_owned();
        }
        banner.push(line);
    };
    (Sim { child, addr, banner }, lines)
}

/// A simulator whose request log is drained, so it never blocks on a full pipe.
fn start(flags: &[&str]) -> Sim {
    let (sim, lines) = spawn(flags);
    std::thread::spawn(move || lines.for_each(drop));
    sim
}

/// A SHA256-signed payment with the demo key, sent without `X-QF-SIGNTYPE` unless `declare`.
/// Returns the answer and its headers (lower-case names).
fn pay(sim: &Sim, declare: bool) -> (Value, Vec<(String, String)>) {
    let pairs = [
        ("txamt", "1500"),
        ("txcurrcd", "HKD"),
        ("pay_type", "800201"),
        ("out_trade_no", "CLI1"),
        ("txdtm", "2023-11-01 10:00:00"),
    ];
    let body = "txamt=1500&txcurrcd=HKD&pay_type=800201&out_trade_no=CLI1&txdtm=2023-11-01+10:00:00";
    let sign = qfpay::sign::sign(pairs, &ClientKey::new("DEMOKEY"), SignType::Sha256);
    let signtype = if declare { "X-QF-SIGNTYPE: SHA256\r\n" } else { "" };
    let request = format!(
        "POST /trade/v1/payment HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         X-QF-APPCODE: DEMOAPPCODE\r\nX-QF-SIGN: {sign}\r\n{signtype}\r\n{body}",
        sim.addr,
        body.len()
    );
    http(&sim.addr, &request)
}

/// One HTTP/1.1 exchange over a plain socket (the answers have a Content-Length).
fn http(addr: &str, request: &str) -> (Value, Vec<(String, String)>) {
    let mut stream = TcpStream::connect(addr).expect("the simulator accepts");
    stream.write_all(request.as_bytes()).expect("sent");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("an answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (serde_json::from_str(body).expect("a JSON answer"), headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn sim_is_strict_about_the_signature_type_by_default() {
    let sim = start(&[]);
    assert!(sim.banner.iter().any(|l| l.contains("checked as MD5 (strict")), "{:?}", sim.banner);
    let (answer, headers) = pay(&sim, false);
    assert_eq!(answer["respcd"], "1108", "{answer}");
    assert!(answer["resperr"].as_str().unwrap().contains("no X-QF-SIGNTYPE"), "{answer}");
    assert_eq!(header(&headers, "x-qf-sign"), None, "a refused signature gets an unsigned answer");
    let (answer, headers) = pay(&sim, true);
    assert_eq!(answer["respcd"], "0000", "{answer}");
    assert_eq!(header(&headers, "x-qf-signtype"), None, "answers are MD5 by default");
    assert!(header(&headers, "x-qf-sign").is_some_and(|s| s.len() == 32));
    let (again, _) = pay(&sim, true);
    assert_eq!(again, answer, "identical retries replay by default");
}

#[test]
fn sim_flags_for_lenient_sign_type_answer_signatures_and_duplicates() {
    let sim = start(&["--lenient-sign-type", "--answer-sign-type", "sha256", "--duplicate-answers", "exists"]);
    assert!(sim.banner.iter().any(|l| l.contains("(lenient)") && l.contains("SHA256")), "{:?}", sim.banner);
    let (answer, headers) = pay(&sim, false);
    assert_eq!(answer["respcd"], "0000", "{answer}");
    assert_eq!(header(&headers, "x-qf-signtype"), Some("SHA256"));
    let signature = header(&headers, "x-qf-sign").expect("signed");
    // The default reading, computed here: the `data` object's string fields, signed as a
    // request is (the client crate's signer, not the simulator's). It covers the fields, not
    // the bytes' layout, so the re-read answer does.
    let data = answer["data"].as_object().expect("the guide's data object");
    let fields: Vec<(&str, &str)> = data.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))).collect();
    assert_eq!(signature, qfpay::sign::sign(fields, &ClientKey::new("DEMOKEY"), SignType::Sha256));
    let (again, _) = pay(&sim, false);
    assert_eq!(again["respcd"], "1102", "{again}");
}

#[test]
fn sim_flag_values_are_checked() {
    for args in [
        &["sim", "--duplicate-answers", "maybe"][..],
        &["sim", "--answer-sign-type", "sha1"],
        &["sim", "--faults", "duplicate-exists=maybe"],
        &["sim", "--faults", "bad-answer-signature=2"],
        &["sim", "--end-order", "805801"],
        &["sim", "--end-order", "999999=close"],
        &["sim", "--end-order", "805801=cancel"],
        &["sim", "--answer-signature", "md5"],
        &["sim", "--query-list-max", "0"],
        &["sim", "--notify-url", "ftp://shop.example/n"],
        &["sim", "--refund-blackout", "--no-refund-blackout"],
    ] {
        let o = qfpay(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}

/// `GET path` on a fresh connection: the status and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("the simulator accepts");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("a timeout");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("sent");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("an answer in time");
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[test]
fn switch_flags_set_the_switches() {
    let defaults = start(&[]);
    assert!(defaults.banner.iter().any(|l| l.starts_with("qfpay-sim switches {")), "{:?}", defaults.banner);
    let (status, body) = get(&defaults.addr, "/sim/switches");
    let switches: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!((status, switches["refund_blackout"].as_bool()), (200, Some(true)), "documented defaults: {switches}");
    assert_eq!(
        (switches["answer_signature"].as_str(), switches["notify_url"].as_null()),
        (Some("sorted-data"), Some(()))
    );

    let sim = start(&[
        "--no-refund-blackout",
        "--refund-promotion",
        "--refund-low-volume",
        "--refund-no-partial-currency",
        "--refund-no-partial",
        "--end-order",
        "805801=close",
        "--end-order",
        "800201=none",
        "--answer-signature",
        "raw-body",
        "--query-list-max",
        "5",
        "--notify-url",
        "http://127.0.0.1:9/notify",
        "--per-request-notify-url",
    ]);
    let (_, body) = get(&sim.addr, "/sim/switches");
    let switches: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        switches,
        serde_json::json!({
            "answer_signature": "raw-body",
            "query_list_max": 5,
            "end_order": {"800201": "none", "805801": "close"},
            "refund_blackout": false,
            "refund_promotion": true,
            "refund_low_volume": true,
            "refund_no_partial_currency": true,
            "refund_no_partial": true,
            "per_request_notify_url": true,
            "notify_url": "http://127.0.0.1:9/notify",
        })
    );
    let unsigned = start(&["--answer-sign-type", "none"]);
    let (_, body) = get(&unsigned.addr, "/sim/switches");
    assert!(body.contains("\"answer_signature\":\"none\""), "{body}");
}

/// A simulator whose stdout is a pipe nobody reads past the banner; `close` drops its read end
/// at once. The port is the one the simulator chose itself: a port picked by the test and freed
/// before the simulator binds it can be taken by another test's simulator in between.
fn start_quiet(close: bool) -> (Sim, Option<std::io::Lines<BufReader<std::process::ChildStdout>>>) {
    let (sim, lines) = spawn(&[]);
    (sim, Some(lines).filter(|_| !close))
}

/// `count` logged calls, each answered within two seconds (a held-up call waits forever); the slowest.
fn logged_calls(sim: &Sim, count: usize) -> Duration {
    // Long paths make long log lines: well past a pipe's 64 KiB and the log's own queue.
    let path = format!("/no-such-path/{}", "x".repeat(1000));
    let mut slowest = Duration::ZERO;
    for i in 0..count {
        let started = Instant::now();
        let (status, _) = get(&sim.addr, &path);
        let took = started.elapsed();
        assert_eq!(status, 404, "call {i}");
        assert!(took < Duration::from_secs(2), "call {i} took {took:?}: the log held up an answer");
        slowest = slowest.max(took);
    }
    slowest
}

#[test]
fn a_stdout_nobody_reads_never_holds_up_an_answer() {
    let (mut sim, unread) = start_quiet(false);
    let slowest = logged_calls(&sim, 2000);
    let (status, body) = get(&sim.addr, "/sim/stats");
    let stats: Value = serde_json::from_str(&body).expect("JSON stats");
    assert_eq!(status, 200);
    assert!(stats["log_lines_dropped"].as_u64().unwrap() > 0, "lines past the pipe and the queue are dropped: {stats}");
    assert!(sim.child.try_wait().expect("status").is_none(), "still running (slowest call {slowest:?})");
    drop(unread);
}

#[test]
fn a_closed_stdout_is_ignored() {
    let (mut sim, _) = start_quiet(true);
    logged_calls(&sim, 200);
    let (status, body) = get(&sim.addr, "/healthz");
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert!(sim.child.try_wait().expect("status").is_none(), "no panic, still running");
}
