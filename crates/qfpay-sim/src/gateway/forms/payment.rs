//! `POST /trade/v1/payment`'s form, by the public payment parameters of
//! `01-preparation/02-paycode.md` and the pages of the pay types with rules of their own.

use qfpay::request::Form;
use qfpay::tables::{currency, pay_type, PayMode, PayTypeInfo, Wallet};
use serde_json::Value;

use crate::ledger::Kind;

use super::{amount, identifier, number, optional_identifier, optional_url, required, time, FieldError, GatewayForm};

/// The pay types whose QR or page takes `expired_time`, as `02-paycode.md` lists them: WeChat
/// Pay MPM, Alipay MPM (both), Alipay WAP (both), Alipay overseas web, WeChat Pay HK in-app and
/// Alipay HK in-app. The documentation does not say other types refuse the field, so for them
/// it is read as absent.
pub const TAKES_EXPIRED_TIME: [&str; 8] =
    ["800201", "800101", "801512", "801501", "801107", "801101", "801010", "801510"];

/// Minutes an order waits for the shopper when `expired_time` is not given or not taken.
pub const DEFAULT_EXPIRED_MINUTES: u32 = 30;

/// WeChat Pay H5, whose `extend_info` is mandatory (`03-online-shop/06-wechat/03-wechat-pay-h5.md`).
pub const WECHAT_H5: &str = "800212";

/// A payment as the gateway reads it.
#[derive(Debug, Clone)]
pub struct PaymentForm {
    pub txamt: u64,
    pub txcurrcd: String,
    pub pay_type: String,
    /// The pay type's row of the table.
    pub info: &'static PayTypeInfo,
    pub out_trade_no: String,
    pub txdtm: String,
    /// The shopper's code (CPM only; other types ignore it).
    pub auth_code: Option<String>,
    /// How long the order waits for the shopper: `expired_time` where the type takes it, else
    /// [`DEFAULT_EXPIRED_MINUTES`].
    pub expired_minutes: u32,
    pub goods_name: Option<String>,
    pub udid: Option<String>,
    /// The payment's own `notify_url`, used only under the `per_request_notify_url` switch.
    pub notify_url: Option<String>,
    /// Where a WAP or web page sends the browser back.
    pub return_url: Option<String>,
}

impl GatewayForm for PaymentForm {
    const PATH: &'static str = "/trade/v1/payment";
    const NUMBER_KIND: Option<Kind> = Some(Kind::Payment);

    fn parse(form: &Form) -> Result<Self, FieldError> {
        let txamt = amount(form, "txamt")?;
        let txcurrcd = required(form, "txcurrcd")?;
        if currency(txcurrcd).is_none() {
            return Err(FieldError::new("txcurrcd", format!("unknown currency {txcurrcd:?}")));
        }
        let code = required(form, "pay_type")?;
        let info = pay_type(code).ok_or_else(|| FieldError::new("pay_type", format!("unknown pay type {code:?}")))?;
        if !info.accepts_currency(txcurrcd) {
            return Err(FieldError::new("txcurrcd", format!("pay type {} accepts HKD only", info.code)));
        }
        if let Some(floor) = info.min_amount.filter(|f| f.currency == txcurrcd && txamt <= f.more_than) {
            return Err(FieldError::new(
                "txamt",
                format!("pay type {} needs more than {} {} minor units", info.code, floor.more_than, floor.currency),
            ));
        }
        let out_trade_no = identifier("out_trade_no", required(form, "out_trade_no")?, 128)?;
        let txdtm = required(form, "txdtm")?;
        time("txdtm", txdtm)?;
        let auth_code = match info.mode {
            PayMode::Cpm => Some(identifier("auth_code", required(form, "auth_code")?, 128)?),
            _ => None,
        };
        let goods_name = form.get("goods_name").map(check_goods_name).transpose()?;
        if info.mode == PayMode::InApp && goods_name.is_none() {
            return Err(FieldError::new("goods_name", "is required for in-app payments"));
        }
        check_pay_tag(form, info)?;
        if info.code == WECHAT_H5 {
            check_h5_extend_info(form.get("extend_info"))?;
        }
        Ok(PaymentForm {
            txamt,
            txcurrcd: txcurrcd.to_owned(),
            pay_type: info.code.to_owned(),
            info,
            out_trade_no,
            txdtm: txdtm.to_owned(),
            auth_code,
            expired_minutes: expired_minutes(form, info)?,
            goods_name,
            udid: optional_identifier(form, "udid", 40)?,
            notify_url: optional_url(form, "notify_url", 256)?,
            return_url: optional_url(form, "return_url", 512)?,
        })
    }
}

