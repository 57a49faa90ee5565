//! The gateway paths in-process: authentication, validation, payments, queries, refunds,
//! close and reversal, as `shared/spec/QFPAY.md` describes them.

mod common;

use common::*;
use qfpay::{ClientKey, CloseRequest, Credentials, OrderRef, PaymentRequest, RefundRequest, ReversalRequest};
use qfpay_sim::Merchant;

#[tokio::test]
async fn mpm_payment_answers_a_wallet_qrcode_in_both_shapes() {
    let app = demo();
    let a = call(&app, &demo_credentials(), &mpm("O1")).await;
    assert_eq!(a["respcd"], "0000");
    let qrcode = a["qrcode"].as_str().unwrap();
    assert!(qrcode.starts_with("http://sim.test/sim/wallet/"), "{qrcode}");
    assert_eq!(a["out_trade_no"], "O1");
    assert_eq!(a["data"]["qf_trade_no"], a["syssn"]);
    assert_eq!(a["data"]["txstatus"], "PENDING");
    let parsed = qfpay::PaymentAnswer::parse(a.to_string().as_bytes()).unwrap();
    assert_eq!(parsed.qrcode.as_deref(), Some(qrcode));
}

#[tokio::test]
async fn identical_retry_returns_the_original_and_reuse_is_refused() {
    let app = demo();
    let first = call(&app, &demo_credentials(), &mpm("O1")).await;
    let again = call(&app, &demo_credentials(), &mpm("O1")).await;
    assert_eq!(first, again, "a retried identical request gets the original answer");
    let other = PaymentRequest { txamt: 999, ..mpm("O1") };
    let reused = call(&app, &demo_credentials(), &other).await;
    assert_eq!(reused["respcd"], "1102");
    assert!(reused["resperr"].as_str().unwrap().contains("out_trade_no"));
}

#[tokio::test]
async fn authentication_like_the_gateway() {
    let app = demo();
    let body = "txamt=1500&txcurrcd=HKD&pay_type=800201&out_trade_no=A1&txdtm=2023-11-01+10:00:00";
    let pairs = [
        ("txamt", "1500"),
        ("txcurrcd", "HKD"),
        ("pay_type", "800201"),
        ("out_trade_no", "A1"),
        ("txdtm", "2023-11-01 10:00:00"),
    ];
    let key = ClientKey::new("DEMOKEY");
    let sha = qfpay::sign::sign(pairs, &key, qfpay::SignType::Sha256);
    let md5 = qfpay::sign::sign(pairs, &key, qfpay::SignType::Md5);

    let (_, a) = raw(&app, "/trade/v1/payment", body, &[("X-QF-APPCODE", "NOPE"), ("X-QF-SIGN", &sha)]).await;
    assert_eq!(a["respcd"], "1108", "unknown appcode");
    let (_, a) = raw(&app, "/trade/v1/payment", body, &[("X-QF-SIGN", &sha)]).await;
    assert_eq!(a["respcd"], "1108", "missing appcode");
    let (_, a) = raw(
        &app,
        "/trade/v1/payment",
        body,
        &[("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", &md5), ("X-QF-SIGNTYPE", "SHA256")],
    )
    .await;
    assert_eq!(a["respcd"], "1108", "wrong signature for the declared type");
    let (_, a) = raw(
        &app,
        "/trade/v1/payment",
        body,
        &[("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", &sha.to_lowercase()), ("X-QF-SIGNTYPE", "SHA256")],
    )
    .await;
    assert_eq!(a["respcd"], "0000", "lower case is accepted: {a}");
    let body2 = body.replace("A1", "A2");
    let pairs2 = pairs.map(|(n, v)| if n == "out_trade_no" { (n, "A2") } else { (n, v) });
    let md5_2 = qfpay::sign::sign(pairs2, &key, qfpay::SignType::Md5);
    let (_, a) =
        raw(&app, "/trade/v1/payment", &body2, &[("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", &md5_2)]).await;
    assert_eq!(a["respcd"], "0000", "no X-QF-SIGNTYPE means MD5: {a}");
}

#[tokio::test]
async fn mchid_must_be_sent_exactly_when_the_merchant_has_one() {
    let with = Merchant { mchid: Some("M1".into()), ..Merchant::demo() };
    let app = qfpay_sim::app(config(vec![with]));
    let missing = call(&app, &demo_credentials(), &mpm("O1")).await;
    assert_eq!(missing["respcd"], "1104");
    assert!(missing["resperr"].as_str().unwrap().starts_with("mchid"));
    let ok = call(&app, &Credentials { mchid: Some("M1".into()), ..demo_credentials() }, &mpm("O1")).await;
    assert_eq!(ok["respcd"], "0000");
    let app = demo();
    let extra = call(&app, &Credentials { mchid: Some("M1".into()), ..demo_credentials() }, &mpm("O1")).await;
    assert_eq!(extra["respcd"], "1104", "{extra}");
}

