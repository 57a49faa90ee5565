//! Notification bodies and signatures: parsing never panics; only the right signature verifies.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (sig, body) = data.split_at(data.len().min(32));
    let key = qfpay::ClientKey::new("fuzz");
    let _ = qfpay::Notification::parse(body);
    let given = String::from_utf8_lossy(sig);
    let right = qfpay::sign::sign_notification(body, &key);
    assert_eq!(qfpay::sign::verify_notification(body, &key, &given), given.eq_ignore_ascii_case(&right));
});
