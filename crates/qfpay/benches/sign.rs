//! Signing a 10-parameter payment request (target: under 2 µs on the project's machines).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use qfpay::{ClientKey, Credentials, GatewayRequest, PaymentRequest};

fn payment() -> PaymentRequest {
    PaymentRequest {
        txamt: 1500,
        txcurrcd: "HKD".into(),
        pay_type: "800201".into(),
        out_trade_no: "cs_01HF7Y6ZK3-a1".into(),
        txdtm: "2023-11-01 10:00:00".into(),
        expired_time: Some(30),
        goods_name: Some("港式奶茶 x2".into()),
        udid: Some("edge-worker".into()),
        notify_url: Some("https://pay.example.com/v1/qfpay/notify".into()),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let creds =
        Credentials { appcode: "DEMOAPPCODE".into(), key: ClientKey::new("DEMOKEY"), mchid: Some("ZaMVg12345".into()) };
    let req = payment();
    c.bench_function("sign_payment_10_params_sha256", |b| b.iter(|| black_box(&req).sign(black_box(&creds))));
    // The parts, to see where the time goes: validation, the hash alone.
    c.bench_function("validate_payment", |b| b.iter(|| black_box(&req).validate()));
    let params = req.params();
    let canonical = qfpay::sign::canonical_string(params.iter().map(|(n, v)| (*n, v.as_str())));
    c.bench_function("canonical_string", |b| {
        b.iter(|| qfpay::sign::canonical_string(black_box(&params).iter().map(|(n, v)| (*n, v.as_str()))))
    });
    c.bench_function("sign_prebuilt_string", |b| {
        b.iter(|| qfpay::sign::sign([("a", black_box(canonical.as_str()))], &creds.key, qfpay::SignType::Sha256))
    });
    c.bench_function("sign_params_only_sha256", |b| {
        b.iter(|| qfpay::sign::sign(params.iter().map(|(n, v)| (*n, v.as_str())), &creds.key, qfpay::SignType::Sha256))
    });
}

#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, bench);
}
use group::benches;
criterion_main!(benches);
