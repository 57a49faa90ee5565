//! Typed gateway requests. Each validates every field against the spec, then becomes a
//! [`SignedRequest`]: plain data (method, path, headers, form body) that any HTTP client
//! (the worker's `fetch`, the CLI, a test) can send. Nothing here does I/O.
//!
//! The same types parse the simulator's incoming forms ([`PaymentRequest::from_form`] and
//! friends), so the client and the simulator enforce one set of rules.

use crate::config::Credentials;
use crate::sign::{self, SignType};
use crate::tables::{self, PayMode, PayType};
use crate::txdtm::Txdtm;
use crate::validate::{rules, InvalidField};

mod form;
pub use form::Form;

/// HTTP method of a gateway call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `POST`, what this project always sends.
    Post,
    /// `GET`, accepted by the gateway for close and reversal.
    Get,
}

/// A request ready to send: the signature is in the headers, the body is form-urlencoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// Always `POST` when built by this crate.
    pub method: Method,
    /// Path below the base URL, e.g. `/trade/v1/payment`.
    pub path: &'static str,
    /// `X-QF-APPCODE`, `X-QF-SIGN`, `X-QF-SIGNTYPE` and `Content-Type`.
    pub headers: Vec<(&'static str, String)>,
    /// `application/x-www-form-urlencoded` UTF-8 body.
    pub body: String,
}

impl SignedRequest {
    /// The full URL for a base URL such as `https://openapi-hk.qfapi.com`.
    pub fn url(&self, base_url: &str) -> String {
        format!("{}{}", base_url.trim_end_matches('/'), self.path)
    }

    /// A header's value by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What every gateway request can do.
pub trait GatewayRequest {
    /// Path below the base URL.
    const PATH: &'static str;

    /// Checks every field; the error names the field and the rule.
    fn validate(&self) -> Result<(), InvalidField>;

    /// The wire parameters, without `mchid` (added from the credentials) and with empty
    /// optional values left out.
    fn params(&self) -> Vec<(&'static str, String)>;

    /// Validates, adds `mchid` when the merchant has one, and signs with SHA256.
    fn sign(&self, credentials: &Credentials) -> Result<SignedRequest, InvalidField> {
        self.sign_with(credentials, SignType::Sha256)
    }

    /// As [`GatewayRequest::sign`], with a chosen hash.
    fn sign_with(&self, credentials: &Credentials, sign_type: SignType) -> Result<SignedRequest, InvalidField> {
        self.validate()?;
        let mut params = self.params();
        if let Some(mchid) = credentials.mchid.as_deref().filter(|m| !m.is_empty()) {
            rules::identifier("mchid", mchid, 16)?;
            params.push(("mchid", mchid.to_owned()));
        }
        let signature = sign::sign(params.iter().map(|(n, v)| (*n, v.as_str())), &credentials.key, sign_type);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(n, v)| (*n, v.as_str())))
            .finish();
        Ok(SignedRequest {
            method: Method::Post,
            path: Self::PATH,
            headers: vec![
                ("Content-Type", "application/x-www-form-urlencoded".to_owned()),
                ("X-QF-APPCODE", credentials.appcode.clone()),
                ("X-QF-SIGN", signature),
                ("X-QF-SIGNTYPE", sign_type.header_value().to_owned()),
            ],
            body,
        })
    }
}

fn push_some(params: &mut Vec<(&'static str, String)>, name: &'static str, value: &Option<String>) {
    if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
        params.push((name, v.to_owned()));
    }
}

fn check_opt(value: &Option<String>, check: impl FnOnce(&str) -> Result<(), InvalidField>) -> Result<(), InvalidField> {
    value.as_deref().filter(|v| !v.is_empty()).map_or(Ok(()), check)
}

/// `POST /trade/v1/payment`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentRequest {
    /// Amount in the currency's minor unit.
    pub txamt: u64,
    /// ISO 4217 code.
    pub txcurrcd: String,
    /// Six-digit pay type.
    pub pay_type: String,
    /// The merchant's order number, unique across payments and refunds.
    pub out_trade_no: String,
    /// Merchant-local `YYYY-MM-DD hh:mm:ss`.
    pub txdtm: String,
    /// The shopper's code (CPM only).
    pub auth_code: Option<String>,
    /// QR validity in minutes, 5..=120 (MPM only).
    pub expired_time: Option<u32>,
    /// At most 20 characters.
    pub goods_name: Option<String>,
    /// Device id.
    pub udid: Option<String>,
    /// Where the gateway posts the notification.
    pub notify_url: Option<String>,
    /// Where WAP/web types send the browser back.
    pub return_url: Option<String>,
    /// Alipay MPM: `ALIPAYHK` or `ALIPAYCN`.
    pub pay_tag: Option<String>,
    /// WeChat Pay H5 (800212): the mandatory JSON object naming the page and the shopper's IP
    /// (QFPay's `03-online-shop/06-wechat/03-wechat-pay-h5.md`); build it with [`h5_extend_info`].
    pub extend_info: Option<String>,
}

