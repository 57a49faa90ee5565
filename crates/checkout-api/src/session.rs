//! Requests to the API, validated into values the worker can trust. Amounts, currency and
//! goods come only from the merchant's server (`CreateSession`); the browser only picks a
//! pay type (`PayRequest`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::pay_options::how;

/// The largest amount (`Int(11)` at the gateway).
pub const MAX_AMOUNT: u64 = 99_999_999_999;
/// The shortest session lifetime, in minutes.
pub const MIN_EXPIRY_MINUTES: u32 = 5;
/// The longest session lifetime, in minutes.
pub const MAX_EXPIRY_MINUTES: u32 = 120;
/// Session lifetime bounds, in minutes.
pub const EXPIRY_MINUTES: std::ops::RangeInclusive<u32> = MIN_EXPIRY_MINUTES..=MAX_EXPIRY_MINUTES;
/// The shortest `expires_in_seconds` (local testing only).
pub const MIN_EXPIRY_SECONDS: u32 = 10;
/// The longest `expires_in_seconds`.
pub const MAX_EXPIRY_SECONDS: u32 = 7200;
/// `goods_name`'s longest length, in characters after trimming (the gateway's limit).
pub const GOODS_NAME_MAX_CHARS: usize = 20;
/// `reference`'s longest length, in UTF-8 bytes.
pub const REFERENCE_MAX_BYTES: usize = 64;
/// How many pay types `pay_types` may list.
pub const MAX_PAY_TYPES: usize = 36;
/// `return_url`'s longest length, in bytes, once the session id is filled in.
pub const RETURN_URL_MAX_BYTES: usize = 512;
/// Written in a `return_url`, it becomes the session's id: the page the wallet sends the
/// shopper back to learns which session to mount the widget for again.
pub const SESSION_ID_PLACEHOLDER: &str = "{CHECKOUT_SESSION_ID}";

/// `return_url` with every [`SESSION_ID_PLACEHOLDER`] replaced by the session's id.
pub fn return_url_for(template: &str, session_id: &str) -> String {
    template.replace(SESSION_ID_PLACEHOLDER, session_id)
}
/// How many keys `metadata` may hold.
pub const METADATA_MAX_KEYS: usize = 20;
/// A `metadata` key's longest length, in UTF-8 bytes.
pub const METADATA_KEY_MAX_BYTES: usize = 40;
/// A `metadata` value's longest length, in UTF-8 bytes.
pub const METADATA_VALUE_MAX_BYTES: usize = 500;
/// A refund's `reason`'s longest length, in UTF-8 bytes.
pub const REFUND_REASON_MAX_BYTES: usize = 200;

/// `POST /v1/sessions`, from the merchant's server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// Amount in the currency's minor unit (cents).
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_AMOUNT)))]
    pub amount: u64,
    /// ISO 4217 code, one of the gateway's currencies.
    pub currency: String,
    /// What is bought, without control characters; the length (the gateway's limit) counts
    /// characters once leading and trailing spaces are trimmed.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = GOODS_NAME_MAX_CHARS)))]
    pub goods_name: String,
    /// The merchant's own order reference, without control characters. Its length limit counts
    /// UTF-8 bytes (characters, for ASCII).
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = REFERENCE_MAX_BYTES)))]
    pub reference: String,
    /// Pay types to offer, in this order (default: every one that fits).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = MAX_PAY_TYPES)))]
    pub pay_types: Option<Vec<String>>,
    /// Minutes until the session expires (default from `SESSION_TTL_MINUTES`).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(range(min = MIN_EXPIRY_MINUTES, max = MAX_EXPIRY_MINUTES)))]
    pub expires_in_minutes: Option<u32>,
    /// Seconds until the session expires, instead of minutes: a testing aid that only
    /// a worker running against the local simulator (`QFPAY_ENV=local`) accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = MIN_EXPIRY_SECONDS, max = MAX_EXPIRY_SECONDS)))]
    pub expires_in_seconds: Option<u32>,
    /// Where wallet pages send the shopper back after a redirect payment: an absolute http(s)
    /// URL without whitespace (its length limit counts bytes). `{CHECKOUT_SESSION_ID}` in it
    /// becomes the session's id.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = RETURN_URL_MAX_BYTES)))]
    pub return_url: Option<String>,
    /// The merchant's own key/value notes, returned as given (the limits on keys and values
    /// count UTF-8 bytes).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend(
        "maxProperties" = METADATA_MAX_KEYS,
        "propertyNames" = {"minLength": 1, "maxLength": METADATA_KEY_MAX_BYTES},
        "additionalProperties" = {"type": "string", "maxLength": METADATA_VALUE_MAX_BYTES}
    )))]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A session request that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The validated request.
    pub request: CreateSession,
    /// Lifetime in minutes.
    pub expires_in_minutes: u32,
    /// Lifetime in seconds (from `expires_in_seconds`, or the minutes).
    pub expires_in_seconds: u32,
}

