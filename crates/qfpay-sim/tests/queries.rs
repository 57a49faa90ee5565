//! Queries as `04-common-api/01-transaction-enquiry.md` describes them: without `syssn`, only
//! the window counts, by default the current Hong Kong calendar month, and a window lasts a
//! month at most; pages of 10 by default, 100 at most; lists of numbers up to the
//! `query_list_max` switch.

mod common;

use common::*;
use qfpay_sim::{Merchant, SimConfig};
use serde_json::{json, Value};

/// 2023-11-30 20:00:00 in Hong Kong: four hours before December.
const END_OF_NOVEMBER: i64 = 1_701_345_600;

async fn query(app: &axum::Router, pairs: &[(&str, &str)]) -> Value {
    let a = post_form(app, "/trade/v1/query", pairs).await;
    assert!(a["respcd"] == "0000" || a["respcd"] == "1104", "{a}");
    a
}

fn rows(answer: &Value) -> Vec<String> {
    let data = answer["data"].as_array().unwrap_or_else(|| panic!("rows: {answer}"));
    data.iter().map(|r| r["out_trade_no"].as_str().unwrap().to_owned()).collect()
}

async fn pay_order(app: &axum::Router, out_trade_no: &str) -> String {
    let pairs = [
        ("txamt", "1500"),
        ("txcurrcd", "HKD"),
        ("pay_type", "800201"),
        ("out_trade_no", out_trade_no),
        ("txdtm", TXDTM),
    ];
    let a = post_form(app, "/trade/v1/payment", &pairs).await;
    assert_eq!(a["respcd"], "0000", "{a}");
    a["syssn"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn without_a_window_only_the_current_month_is_searched() {
    let app = qfpay_sim::app(SimConfig {
        public_url: "http://sim.test".into(),
        ..SimConfig::new(vec![Merchant::demo()], END_OF_NOVEMBER)
    });
    let syssn = pay_order(&app, "NOV").await;
    assert_eq!(rows(&query(&app, &[("out_trade_no", "NOV")]).await), ["NOV"], "this month");
    // Five hours later it is 01:00 on 1 December in Hong Kong.
    advance(&app, 5 * 3600).await;
    assert_eq!(rows(&query(&app, &[("out_trade_no", "NOV")]).await), Vec::<String>::new(), "last month: not found");
    assert_eq!(rows(&query(&app, &[]).await), Vec::<String>::new(), "a search neither");
    let november = [("start_time", "2023-11-01 00:00:00"), ("end_time", "2023-11-30 23:59:59")];
    let found = query(&app, &[&[("out_trade_no", "NOV")][..], &november].concat()).await;
    assert_eq!(rows(&found), ["NOV"], "a window in that month finds it");
    assert_eq!(rows(&query(&app, &november).await), ["NOV"]);
    let by_syssn = query(&app, &[("syssn", syssn.as_str())]).await;
    assert_eq!(rows(&by_syssn), ["NOV"], "a syssn is found in any month");
    let ignored = query(&app, &[("syssn", syssn.as_str()), ("start_time", "2023-12-01 00:00:00")]).await;
    assert_eq!(rows(&ignored), ["NOV"], "the window is ignored with a syssn");
}

#[tokio::test]
async fn a_window_is_one_month_at_most_and_well_formed() {
    let app = demo();
    let cases = [
        (&[("start_time", "2023-10-01 00:00:00"), ("end_time", "2023-11-01 00:00:01")][..], "end_time"),
        (&[("start_time", "2023-11-02 00:00:00"), ("end_time", "2023-11-01 00:00:00")], "end_time"),
        (&[("out_trade_no", "X"), ("start_time", "2023-11-01")], "start_time"),
        (&[("end_time", "yesterday")], "end_time"),
        (&[("start_time", "2023-09-30 00:00:00")], "end_time"),
    ];
    for (pairs, field) in cases {
        let a = query(&app, pairs).await;
        assert_eq!(a["respcd"], "1104", "{pairs:?}: {a}");
        assert!(a["resperr"].as_str().unwrap().starts_with(field), "{pairs:?}: {a}");
    }
    let crossing = [("start_time", "2023-10-15 00:00:00"), ("end_time", "2023-11-15 00:00:00")];
    assert_eq!(query(&app, &crossing).await["respcd"], "0000", "a month across two calendar months");
}

#[tokio::test]
async fn pages_of_ten_by_default_in_a_stable_order() {
    let app = demo();
    let numbers: Vec<String> = (0..12).map(|i| format!("P{i:02}")).collect();
    for n in &numbers {
        pay_order(&app, n).await;
    }
    let first = query(&app, &[]).await;
    assert_eq!((first["page"].as_str(), first["page_size"].as_str()), (Some("1"), Some("10")));
    assert_eq!(rows(&first), numbers[..10], "oldest first");
    assert_eq!(rows(&query(&app, &[("page", "2")]).await), numbers[10..]);
    assert_eq!(rows(&query(&app, &[("page", "2"), ("page_size", "5")]).await), numbers[5..10]);
    assert_eq!(rows(&query(&app, &[("page_size", "100")]).await), numbers);
    let too_big = query(&app, &[("page_size", "101")]).await;
    assert!(too_big["respcd"] == "1104" && too_big["resperr"].as_str().unwrap().starts_with("page_size"), "{too_big}");
    let listed = numbers[..3].join(",");
    assert_eq!(rows(&query(&app, &[("out_trade_no", &listed)]).await), numbers[..3], "a list of numbers");
}

#[tokio::test]
async fn lists_longer_than_query_list_max_are_refused() {
    let app = demo();
    let hundred_and_one: Vec<String> = (0..101).map(|i| format!("N{i}")).collect();
    for field in ["out_trade_no", "syssn"] {
        let a = query(&app, &[(field, &hundred_and_one.join(","))]).await;
        assert_eq!(a["respcd"], "1104", "{field}: {a}");
        let resperr = a["resperr"].as_str().unwrap();
        assert!(resperr.starts_with(field) && resperr.contains("100"), "names the field and the limit: {resperr}");
        assert_eq!(query(&app, &[(field, &hundred_and_one[..100].join(","))]).await["respcd"], "0000", "{field}: 100");
    }
    set_switches(&app, json!({"query_list_max": 2})).await;
    let a = query(&app, &[("out_trade_no", "A,B,C")]).await;
    assert!(a["respcd"] == "1104" && a["resperr"].as_str().unwrap().contains("at most 2"), "{a}");
    assert_eq!(query(&app, &[("out_trade_no", "A,B")]).await["respcd"], "0000");
}
