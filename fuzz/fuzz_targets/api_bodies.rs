//! The worker's request bodies: parsing and validation never panic.
#![no_main]
use checkout_api::session::parse_json;
use checkout_api::{CreateRefund, CreateSession, PayRequest};

libfuzzer_sys::fuzz_target!(|body: &[u8]| {
    if let Ok(s) = parse_json::<CreateSession>(body) {
        let _ = s.validate(30);
    }
    let _ = parse_json::<PayRequest>(body);
    if let Ok(r) = parse_json::<CreateRefund>(body) {
        let _ = r.validate(10_000);
    }
});
