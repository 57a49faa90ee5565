//! Payment rules from QFPay's own pages: WeChat Pay H5 (`800212`) needs a well-formed
//! `extend_info`; `expired_time` (5 to 120 minutes) is taken by the eight pay types
//! `01-preparation/02-paycode.md` lists, and read as absent by the others, whose orders wait 30
//! minutes.

mod common;

use common::*;
use serde_json::{json, Value};

fn payment<'a>(out_trade_no: &'a str, pay_type: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("txamt", "1500"),
        ("txcurrcd", "HKD"),
        ("pay_type", pay_type),
        ("out_trade_no", out_trade_no),
        ("txdtm", TXDTM),
    ]
}

async fn row(app: &axum::Router, out_trade_no: &str) -> Value {
    post_form(app, "/trade/v1/query", &[("out_trade_no", out_trade_no)]).await["data"][0].clone()
}

fn h5_info(ip: &str) -> String {
    json!({
        "scene_info": {"h5_info": {"type": "Wap", "wap_url": "https://shop.example", "wap_name": "Tea House"}},
        "spbill_create_ip": ip,
    })
    .to_string()
}

#[tokio::test]
async fn wechat_pay_h5_needs_a_well_formed_extend_info() {
    let app = demo();
    let bad_ip = h5_info("somewhere");
    let no_wap = json!({"scene_info": {"h5_info": {"type": "Wap", "wap_url": "https://shop.example"}}, "spbill_create_ip": "203.0.113.9"}).to_string();
    let cases: [(&str, Option<&str>, &str); 4] = [
        ("H1", None, "is required"),
        ("H2", Some("{not json"), "JSON object"),
        ("H3", Some(&bad_ip), "spbill_create_ip"),
        ("H4", Some(&no_wap), "wap_name"),
    ];
    for (number, extend_info, named) in cases {
        let mut pairs = payment(number, "800212");
        pairs.extend(extend_info.map(|e| ("extend_info", e)));
        let a = post_form(&app, "/trade/v1/payment", &pairs).await;
        assert_eq!(a["respcd"], "1104", "{extend_info:?}: {a}");
        let resperr = a["resperr"].as_str().unwrap();
        assert!(resperr.starts_with("extend_info") && resperr.contains(named), "{extend_info:?}: {resperr}");
    }
    let good = h5_info("203.0.113.9");
    let a = post_form(
        &app,
        "/trade/v1/payment",
        &[&payment("H5", "800212")[..], &[("extend_info", good.as_str())]].concat(),
    )
    .await;
    assert_eq!(a["respcd"], "0000", "{a}");
    assert!(a["pay_url"].as_str().unwrap().contains("/sim/wallet/"), "{a}");
    // Other WeChat pages may carry an extend_info of their own; the gateway does not refuse it.
    let other =
        post_form(&app, "/trade/v1/payment", &[&payment("W1", "800201")[..], &[("extend_info", "{}")]].concat()).await;
    assert_eq!(other["respcd"], "0000", "{other}");
}

#[tokio::test]
async fn expired_time_is_honoured_for_alipay_hk_wap() {
    let app = demo();
    let a = post_form(&app, "/trade/v1/payment", &[&payment("WAP", "801512")[..], &[("expired_time", "10")]].concat())
        .await;
    assert_eq!(a["respcd"], "0000", "{a}");
    advance(&app, 9 * 60 + 50).await;
    assert_eq!(row(&app, "WAP").await["respcd"], "1143", "waiting before 10 minutes");
    advance(&app, 11).await;
    assert_eq!(row(&app, "WAP").await["respcd"], "1181", "expired after 10 minutes");
    let (status, _) = control(&app, "POST", "/sim/orders/WAP/pay", None).await;
    assert_eq!(status.as_u16(), 409, "an expired order cannot be paid");
    let too_long =
        post_form(&app, "/trade/v1/payment", &[&payment("LONG", "801512")[..], &[("expired_time", "121")]].concat())
            .await;
    assert!(
        too_long["respcd"] == "1104" && too_long["resperr"].as_str().unwrap().starts_with("expired_time"),
        "{too_long}"
    );
}

#[tokio::test]
async fn other_pay_types_ignore_expired_time_and_wait_30_minutes() {
    let app = demo();
    // PayMe's QR and Alipay HK's web page are not in the documented list.
    for (number, pay_type) in [("PAYME", "805801"), ("WEB", "801514")] {
        let a =
            post_form(&app, "/trade/v1/payment", &[&payment(number, pay_type)[..], &[("expired_time", "5")]].concat())
                .await;
        assert_eq!(a["respcd"], "0000", "{pay_type}: the field is not refused: {a}");
    }
    let bad =
        post_form(&app, "/trade/v1/payment", &[&payment("ODD", "805801")[..], &[("expired_time", "999")]].concat())
            .await;
    assert_eq!(bad["respcd"], "0000", "not even out of range: it is not read: {bad}");
    advance(&app, 29 * 60).await;
    assert_eq!(row(&app, "PAYME").await["respcd"], "1143", "not 5 minutes");
    assert_eq!(row(&app, "WEB").await["respcd"], "1143");
    advance(&app, 61).await;
    assert_eq!(row(&app, "PAYME").await["respcd"], "1181", "30 minutes");
    assert_eq!(row(&app, "WEB").await["respcd"], "1181");
}
