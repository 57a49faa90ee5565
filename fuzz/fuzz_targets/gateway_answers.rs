//! Gateway answers of every shape: a value or an error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|body: &[u8]| {
    let _ = qfpay::PaymentAnswer::parse(body);
    if let Ok(q) = qfpay::QueryAnswer::parse(body) {
        for row in &q.rows {
            let _ = row.status();
        }
    }
    let _ = qfpay::OrderChangeAnswer::parse(body);
});
