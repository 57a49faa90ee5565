//! Refund rules of `04-common-api/03-refunds.md` and `01-preparation/02-paycode.md` that
//! depend on the merchant or the day: `1265` in the 23:30-00:30 blackout and in a promotion,
//! `1269` low volume, `1270`/`1271` no partial refund; and an `out_trade_no` used once across
//! payments and refunds, whatever became of the first request.

mod common;

use common::*;
use serde_json::{json, Value};

/// A paid order of 1500 HKD cents; its `syssn`.
async fn paid(app: &axum::Router, out_trade_no: &str) -> String {
    let pairs = [
        ("txamt", "1500"),
        ("txcurrcd", "HKD"),
        ("pay_type", "800201"),
        ("out_trade_no", out_trade_no),
        ("txdtm", TXDTM),
    ];
    let a = post_form(app, "/trade/v1/payment", &pairs).await;
    let (status, _) = control(app, "POST", &format!("/sim/orders/{out_trade_no}/pay"), None).await;
    assert_eq!(status.as_u16(), 200, "{a}");
    a["syssn"].as_str().unwrap().to_owned()
}

async fn refund(app: &axum::Router, syssn: &str, out_trade_no: &str, txamt: &str) -> Value {
    let pairs = [("syssn", syssn), ("out_trade_no", out_trade_no), ("txamt", txamt), ("txdtm", TXDTM)];
    post_form(app, "/trade/v1/refund", &pairs).await
}

#[tokio::test]
async fn a_refused_refund_uses_up_its_number() {
    let app = demo();
    let syssn = paid(&app, "P1").await;
    let too_much = refund(&app, &syssn, "R1", "1501").await;
    assert_eq!(too_much["respcd"], "1272", "{too_much}");
    assert_eq!(refund(&app, &syssn, "R1", "1501").await, too_much, "an identical retry: the same answer");
    let reused = refund(&app, &syssn, "R1", "500").await;
    assert_eq!(reused["respcd"], "2011", "a good refund cannot take the refused number: {reused}");
    assert_eq!(refund(&app, "99999", "R2", "100").await["respcd"], "1268");
    assert_eq!(refund(&app, &syssn, "R2", "100").await["respcd"], "2011", "not even after a 1268");
    let malformed = refund(&app, &syssn, "R3", "0").await;
    assert_eq!(malformed["respcd"], "1266", "{malformed}");
    assert_eq!(refund(&app, &syssn, "R3", "100").await["respcd"], "2011", "not even after a wrong field");
    assert_eq!(refund(&app, &syssn, "R4", "100").await["respcd"], "0000");
    let rows = post_form(&app, "/trade/v1/query", &[("out_trade_no", "P1,R1,R2,R3,R4")]).await;
    assert_eq!(rows["data"].as_array().unwrap().len(), 2, "refused requests made no rows: {rows}");
}

#[tokio::test]
async fn a_refused_payment_uses_up_its_number_for_refunds_and_payments() {
    let app = demo();
    let syssn = paid(&app, "P1").await;
    let h5 = [("txamt", "1500"), ("txcurrcd", "HKD"), ("pay_type", "800212"), ("out_trade_no", "H5"), ("txdtm", TXDTM)];
    let refused = post_form(&app, "/trade/v1/payment", &h5).await;
    assert_eq!(refused["respcd"], "1104", "no extend_info: {refused}");
    assert_eq!(refund(&app, &syssn, "H5", "100").await["respcd"], "2011");
    let wechat = h5.map(|(n, v)| if n == "pay_type" { (n, "800201") } else { (n, v) });
    assert_eq!(post_form(&app, "/trade/v1/payment", &wechat).await["respcd"], "1102");
    assert_eq!(post_form(&app, "/trade/v1/payment", &h5).await, refused, "an identical retry: the same answer");
}

#[tokio::test]
async fn refund_1265_in_the_blackout_and_in_a_promotion() {
    let app = demo();
    let syssn = paid(&app, "P1").await;
    // 10:00 in Hong Kong: refunds are open, until a promotion closes them at any hour.
    set_switches(&app, json!({"refund_promotion": true})).await;
    let promotion = refund(&app, &syssn, "R1", "100").await;
    assert_eq!(promotion["respcd"], "1265", "{promotion}");
    assert!(promotion["resperr"].as_str().unwrap().contains("promotion"), "{promotion}");
    set_switches(&app, json!({"refund_promotion": false})).await;
    assert_eq!(refund(&app, &syssn, "R2", "100").await["respcd"], "0000");
    // 00:10 the next day, inside 23:30-00:30.
    advance(&app, 14 * 3600 + 10 * 60).await;
    let blackout = refund(&app, &syssn, "R3", "100").await;
    assert_eq!(blackout["respcd"], "1265", "{blackout}");
    assert!(blackout["resperr"].as_str().unwrap().contains("23:30"), "{blackout}");
    set_switches(&app, json!({"refund_blackout": false})).await;
    assert_eq!(refund(&app, &syssn, "R4", "100").await["respcd"], "0000", "blackout switched off");
}

#[tokio::test]
async fn refund_1269_when_the_volume_is_low() {
    let app = demo_with(json!({"refund_low_volume": true})).await;
    let syssn = paid(&app, "P1").await;
    assert_eq!(refund(&app, &syssn, "R1", "1500").await["respcd"], "1269");
    set_switches(&app, json!({"refund_low_volume": false})).await;
    assert_eq!(refund(&app, &syssn, "R2", "1500").await["respcd"], "0000");
}

#[tokio::test]
async fn refund_1270_and_1271_refuse_partial_refunds_only() {
    for (switch, code) in [("refund_no_partial_currency", "1270"), ("refund_no_partial", "1271")] {
        let app = demo_with(json!({ switch: true })).await;
        let syssn = paid(&app, "P1").await;
        let partial = refund(&app, &syssn, "R1", "500").await;
        assert_eq!(partial["respcd"], code, "{switch}: {partial}");
        assert!(partial["resperr"].as_str().unwrap().starts_with("txamt"), "{partial}");
        assert_eq!(refund(&app, &syssn, "R2", "1500").await["respcd"], "0000", "{switch}: a full refund goes through");
    }
    let app = demo();
    let syssn = paid(&app, "P1").await;
    assert_eq!(refund(&app, &syssn, "R1", "500").await["respcd"], "0000", "partial refunds by default");
}
