//! Form bodies as the simulator receives them: decoding, typed parsing, signature checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|body: &[u8]| {
    let form = qfpay::Form::parse(body);
    let _ = qfpay::PaymentRequest::from_form(&form);
    let _ = qfpay::QueryRequest::from_form(&form);
    let _ = qfpay::RefundRequest::from_form(&form);
    let _ = qfpay::CloseRequest::from_form(&form);
    let key = qfpay::ClientKey::new("fuzz");
    let signature = qfpay::sign::sign(form.pairs(), &key, qfpay::SignType::Sha256);
    assert!(qfpay::sign::verify(form.pairs(), &key, qfpay::SignType::Sha256, &signature));
});