/// The pay type whose payments must carry `extend_info`: WeChat Pay H5.
pub const WECHAT_H5: &str = "800212";

/// `extend_info` for WeChat Pay H5: `scene_info.h5_info` (`type` "Wap", the page's URL and
/// name) and `spbill_create_ip`, the shopper's own address.
pub fn h5_extend_info(wap_url: &str, wap_name: &str, shopper_ip: &str) -> String {
    serde_json::json!({
        "scene_info": { "h5_info": { "type": "Wap", "wap_url": wap_url, "wap_name": wap_name } },
        "spbill_create_ip": shopper_ip,
    })
    .to_string()
}

/// Checks an `extend_info` for WeChat Pay H5 as the documentation describes it.
fn check_h5_extend_info(text: &str) -> Result<(), InvalidField> {
    let bad = |why: &str| InvalidField::new("extend_info", why.to_owned());
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| bad("must be a JSON object"))?;
    let h5 = &value["scene_info"]["h5_info"];
    if h5["type"].as_str() != Some("Wap") {
        return Err(bad("needs scene_info.h5_info.type \"Wap\""));
    }
    for field in ["wap_url", "wap_name"] {
        if h5[field].as_str().is_none_or(str::is_empty) {
            return Err(bad(&format!("needs scene_info.h5_info.{field}")));
        }
    }
    match value["spbill_create_ip"].as_str().map(str::parse::<std::net::IpAddr>) {
        Some(Ok(_)) => Ok(()),
        _ => Err(bad("needs spbill_create_ip, the shopper's IP address")),
    }
}

impl GatewayRequest for PaymentRequest {
    const PATH: &'static str = "/trade/v1/payment";

    fn validate(&self) -> Result<(), InvalidField> {
        rules::amount("txamt", self.txamt)?;
        if tables::currency(&self.txcurrcd).is_none() {
            return Err(InvalidField::new(
                "txcurrcd",
                format!("unknown currency {:?}; see `qfpay currencies`", self.txcurrcd),
            ));
        }
        let info = tables::pay_type(&self.pay_type).ok_or_else(|| {
            InvalidField::new("pay_type", format!("unknown pay type {:?}; see `qfpay pay-types`", self.pay_type))
        })?;
        if !info.accepts_currency(&self.txcurrcd) {
            return Err(InvalidField::new("txcurrcd", format!("pay type {} accepts HKD only", info.code)));
        }
        if let Some(floor) = info.min_amount.filter(|f| f.currency == self.txcurrcd) {
            if self.txamt <= floor.more_than {
                return Err(InvalidField::new(
                    "txamt",
                    format!(
                        "pay type {} needs more than {} {} minor units",
                        info.code, floor.more_than, floor.currency
                    ),
                ));
            }
        }
        rules::identifier("out_trade_no", &self.out_trade_no, 128)?;
        Txdtm::parse("txdtm", &self.txdtm)?;
        match (&self.auth_code, info.mode) {
            (None, PayMode::Cpm) => return Err(InvalidField::new("auth_code", "is required for CPM pay types")),
            (Some(code), PayMode::Cpm) => rules::identifier("auth_code", code, 128)?,
            (Some(_), _) => return Err(InvalidField::new("auth_code", "is only for CPM pay types")),
            (None, _) => {}
        }
        if let Some(minutes) = self.expired_time {
            if !info.expired_time {
                return Err(InvalidField::new(
                    "expired_time",
                    format!("is not taken by pay type {} (see `qfpay pay-types`)", info.code),
                ));
            }
            if !(5..=120).contains(&minutes) {
                return Err(InvalidField::new("expired_time", format!("must be 5 to 120 minutes (got {minutes})")));
            }
        }
        check_opt(&self.goods_name, |g| {
            rules::max_chars("goods_name", g, 20)?;
            rules::max_bytes("goods_name", g, 64)
        })?;
        if info.mode == PayMode::InApp && self.goods_name.as_deref().is_none_or(str::is_empty) {
            return Err(InvalidField::new("goods_name", "is required for in-app payments"));
        }
        check_opt(&self.udid, |u| rules::identifier("udid", u, 40))?;
        check_opt(&self.notify_url, |u| rules::url("notify_url", u, 256))?;
        check_opt(&self.return_url, |u| rules::url("return_url", u, 512))?;
        match (&self.extend_info, info.code == WECHAT_H5) {
            (Some(text), true) => check_h5_extend_info(text)?,
            (None, true) => return Err(InvalidField::new("extend_info", "is required for WeChat Pay H5 (800212)")),
            (Some(_), false) => return Err(InvalidField::new("extend_info", "is only for WeChat Pay H5 (800212)")),
            (None, false) => {}
        }
        check_opt(&self.pay_tag, |tag| {
            if info.wallet != crate::tables::Wallet::Alipay || info.mode != PayMode::Mpm {
                return Err(InvalidField::new("pay_tag", "is only for Alipay MPM pay types"));
            }
            match tag {
                "ALIPAYHK" | "ALIPAYCN" => Ok(()),
                _ => Err(InvalidField::new("pay_tag", "must be ALIPAYHK or ALIPAYCN")),
            }
        })
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("txamt", self.txamt.to_string()),
            ("txcurrcd", self.txcurrcd.clone()),
            ("pay_type", self.pay_type.clone()),
            ("out_trade_no", self.out_trade_no.clone()),
            ("txdtm", self.txdtm.clone()),
        ];
        push_some(&mut p, "auth_code", &self.auth_code);
        push_some(&mut p, "expired_time", &self.expired_time.map(|m| m.to_string()));
        push_some(&mut p, "goods_name", &self.goods_name);
        push_some(&mut p, "udid", &self.udid);
        push_some(&mut p, "notify_url", &self.notify_url);
        push_some(&mut p, "return_url", &self.return_url);
        push_some(&mut p, "pay_tag", &self.pay_tag);
        push_some(&mut p, "extend_info", &self.extend_info);
        p
    }
}

