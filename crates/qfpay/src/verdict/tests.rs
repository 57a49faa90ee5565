use super::*;

fn pay(body: &str) -> PaymentAnswer {
    PaymentAnswer::parse(body.as_bytes()).unwrap()
}

fn change(respcd: &str) -> OrderChangeAnswer {
    OrderChangeAnswer::parse(format!(r#"{{"respcd":"{respcd}"}}"#).as_bytes()).unwrap()
}

fn row(respcd: &str, cancel: u8) -> QueryRow {
    QueryRow { respcd: Some(RespCode::new(respcd)), cancel: Some(cancel), ..QueryRow::default() }
}

/// 2026-12-05 at `h:m` Hong Kong time, in Unix ms.
fn hk(h: u64, m: u64) -> u64 {
    let midnight = crate::Txdtm::parse("t", "2026-12-05 00:00:00").unwrap().to_unix(HONG_KONG_OFFSET_SECONDS);
    midnight as u64 * 1000 + (h * 60 + m) * 60_000
}

#[test]
fn payment_answers() {
    assert_eq!(payment(&pay(r#"{"respcd":"0000","qrcode":"q"}"#), PayMode::Mpm), PayVerdict::Created);
    assert_eq!(payment(&pay(r#"{"respcd":"0000","pay_url":"u"}"#), PayMode::Wap), PayVerdict::Created);
    assert_eq!(payment(&pay(r#"{"respcd":"0000"}"#), PayMode::Cpm), PayVerdict::Paid);
    let pending = pay(r#"{"respcd":"0000","data":{"txstatus":"PENDING"}}"#);
    assert_eq!(payment(&pending, PayMode::Cpm), PayVerdict::Pending("PENDING".into()));
    // A new QR code is PENDING until someone pays it: created, not pending.
    assert_eq!(payment(&pending, PayMode::Mpm), PayVerdict::Created);
    for code in ["1143", "1145", "1298"] {
        let body = format!(r#"{{"respcd":"{code}"}}"#);
        assert_eq!(payment(&pay(&body), PayMode::Cpm), PayVerdict::Pending(code.into()), "{code}");
    }
    assert_eq!(payment(&pay(r#"{"respcd":"1201"}"#), PayMode::Cpm), PayVerdict::Refused(RespCode::new("1201")));
}

#[test]
fn query_rows() {
    assert_eq!(payment_row(None), RowVerdict::NotFound);
    assert_eq!(payment_row(Some(&row("0000", 0))), RowVerdict::Paid);
    assert_eq!(payment_row(Some(&row("0000", 3))), RowVerdict::Paid);
    assert_eq!(payment_row(Some(&row("0000", 5))), RowVerdict::Paid);
    assert_eq!(payment_row(Some(&row("1143", 0))), RowVerdict::Pending);
    assert_eq!(payment_row(Some(&row("1181", 0))), RowVerdict::Expired);
    assert_eq!(payment_row(Some(&row("1142", 2))), RowVerdict::Closed);
    assert_eq!(payment_row(Some(&row("1201", 0))), RowVerdict::Failed(Some("1201".into())));
}

#[test]
fn refunds_and_the_nightly_window() {
    assert_eq!(refund(&change("0000"), hk(12, 0)), RefundVerdict::Succeeded);
    assert_eq!(refund(&change("1145"), hk(12, 0)), RefundVerdict::Pending("1145".into()));
    // In the window: sent again a minute after 00:30.
    assert_eq!(refund(&change("1265"), hk(23, 45)), RefundVerdict::AfterBlackout(hk(24, 31)));
    assert_eq!(refund(&change("1265"), hk(0, 10)), RefundVerdict::AfterBlackout(hk(0, 31)));
    // A few minutes around it still count (the call took a while; the clocks differ).
    assert_eq!(refund(&change("1265"), hk(23, 27)), RefundVerdict::AfterBlackout(hk(24, 31)));
    assert_eq!(refund(&change("1265"), hk(0, 33)), RefundVerdict::AfterBlackout(hk(0, 34)));
    // Outside it, 1265 is a special promotion: final.
    assert_eq!(refund(&change("1265"), hk(12, 0)), RefundVerdict::Refused("1265".into()));
    assert_eq!(refund(&change("1272"), hk(12, 0)), RefundVerdict::Refused("1272".into()));
    assert_eq!(refund_row(None), None);
    assert_eq!(refund_row(Some(&row("0000", 0))), Some(RefundVerdict::Succeeded));
    assert_eq!(refund_row(Some(&row("1145", 0))), Some(RefundVerdict::Pending("1145".into())));
    assert_eq!(refund_row(Some(&row("1155", 0))), Some(RefundVerdict::Refused("1155".into())));
}

#[test]
fn order_endings() {
    for code in ["0000", "1142", "1181", "1268"] {
        assert_eq!(end_order(&change(code)), EndVerdict::Ended, "{code}");
    }
    assert_eq!(end_order(&change("1260")), EndVerdict::AlreadyPaid);
    assert_eq!(end_order(&change("1143")), EndVerdict::InProgress);
    assert_eq!(end_order(&change("1136")), EndVerdict::NotEnded("1136".into()));
    assert_eq!(end_order(&change("1101")), EndVerdict::NotEnded("1101".into()));
}
