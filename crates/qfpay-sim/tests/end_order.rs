//! Ending unpaid orders as `04-common-api/02-reversal-cancel.md` says: reversal for Alipay and
//! WeChat Pay CPM, close for WeChat Pay MPM, nothing for the Hong Kong types; never a paid
//! order; and the `end_order` switch for what QFPay enabled for a merchant.

mod common;

use common::*;
use serde_json::{json, Value};

const CLOSE: &str = "/trade/v1/close";
const REVERSAL: &str = "/trade/v1/reversal";

/// An unpaid order of `pay_type` (1500 HKD cents) under `out_trade_no`.
async fn order(app: &axum::Router, out_trade_no: &str, pay_type: &str) -> Value {
    let mut pairs = vec![
        ("txamt", "1500"),
        ("txcurrcd", "HKD"),
        ("pay_type", pay_type),
        ("out_trade_no", out_trade_no),
        ("txdtm", TXDTM),
    ];
    if pay_type.ends_with("08") {
        // A CPM code still being confirmed (the simulator's rule: a code ending in 1145).
        pairs.push(("auth_code", "285000000001145"));
    }
    let a = post_form(app, "/trade/v1/payment", &pairs).await;
    assert!(["0000", "1145"].contains(&a["respcd"].as_str().unwrap()), "{pay_type}: {a}");
    a
}

/// Ends `out_trade_no` through `path`.
async fn end(app: &axum::Router, path: &str, out_trade_no: &str) -> Value {
    post_form(app, path, &[("out_trade_no", out_trade_no), ("txamt", "1500"), ("txdtm", TXDTM)]).await
}

async fn row(app: &axum::Router, out_trade_no: &str) -> Value {
    let rows = post_form(app, "/trade/v1/query", &[("out_trade_no", out_trade_no)]).await;
    rows["data"][0].clone()
}