impl PaymentRequest {
    /// Reads a form as the gateway receives it, then validates it.
    pub fn from_form(form: &Form) -> Result<Self, InvalidField> {
        let req = PaymentRequest {
            txamt: form.amount("txamt")?,
            txcurrcd: form.required("txcurrcd")?.to_owned(),
            pay_type: form.required("pay_type")?.to_owned(),
            out_trade_no: form.required("out_trade_no")?.to_owned(),
            txdtm: form.required("txdtm")?.to_owned(),
            auth_code: form.optional("auth_code"),
            // QFPay documents `expired_time` for eight types and does not say the others refuse
            // it: the gateway's side reads it only where it is documented.
            expired_time: form.optional_number("expired_time")?.filter(|_| {
                tables::pay_type(form.optional("pay_type").as_deref().unwrap_or("")).is_some_and(|p| p.expired_time)
            }),
            goods_name: form.optional("goods_name"),
            udid: form.optional("udid"),
            notify_url: form.optional("notify_url"),
            return_url: form.optional("return_url"),
            pay_tag: form.optional("pay_tag"),
            extend_info: form.optional("extend_info"),
        };
        req.validate()?;
        Ok(req)
    }
}

/// `POST /trade/v1/query`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryRequest {
    /// QFPay transaction numbers (sent comma-separated).
    pub syssn: Vec<String>,
    /// Merchant order numbers (sent comma-separated).
    pub out_trade_no: Vec<String>,
    /// Filter by pay type.
    pub pay_type: Option<String>,
    /// Filter by status code.
    pub respcd: Option<String>,
    /// Range start (ignored when an id is given).
    pub start_time: Option<String>,
    /// Range end (ignored when an id is given).
    pub end_time: Option<String>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Rows per page, 1..=100.
    pub page_size: Option<u32>,
    /// Merchant-local time of the query.
    pub txdtm: Option<String>,
}

impl QueryRequest {
    /// A query for one order by the merchant's number.
    pub fn by_out_trade_no(out_trade_no: impl Into<String>, txdtm: &Txdtm) -> Self {
        QueryRequest { out_trade_no: vec![out_trade_no.into()], txdtm: Some(txdtm.to_string()), ..Self::default() }
    }

