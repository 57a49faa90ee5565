use super::*;
use crate::secret::ClientKey;

fn creds(mchid: Option<&str>) -> Credentials {
    Credentials { appcode: "APP".into(), key: ClientKey::new("abcd1234"), mchid: mchid.map(Into::into) }
}

fn mpm() -> PaymentRequest {
    PaymentRequest {
        txamt: 1500,
        txcurrcd: "HKD".into(),
        pay_type: "800201".into(),
        out_trade_no: "ORDER20231101000001".into(),
        txdtm: "2023-11-01 10:00:00".into(),
        expired_time: Some(30),
        goods_name: Some("Test Product".into()),
        ..Default::default()
    }
}

#[test]
fn signed_payment_matches_the_guide_vector() {
    // The "full MPM payment" SHA256 vector of shared/vectors/signatures.json.
    let signed = mpm().sign(&creds(Some("ZaMVg12345"))).unwrap();
    assert_eq!(signed.header("X-QF-SIGN"), Some("288159456F8FCD0B6AE72D5A9DFB154991C7DB74B5F0CA6005D6406792C45E35"));
    assert_eq!(signed.header("X-QF-SIGNTYPE"), Some("SHA256"));
    assert_eq!(signed.header("X-QF-APPCODE"), Some("APP"));
    assert_eq!(signed.path, "/trade/v1/payment");
    assert_eq!(signed.method, Method::Post);
    assert!(signed.body.contains("goods_name=Test+Product"), "{}", signed.body);
    assert!(signed.body.contains("mchid=ZaMVg12345"));
    assert_eq!(signed.url("http://127.0.0.1:9/"), "http://127.0.0.1:9/trade/v1/payment");
}

#[test]
fn mchid_is_sent_only_when_the_merchant_has_one() {
    let signed = mpm().sign(&creds(None)).unwrap();
    assert!(!signed.body.contains("mchid"));
}

fn rejects(req: PaymentRequest, field: &str, rule_part: &str) {
    let err = req.validate().unwrap_err();
    assert_eq!(err.field, field, "{err}");
    assert!(err.rule.contains(rule_part), "{err}");
}

#[test]
fn every_payment_rule_names_its_field() {
    rejects(PaymentRequest { txamt: 0, ..mpm() }, "txamt", "greater than 0");
    rejects(PaymentRequest { txamt: 100_000_000_000, ..mpm() }, "txamt", "at most");
    rejects(PaymentRequest { txcurrcd: "XXX".into(), ..mpm() }, "txcurrcd", "unknown currency");
    rejects(PaymentRequest { pay_type: "999999".into(), ..mpm() }, "pay_type", "unknown pay type");
    rejects(PaymentRequest { pay_type: "802001".into(), txcurrcd: "USD".into(), ..mpm() }, "txcurrcd", "HKD only");
    rejects(
        PaymentRequest { pay_type: "801101".into(), txamt: 100, expired_time: None, ..mpm() },
        "txamt",
        "more than 100",
    );
    rejects(PaymentRequest { out_trade_no: String::new(), ..mpm() }, "out_trade_no", "empty");
    rejects(PaymentRequest { out_trade_no: "x".repeat(129), ..mpm() }, "out_trade_no", "128");
    rejects(PaymentRequest { out_trade_no: "a b".into(), ..mpm() }, "out_trade_no", "spaces");
    rejects(PaymentRequest { txdtm: "2023/11/01".into(), ..mpm() }, "txdtm", "YYYY-MM-DD");
    rejects(PaymentRequest { pay_type: "800208".into(), expired_time: None, ..mpm() }, "auth_code", "required for CPM");
    rejects(PaymentRequest { auth_code: Some("1340".into()), ..mpm() }, "auth_code", "only for CPM");
    rejects(PaymentRequest { expired_time: Some(4), ..mpm() }, "expired_time", "5 to 120");
    rejects(PaymentRequest { expired_time: Some(121), ..mpm() }, "expired_time", "5 to 120");
    rejects(PaymentRequest { pay_type: "805801".into(), ..mpm() }, "expired_time", "not taken by pay type 805801");
    rejects(PaymentRequest { pay_type: "800212".into(), expired_time: None, ..mpm() }, "extend_info", "required");
    let h5 = |extend_info: &str| PaymentRequest {
        pay_type: "800212".into(),
        expired_time: None,
        extend_info: Some(extend_info.into()),
        ..mpm()
    };
    assert!(h5(&crate::h5_extend_info("https://shop.example", "Shop", "203.0.113.7")).validate().is_ok());
    rejects(h5(&crate::h5_extend_info("https://shop.example", "", "203.0.113.7")), "extend_info", "wap_name");
    rejects(h5(&crate::h5_extend_info("https://shop.example", "Shop", "nobody")), "extend_info", "spbill_create_ip");
    rejects(h5("{}"), "extend_info", "Wap");
    rejects(PaymentRequest { extend_info: Some("{}".into()), ..mpm() }, "extend_info", "only for WeChat Pay H5");
    rejects(PaymentRequest { goods_name: Some("港".repeat(21)), ..mpm() }, "goods_name", "20 characters");
    rejects(
        PaymentRequest { pay_type: "801510".into(), expired_time: None, goods_name: None, ..mpm() },
        "goods_name",
        "in-app",
    );
    rejects(PaymentRequest { udid: Some("u".repeat(41)), ..mpm() }, "udid", "40");
    rejects(PaymentRequest { notify_url: Some("ftp://x".into()), ..mpm() }, "notify_url", "http");
    rejects(
        PaymentRequest { notify_url: Some(format!("https://a.example/{}", "n".repeat(256))), ..mpm() },
        "notify_url",
        "256",
    );
    rejects(PaymentRequest { pay_tag: Some("ALIPAYHK".into()), ..mpm() }, "pay_tag", "Alipay MPM");
    rejects(
        PaymentRequest { pay_type: "801501".into(), pay_tag: Some("ALIPAYUS".into()), ..mpm() },
        "pay_tag",
        "ALIPAYHK or ALIPAYCN",
    );
}