/// Signs arbitrary pairs and posts them, bypassing our own client-side validation.
async fn unchecked(app: &axum::Router, pairs: &[(&str, &str)]) -> serde_json::Value {
    let key = ClientKey::new("DEMOKEY");
    let sig = qfpay::sign::sign(pairs.iter().copied(), &key, qfpay::SignType::Sha256);
    let body = form_body(pairs);
    raw(
        app,
        "/trade/v1/payment",
        &body,
        &[("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", &sig), ("X-QF-SIGNTYPE", "SHA256")],
    )
    .await
    .1
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(n, v)| format!("{n}={}", v.replace(' ', "+"))).collect::<Vec<_>>().join("&")
}

#[tokio::test]
async fn every_parameter_is_validated_with_the_field_named() {
    let app = demo();
    let base =
        [("txamt", "1500"), ("txcurrcd", "HKD"), ("pay_type", "800201"), ("out_trade_no", "V-BASE"), ("txdtm", TXDTM)];
    let cases: [(&str, &str, &str, &str); 7] = [
        ("txamt", "0", "1266", "txamt"),
        ("txamt", "12.5", "1266", "txamt"),
        ("pay_type", "999999", "1104", "pay_type"),
        ("txcurrcd", "XYZ", "1104", "txcurrcd"),
        ("txdtm", "yesterday", "1104", "txdtm"),
        ("out_trade_no", "x y", "1104", "out_trade_no"),
        ("pay_type", "802001&txcurrcd=USD", "1104", "txcurrcd"),
    ];
    // Each case under a number of its own: a refused payment still uses up its out_trade_no.
    for (i, (field, value, code, named)) in cases.into_iter().enumerate() {
        let (value, currency) = match value.split_once("&txcurrcd=") {
            Some((v, c)) => (v, c),
            None => (value, "HKD"),
        };
        let number = format!("V{i}");
        let pairs: Vec<(&str, &str)> = base
            .iter()
            .map(|&(n, v)| match n {
                _ if n == field => (n, value),
                "txcurrcd" => (n, currency),
                "out_trade_no" => (n, number.as_str()),
                _ => (n, v),
            })
            .collect();
        let a = unchecked(&app, &pairs).await;
        assert_eq!(a["respcd"], code, "{field}={value}: {a}");
        assert!(a["resperr"].as_str().unwrap().starts_with(named), "{field}={value}: {a}");
    }
    let missing = unchecked(&app, &base[1..]).await;
    assert_eq!((missing["respcd"].as_str(), missing["resperr"].as_str()), (Some("1266"), Some("txamt: is required")));
    let base = base.map(|(n, v)| if n == "out_trade_no" { (n, "V-EXPIRY") } else { (n, v) });
    let expired = unchecked(&app, &[&base[..], &[("expired_time", "200")]].concat()).await;
    assert!(expired["resperr"].as_str().unwrap().starts_with("expired_time"), "{expired}");
}

#[tokio::test]
async fn bad_requests_get_json_and_the_simulator_keeps_serving() {
    let app = demo();
    let (status, a) = json(
        &app,
        axum::http::Request::post("/trade/v1/payment")
            .header("Content-Type", "application/json")
            .body(axum::body::Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), a["respcd"].as_str()), (200, Some("1103")));
    let huge = "a=".to_owned() + &"x".repeat(200_000);
    let (_, a) = raw(&app, "/trade/v1/payment", &huge, &[("X-QF-APPCODE", "DEMOAPPCODE")]).await;
    assert_eq!(a["respcd"], "1103");
    assert!(a["resperr"].as_str().unwrap().contains("larger than"));
    let (_, a) =
        raw(&app, "/trade/v1/payment", "%%%\u{0}garbage", &[("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", "00")])
            .await;
    assert_eq!(a["respcd"], "1108");
    let (status, _) =
        json(&app, axum::http::Request::get("/no/such/path").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(status.as_u16(), 404);
    assert_eq!(call(&app, &demo_credentials(), &mpm("STILL-OK")).await["respcd"], "0000");
}

