//! `qfpay gateway check` run as the real binary against the simulator, started in-process on a
//! loopback port (one per test, so the switches of one test never meet another's runs). For
//! every value of every switch the report says exactly that value; every call the check makes
//! arrives at the simulator (none goes elsewhere); and no order it creates is ever paid.
//! What the simulator never does (refuse SHA256, cut a query's list short) a [`Front`] put
//! before it does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use qfpay::tables::end_order;
use qfpay::SignType;
use qfpay_sim::{Merchant, SimConfig};
use serde_json::{json, Value};

/// A simulator serving on a loopback port until dropped.
struct Sim {
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts the simulator with the demo merchant, its clock at the real time (the check's
/// `txdtm` is the real Hong Kong time), and `answer_sign_type` for its answers.
fn start(answer_sign_type: SignType) -> Sim {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
    let mut config = SimConfig::new(vec![Merchant::demo()], i64::try_from(now).expect("a sane clock"));
    config.public_url = url.clone();
    config.answer_sign_type = answer_sign_type;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build();
        runtime.expect("a runtime").block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            qfpay_sim::serve(listener, config, async move { drop(rx.await) }).await.expect("the simulator serves");
        });
    });
    Sim { url, shutdown: Some(tx), thread: Some(thread) }
}

impl Sim {
    fn get(&self, path: &str) -> Value {
        let mut answer = ureq::get(format!("{}{path}", self.url)).call().expect("the control API answers");
        serde_json::from_str(&answer.body_mut().read_to_string().expect("a body")).expect("JSON")
    }

    /// Sets switches; the simulator's answer must show them in force.
    fn switch(&self, switches: Value) {
        let mut answer = ureq::post(format!("{}/sim/switches", self.url))
            .header("Content-Type", "application/json")
            .send(switches.to_string())
            .expect("the switches are taken");
        let now: Value = serde_json::from_str(&answer.body_mut().read_to_string().expect("a body")).expect("JSON");
        let read_back = self.get("/sim/switches");
        for (name, value) in switches.as_object().expect("an object") {
            assert_eq!(&now[name], value, "switch {name} in force: {now}");
            assert_eq!(&read_back[name], value, "switch {name} read back: {read_back}");
        }
    }

    fn calls_total(&self) -> u64 {
        self.get("/sim/stats")["calls_total"].as_u64().unwrap_or(0)
    }

    /// The simulator's orders, checking that none was ever paid.
    fn orders_never_paid(&self) -> Vec<Value> {
        let orders = self.get("/sim/orders")["orders"].as_array().expect("a list").clone();
        for order in &orders {
            assert_eq!(order["appcode"], "DEMOAPPCODE", "{order}");
            assert_ne!(order["state"], "paid", "the check never pays: {order}");
            assert!(order["paid_at"].is_null(), "{order}");
        }
        orders
    }
}

/// One call as a [`Front`] received it.
struct Call {
    path: String,
    /// Names in lower case.
    headers: Vec<(String, String)>,
    body: String,
}

impl Call {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// A form field, its commas decoded (all the rules here need).
    fn field(&self, name: &str) -> Option<String> {
        let value = self.body.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))?;
        Some(value.replace("%2C", ",").replace("%2c", ","))
    }
}

/// An answer a [`Front`] sends back: status, the headers the check reads, body.
type Relayed = (u16, Vec<(String, String)>, Vec<u8>);

/// A gateway in front of the simulator: `rule` answers a call itself (the body of an HTTP 200
/// answer) or passes it on (`None`). One call per connection, one connection at a time: the
/// check makes one call at a time.
struct Front {
    url: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Front {
    fn start(sim: &Sim, rule: fn(&Call) -> Option<String>) -> Front {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let (stop, sim_url) = (Arc::new(AtomicBool::new(false)), sim.url.clone());
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = Front::serve(stream, &sim_url, rule);
                }
            }
        });
        Front { url, stop, thread: Some(thread) }
    }

    fn serve(mut stream: TcpStream, sim: &str, rule: fn(&Call) -> Option<String>) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let Some((name, value)) = line.trim_end().split_once(':') else { break };
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut call = Call { path, headers, body: String::new() };
        let length = call.header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        reader.take(length).read_to_string(&mut call.body)?;
        let (status, kept, body) = match rule(&call) {
            Some(body) => (200, vec![("content-type".to_owned(), "application/json".to_owned())], body.into_bytes()),
            None => Front::pass_on(sim, &call).map_err(std::io::Error::other)?,
        };
        let mut head = format!("HTTP/1.1 {status} Answer\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
        kept.iter().for_each(|(name, value)| head.push_str(&format!("{name}: {value}\r\n")));
        stream.write_all(format!("{head}\r\n").as_bytes())?;
        stream.write_all(&body)
    }

    /// The call sent on to the simulator; its answer.
    fn pass_on(sim: &str, call: &Call) -> Result<Relayed, ureq::Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut request = agent.post(format!("{sim}{}", call.path));
        for (name, value) in &call.headers {
            if !matches!(name.as_str(), "host" | "content-length" | "connection" | "transfer-encoding") {
                request = request.header(name, value);
            }
        }
        let mut answer = request.send(call.body.as_bytes())?;
        let kept = ["content-type", "x-qf-sign", "x-qf-signtype", "retry-after"]
            .into_iter()
            .filter_map(|name| Some((name.to_owned(), answer.headers().get(name)?.to_str().ok()?.to_owned())))
            .collect();
        Ok((answer.status().as_u16(), kept, answer.body_mut().read_to_vec()?))
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `qfpay gateway check ARGS` with only the given settings: every QFPAY_* and PAY_TYPES of the
/// test's own environment is cleared, so nothing can point it at a real host.
fn qfpay_check(settings: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qfpay"));
    command.args(["gateway", "check"]).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("QFPAY_") || name == "PAY_TYPES" {
            command.env_remove(name);
        }
    }
    command.envs(settings.iter().copied()).output().expect("qfpay runs")
}