#[test]
fn valid_requests_pass() {
    assert!(mpm().validate().is_ok());
    let cpm = PaymentRequest {
        pay_type: "800208".into(),
        auth_code: Some("134567890000".into()),
        expired_time: None,
        ..mpm()
    };
    assert!(cpm.validate().is_ok());
    assert!(PaymentRequest { goods_name: Some("港".repeat(20)), ..mpm() }.validate().is_ok());
    assert!(PaymentRequest { pay_type: "801101".into(), txamt: 101, expired_time: None, ..mpm() }.validate().is_ok());
}

#[test]
fn payment_form_round_trip() {
    let signed = mpm().sign(&creds(None)).unwrap();
    let parsed = PaymentRequest::from_form(&Form::parse(signed.body.as_bytes())).unwrap();
    assert_eq!(parsed, mpm());
    let err = PaymentRequest::from_form(&Form::parse(b"txamt=12x&txcurrcd=HKD")).unwrap_err();
    assert_eq!(err.field, "txamt");
    let err = PaymentRequest::from_form(&Form::parse(b"txamt=12")).unwrap_err();
    assert_eq!((err.field, err.rule.as_str()), ("txcurrcd", "is required"));
}

#[test]
fn refund_rules() {
    let ok = RefundRequest {
        syssn: "20231101000100020000001".into(),
        out_trade_no: "REFUND-ORDER1-1".into(),
        txamt: 50,
        txdtm: "2023-11-02 09:00:00".into(),
        ..Default::default()
    };
    let signed = ok.sign_with(&creds(Some("ZaMVg12345")), SignType::Md5).unwrap();
    assert_eq!(signed.header("X-QF-SIGN"), Some("66E62F0AA953D90E69471E79B5234C39"));
    let fps = RefundRequest { original_pay_type: Some("802001".into()), ..ok.clone() };
    let err = fps.validate().unwrap_err();
    assert!(err.rule.contains("cannot be refunded"), "{err}");
    assert_eq!(RefundRequest { txamt: 0, ..ok.clone() }.validate().unwrap_err().field, "txamt");
    assert_eq!(RefundRequest { syssn: String::new(), ..ok }.validate().unwrap_err().field, "syssn");
}

#[test]
fn query_rules_and_vector() {
    let q = QueryRequest {
        out_trade_no: vec!["ORDER1".into()],
        txdtm: Some("2023-11-01 10:00:05".into()),
        ..Default::default()
    };
    let signed = q.sign(&creds(Some("ZaMVg12345"))).unwrap();
    assert_eq!(signed.header("X-QF-SIGN"), Some("573FD721FE68FBB24550377B352B2EAF1570AF84458B38824EA724F839E76F9B"));
    assert_eq!(QueryRequest { page_size: Some(101), ..q.clone() }.validate().unwrap_err().field, "page_size");
    assert_eq!(QueryRequest { page: Some(0), ..q.clone() }.validate().unwrap_err().field, "page");
    let range = QueryRequest {
        start_time: Some("2023-10-31 00:00:00".into()),
        end_time: Some("2023-11-01 00:00:00".into()),
        ..Default::default()
    };
    assert!(range.validate().unwrap_err().rule.contains("calendar month"));
    let parsed = QueryRequest::from_form(&Form::parse(b"out_trade_no=A,B&page_size=5")).unwrap();
    assert_eq!(parsed.out_trade_no, vec!["A".to_owned(), "B".to_owned()]);
}

#[test]
fn close_needs_an_order() {
    let c = CloseRequest(OrderRef { txamt: 100, txdtm: "2023-11-01 10:00:00".into(), ..Default::default() });
    let err = c.validate().unwrap_err();
    assert!(err.rule.contains("syssn or out_trade_no"), "{err}");
    let c = CloseRequest(OrderRef { out_trade_no: Some("O1".into()), ..c.0 });
    assert_eq!(c.sign(&creds(None)).unwrap().path, "/trade/v1/close");
    let r = ReversalRequest(c.0.clone());
    assert_eq!(r.sign(&creds(None)).unwrap().path, "/trade/v1/reversal");
}

#[test]
fn a_refund_names_its_payment_by_syssn_or_by_the_guides_qf_trade_no() {
    let form = |body: &str| RefundRequest::from_form(&Form::parse(body.as_bytes()));
    let base = "out_trade_no=R1&txamt=100&txdtm=2026-01-01 10:00:00";
    assert_eq!(form(&format!("{base}&syssn=20260101000001")).unwrap().syssn, "20260101000001");
    assert_eq!(form(&format!("{base}&qf_trade_no=20260101000001")).unwrap().syssn, "20260101000001");
    let neither = form(base).unwrap_err();
    assert_eq!(neither.field, "syssn");
    assert!(neither.rule.contains("qf_trade_no"), "the error names both: {}", neither.rule);
    let both = form(&format!("{base}&syssn=1&qf_trade_no=2")).unwrap_err();
    assert_eq!(both.field, "qf_trade_no");
}
