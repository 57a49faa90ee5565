//! The guide's three tables: counts and spot checks against `shared/spec/qfpay-api-guide.zh.md`.

use std::collections::HashSet;

use qfpay::tables::{CurrencyRule, PayMode, RespClass, Wallet, CURRENCIES, PAY_TYPES, RESP_CODES};
use qfpay::{Currency, PayType, RespCode};

#[test]
fn thirty_six_pay_types_unique() {
    assert_eq!(PAY_TYPES.len(), 36);
    let codes: HashSet<_> = PAY_TYPES.iter().map(|p| p.code).collect();
    assert_eq!(codes.len(), 36, "duplicate pay type codes");
    assert!(PAY_TYPES.iter().all(|p| p.code.len() == 6 && p.code.bytes().all(|b| b.is_ascii_digit())));
}

#[test]
fn pay_type_modes_follow_the_spec() {
    let with_mode =
        |mode: PayMode| -> HashSet<&str> { PAY_TYPES.iter().filter(|p| p.mode == mode).map(|p| p.code).collect() };
    let set = |codes: &[&'static str]| -> HashSet<&str> { codes.iter().copied().collect() };
    assert_eq!(with_mode(PayMode::Mpm), set(&["800101", "801501", "800201", "805801", "800701", "802001", "803701"]));
    assert_eq!(with_mode(PayMode::Cpm), set(&["800008", "800108", "800208", "801008", "805808", "800708"]));
    assert_eq!(with_mode(PayMode::Wap), set(&["801107", "801512", "805812", "800712", "803712", "800212"]));
    assert_eq!(with_mode(PayMode::Web), set(&["801101", "801514", "805814", "800714", "803714"]));
    assert_eq!(with_mode(PayMode::CardOffline), set(&["802808", "806708", "806808"]));
    // The spec lists 802801 among the web types; we classify it as card-online (its guide
    // name), and it answers a pay_url like the web types.
    assert_eq!(PayType::new("802801").info().unwrap().mode, PayMode::CardOnline);
}

#[test]
fn pay_type_spot_checks() {
    let fps = PayType::new("802001").info().unwrap();
    assert!(!fps.refundable);
    assert_eq!(fps.wallet, Wallet::Fps);
    assert_eq!(fps.currencies, CurrencyRule::HkdOnly);
    let alipay_web = PayType::new("801101").info().unwrap();
    assert_eq!(alipay_web.min_amount.map(|f| (f.currency, f.more_than)), Some(("HKD", 100)));
    assert_eq!(alipay_web.name_zh, "Alipay Web支付（海外）");
    let expiry: HashSet<_> = PAY_TYPES.iter().filter(|p| p.expired_time).map(|p| p.code).collect();
    // QFPay's own documentation (02-paycode.md) lists eight, WAP and in-app among them.
    let documented = ["800201", "800101", "801512", "801501", "801107", "801101", "801010", "801510"];
    assert_eq!(expiry, documented.into_iter().collect());
    assert_eq!(PayType::new("803701").info().unwrap().name_en, "Octopus MPM (HK merchants)");
    assert!(PayType::new("123456").info().is_none());
    assert_eq!(PayType::new("123456").to_string(), "123456");
}

#[test]
fn thirteen_currencies() {
    assert_eq!(CURRENCIES.len(), 13);
    let codes: HashSet<_> = CURRENCIES.iter().map(|c| c.code).collect();
    assert_eq!(codes.len(), 13);
    assert_eq!(Currency::new("JPY").info().unwrap().exponent, 0);
    assert_eq!(Currency::hkd().info().unwrap().exponent, 2);
    assert_eq!(Currency::new("HKD").info().unwrap().name_zh, "港元");
    assert!(Currency::new("GBP").info().is_none());
    assert_eq!(Currency::hkd().info().unwrap().format_minor(1505), "15.05");
    assert_eq!(Currency::hkd().info().unwrap().format_minor(7), "0.07");
    assert_eq!(Currency::new("JPY").info().unwrap().format_minor(1500), "1500");
}

#[test]
fn fifty_two_status_codes() {
    assert_eq!(RESP_CODES.len(), 52);
    let codes: HashSet<_> = RESP_CODES.iter().map(|r| r.code).collect();
    assert_eq!(codes.len(), 52);
    let class = |c: &str| RespCode::new(c).class();
    assert_eq!(class("0000"), RespClass::Success);
    for c in ["1143", "1145", "1298"] {
        assert_eq!(class(c), RespClass::PendingAskAgain, "{c}");
    }
    for c in ["1100", "1295", "1296", "1297", "1204", "1205", "1252", "1254"] {
        assert_eq!(class(c), RespClass::TransientRetry, "{c}");
    }
    assert_eq!(class("1108"), RespClass::Signature);
    assert_eq!(class("1102"), RespClass::Duplicate);
    assert_eq!(class("2011"), RespClass::Duplicate);
    assert_eq!(class("1272"), RespClass::RefundRule);
    assert_eq!(RespCode::new("1265").info().unwrap().text_zh, "交易无法退款（晚上11:30至凌晨0:30）");
    let unknown = RespCode::new("9999");
    assert!(unknown.info().is_none());
    assert_eq!(unknown.class(), RespClass::System);
    assert_eq!(unknown.to_string(), "9999");
}