/// The range of `expires_in_seconds`.
pub const EXPIRY_SECONDS: std::ops::RangeInclusive<u32> = MIN_EXPIRY_SECONDS..=MAX_EXPIRY_SECONDS;

impl CreateSession {
    /// Checks every field; the error names the field and the rule.
    pub fn validate(self, default_expiry_minutes: u32) -> Result<NewSession, ApiError> {
        if !(1..=MAX_AMOUNT).contains(&self.amount) {
            return Err(ApiError::field(
                "amount",
                format!("must be a whole number of minor units from 1 to {MAX_AMOUNT}"),
            ));
        }
        if qfpay::tables::currency(&self.currency).is_none() {
            return Err(ApiError::field(
                "currency",
                "must be one of AED, AUD, CAD, CNY, EUR, HKD, IDR, JPY, MMK, MYR, SGD, THB, USD",
            ));
        }
        let goods = self.goods_name.trim();
        if goods.is_empty() || goods.chars().count() > GOODS_NAME_MAX_CHARS || goods.chars().any(char::is_control) {
            return Err(ApiError::field(
                "goods_name",
                format!("must be 1 to {GOODS_NAME_MAX_CHARS} characters without control characters"),
            ));
        }
        if self.reference.is_empty()
            || self.reference.len() > REFERENCE_MAX_BYTES
            || self.reference.chars().any(char::is_control)
        {
            return Err(ApiError::field(
                "reference",
                format!("must be 1 to {REFERENCE_MAX_BYTES} bytes without control characters"),
            ));
        }
        if let Some(list) = &self.pay_types {
            check_pay_types(list, &self.currency, self.amount)?;
        }
        let minutes = self.expires_in_minutes.unwrap_or(default_expiry_minutes);
        if !EXPIRY_MINUTES.contains(&minutes) {
            return Err(ApiError::field(
                "expires_in_minutes",
                format!("must be from {MIN_EXPIRY_MINUTES} to {MAX_EXPIRY_MINUTES}"),
            ));
        }
        let seconds = match self.expires_in_seconds {
            Some(_) if self.expires_in_minutes.is_some() => {
                return Err(ApiError::field(
                    "expires_in_seconds",
                    "give expires_in_minutes or expires_in_seconds, not both",
                ))
            }
            Some(s) if !EXPIRY_SECONDS.contains(&s) => {
                return Err(ApiError::field(
                    "expires_in_seconds",
                    format!("must be from {MIN_EXPIRY_SECONDS} to {MAX_EXPIRY_SECONDS}"),
                ))
            }
            Some(s) => s,
            None => minutes * 60,
        };
        if let Some(url) = &self.return_url {
            // Measured as it will be sent: with a session id (27 characters) in each placeholder.
            let filled = return_url_for(url, "cs_000000000000000000000000");
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && filled.len() <= RETURN_URL_MAX_BYTES
                && !url.contains(char::is_whitespace);
            if !ok {
                return Err(ApiError::field(
                    "return_url",
                    format!("must be an absolute http(s) URL of at most {RETURN_URL_MAX_BYTES} bytes"),
                ));
            }
        }
        if let Some(meta) = &self.metadata {
            let too_long = |(k, v): (&String, &String)| {
                k.is_empty() || k.len() > METADATA_KEY_MAX_BYTES || v.len() > METADATA_VALUE_MAX_BYTES
            };
            if meta.len() > METADATA_MAX_KEYS || meta.iter().any(too_long) {
                return Err(ApiError::field(
                    "metadata",
                    format!(
                        "at most {METADATA_MAX_KEYS} keys of 1-{METADATA_KEY_MAX_BYTES} bytes, values of at most \
                         {METADATA_VALUE_MAX_BYTES} bytes"
                    ),
                ));
            }
        }
        Ok(NewSession {
            request: CreateSession { goods_name: goods.to_owned(), ..self },
            expires_in_minutes: minutes,
            expires_in_seconds: seconds,
        })
    }
}