fn resperr(answer: &Value) -> &str {
    answer["resperr"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn hong_kong_types_cannot_be_ended_early_and_stay_payable() {
    let app = demo();
    for (number, pay_type) in [("PAYME", "805801"), ("FPS", "802001"), ("H5WAP", "801512")] {
        order(&app, number, pay_type).await;
        for path in [CLOSE, REVERSAL] {
            let refused = end(&app, path, number).await;
            assert_eq!(refused["respcd"], "1136", "{pay_type} {path}: {refused}");
            assert!(resperr(&refused).contains("does not support cancel"), "{refused}");
        }
        let open = row(&app, number).await;
        assert_eq!(
            (open["respcd"].as_str(), open["cancel"].as_str()),
            (Some("1143"), Some("0")),
            "{pay_type} still open"
        );
    }
    let (status, paid) = control(&app, "POST", "/sim/orders/PAYME/pay", None).await;
    assert_eq!((status.as_u16(), paid["status"].as_str()), (200, Some("paid")), "still payable: {paid}");
}

#[tokio::test]
async fn the_wrong_call_is_refused_naming_the_right_one() {
    let app = demo();
    order(&app, "ALIPAY", "800101").await;
    order(&app, "WECHAT", "800201").await;
    let wrong = end(&app, CLOSE, "ALIPAY").await;
    assert_eq!(wrong["respcd"], "1136", "{wrong}");
    assert!(resperr(&wrong).contains(REVERSAL), "{wrong}");
    let wrong = end(&app, REVERSAL, "WECHAT").await;
    assert_eq!(wrong["respcd"], "1136", "{wrong}");
    assert!(resperr(&wrong).contains(CLOSE), "{wrong}");
    assert_eq!(row(&app, "ALIPAY").await["cancel"], "0", "nothing changed");
    assert_eq!(end(&app, CLOSE, "NO-SUCH-ORDER").await["respcd"], "1268");
}

#[tokio::test]
async fn the_right_call_ends_an_unpaid_order_for_good() {
    let app = demo();
    for number in ["ALIPAY-MPM", "WECHAT-CPM", "MULTI-CPM"] {
        let pay_type = match number {
            "ALIPAY-MPM" => "800101",
            "WECHAT-CPM" => "800208",
            _ => "800008",
        };
        order(&app, number, pay_type).await;
        let ended = end(&app, REVERSAL, number).await;
        assert_eq!(ended["respcd"], "0000", "{pay_type}: {ended}");
        assert_eq!(row(&app, number).await["cancel"], "1", "{pay_type} reversed");
    }
    order(&app, "WECHAT-MPM", "800201").await;
    assert_eq!(end(&app, CLOSE, "WECHAT-MPM").await["respcd"], "0000");
    let closed = row(&app, "WECHAT-MPM").await;
    assert_eq!((closed["respcd"].as_str(), closed["cancel"].as_str()), (Some("1142"), Some("2")));
    // Ended orders cannot be paid any more, and the CPM charge in progress never completes.
    for number in ["ALIPAY-MPM", "WECHAT-MPM"] {
        let (status, _) = control(&app, "POST", &format!("/sim/orders/{number}/pay"), None).await;
        assert_eq!(status.as_u16(), 409, "{number}");
    }
    advance(&app, 60).await;
    assert_eq!(row(&app, "WECHAT-CPM").await["cancel"], "1");
    assert_eq!(end(&app, REVERSAL, "ALIPAY-MPM").await["respcd"], "0000", "ending it again changes nothing");
}

#[tokio::test]
async fn a_paid_order_is_never_ended() {
    let app = demo();
    order(&app, "ALIPAY", "800101").await;
    order(&app, "WECHAT", "800201").await;
    for (number, path) in [("ALIPAY", REVERSAL), ("WECHAT", CLOSE)] {
        control(&app, "POST", &format!("/sim/orders/{number}/pay"), None).await;
        let refused = end(&app, path, number).await;
        assert_eq!(refused["respcd"], "1260", "{path}: {refused}");
        let paid = row(&app, number).await;
        assert_eq!((paid["respcd"].as_str(), paid["cancel"].as_str()), (Some("0000"), Some("0")), "{number}");
    }
}

#[tokio::test]
async fn the_end_order_switch_sets_the_call_per_pay_type() {
    let app = demo_with(json!({"end_order": {"805801": "close", "800201": "none", "800101": "close"}})).await;
    order(&app, "PAYME", "805801").await;
    order(&app, "WECHAT", "800201").await;
    order(&app, "ALIPAY", "800101").await;
    assert_eq!(end(&app, CLOSE, "PAYME").await["respcd"], "0000", "QFPay enabled close for PayMe");
    let none = end(&app, CLOSE, "WECHAT").await;
    assert!(none["respcd"] == "1136" && resperr(&none).contains("does not support cancel"), "{none}");
    let moved = end(&app, REVERSAL, "ALIPAY").await;
    assert!(moved["respcd"] == "1136" && resperr(&moved).contains(CLOSE), "{moved}");
    assert_eq!(end(&app, CLOSE, "ALIPAY").await["respcd"], "0000");
    // `{}` is the documented table again.
    set_switches(&app, json!({"end_order": {}})).await;
    assert_eq!(end(&app, CLOSE, "WECHAT").await["respcd"], "0000");
}

#[tokio::test]
async fn the_crossing_fault_pays_an_order_then_reverses_it() {
    let app = demo();
    order(&app, "CROSSED", "800108").await;
    let (status, _) = control(&app, "POST", "/sim/faults", Some(json!({"reversal_crosses_payment": true}))).await;
    assert_eq!(status.as_u16(), 200);
    let reversed = end(&app, REVERSAL, "CROSSED").await;
    assert_eq!(reversed["respcd"], "0000", "the reversal went through: {reversed}");
    let after = row(&app, "CROSSED").await;
    assert_eq!(
        (after["respcd"].as_str(), after["cancel"].as_str()),
        (Some("0000"), Some("1")),
        "paid, then reversed: {after}"
    );
    assert!(after["paydtm"].as_str().is_some_and(|d| !d.is_empty()), "it was paid first: {after}");
    // An order paid before the reversal came is still never reversed, fault or not.
    order(&app, "PAID-BEFORE", "800101").await;
    control(&app, "POST", "/sim/orders/PAID-BEFORE/pay", None).await;
    assert_eq!(end(&app, REVERSAL, "PAID-BEFORE").await["respcd"], "1260");
}
