//! Clients written from the documents, not from our crate: the guide's Python example rules
//! (SHA256 computed with sha2 directly, no `X-QF-SIGNTYPE` header: refused by the strict
//! default, accepted when lenient), the guide's answer verification, and every signature
//! vector (`../shared/vectors/signatures.json`, copied to `tests/data/`) checked by the
//! simulator's own verification.

mod common;

use common::*;
use md5::{Digest, Md5};
use qfpay_sim::{Merchant, SimConfig};
use serde_json::Value;

/// The guide's example payment, signed the guide's way (SHA256).
fn guide_payment() -> ([(&'static str, &'static str); 6], String) {
    let params = [
        ("txamt", "100"),
        ("txcurrcd", "HKD"),
        ("pay_type", "800101"),
        ("out_trade_no", "ORDER16988040000000"),
        ("txdtm", TXDTM),
        ("goods_name", "Test Product"),
    ];
    let sig = guide_signature(&params, "DEMOKEY", true);
    (params, sig)
}

#[tokio::test]
async fn the_guides_python_client_gets_1108_from_the_strict_default() {
    let app = demo();
    let (params, sig) = guide_payment();
    // SHA256 without X-QF-SIGNTYPE: the gateway reads it as MD5, and so does the simulator.
    let (_, a) =
        raw(&app, "/trade/v1/payment", &urlencode(&params), &[("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", &sig)])
            .await;
    assert_eq!(a["respcd"], "1108", "{a}");
    let resperr = a["resperr"].as_str().unwrap();
    assert!(resperr.contains("64 hex digits") && resperr.contains("X-QF-SIGNTYPE"), "names the cause: {resperr}");
    let headers = [("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", sig.as_str()), ("X-QF-SIGNTYPE", "SHA256")];
    let (_, a) = raw(&app, "/trade/v1/payment", &urlencode(&params), &headers).await;
    assert_eq!(a["respcd"], "0000", "with the header it is accepted: {a}");
}

#[tokio::test]
async fn the_guides_python_client_works_with_lenient_sign_type() {
    let app = qfpay_sim::app(SimConfig { lenient_sign_type: true, ..config(vec![Merchant::demo()]) });
    let (params, sig) = guide_payment();
    let (_, a) =
        raw(&app, "/trade/v1/payment", &urlencode(&params), &[("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", &sig)])
            .await;
    assert_eq!(a["respcd"], "0000", "{a}");
    // The guide reads result['data']['out_trade_no'].
    assert_eq!(a["data"]["out_trade_no"], "ORDER16988040000000");
    let q = [("out_trade_no", "ORDER16988040000000"), ("txdtm", TXDTM)];
    let (_, rows) = raw(
        &app,
        "/trade/v1/query",
        &urlencode(&q),
        &[("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", &guide_signature(&q, "DEMOKEY", true))],
    )
    .await;
    assert_eq!(rows["data"][0]["respcd"], "1143");
    let md5 = guide_signature(&q, "DEMOKEY", false);
    let (_, rows) =
        raw(&app, "/trade/v1/query", &urlencode(&q), &[("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", &md5)]).await;
    assert_eq!(rows["respcd"], "0000", "lenient still reads 32 digits as MD5: {rows}");
}

/// The guide's "签名验证", written from its four steps: the data fields (the answer's `data`
/// object when it has one, else its own fields) in name order, strings and numbers, `k=v`
/// joined by `&`, the key appended, upper-case MD5.
fn guide_answer_signature(answer: &Value, key: &str) -> String {
    let data = match answer.get("data") {
        Some(Value::Object(data)) => data,
        _ => answer.as_object().unwrap(),
    };
    let mut fields: Vec<(String, String)> = data
        .iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) if !s.is_empty() => Some((k.clone(), s.clone())),
            Value::Number(n) => Some((k.clone(), n.to_string())),
            _ => None,
        })
        .collect();
    fields.sort();
    let text: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let digest = Md5::digest((text.join("&") + key).as_bytes());
    digest.iter().map(|b| format!("{b:02X}")).collect()
}

#[tokio::test]
async fn answers_verify_by_the_guides_steps() {
    let app = demo();
    let (params, sig) = guide_payment();
    let headers = [("X-QF-APPCODE", "DEMOAPPCODE"), ("X-QF-SIGN", sig.as_str()), ("X-QF-SIGNTYPE", "SHA256")];
    let (_, body, answer_headers) = raw_full(&app, "/trade/v1/payment", &urlencode(&params), &headers).await;
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["respcd"], "0000");
    assert_eq!(header(&answer_headers, "x-qf-signtype"), None, "MD5 answers carry no X-QF-SIGNTYPE");
    assert_eq!(header(&answer_headers, "x-qf-sign"), Some(guide_answer_signature(&answer, "DEMOKEY").as_str()));
}

#[tokio::test]
async fn every_vector_passes_the_simulators_signature_check() {
    let text = include_str!("data/signatures.json");
    let doc: Value = serde_json::from_str(text).unwrap();
    for v in doc["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let key = v["key"].as_str().unwrap();
        let mchid = v["params"].get("mchid").and_then(Value::as_str).map(str::to_owned);
        let merchant =
            Merchant { appcode: "VEC".into(), key: qfpay::ClientKey::new(key), mchid, name: "vectors".into() };
        let app = qfpay_sim::app(config(vec![merchant]));
        let params: Vec<(&str, &str)> =
            v["params"].as_object().unwrap().iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap())).collect();
        let sig = v["signature"].as_str().unwrap();
        let sign_type = v["sign_type"].as_str().unwrap();
        assert_eq!(guide_signature(&params, key, sign_type == "SHA256"), sig, "independent signer, vector {name:?}");
        let body = urlencode(&params);
        let headers = [("X-QF-APPCODE", "VEC"), ("X-QF-SIGN", sig), ("X-QF-SIGNTYPE", sign_type)];
        let (_, a) = raw(&app, "/trade/v1/payment", &body, &headers).await;
        assert_ne!(a["respcd"], "1108", "vector {name:?} ({sign_type}) should pass the signature check: {a}");
        let mut wrong = sig.to_owned();
        wrong.replace_range(0..1, if sig.starts_with('0') { "1" } else { "0" });
        let headers = [("X-QF-APPCODE", "VEC"), ("X-QF-SIGN", wrong.as_str()), ("X-QF-SIGNTYPE", sign_type)];
        let (_, a) = raw(&app, "/trade/v1/payment", &body, &headers).await;
        assert_eq!(a["respcd"], "1108", "vector {name:?} with a flipped digit");
    }
}