fn check_pay_types(list: &[String], currency: &str, amount: u64) -> Result<(), ApiError> {
    if list.is_empty() || list.len() > MAX_PAY_TYPES {
        return Err(ApiError::field("pay_types", format!("must list 1 to {MAX_PAY_TYPES} pay types, or be left out")));
    }
    for code in list {
        let info = qfpay::tables::pay_type(code)
            .ok_or_else(|| ApiError::field("pay_types", format!("unknown pay type {code:?}")))?;
        if how(code).is_none() {
            return Err(ApiError::field(
                "pay_types",
                format!("{code} ({}) cannot be completed in a web checkout", info.name_en),
            ));
        }
        if !info.accepts_currency(currency) {
            return Err(ApiError::field("pay_types", format!("{code} ({}) does not accept {currency}", info.name_en)));
        }
        if let Some(floor) = info.min_amount.filter(|f| f.currency == currency && amount <= f.more_than) {
            return Err(ApiError::field(
                "pay_types",
                format!("{code} needs more than {} minor units", floor.more_than),
            ));
        }
    }
    Ok(())
}

/// `POST /v1/checkout/{id}/pay`, from the widget.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    /// The chosen pay type; must be one the session offers.
    pub pay_type: String,
}

/// `POST /v1/sessions/{id}/charge`, from a shop's till: charge the shopper's wallet code
/// (CPM) for the session.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    /// The code the till scanned from the shopper's wallet (1-128 letters or digits).
    pub auth_code: String,
    /// The wallet's CPM pay type, e.g. `800208` (WeChat Pay CPM); it must accept the session's
    /// currency and amount. Left out: QFPay's universal CPM type `800008` (WeChat Pay, Alipay,
    /// UnionPay QuickPass, PayMe), or, where that is not enabled or does not fit, the CPM type
    /// of the wallet the code's prefix names.
    #[serde(default)]
    pub pay_type: Option<String>,
}

/// QFPay's CPM type that reads any of the wallets' codes it names.
pub const UNIVERSAL_CPM: &str = "800008";

/// The CPM type of the wallet whose codes start so: WeChat Pay's are 18 digits from `10` to
/// `15`, Alipay's 16 to 24 digits from `25` to `30`, UnionPay QuickPass's 19 digits from `62`.
pub fn cpm_type_of_code(auth_code: &str) -> Option<&'static str> {
    if !auth_code.bytes().all(|b| b.is_ascii_digit()) || auth_code.len() < 2 {
        return None;
    }
    let prefix: u8 = auth_code[..2].parse().ok()?;
    match (prefix, auth_code.len()) {
        (10..=15, 18) => Some("800208"),
        (25..=30, 16..=24) => Some("800108"),
        (62, 19) => Some("800708"),
        _ => None,
    }
}

