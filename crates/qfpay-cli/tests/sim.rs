//! `qfpay sim`'s flags, run as a real process on a loopback port: the signature type is strict
//! unless `--lenient-sign-type`, answers are signed as `--answer-sign-type` says, and
//! `--duplicate-answers exists` answers an identical retry `1102`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};

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
fn start(flags: &[&str]) -> Sim {
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
    // The request log goes on to stdout; drain it so the simulator never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Sim { child, addr, banner }
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
    let body = serde_json::to_vec(&answer).expect("JSON");
    let signature = header(&headers, "x-qf-sign").expect("signed");
    // The signature covers the fields, not the bytes' layout, so re-serialising is fine here.
    assert!(qfpay::sign::verify_answer(&body, &ClientKey::new("DEMOKEY"), SignType::Sha256, signature));
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
    ] {
        let o = qfpay(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}