    /// Reads a form as the gateway receives it, then validates it.
    pub fn from_form(form: &Form) -> Result<Self, InvalidField> {
        let list = |name| form.optional(name).map(|v| v.split(',').map(str::to_owned).collect()).unwrap_or_default();
        let req = QueryRequest {
            syssn: list("syssn"),
            out_trade_no: list("out_trade_no"),
            pay_type: form.optional("pay_type"),
            respcd: form.optional("respcd"),
            start_time: form.optional("start_time"),
            end_time: form.optional("end_time"),
            page: form.optional_number("page")?,
            page_size: form.optional_number("page_size")?,
            txdtm: form.optional("txdtm"),
        };
        req.validate()?;
        Ok(req)
    }
}

impl GatewayRequest for QueryRequest {
    const PATH: &'static str = "/trade/v1/query";

    fn validate(&self) -> Result<(), InvalidField> {
        self.syssn.iter().try_for_each(|s| rules::identifier("syssn", s, 128))?;
        self.out_trade_no.iter().try_for_each(|s| rules::identifier("out_trade_no", s, 128))?;
        check_opt(&self.pay_type, |p| match PayType::new(p).info() {
            Some(_) => Ok(()),
            None => Err(InvalidField::new("pay_type", format!("unknown pay type {p:?}"))),
        })?;
        check_opt(&self.respcd, |r| match r.len() == 4 && r.bytes().all(|b| b.is_ascii_digit()) {
            true => Ok(()),
            false => Err(InvalidField::new("respcd", "must be four digits")),
        })?;
        let start = self.start_time.as_deref().map(|t| Txdtm::parse("start_time", t)).transpose()?;
        let end = self.end_time.as_deref().map(|t| Txdtm::parse("end_time", t)).transpose()?;
        if let (Some(start), Some(end)) = (&start, &end) {
            if self.syssn.is_empty() && self.out_trade_no.is_empty() && start.as_str()[..7] != end.as_str()[..7] {
                return Err(InvalidField::new("end_time", "must be in the same calendar month as start_time"));
            }
            if start > end {
                return Err(InvalidField::new("end_time", "must not be before start_time"));
            }
        }
        if self.page == Some(0) {
            return Err(InvalidField::new("page", "must be 1 or more"));
        }
        if let Some(size) = self.page_size.filter(|s| !(1..=100).contains(s)) {
            return Err(InvalidField::new("page_size", format!("must be 1 to 100 (got {size})")));
        }
        check_opt(&self.txdtm, |t| Txdtm::parse("txdtm", t).map(|_| ()))
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        let join = |v: &Vec<String>| (!v.is_empty()).then(|| v.join(","));
        push_some(&mut p, "syssn", &join(&self.syssn));
        push_some(&mut p, "out_trade_no", &join(&self.out_trade_no));
        push_some(&mut p, "pay_type", &self.pay_type);
        push_some(&mut p, "respcd", &self.respcd);
        push_some(&mut p, "start_time", &self.start_time);
        push_some(&mut p, "end_time", &self.end_time);
        push_some(&mut p, "page", &self.page.map(|n| n.to_string()));
        push_some(&mut p, "page_size", &self.page_size.map(|n| n.to_string()));
        push_some(&mut p, "txdtm", &self.txdtm);
        p
    }
}

/// `POST /trade/v1/refund`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefundRequest {
    /// The payment being refunded.
    pub syssn: String,
    /// A NEW merchant number for the refund itself.
    pub out_trade_no: String,
    /// Amount to refund (always sent, also for a full refund).
    pub txamt: u64,
    /// Merchant-local time.
    pub txdtm: String,
    /// Device id.
    pub udid: Option<String>,
    /// The original payment's pay type, when the caller knows it. Not sent; checked so
    /// that a refund the gateway would refuse (FPS `802001`) is refused here first.
    pub original_pay_type: Option<String>,
}

/// The refunded payment's QFPay number: `syssn`, or `qf_trade_no` as the guide's own refund
/// example writes it (the guide wins over the endpoint pages here; both name the same number).
fn original_transaction(form: &Form) -> Result<String, InvalidField> {
    match (form.optional("syssn"), form.optional("qf_trade_no")) {
        (Some(syssn), Some(alias)) if syssn != alias => {
            Err(InvalidField::new("qf_trade_no", "names another transaction than syssn; send one of them"))
        }
        (Some(number), _) | (None, Some(number)) => Ok(number),
        (None, None) => Err(InvalidField::new(
            "syssn",
            "is required: the QFPay number of the payment to refund (syssn, or qf_trade_no as the guide writes it)",
        )),
    }
}

impl GatewayRequest for RefundRequest {
    const PATH: &'static str = "/trade/v1/refund";