impl ChargeRequest {
    /// The pay type to charge: the one given; else the universal CPM type, or the one the
    /// code's prefix names, whichever is enabled (`enabled`: the merchant's `PAY_TYPES`, when
    /// set) and accepts `currency` first. When none fits, the universal type, which
    /// [`ChargeRequest::validate`] then refuses naming why.
    pub fn pay_type_for(&self, enabled: Option<&[String]>, currency: &str) -> String {
        if let Some(given) = &self.pay_type {
            return given.clone();
        }
        let fits = |code: &&str| {
            enabled.is_none_or(|list| list.iter().any(|e| e == code))
                && qfpay::tables::pay_type(code).is_some_and(|info| info.accepts_currency(currency))
        };
        [Some(UNIVERSAL_CPM), cpm_type_of_code(&self.auth_code)]
            .into_iter()
            .flatten()
            .find(fits)
            .unwrap_or(UNIVERSAL_CPM)
            .to_owned()
    }

    /// Checks the code, and `pay_type` (from [`ChargeRequest::pay_type_for`]) against the
    /// session's currency and amount.
    pub fn validate(&self, pay_type: &str, currency: &str, amount: u64) -> Result<(), ApiError> {
        let code_ok =
            (1..=128).contains(&self.auth_code.len()) && self.auth_code.chars().all(|c| c.is_ascii_alphanumeric());
        if !code_ok {
            return Err(ApiError::field("auth_code", "must be the scanned wallet code: 1 to 128 letters or digits"));
        }
        let Some(info) = qfpay::tables::pay_type(pay_type) else {
            return Err(ApiError::field("pay_type", "is not a pay type of the guide's table"));
        };
        if info.mode != qfpay::tables::PayMode::Cpm {
            return Err(ApiError::field(
                "pay_type",
                format!("{} ({}) is not a CPM (scan the shopper's code) pay type", info.code, info.name_en),
            ));
        }
        let floor_ok = info.min_amount.is_none_or(|f| f.currency != currency || amount > f.more_than);
        if !info.accepts_currency(currency) || !floor_ok {
            return Err(ApiError::field(
                "pay_type",
                format!("{} does not accept this session's currency and amount", info.code),
            ));
        }
        Ok(())
    }
}

/// `POST /v1/sessions/{id}/refunds`, from the merchant's server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// Amount to refund, minor units (at least 1, at most what is left to refund).
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_AMOUNT)))]
    pub amount: u64,
    /// Why, for the merchant's records (its length limit counts UTF-8 bytes).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = REFUND_REASON_MAX_BYTES)))]
    pub reason: Option<String>,
    /// The payment to refund (`pa_...`, from the session's `attempts`): one that did not pay
    /// the session, such as a second payment (when automatic refunds are off, or the automatic
    /// one failed) or one held for another amount. Without it, the payment that paid the
    /// session.
    #[serde(default)]
    pub attempt_id: Option<String>,
}

impl CreateRefund {
    /// Checks the amount against what is left to refund.
    pub fn validate(&self, refundable: u64) -> Result<(), ApiError> {
        if self.amount == 0 {
            return Err(ApiError::field("amount", "must be at least 1"));
        }
        if self.amount > refundable {
            return Err(ApiError::new(
                ErrorCode::RefundExceedsPayment,
                format!("amount: {} is more than the {refundable} left to refund", self.amount),
            ));
        }
        if self.reason.as_ref().is_some_and(|r| r.len() > REFUND_REASON_MAX_BYTES) {
            return Err(ApiError::field("reason", format!("at most {REFUND_REASON_MAX_BYTES} bytes")));
        }
        Ok(())
    }
}

/// `POST /v1/refunds/{id}/resolve`: what QFPay says of an `unresolved` refund, as a person
/// found out (its portal, its support), told by the merchant's server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ResolveRefund {
    /// `succeeded`: QFPay refunded it (its amount stays counted as refunded); `failed`: QFPay
    /// has no such refund (its amount can be refunded again).
    pub status: Resolution,
}

impl ResolveRefund {
    /// Reads the body; a status other than the two names the field and the rule.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        parse_json::<Self>(body).map_err(|e| match e.message.contains("unknown variant") {
            true => ApiError::field("status", "must be \"succeeded\" or \"failed\""),
            false => e,
        })
    }
}

