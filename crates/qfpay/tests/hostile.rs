//! Whatever bytes arrive, parsing gives a value or an error, never a panic: gateway answers,
//! notifications, forms, and signature checks over garbage.

use proptest::prelude::*;
use qfpay::request::Form;
use qfpay::{
    ClientKey, Notification, OrderChangeAnswer, PaymentAnswer, PaymentRequest, QueryAnswer, QueryRequest, RefundRequest,
};

/// JSON-looking text built from the gateway's own field names, so the parsers get past the
/// first brace and exercise their field handling.
fn jsonish() -> impl Strategy<Value = String> {
    let names = prop_oneof![
        Just("respcd"),
        Just("txamt"),
        Just("data"),
        Just("syssn"),
        Just("qrcode"),
        Just("cancel"),
        Just("notify_type"),
        Just("out_trade_no"),
        Just("page"),
        Just("qf_trade_no"),
    ];
    let values = prop_oneof![
        Just("\"0000\"".to_owned()),
        Just("1500".to_owned()),
        Just("-1".to_owned()),
        Just("1e99".to_owned()),
        Just("null".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("[{\"respcd\": 5}]".to_owned()),
        "\"\\PC{0,8}\"".prop_map(|s| s.replace('\\', "")),
        Just("99999999999999999999999".to_owned()),
    ];
    proptest::collection::vec((names, values), 0..8).prop_map(|pairs| {
        format!("{{{}}}", pairs.iter().map(|(n, v)| format!("\"{n}\": {v}")).collect::<Vec<_>>().join(", "))
    })
}

proptest! {
    #[test]
    fn answers_never_panic_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = PaymentAnswer::parse(&body);
        let _ = QueryAnswer::parse(&body);
        let _ = OrderChangeAnswer::parse(&body);
        let _ = Notification::parse(&body);
    }

    #[test]
    fn answers_never_panic_on_gateway_shaped_json(body in jsonish()) {
        let _ = PaymentAnswer::parse(body.as_bytes());
        if let Ok(q) = QueryAnswer::parse(body.as_bytes()) {
            for row in &q.rows {
                let _ = row.status();
            }
        }
        let _ = OrderChangeAnswer::parse(body.as_bytes());
        let _ = Notification::parse(body.as_bytes());
    }

    #[test]
    fn forms_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let form = Form::parse(&body);
        let _ = PaymentRequest::from_form(&form);
        let _ = QueryRequest::from_form(&form);
        let _ = RefundRequest::from_form(&form);
        let key = ClientKey::new("k");
        let _ = qfpay::sign::verify(form.pairs(), &key, qfpay::SignType::Sha256, "00");
        prop_assert!(!qfpay::sign::verify_notification(&body, &key, "not hex at all"));
    }
}
