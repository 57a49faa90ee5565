//! Faithful to the guide where money is at stake: the signature type read strictly, signed
//! answers (and wrong ones on demand), identical retries answered "exists", refunds left in
//! progress, the guide's `qf_trade_no`, and the refund blackout on the simulated clock.

mod common;

use common::*;
use qfpay::{ClientKey, RefundRequest, SignType};
use qfpay_sim::{Faults, Merchant, SimConfig};
use serde_json::{json, Value};

/// A payment of 1500 HKD cents, paid; its `syssn`.
async fn paid_order(app: &axum::Router, out_trade_no: &str) -> String {
    let a = call(app, &demo_credentials(), &mpm(out_trade_no)).await;
    let (status, _) = control(app, "POST", &format!("/sim/orders/{out_trade_no}/pay"), None).await;
    assert_eq!(status.as_u16(), 200);
    a["syssn"].as_str().unwrap().to_owned()
}

fn refund(syssn: &str, out_trade_no: &str, txamt: u64) -> RefundRequest {
    RefundRequest {
        syssn: syssn.into(),
        out_trade_no: out_trade_no.into(),
        txamt,
        txdtm: TXDTM.into(),
        ..Default::default()
    }
}

/// The demo merchant's headers, without `X-QF-SIGNTYPE`.
fn undeclared(sign: &str) -> [(&str, &str); 2] {
    [("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", sign)]
}

#[tokio::test]
async fn no_signtype_means_md5_strictly_unless_lenient() {
    let pairs = [("out_trade_no", "S1"), ("txdtm", TXDTM)];
    let body = "out_trade_no=S1&txdtm=2023-11-01+10:00:00";
    let sha = qfpay::sign::sign(pairs, &ClientKey::new("DEMOKEY"), SignType::Sha256);
    let (_, a) = raw(&demo(), "/trade/v1/query", body, &undeclared(&sha)).await;
    assert_eq!(a["respcd"], "1108", "{a}");
    let resperr = a["resperr"].as_str().unwrap();
    assert!(resperr.contains("64 hex digits but no X-QF-SIGNTYPE"), "the likely cause: {resperr}");
    assert!(resperr.contains("read as MD5"), "{resperr}");

    // A wrong 32-digit signature is just wrong: no hint about the header.
    let (_, a) = raw(&demo(), "/trade/v1/query", body, &undeclared(&"0".repeat(32))).await;
    assert_eq!(a["respcd"], "1108");
    assert!(!a["resperr"].as_str().unwrap().contains("64 hex digits"), "{a}");

    let lenient = qfpay_sim::app(SimConfig { lenient_sign_type: true, ..config(vec![Merchant::demo()]) });
    let (_, a) = raw(&lenient, "/trade/v1/query", body, &undeclared(&sha)).await;
    assert_eq!(a["respcd"], "0000", "lenient reads 64 digits as SHA256: {a}");
    let md5 = qfpay::sign::sign(pairs, &ClientKey::new("DEMOKEY"), SignType::Md5);
    let headers = [("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", &md5), ("X-QF-SIGNTYPE", "SHA256")];
    let (_, a) = raw(&lenient, "/trade/v1/query", body, &headers).await;
    assert_eq!(a["respcd"], "1108", "a declared type is obeyed even when lenient: {a}");
}

#[tokio::test]
async fn answers_are_signed_md5_by_default_and_as_configured() {
    let (body, headers) = call_full(&demo(), &demo_credentials(), &mpm("A1")).await;
    let signature = header(&headers, "x-qf-sign").expect("a signed answer");
    assert_eq!(header(&headers, "x-qf-signtype"), None, "MD5 needs no X-QF-SIGNTYPE");
    assert_eq!(answer_reading("sorted-data", &body, "DEMOKEY", false).as_deref(), Some(signature));

    let sha = qfpay_sim::app(SimConfig { answer_sign_type: SignType::Sha256, ..config(vec![Merchant::demo()]) });
    let (body, headers) = call_full(&sha, &demo_credentials(), &query("A1")).await;
    assert_eq!(header(&headers, "x-qf-signtype"), Some("SHA256"));
    assert_eq!(answer_reading("sorted-data", &body, "DEMOKEY", true).as_deref(), header(&headers, "x-qf-sign"));

    // Unsigned answers are the answer_signature switch's `none` (answer_signatures.rs).
    let mut unsigned = config(vec![Merchant::demo()]);
    unsigned.switches.answer_signature = qfpay_sim::AnswerSignature::None;
    let (_, headers) = call_full(&qfpay_sim::app(unsigned), &demo_credentials(), &mpm("A1")).await;
    assert_eq!(header(&headers, "x-qf-sign"), None);
}

