use super::*;

#[test]
fn flat_payment_answer() {
    let body = br#"{"respcd":"0000","respmsg":"","txamt":1500,"txcurrcd":"HKD","pay_type":"800201","out_trade_no":"O1","syssn":"2023110100001","qrcode":"https://sim/wallet/abc"}"#;
    let a = PaymentAnswer::parse(body).unwrap();
    assert!(a.outcome.respcd.is_success());
    assert_eq!(a.txamt, Some(1500));
    assert_eq!(a.syssn.as_deref(), Some("2023110100001"));
    assert_eq!(a.qrcode.as_deref(), Some("https://sim/wallet/abc"));
}

#[test]
fn guide_shaped_payment_answer() {
    let body = br#"{"respcd":"0000","respmsg":"success","data":{"txamt":"100","out_trade_no":"20231101000001","txcurrcd":"HKD","txstatus":"SUCCESS","qf_trade_no":"9000020231101000001","pay_type":"800101","txdtm":"2023-11-01 10:00:00"}}"#;
    let a = PaymentAnswer::parse(body).unwrap();
    assert_eq!(a.txamt, Some(100));
    assert_eq!(a.syssn.as_deref(), Some("9000020231101000001"));
    assert_eq!(a.txstatus.as_deref(), Some("SUCCESS"));
}

#[test]
fn bad_answers_are_errors() {
    assert!(matches!(PaymentAnswer::parse(b"<html>"), Err(AnswerError::NotJson(_))));
    assert!(matches!(PaymentAnswer::parse(b"[1]"), Err(AnswerError::NotJson(_))));
    assert_eq!(PaymentAnswer::parse(b"{}"), Err(AnswerError::Missing("respcd")));
    assert!(matches!(
        PaymentAnswer::parse(br#"{"respcd":"0000","txamt":"ten"}"#),
        Err(AnswerError::Malformed { field: "txamt", .. })
    ));
    assert!(matches!(
        QueryAnswer::parse(br#"{"respcd":"0000","data":{}}"#),
        Err(AnswerError::Malformed { field: "data", .. })
    ));
}

#[test]
fn query_rows_map_to_one_status() {
    let body = br#"{"respcd":"0000","page":"1","page_size":10,"data":[
        {"out_trade_no":"P","order_type":"payment","respcd":"0000","cancel":"0","txamt":"100"},
        {"out_trade_no":"W","respcd":"1143","cancel":0},
        {"out_trade_no":"F","respcd":"1202","cancel":0},
        {"out_trade_no":"C","respcd":"1142","cancel":2},
        {"out_trade_no":"R","respcd":"0000","cancel":3},
        {"out_trade_no":"H","respcd":"0000","cancel":5},
        {"out_trade_no":"X","order_type":"refund","respcd":"0000","origssn":"S1"}]}"#;
    let q = QueryAnswer::parse(body).unwrap();
    let statuses: Vec<_> = q.rows.iter().map(QueryRow::status).collect();
    use PaymentStatus::*;
    assert_eq!(statuses, vec![Paid, Pending, Failed, Closed, Refunded, PartlyRefunded, Paid]);
    assert_eq!(q.page, Some(1));
    assert_eq!(q.payment("P").and_then(|r| r.txamt), Some(100));
    assert!(q.payment("X").is_none(), "a refund row is not the payment");
    assert!(QueryAnswer::parse(br#"{"respcd":"0000","data":[]}"#).unwrap().rows.is_empty());
}

#[test]
fn notification_body() {
    let body = br#"{"status": "1", "pay_type": "800201", "sysdtm": "2023-11-01 10:01:00", "txcurrcd": "HKD", "txdtm": "2023-11-01 10:00:00", "txamt": "1500", "out_trade_no": "O1", "syssn": "S1", "cancel": "0", "respcd": "0000", "notify_type": "payment", "goods_name": "\u6e2f"}"#;
    let n = Notification::parse(body).unwrap();
    assert_eq!(n.goods_name.as_deref(), Some("港"));
    assert_eq!(n.txamt, 1500);
    assert!(n.is_success());
    assert_eq!(Notification::parse(br#"{"notify_type":"payment"}"#), Err(AnswerError::Missing("syssn")));
}

#[test]
fn order_change_answer() {
    let a = OrderChangeAnswer::parse(br#"{"respcd":"1145","orig_syssn":"S1","syssn":"S2","txamt":50}"#).unwrap();
    assert_eq!(a.outcome.respcd.class(), crate::RespClass::PendingAskAgain);
    assert_eq!(a.orig_syssn.as_deref(), Some("S1"));
}
