//! The `answer_signature` switch: what an answer's `X-QF-SIGN` covers, each reading checked by
//! a computation of its own in `common.rs` (`answer_reading`), on an answer with a `data`
//! object (payment), one with a `data` list (query) and a flat one (a refusal).

mod common;

use common::*;
use qfpay::SignType;
use qfpay_sim::{AnswerSignature, Merchant, SimConfig};
use serde_json::json;

const READINGS: [&str; 3] = ["sorted-data", "top-level", "raw-body"];

/// A payment, a query and a refusal under the switches in force: each answer's bytes and
/// headers.
async fn three_answers(app: &axum::Router, number: &str) -> Vec<(Vec<u8>, axum::http::HeaderMap)> {
    let pay =
        [("txamt", "1500"), ("txcurrcd", "HKD"), ("pay_type", "800201"), ("out_trade_no", number), ("txdtm", TXDTM)];
    vec![
        post_form_full(app, "/trade/v1/payment", &pay).await,
        post_form_full(app, "/trade/v1/query", &[("out_trade_no", number)]).await,
        post_form_full(
            app,
            "/trade/v1/refund",
            &[("syssn", "1"), ("out_trade_no", "X"), ("txamt", "1"), ("txdtm", TXDTM)],
        )
        .await,
    ]
}

#[tokio::test]
async fn each_reading_signs_what_it_says() {
    let app = demo();
    let (_, switches) = control(&app, "GET", "/sim/switches", None).await;
    assert_eq!(switches["answer_signature"], "sorted-data", "the guide's reading by default");
    for (i, reading) in READINGS.into_iter().enumerate() {
        set_switches(&app, json!({"answer_signature": reading})).await;
        for (n, (body, headers)) in three_answers(&app, &format!("S{i}")).await.into_iter().enumerate() {
            let expected = answer_reading(reading, &body, "DEMOKEY", false).expect("a JSON object");
            assert_eq!(
                header(&headers, "x-qf-sign"),
                Some(expected.as_str()),
                "{reading}: {}",
                String::from_utf8_lossy(&body)
            );
            assert_eq!(header(&headers, "x-qf-signtype"), None, "MD5");
            // The payment's answer, with its `data` object, tells all three readings apart, so
            // none passes for another; without a `data` object the two field readings agree.
            let others =
                READINGS.iter().filter(|r| **r != reading && (n == 0 || **r == "raw-body" || reading == "raw-body"));
            for other in others {
                assert_ne!(
                    answer_reading(other, &body, "DEMOKEY", false),
                    Some(expected.clone()),
                    "{reading} vs {other}"
                );
            }
        }
    }
    set_switches(&app, json!({"answer_signature": "none"})).await;
    for (_, headers) in three_answers(&app, "NONE").await {
        assert_eq!((header(&headers, "x-qf-sign"), header(&headers, "x-qf-signtype")), (None, None));
    }
}

#[tokio::test]
async fn sha256_answers_say_so_and_start_from_the_config() {
    let mut config = SimConfig { answer_sign_type: SignType::Sha256, ..config(vec![Merchant::demo()]) };
    config.switches.answer_signature = AnswerSignature::RawBody;
    let app = qfpay_sim::app(config);
    for (body, headers) in three_answers(&app, "SHA").await {
        assert_eq!(header(&headers, "x-qf-signtype"), Some("SHA256"));
        assert_eq!(header(&headers, "x-qf-sign"), answer_reading("raw-body", &body, "DEMOKEY", true).as_deref());
    }
}

#[tokio::test]
async fn the_bad_answer_signature_fault_spoils_every_reading() {
    let app = demo();
    control(&app, "POST", "/sim/faults", Some(json!({"bad_answer_signature": 1.0}))).await;
    for (i, reading) in READINGS.into_iter().enumerate() {
        set_switches(&app, json!({"answer_signature": reading})).await;
        let (body, headers) = three_answers(&app, &format!("B{i}")).await.swap_remove(0);
        let signature = header(&headers, "x-qf-sign").expect("still signed");
        let expected = answer_reading(reading, &body, "DEMOKEY", false).unwrap();
        assert_eq!(signature.len(), expected.len(), "{reading}: the form of a signature");
        assert_ne!(signature, expected, "{reading}: but a wrong one");
    }
}