/// `expired_time`, 5 to 120 minutes, for the types that take it.
fn expired_minutes(form: &Form, info: &PayTypeInfo) -> Result<u32, FieldError> {
    if !TAKES_EXPIRED_TIME.contains(&info.code) {
        return Ok(DEFAULT_EXPIRED_MINUTES);
    }
    match number(form, "expired_time")? {
        None => Ok(DEFAULT_EXPIRED_MINUTES),
        Some(minutes @ 5..=120) => Ok(minutes as u32),
        Some(minutes) => Err(FieldError::new("expired_time", format!("must be 5 to 120 minutes (got {minutes})"))),
    }
}

/// At most 20 characters and 64 bytes of UTF-8 (`String(64)`, "cannot exceed 20").
fn check_goods_name(name: &str) -> Result<String, FieldError> {
    let chars = name.chars().count();
    if chars > 20 {
        return Err(FieldError::new("goods_name", format!("at most 20 characters (got {chars})")));
    }
    if name.len() > 64 {
        return Err(FieldError::new("goods_name", format!("at most 64 bytes of UTF-8 (got {})", name.len())));
    }
    Ok(name.to_owned())
}

/// `pay_tag` picks Alipay HK or Alipay CN for an Alipay QR; other types ignore it.
fn check_pay_tag(form: &Form, info: &PayTypeInfo) -> Result<(), FieldError> {
    let alipay_qr = info.wallet == Wallet::Alipay && info.mode == PayMode::Mpm;
    match form.get("pay_tag") {
        Some(tag) if alipay_qr && tag != "ALIPAYHK" && tag != "ALIPAYCN" => {
            Err(FieldError::new("pay_tag", "must be ALIPAYHK or ALIPAYCN"))
        }
        _ => Ok(()),
    }
}

/// WeChat Pay H5's `extend_info`: a JSON object whose `scene_info.h5_info` has `type` "Wap", a
/// `wap_url` and a `wap_name`, and whose `spbill_create_ip` is the shopper's IP address.
pub fn check_h5_extend_info(text: Option<&str>) -> Result<(), FieldError> {
    let bad = |why: String| Err(FieldError::new("extend_info", why));
    let Some(text) = text else {
        return bad(format!("is required for WeChat Pay H5 ({WECHAT_H5}): scene_info.h5_info and spbill_create_ip"));
    };
    let Ok(Value::Object(info)) = serde_json::from_str::<Value>(text) else {
        return bad("must be a JSON object".into());
    };
    let Some(Value::Object(h5)) = info.get("scene_info").and_then(|s| s.get("h5_info")) else {
        return bad("needs an object scene_info.h5_info".into());
    };
    if h5.get("type").and_then(Value::as_str) != Some("Wap") {
        return bad("needs scene_info.h5_info.type \"Wap\"".into());
    }
    for field in ["wap_url", "wap_name"] {
        if h5.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
            return bad(format!("needs a non-empty scene_info.h5_info.{field}"));
        }
    }
    match info.get("spbill_create_ip").and_then(Value::as_str) {
        Some(ip) if ip.parse::<std::net::IpAddr>().is_ok() => Ok(()),
        Some(ip) => bad(format!("spbill_create_ip {ip:?} is not an IP address")),
        None => bad("needs spbill_create_ip, the shopper's IP address".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h5_extend_info_names_what_is_wrong() {
        let good = r#"{"scene_info":{"h5_info":{"type":"Wap","wap_url":"https://shop.example","wap_name":"Shop"}},"spbill_create_ip":"203.0.113.7"}"#;
        assert_eq!(check_h5_extend_info(Some(good)), Ok(()));
        let cases = [
            (None, "is required"),
            (Some("not json".to_owned()), "JSON object"),
            (Some(r#"{"spbill_create_ip":"1.2.3.4"}"#.to_owned()), "scene_info.h5_info"),
            (Some(good.replace("\"Wap\"", "\"App\"")), "type"),
            (Some(good.replace("https://shop.example", "")), "wap_url"),
            (Some(good.replace("\"Shop\"", "\"\"")), "wap_name"),
            (Some(good.replace("203.0.113.7", "localhost")), "not an IP address"),
        ];
        for (text, named) in cases {
            let err = check_h5_extend_info(text.as_deref()).unwrap_err();
            assert_eq!(err.field, "extend_info");
            assert!(err.rule.contains(named), "{text:?}: {err}");
        }
    }
}