#[tokio::test]
async fn the_bad_answer_signature_fault_spoils_signatures() {
    let app = demo();
    let (status, _) = control(&app, "POST", "/sim/faults", Some(json!({"bad_answer_signature": 1.0}))).await;
    assert_eq!(status.as_u16(), 200);
    let (body, headers) = call_full(&app, &demo_credentials(), &mpm("B1")).await;
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["respcd"], "0000", "the call itself is carried out");
    let signature = header(&headers, "x-qf-sign").expect("still signed");
    assert_eq!(signature.len(), 32, "the form of an MD5 signature");
    assert_eq!(answer_verifies(&body, &headers), Some(false), "{signature} does not verify");
    let (_, stats) = control(&app, "GET", "/sim/stats", None).await;
    assert_eq!(stats["faults_injected"]["bad_answer_signature"], 1);
    assert!(Faults::parse("bad-answer-signature=0.25").unwrap().bad_answer_signature == 0.25);
}

#[tokio::test]
async fn identical_retries_can_be_answered_exists() {
    let faults = Faults { duplicate_exists: true, ..Faults::default() };
    let app = qfpay_sim::app(SimConfig { faults, ..config(vec![Merchant::demo()]) });
    let creds = demo_credentials();
    let first = call(&app, &creds, &mpm("D1")).await;
    assert_eq!(first["respcd"], "0000");
    let again = call(&app, &creds, &mpm("D1")).await;
    assert_eq!(again["respcd"], "1102", "{again}");
    assert!(again["resperr"].as_str().unwrap().contains("exists"), "{again}");
    control(&app, "POST", "/sim/orders/D1/pay", None).await;
    let syssn = first["syssn"].as_str().unwrap();
    assert_eq!(call(&app, &creds, &refund(syssn, "D1-R", 100)).await["respcd"], "0000");
    let again = call(&app, &creds, &refund(syssn, "D1-R", 100)).await;
    assert_eq!(again["respcd"], "2011", "{again}");
    let rows = call(&app, &creds, &query("D1")).await;
    assert_eq!(rows["data"].as_array().unwrap().len(), 1, "nothing was made twice");
    assert_eq!(row_of(&rows)["cancel"], "5", "refunded once, partly");

    // Back to the default through the control API: the original answer again.
    control(&app, "POST", "/sim/faults", Some(json!({"duplicate_exists": false}))).await;
    assert_eq!(call(&app, &creds, &mpm("D1")).await, first);
}

#[tokio::test]
async fn the_duplicate_switch_is_a_control_api_field() {
    let app = demo();
    let creds = demo_credentials();
    call(&app, &creds, &mpm("D2")).await;
    let (status, faults) = control(&app, "POST", "/sim/faults", Some(json!({"duplicate_exists": true}))).await;
    assert_eq!((status.as_u16(), faults["duplicate_exists"].as_bool()), (200, Some(true)));
    assert_eq!(call(&app, &creds, &mpm("D2")).await["respcd"], "1102");
}

#[tokio::test]
async fn refunds_can_stay_in_progress_then_succeed() {
    let app = demo();
    let creds = demo_credentials();
    let syssn = paid_order(&app, "P1").await;
    let (status, _) = control(&app, "POST", "/sim/faults", Some(json!({"refund_pending": 30}))).await;
    assert_eq!(status.as_u16(), 200);
    let answer = call(&app, &creds, &refund(&syssn, "P1-R", 500)).await;
    assert_eq!(answer["respcd"], "1145", "in progress: {answer}");
    assert_eq!(answer["orig_syssn"], syssn.as_str());
    let row = call(&app, &creds, &query("P1-R")).await;
    assert_eq!(
        (row_of(&row)["order_type"].as_str(), row_of(&row)["respcd"].as_str(), row_of(&row)["paydtm"].as_str()),
        (Some("refund"), Some("1145"), Some(""))
    );
    let parsed = qfpay::QueryAnswer::parse(row.to_string().as_bytes()).unwrap();
    assert_eq!(parsed.rows[0].status(), qfpay::PaymentStatus::Pending);
    let too_much = call(&app, &creds, &refund(&syssn, "P1-R2", 1001)).await;
    assert_eq!(too_much["respcd"], "1272", "a refund in progress counts against the payment: {too_much}");

    advance(&app, 29).await;
    assert_eq!(row_of(&call(&app, &creds, &query("P1-R")).await)["respcd"], "1145", "not yet");
    advance(&app, 2).await;
    let row = call(&app, &creds, &query("P1-R")).await;
    assert_eq!(row_of(&row)["respcd"], "0000", "then done: {row}");
    assert_ne!(row_of(&row)["paydtm"], "");
    assert_eq!(call(&app, &creds, &refund(&syssn, "P1-R", 500)).await, answer, "a retry replays the answer");
}