/// Settings for the demo merchant at `url`, with `PAY_TYPES` when given.
fn local<'a>(url: &'a str, pay_types: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut settings = vec![("QFPAY_ENV", "local"), ("QFPAY_BASE_URL", url), ("QFPAY_APPCODE", "DEMOAPPCODE")];
    settings.push(("QFPAY_KEY", "DEMOKEY"));
    settings.extend(pay_types.map(|p| ("PAY_TYPES", p)));
    settings
}

/// Runs the check with `--json` against `url`: its exit code, its one JSON object on stdout
/// (checked to be one, and to name `url`), and its stderr (checked to say where first).
fn json_run(url: &str, pay_types: Option<&str>) -> (Option<i32>, Value, String) {
    let out = qfpay_check(&local(url, pay_types), &["--json"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim_end().lines().count(), 1, "one JSON object: {stdout}\nstderr: {stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("the report is JSON");
    assert_eq!(report["base_url"], url, "{report}");
    assert_eq!(report["environment"], "local");
    assert!(stderr.lines().next().is_some_and(|l| l.contains(url)), "says where first: {stderr}");
    (out.status.code(), report, stderr.into_owned())
}

/// Runs the check with `--json` and returns its report, after checking the run: exit 0, ready
/// with no problem, every call counted by this simulator, no order paid.
fn checked_report(sim: &Sim, pay_types: Option<&str>) -> Value {
    let before = sim.calls_total();
    let (code, report, stderr) = json_run(&sim.url, pay_types);
    assert_eq!(code, Some(0), "report: {report}\nstderr: {stderr}");
    assert_eq!((&report["ready"], &report["problems"]), (&json!(true), &json!([])), "{report}");
    assert_eq!(sim.calls_total() - before, report["calls"].as_u64().unwrap(), "every call reached the simulator");
    assert_eq!(report["signature_types"], json!(["MD5", "SHA256"]), "{report}");
    sim.orders_never_paid();
    report
}

#[test]
fn answer_signature_names_each_reading() {
    let sim = start(SignType::Md5);
    for (value, setting) in
        [("top-level", "top-level"), ("raw-body", "raw-body"), ("none", "off"), ("sorted-data", "sorted-data")]
    {
        sim.switch(json!({"answer_signature": value}));
        // One QR type suffices: its payment answer carries the guide's `data` object.
        let report = checked_report(&sim, Some("800201"));
        assert_eq!(report["answer_signature"], value, "{report}");
        assert_eq!(report["settings"]["QFPAY_ANSWER_SIGNATURE"], setting, "{report}");
        let hash = if value == "none" { Value::Null } else { json!("MD5") };
        assert_eq!(report["answer_sign_type"], hash, "{report}");
    }
}

#[test]
fn sha256_answers_are_read_under_every_reading() {
    let sim = start(SignType::Sha256);
    for value in ["sorted-data", "top-level", "raw-body"] {
        sim.switch(json!({"answer_signature": value}));
        let report = checked_report(&sim, Some("800201"));
        assert_eq!((&report["answer_signature"], &report["answer_sign_type"]), (&json!(value), &json!("SHA256")));
    }
}

#[test]
fn query_list_max_is_found_for_each_limit() {
    let sim = start(SignType::Md5);
    for (runs, limit) in [1, 7, 100, 150].into_iter().enumerate() {
        sim.switch(json!({"query_list_max": limit}));
        let report = checked_report(&sim, Some("800201"));
        assert_eq!(report["query_list_max"], limit, "{report}");
        // The worker never asks for more than a query's largest page.
        let setting = limit.min(checkout_api::upstream::QUERY_BATCH);
        assert_eq!(report["settings"]["QFPAY_QUERY_LIST_MAX"], setting.to_string(), "{report}");
        // The order listed last is the end_order probe's own: no other is made for the search.
        assert_eq!(sim.orders_never_paid().len(), runs + 1, "{report}");
    }
}

#[test]
fn a_gateway_that_cuts_lists_short_is_not_believed() {
    // A gateway that reads only the first 4 numbers (String(128)) and answers 0000 for the
    // rest: the check's own order, listed last, goes missing from every longer list.
    let sim = start(SignType::Md5);
    let front = Front::start(&sim, |call| {
        let listed = call.field("out_trade_no").map_or(0, |list| list.split(',').count());
        (call.path == "/trade/v1/query" && listed > 4)
            .then(|| r#"{"respcd":"0000","respmsg":"","resperr":"","page":"1","page_size":"10","data":[]}"#.into())
    });
    let (code, report, stderr) = json_run(&front.url, Some("800201"));
    assert_eq!(code, Some(0), "{report}\n{stderr}");
    assert_eq!(report["query_list_max"], 4, "{report}");
    assert_eq!(report["settings"]["QFPAY_QUERY_LIST_MAX"], "4", "{report}");
    assert_eq!(report["end_order"], json!({"800201": "close"}), "the same order then ends as documented");
    assert_eq!(sim.orders_never_paid().len(), 1, "one order, for the search and the end alike");
}

#[test]
fn a_gateway_refusing_sha256_blocks_going_live() {
    let sim = start(SignType::Md5);
    let front = Front::start(&sim, |call| {
        let sha256 = call.header("x-qf-signtype").is_some_and(|t| t.eq_ignore_ascii_case("SHA256"));
        sha256.then(|| r#"{"respcd":"1108","respmsg":"","resperr":"signature error"}"#.into())
    });
    let problem =
        "this worker signs with SHA256, which the gateway refused; ask QFPay to enable SHA256 for the appcode";
    let (code, report, stderr) = json_run(&front.url, Some("800201"));
    assert_eq!(code, Some(1), "exit 1, after the report: {report}\n{stderr}");
    assert_eq!((&report["ready"], &report["problems"]), (&json!(false), &json!([problem])), "{report}");
    assert_eq!(report["signature_types"], json!(["MD5"]), "{report}");
    assert!(report["settings"].get("QFPAY_SIGN_TYPE").is_none(), "the worker reads no such setting: {report}");
    assert_eq!((&report["query_list_max"], &report["end_order"]), (&json!(100), &json!({"800201": "close"})));
    assert!(stderr.lines().last().is_some_and(|l| l.contains("not ready to go live")), "{stderr}");

    let out = qfpay_check(&local(&front.url, Some("800201")), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.lines().any(|l| l == format!("not ready to go live: {problem}")), "{stdout}");
    assert!(!stdout.contains("QFPAY_SIGN_TYPE") && stdout.contains("QFPAY_QUERY_LIST_MAX=100"), "{stdout}");
    sim.orders_never_paid();
}

#[test]
fn end_order_follows_the_documented_table_then_the_merchants_overrides() {
    let sim = start(SignType::Md5);
    // The worker's default PAY_TYPES: every type is tested and ends as documented.
    let report = checked_report(&sim, None);
    let found = report["end_order"].as_object().expect("an object");
    assert!(found.len() >= 5, "the Hong Kong QR and page types: {report}");
    for (code, mode) in found {
        assert_eq!(mode, end_order(code).name(), "{code}: {report}");
    }
    assert!(report["settings"].get("END_ORDER").is_none(), "{report}");
    assert_eq!(report["untested"], json!({}), "{report}");
    let orders = sim.orders_never_paid();
    assert_eq!(orders.len(), found.len(), "one order per pay type tested");
    for order in &orders {
        let ended = end_order(order["pay_type"].as_str().unwrap()).name() != "none";
        let expected: &[&str] = if ended { &["closed", "reversed"] } else { &["created"] };
        assert!(expected.contains(&order["state"].as_str().unwrap()), "{order}");
    }

    // PayMe's QR closable and WeChat Pay's not at all: the finding follows, and only these
    // two differ from the documentation.
    sim.switch(json!({"end_order": {"805801": "close", "800201": "none"}}));
    let report = checked_report(&sim, Some("800201,805801,801501"));
    assert_eq!(report["end_order"], json!({"800201": "none", "805801": "close", "801501": "none"}));
    assert_eq!(report["settings"]["END_ORDER"], "800201=none,805801=close", "{report}");

    // A CPM type is never charged: reported from the table, not tested, no order made.
    let orders_before = sim.orders_never_paid().len();
    let report = checked_report(&sim, Some("800108,800201"));
    assert_eq!(report["untested"]["800108"]["documented"], "reversal", "{report}");
    assert!(report["untested"]["800108"]["why"].as_str().unwrap().contains("CPM"), "{report}");
    assert_eq!(report["end_order"], json!({"800201": "none"}));
    assert_eq!(sim.orders_never_paid().len(), orders_before + 1, "an order for 800201 only");
}

#[test]
fn a_flaky_gateway_gives_the_same_findings() {
    let sim = start(SignType::Md5);
    let calm = checked_report(&sim, Some("800201,805801,801501"));
    // 5xx before the gateway acts, answers lost after it acted, transient codes: each call is
    // resent identically until it gets through, and none of it shows in the findings.
    let mut answer = ureq::post(format!("{}/sim/faults", sim.url))
        .header("Content-Type", "application/json")
        .send(json!({"5xx": 0.1, "answer_drop": 0.05, "transient": 0.1}).to_string())
        .expect("the faults are taken");
    assert!(answer.body_mut().read_to_string().expect("a body").contains("transient"));
    let flaky = checked_report(&sim, Some("800201,805801,801501"));
    for finding in
        ["signature_types", "answer_signature", "answer_sign_type", "query_list_max", "end_order", "settings"]
    {
        assert_eq!(flaky[finding], calm[finding], "{finding}: {flaky}");
    }
    let faults = &sim.get("/sim/stats")["faults_injected"];
    assert!(faults.as_object().is_some_and(|f| !f.is_empty()), "faults were injected: {faults}");
}

#[test]
fn human_output_is_a_line_per_finding_then_the_settings() {
    let sim = start(SignType::Md5);
    let out = qfpay_check(&local(&sim.url, Some("800201,805801,800212,800108")), &[]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    for (line, start) in lines.iter().zip([
        "environment: local",
        "signature_types: MD5, SHA256",
        "answer_signature: sorted-data",
        "query_list_max: 100",
        "end_order 800201 ",
        "end_order 805801 ",
        "end_order 800212 ",
        "end_order 800108 ",
        "",
        "worker settings:",
        "QFPAY_ANSWER_SIGNATURE=sorted-data",
        "QFPAY_QUERY_LIST_MAX=100",
    ]) {
        assert!(line.starts_with(start), "{line:?} should start with {start:?}:\n{stdout}");
    }
    assert_eq!(lines.len(), 12, "{stdout}");
    assert!(lines[7].contains("not tested"), "{stdout}");
    assert!(lines[6].contains("none, as documented"), "WeChat Pay H5 with its extend_info: {stdout}");
    assert!(stderr.starts_with("qfpay: gateway check of QFPAY_ENV=local at "), "{stderr}");
    sim.orders_never_paid();
}

#[test]
fn settings_are_checked_before_any_call() {
    // Nothing listens here: a call would fail with exit 1, not the usage error expected.
    let nowhere = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        format!("http://{}", listener.local_addr().expect("an address"))
    };
    let base = [("QFPAY_BASE_URL", nowhere.as_str()), ("QFPAY_APPCODE", "A"), ("QFPAY_KEY", "KEY-NEVER-SHOWN")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    let refused = |settings: Vec<(&str, &str)>, args: &[&str], named: &str| {
        let out = qfpay_check(&settings, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{settings:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(named), "{settings:?} names {named}: {stderr}");
        assert!(!stderr.contains("KEY-NEVER-SHOWN") && out.stdout.is_empty(), "{stderr}");
    };
    refused(with(&[("QFPAY_ENV", "prod")]), &[], "--prod");
    refused(with(&[("QFPAY_ENV", "prod"), ("QFPAY_KEY", "")]), &["--prod"], "QFPAY_KEY");
    refused(with(&[("QFPAY_ENV", "test"), ("QFPAY_KEY", "")]), &[], "QFPAY_KEY");
    refused(with(&[]), &[], "QFPAY_ENV");
    refused(with(&[("QFPAY_ENV", "local"), ("PAY_TYPES", "800201,999999")]), &[], "PAY_TYPES");
    let out = qfpay_check(&with(&[("QFPAY_ENV", "prod")]), &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("QFPAY_ENV=prod"));

    // A gateway that cannot be reached: exit 1 and one message naming where.
    let out = qfpay_check(&with(&[("QFPAY_ENV", "local")]), &["--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.lines().last().is_some_and(|l| l.contains("could not reach the gateway") && l.contains(&nowhere)));
    assert!(out.stdout.is_empty(), "no report without a gateway");
}