/// How an `unresolved` refund ended, as QFPay says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// QFPay refunded it.
    Succeeded,
    /// QFPay has no such refund.
    Failed,
}

/// Reads a JSON body into `T`, turning serde's message into a field error.
pub fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        // serde names the field only in these messages; elsewhere a backticked word is a value
        // ("unknown variant `x`").
        let names_field = ["unknown field", "missing field", "duplicate field"].iter().any(|m| text.starts_with(m));
        let field = text.split('`').nth(1).filter(|_| names_field).map(str::to_owned);
        let message = format!("the body is not valid for this endpoint: {text}");
        ApiError { field, ..ApiError::new(ErrorCode::InvalidBody, message) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> CreateSession {
        CreateSession {
            amount: 1500,
            currency: "HKD".into(),
            goods_name: "Milk tea".into(),
            reference: "order-1".into(),
            pay_types: None,
            expires_in_minutes: None,
            expires_in_seconds: None,
            return_url: None,
            metadata: None,
        }
    }

    #[test]
    fn a_resolution_names_the_field_and_the_rule() {
        assert_eq!(ResolveRefund::parse(br#"{"status": "failed"}"#).unwrap().status, Resolution::Failed);
        let wrong = ResolveRefund::parse(br#"{"status": "pending"}"#).unwrap_err();
        assert_eq!((wrong.field.as_deref(), wrong.code), (Some("status"), "invalid_field"), "{}", wrong.message);
        assert!(wrong.message.contains("succeeded"), "{}", wrong.message);
        let unknown = ResolveRefund::parse(br#"{"state": "failed"}"#).unwrap_err();
        assert_eq!(unknown.field.as_deref(), Some("state"));
        let missing = ResolveRefund::parse(b"{}").unwrap_err();
        assert_eq!(missing.field.as_deref(), Some("status"));
    }

    fn field_of(req: CreateSession) -> Option<String> {
        req.validate(30).unwrap_err().field
    }

    #[test]
    fn each_rule_names_its_field() {
        assert_eq!(field_of(CreateSession { amount: 0, ..base() }).as_deref(), Some("amount"));
        assert_eq!(field_of(CreateSession { amount: MAX_AMOUNT + 1, ..base() }).as_deref(), Some("amount"));
        assert_eq!(field_of(CreateSession { currency: "GBP".into(), ..base() }).as_deref(), Some("currency"));
        assert_eq!(field_of(CreateSession { goods_name: "x".repeat(21), ..base() }).as_deref(), Some("goods_name"));
        assert_eq!(field_of(CreateSession { goods_name: "  ".into(), ..base() }).as_deref(), Some("goods_name"));
        assert_eq!(field_of(CreateSession { reference: String::new(), ..base() }).as_deref(), Some("reference"));
        assert_eq!(
            field_of(CreateSession { pay_types: Some(vec!["800208".into()]), ..base() }).as_deref(),
            Some("pay_types")
        );
        assert_eq!(
            field_of(CreateSession { pay_types: Some(vec!["123".into()]), ..base() }).as_deref(),
            Some("pay_types")
        );
        assert_eq!(
            field_of(CreateSession { expires_in_minutes: Some(4), ..base() }).as_deref(),
            Some("expires_in_minutes")
        );
        assert_eq!(
            field_of(CreateSession { return_url: Some("javascript:x".into()), ..base() }).as_deref(),
            Some("return_url")
        );
        // The placeholder counts as the id it becomes (6 bytes longer): 485 bytes are 491 sent,
        // and a second placeholder makes 509 bytes, 521 sent.
        let long = format!("https://shop.example/{}?s={SESSION_ID_PLACEHOLDER}", "a".repeat(440));
        assert!(CreateSession { return_url: Some(long.clone()), ..base() }.validate(30).is_ok());
        let too_long = format!("{long}&t={SESSION_ID_PLACEHOLDER}");
        assert!(too_long.len() <= RETURN_URL_MAX_BYTES, "under the limit as written, over it as sent");
        assert_eq!(field_of(CreateSession { return_url: Some(too_long), ..base() }).as_deref(), Some("return_url"));
        assert_eq!(
            return_url_for("https://shop.example/back?session={CHECKOUT_SESSION_ID}&x=1", "cs_abc"),
            "https://shop.example/back?session=cs_abc&x=1"
        );
        assert_eq!(
            field_of(CreateSession { expires_in_seconds: Some(5), ..base() }).as_deref(),
            Some("expires_in_seconds")
        );
        assert_eq!(
            field_of(CreateSession { expires_in_seconds: Some(60), expires_in_minutes: Some(5), ..base() }).as_deref(),
            Some("expires_in_seconds")
        );
        let ok = base().validate(30).unwrap();
        assert_eq!((ok.expires_in_minutes, ok.expires_in_seconds), (30, 1800));
        let short = CreateSession { expires_in_seconds: Some(20), ..base() }.validate(30).unwrap();
        assert_eq!(short.expires_in_seconds, 20);
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        let e = parse_json::<CreateSession>(
            br#"{"amount":1,"currency":"HKD","goods_name":"a","reference":"r","colour":"red"}"#,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("colour"));
        let e = parse_json::<CreateSession>(br#"{"amount":-5,"currency":"HKD","goods_name":"a","reference":"r"}"#)
            .unwrap_err();
        assert_eq!(e.code, "invalid_body");
        assert!(parse_json::<CreateSession>(b"not json").is_err());
    }

    #[test]
    fn refunds_stay_within_the_payment() {
        assert!(CreateRefund { amount: 500, reason: None, attempt_id: None }.validate(500).is_ok());
        assert_eq!(CreateRefund { amount: 501, reason: None, attempt_id: None }.validate(500).unwrap_err().status, 409);
        assert_eq!(
            CreateRefund { amount: 0, reason: None, attempt_id: None }.validate(500).unwrap_err().field.as_deref(),
            Some("amount")
        );
    }
}

#[cfg(test)]
mod hostile {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn request_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(s) = parse_json::<CreateSession>(&body) {
                let _ = s.validate(30);
            }
            let _ = parse_json::<PayRequest>(&body);
            if let Ok(r) = parse_json::<CreateRefund>(&body) {
                let _ = r.validate(1000);
            }
        }
    }

    #[test]
    fn a_charge_without_a_pay_type_takes_the_universal_one_or_the_codes_wallet() {
        let charge = |code: &str| ChargeRequest { auth_code: code.into(), pay_type: None };
        let wechat = charge("134567890123456789");
        assert_eq!(wechat.pay_type_for(None, "HKD"), UNIVERSAL_CPM);
        let enabled = ["800208".to_owned(), "800108".to_owned()];
        assert_eq!(wechat.pay_type_for(Some(&enabled), "HKD"), "800208", "the universal type is not enabled");
        assert_eq!(charge("2812345678901234").pay_type_for(Some(&enabled), "HKD"), "800108", "Alipay");
        assert_eq!(charge("999").pay_type_for(Some(&enabled), "HKD"), UNIVERSAL_CPM, "no wallet named: refused later");
        let given = ChargeRequest { auth_code: "134567890123456789".into(), pay_type: Some("805808".into()) };
        assert_eq!(given.pay_type_for(None, "HKD"), "805808", "a given type is kept");
        assert_eq!(cpm_type_of_code("6212345678901234567"), Some("800708"));
        assert_eq!(cpm_type_of_code("16123456789012345678"), None);
        let body: ChargeRequest = serde_json::from_str(r#"{"auth_code": "134567890123456789"}"#).unwrap();
        assert_eq!(body.pay_type, None, "pay_type may be left out");
        assert!(body.validate(UNIVERSAL_CPM, "HKD", 3800).is_ok());
    }
}