#[tokio::test]
async fn order_states_show_in_query_rows() {
    let app = demo();
    let creds = demo_credentials();
    for otn in ["WAIT", "PAID", "SHUT", "LATE"] {
        call(&app, &creds, &mpm(otn)).await;
    }
    let waiting = call(&app, &creds, &query("WAIT")).await;
    assert_eq!((row_of(&waiting)["respcd"].as_str(), row_of(&waiting)["cancel"].as_str()), (Some("1143"), Some("0")));
    assert_eq!(
        qfpay::QueryAnswer::parse(waiting.to_string().as_bytes()).unwrap().rows[0].status(),
        qfpay::PaymentStatus::Pending
    );

    let (status, paid) = control(&app, "POST", "/sim/orders/PAID/pay", None).await;
    assert_eq!((status.as_u16(), paid["status"].as_str()), (200, Some("paid")));
    let row = call(&app, &creds, &query("PAID")).await;
    assert_eq!(row_of(&row)["respcd"], "0000");
    assert_ne!(row_of(&row)["paydtm"], "");

    let close = CloseRequest(OrderRef {
        out_trade_no: Some("SHUT".into()),
        txamt: 1500,
        txdtm: TXDTM.into(),
        ..Default::default()
    });
    assert_eq!(call(&app, &creds, &close).await["respcd"], "0000");
    let row = call(&app, &creds, &query("SHUT")).await;
    assert_eq!((row_of(&row)["respcd"].as_str(), row_of(&row)["cancel"].as_str()), (Some("1142"), Some("2")));
    let close_paid = CloseRequest(OrderRef { out_trade_no: Some("PAID".into()), ..close.0.clone() });
    assert_eq!(call(&app, &creds, &close_paid).await["respcd"], "1260");

    control(&app, "POST", "/sim/clock/advance", Some(serde_json::json!({"seconds": 31 * 60}))).await;
    let row = call(&app, &creds, &query("LATE")).await;
    assert_eq!(row_of(&row)["respcd"], "1181", "30 minutes by default, then expired");
    let (status, _) = control(&app, "POST", "/sim/orders/LATE/pay", None).await;
    assert_eq!(status.as_u16(), 409, "an expired order cannot be paid");
    let none = call(&app, &creds, &query("NEVER")).await;
    assert_eq!(none["data"].as_array().unwrap().len(), 0, "an empty data list means not found");
}

#[tokio::test]
async fn expired_time_is_honoured() {
    let app = demo();
    let creds = demo_credentials();
    call(&app, &creds, &PaymentRequest { expired_time: Some(5), ..mpm("SHORT") }).await;
    control(&app, "POST", "/sim/clock/advance", Some(serde_json::json!({"seconds": 301}))).await;
    assert_eq!(row_of(&call(&app, &creds, &query("SHORT")).await)["respcd"], "1181");
}

#[tokio::test]
async fn refunds_partial_cumulative_and_their_rules() {
    let app = demo();
    let creds = demo_credentials();
    let paid = call(&app, &creds, &mpm("P1")).await;
    control(&app, "POST", "/sim/orders/P1/pay", None).await;
    let syssn = paid["syssn"].as_str().unwrap().to_owned();
    let refund = |otn: &str, amount: u64| RefundRequest {
        syssn: syssn.clone(),
        out_trade_no: otn.into(),
        txamt: amount,
        txdtm: TXDTM.into(),
        ..Default::default()
    };
    let first = call(&app, &creds, &refund("R1", 500)).await;
    assert_eq!((first["respcd"].as_str(), first["orig_syssn"].as_str()), (Some("0000"), Some(syssn.as_str())));
    assert_eq!(call(&app, &creds, &refund("R1", 500)).await, first, "identical retry");
    assert_eq!(call(&app, &creds, &refund("R1", 400)).await["respcd"], "2011", "number reused");
    assert_eq!(call(&app, &creds, &refund("P1", 400)).await["respcd"], "2011", "payment's number reused");
    assert_eq!(call(&app, &creds, &refund("R2", 1001)).await["respcd"], "1272");
    assert_eq!(row_of(&call(&app, &creds, &query("P1")).await)["cancel"], "5", "partly refunded");
    assert_eq!(call(&app, &creds, &refund("R3", 1000)).await["respcd"], "0000");
    assert_eq!(row_of(&call(&app, &creds, &query("P1")).await)["cancel"], "3", "fully refunded");
    let refund_row = call(&app, &creds, &query("R1")).await;
    assert_eq!(
        (row_of(&refund_row)["order_type"].as_str(), row_of(&refund_row)["origssn"].as_str()),
        (Some("refund"), Some(syssn.as_str()))
    );

    let unpaid = call(&app, &creds, &mpm("U1")).await;
    let r = RefundRequest { syssn: unpaid["syssn"].as_str().unwrap().into(), ..refund("R4", 100) };
    assert_eq!(call(&app, &creds, &r).await["respcd"], "1261");
    let fps = call(&app, &creds, &PaymentRequest { pay_type: "802001".into(), ..mpm("F1") }).await;
    control(&app, "POST", "/sim/orders/F1/pay", None).await;
    let r = RefundRequest { syssn: fps["syssn"].as_str().unwrap().into(), ..refund("R5", 100) };
    let refused = call(&app, &creds, &r).await;
    assert_eq!(refused["respcd"], "1155");
    assert!(refused["resperr"].as_str().unwrap().contains("802001"));
    let r = RefundRequest { syssn: "999".into(), ..refund("R6", 100) };
    assert_eq!(call(&app, &creds, &r).await["respcd"], "1268");
}