    fn validate(&self) -> Result<(), InvalidField> {
        rules::identifier("syssn", &self.syssn, 128)?;
        rules::identifier("out_trade_no", &self.out_trade_no, 128)?;
        rules::amount("txamt", self.txamt)?;
        Txdtm::parse("txdtm", &self.txdtm)?;
        check_opt(&self.udid, |u| rules::identifier("udid", u, 40))?;
        check_opt(&self.original_pay_type, |code| match PayType::new(code).info() {
            Some(info) if !info.refundable => Err(InvalidField::new(
                "syssn",
                format!("payments of pay type {code} ({}) cannot be refunded", info.name_en),
            )),
            _ => Ok(()),
        })
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("syssn", self.syssn.clone()),
            ("out_trade_no", self.out_trade_no.clone()),
            ("txamt", self.txamt.to_string()),
            ("txdtm", self.txdtm.clone()),
        ];
        push_some(&mut p, "udid", &self.udid);
        p
    }
}

impl RefundRequest {
    /// Reads a form as the gateway receives it, then validates it.
    pub fn from_form(form: &Form) -> Result<Self, InvalidField> {
        let req = RefundRequest {
            syssn: original_transaction(form)?,
            out_trade_no: form.required("out_trade_no")?.to_owned(),
            txamt: form.amount("txamt")?,
            txdtm: form.required("txdtm")?.to_owned(),
            udid: form.optional("udid"),
            original_pay_type: None,
        };
        req.validate()?;
        Ok(req)
    }
}

/// Which order a close or reversal is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderRef {
    /// QFPay's number for the order.
    pub syssn: Option<String>,
    /// The merchant's number for the order.
    pub out_trade_no: Option<String>,
    /// The order's amount.
    pub txamt: u64,
    /// Merchant-local time.
    pub txdtm: String,
    /// Device id.
    pub udid: Option<String>,
}

impl OrderRef {
    fn validate(&self) -> Result<(), InvalidField> {
        if self.syssn.as_deref().is_none_or(str::is_empty) && self.out_trade_no.as_deref().is_none_or(str::is_empty) {
            return Err(InvalidField::new("syssn", "syssn or out_trade_no is required"));
        }
        check_opt(&self.syssn, |s| rules::identifier("syssn", s, 128))?;
        check_opt(&self.out_trade_no, |s| rules::identifier("out_trade_no", s, 128))?;
        rules::amount("txamt", self.txamt)?;
        Txdtm::parse("txdtm", &self.txdtm)?;
        check_opt(&self.udid, |u| rules::identifier("udid", u, 40))
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        push_some(&mut p, "syssn", &self.syssn);
        push_some(&mut p, "out_trade_no", &self.out_trade_no);
        p.push(("txamt", self.txamt.to_string()));
        p.push(("txdtm", self.txdtm.clone()));
        push_some(&mut p, "udid", &self.udid);
        p
    }

    fn from_form(form: &Form) -> Result<Self, InvalidField> {
        let req = OrderRef {
            syssn: form.optional("syssn"),
            out_trade_no: form.optional("out_trade_no"),
            txamt: form.amount("txamt")?,
            txdtm: form.required("txdtm")?.to_owned(),
            udid: form.optional("udid"),
        };
        req.validate()?;
        Ok(req)
    }
}

/// `POST /trade/v1/close`: ends an unpaid MPM order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloseRequest(pub OrderRef);

/// `POST /trade/v1/reversal`: undoes a CPM payment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReversalRequest(pub OrderRef);

impl GatewayRequest for CloseRequest {
    const PATH: &'static str = "/trade/v1/close";
    fn validate(&self) -> Result<(), InvalidField> {
        self.0.validate()
    }
    fn params(&self) -> Vec<(&'static str, String)> {
        self.0.params()
    }
}

impl GatewayRequest for ReversalRequest {
    const PATH: &'static str = "/trade/v1/reversal";
    fn validate(&self) -> Result<(), InvalidField> {
        self.0.validate()
    }
    fn params(&self) -> Vec<(&'static str, String)> {
        self.0.params()
    }
}

impl CloseRequest {
    /// Reads a form as the gateway receives it, then validates it.
    pub fn from_form(form: &Form) -> Result<Self, InvalidField> {
        OrderRef::from_form(form).map(CloseRequest)
    }
}

impl ReversalRequest {
    /// Reads a form as the gateway receives it, then validates it.
    pub fn from_form(form: &Form) -> Result<Self, InvalidField> {
        OrderRef::from_form(form).map(ReversalRequest)
    }
}

#[cfg(test)]
mod tests;