#[tokio::test]
async fn refunds_name_the_payment_by_syssn_or_the_guides_qf_trade_no() {
    let app = demo();
    let syssn = paid_order(&app, "Q1").await;
    let key = ClientKey::new("DEMOKEY");
    let post = |pairs: Vec<(&'static str, String)>| {
        let app = app.clone();
        let key = key.clone();
        async move {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let sig = qfpay::sign::sign(pairs.iter().copied(), &key, SignType::Sha256);
            let body: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={}", v.replace(' ', "+"))).collect();
            let headers = [("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", sig.as_str()), ("X-QF-SIGNTYPE", "SHA256")];
            raw(&app, "/trade/v1/refund", &body.join("&"), &headers).await.1
        }
    };
    let form = |otn: &str| vec![("out_trade_no", otn.to_owned()), ("txamt", "100".into()), ("txdtm", TXDTM.into())];

    let by_syssn = post([form("Q1-R1"), vec![("syssn", syssn.clone())]].concat()).await;
    assert_eq!((by_syssn["respcd"].as_str(), by_syssn["orig_syssn"].as_str()), (Some("0000"), Some(syssn.as_str())));
    let by_alias = post([form("Q1-R2"), vec![("qf_trade_no", syssn.clone())]].concat()).await;
    assert_eq!((by_alias["respcd"].as_str(), by_alias["orig_syssn"].as_str()), (Some("0000"), Some(syssn.as_str())));

    let neither = post(form("Q1-R3")).await;
    assert_eq!(neither["respcd"], "1104", "{neither}");
    let resperr = neither["resperr"].as_str().unwrap();
    assert!(resperr.contains("syssn") && resperr.contains("qf_trade_no"), "names both: {resperr}");
    let rows = call(&app, &demo_credentials(), &query("Q1")).await;
    assert_eq!(row_of(&rows)["cancel"], "5", "two refunds of 100, nothing else");
}

#[tokio::test]
async fn the_refund_blackout_follows_the_simulated_clock() {
    // On by default, as documented.
    let app = demo();
    let creds = demo_credentials();
    let syssn = paid_order(&app, "N1").await;
    // START is 10:00 in Hong Kong; 13 h 45 min later it is 23:45.
    advance(&app, 13 * 3600 + 45 * 60).await;
    let refused = call(&app, &creds, &refund(&syssn, "N1-R", 100)).await;
    assert_eq!(refused["respcd"], "1265", "{refused}");
    // 00:35: the blackout is over. The refused number stays used: its identical retry gets
    // the refusal again, and a refund goes through under a new number.
    advance(&app, 50 * 60).await;
    assert_eq!(call(&app, &creds, &refund(&syssn, "N1-R", 100)).await, refused);
    assert_eq!(call(&app, &creds, &refund(&syssn, "N1-R2", 100)).await["respcd"], "0000");

    // Switched off, the same hour refunds.
    let mut off = config(vec![Merchant::demo()]);
    off.switches.refund_blackout = false;
    let app = qfpay_sim::app(off);
    let syssn = paid_order(&app, "N2").await;
    advance(&app, 13 * 3600 + 45 * 60).await;
    assert_eq!(call(&app, &creds, &refund(&syssn, "N2-R", 100)).await["respcd"], "0000");
}

#[tokio::test]
async fn pay_types_not_enabled_for_the_merchant_are_refused_as_the_gateway_does() {
    let enabled = qfpay_sim::app(SimConfig {
        pay_types: Some(vec!["800201".into(), "801501".into()]),
        ..config(vec![Merchant::demo()])
    });
    let ok = call(&enabled, &demo_credentials(), &mpm("E1")).await;
    assert_eq!(ok["respcd"], "0000", "{ok}");
    let overseas = qfpay::PaymentRequest { pay_type: "800101".into(), ..mpm("E2") };
    let refused = call(&enabled, &demo_credentials(), &overseas).await;
    assert_eq!(refused["respcd"], "1251", "{refused}");
    assert!(refused["resperr"].as_str().unwrap().contains("filter_error"), "{refused}");
}