#[tokio::test]
async fn cpm_auth_codes_decide_and_reversal_ends_only_unpaid_charges() {
    let app = demo();
    let creds = demo_credentials();
    let cpm =
        |otn: &str, code: &str| PaymentRequest { pay_type: "800208".into(), auth_code: Some(code.into()), ..mpm(otn) };
    let paid = call(&app, &creds, &cpm("C1", "134567890000")).await;
    assert_eq!((paid["respcd"].as_str(), paid["data"]["txstatus"].as_str()), (Some("0000"), Some("SUCCESS")));
    assert_eq!(call(&app, &creds, &cpm("C2", "134567891202")).await["respcd"], "1202");
    assert_eq!(call(&app, &creds, &cpm("C3", "134567891143")).await["respcd"], "1145");
    assert_eq!(call(&app, &creds, &cpm("C4", "134567891145")).await["respcd"], "1145");
    let rev = |otn: &str| {
        ReversalRequest(OrderRef {
            out_trade_no: Some(otn.into()),
            txamt: 1500,
            txdtm: TXDTM.into(),
            ..Default::default()
        })
    };
    // One the shopper is still confirming is cancelled, and stays ended.
    let ended = call(&app, &creds, &rev("C3")).await;
    assert_eq!((ended["respcd"].as_str(), ended["orig_syssn"].is_string()), (Some("0000"), true), "{ended}");
    advance(&app, 11).await;
    assert_eq!(row_of(&call(&app, &creds, &query("C3")).await)["cancel"], "1");
    assert_eq!(row_of(&call(&app, &creds, &query("C4")).await)["respcd"], "0000", "pending, then paid");
    // A paid charge is never reversed (04-common-api/02-reversal-cancel.md): refund it.
    let refused = call(&app, &creds, &rev("C1")).await;
    assert_eq!(refused["respcd"], "1260", "{refused}");
    assert_eq!(row_of(&call(&app, &creds, &query("C1")).await)["cancel"], "0", "still paid");
    let wrong_amount = ReversalRequest(OrderRef { txamt: 1, ..rev("C3").0 });
    assert_eq!(call(&app, &creds, &wrong_amount).await["respcd"], "1267");
}

#[tokio::test]
async fn close_and_reversal_also_by_get() {
    let app = demo();
    let creds = demo_credentials();
    call(&app, &creds, &mpm("G1")).await;
    let close = CloseRequest(OrderRef {
        out_trade_no: Some("G1".into()),
        txamt: 1500,
        txdtm: TXDTM.into(),
        ..Default::default()
    });
    let signed = qfpay::GatewayRequest::sign(&close, &creds).unwrap();
    let mut req = axum::http::Request::get(format!("/trade/v1/close?{}", signed.body));
    for (n, v) in &signed.headers {
        req = req.header(*n, v);
    }
    let (_, a) = json(&app, req.body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(a["respcd"], "0000", "{a}");
}

#[tokio::test]
async fn several_merchants_from_a_file() {
    let merchants = qfpay_sim::parse_merchants("[[merchant]]\nappcode = \"A1\"\nkey = \"K1\"\n\n[[merchant]]\nappcode = \"A2\"\nkey = \"K2\"\nmchid = \"M2\"\n").unwrap();
    assert_eq!(merchants.len(), 2);
    let app = qfpay_sim::app(config(merchants));
    let a2 = Credentials { appcode: "A2".into(), key: ClientKey::new("K2"), mchid: Some("M2".into()) };
    assert_eq!(call(&app, &a2, &mpm("X")).await["respcd"], "0000");
    let wrong_key = Credentials { appcode: "A1".into(), key: ClientKey::new("K2"), mchid: None };
    assert_eq!(call(&app, &wrong_key, &mpm("X")).await["respcd"], "1108");
    assert!(qfpay_sim::parse_merchants("[[merchant]]\nappcode = \"A\"\n").is_err());
}
