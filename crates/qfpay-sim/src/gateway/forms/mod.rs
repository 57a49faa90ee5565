//! The forms the gateway's paths take, read from the raw form fields by the simulator's own
//! rules, written from QFPay's endpoint pages. The client's crate has request types of its
//! own; the simulator does not reuse them, so the gateway's rules and the client's can
//! disagree where the documentation is silent, and a test shows it.
//!
//! Each form names the path it serves and reads itself from a [`Form`]; an error names the
//! field and the rule broken (`1266` for `txamt`, `1104` for any other field).

mod payment;
mod query;

pub use payment::PaymentForm;
pub use query::QueryForm;

use std::fmt;

use qfpay::request::Form;

use crate::calendar::HkTime;
use crate::ledger::Kind;

/// The largest amount an `Int(11)` field carries.
const MAX_AMOUNT: u64 = 99_999_999_999;

/// A field that breaks a rule: `field: rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The parameter's name on the wire.
    pub field: &'static str,
    /// The rule, as a sentence fragment.
    pub rule: String,
}

impl FieldError {
    pub fn new(field: &'static str, rule: impl Into<String>) -> Self {
        FieldError { field, rule: rule.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

/// A form a gateway path takes.
pub trait GatewayForm: Sized {
    /// The path it is sent to.
    const PATH: &'static str;
    /// What its `out_trade_no` is used for, on the paths where it names a new payment or
    /// refund: such a number is used up even when the form is refused.
    const NUMBER_KIND: Option<Kind> = None;
    /// Reads and checks the fields; the error names the first field that is wrong.
    fn parse(form: &Form) -> Result<Self, FieldError>;
}

/// A field that must be there (empty counts as absent, as in signing).
fn required<'a>(form: &'a Form, name: &'static str) -> Result<&'a str, FieldError> {
    form.get(name).ok_or_else(|| FieldError::new(name, "is required"))
}

/// Digits only, as every `Int` field is sent.
fn digits(name: &'static str, text: &str) -> Result<u64, FieldError> {
    if text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(name, format!("must be a whole number of digits only (got {text:?})")));
    }
    text.parse().map_err(|_| FieldError::new(name, "is too large"))
}

/// An amount in the currency's minor unit: `Int(11)`, more than 0.
fn amount(form: &Form, name: &'static str) -> Result<u64, FieldError> {
    let value = digits(name, required(form, name)?)?;
    match value {
        0 => Err(FieldError::new(name, "must be greater than 0")),
        v if v > MAX_AMOUNT => Err(FieldError::new(name, format!("must be at most {MAX_AMOUNT} (Int(11))"))),
        v => Ok(v),
    }
}

/// An optional whole number.
fn number(form: &Form, name: &'static str) -> Result<Option<u64>, FieldError> {
    form.get(name).map(|text| digits(name, text)).transpose()
}

/// A number or name of at most `max` bytes with no spaces or control characters.
fn identifier(name: &'static str, value: &str, max: usize) -> Result<String, FieldError> {
    if value.len() > max {
        return Err(FieldError::new(name, format!("at most {max} bytes (got {})", value.len())));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(name, "must not contain spaces or control characters"));
    }
    Ok(value.to_owned())
}

/// An optional [`identifier`].
fn optional_identifier(form: &Form, name: &'static str, max: usize) -> Result<Option<String>, FieldError> {
    form.get(name).map(|v| identifier(name, v, max)).transpose()
}

/// A time as every time field is sent: `YYYY-MM-DD hh:mm:ss`.
fn time(name: &'static str, text: &str) -> Result<HkTime, FieldError> {
    HkTime::parse(text).ok_or_else(|| FieldError::new(name, format!("must be YYYY-MM-DD hh:mm:ss (got {text:?})")))
}

/// An optional absolute `http://` or `https://` URL of at most `max` bytes.
fn optional_url(form: &Form, name: &'static str, max: usize) -> Result<Option<String>, FieldError> {
    let Some(url) = form.get(name) else { return Ok(None) };
    if url.len() > max {
        return Err(FieldError::new(name, format!("at most {max} bytes (got {})", url.len())));
    }
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).unwrap_or("");
    if rest.is_empty() || rest.starts_with('/') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(name, "must be an absolute http:// or https:// URL with a host"));
    }
    Ok(Some(url.to_owned()))
}

/// `POST /trade/v1/refund` (`04-common-api/03-refunds.md`).
#[derive(Debug, Clone)]
pub struct RefundForm {
    /// The payment refunded: `syssn`, or `qf_trade_no` as the guide's own example names it.
    pub syssn: String,
    /// The refund's own number, new to the merchant.
    pub out_trade_no: String,
    /// The amount refunded (always sent, also for a full refund).
    pub txamt: u64,
    /// The merchant's time.
    pub txdtm: String,
}

impl GatewayForm for RefundForm {
    const PATH: &'static str = "/trade/v1/refund";
    const NUMBER_KIND: Option<Kind> = Some(Kind::Refund);

    fn parse(form: &Form) -> Result<Self, FieldError> {
        let syssn = match (form.get("syssn"), form.get("qf_trade_no")) {
            (Some(syssn), Some(alias)) if syssn != alias => {
                return Err(FieldError::new("qf_trade_no", "names another transaction than syssn; send one of them"))
            }
            (Some(number), _) | (None, Some(number)) => identifier("syssn", number, 128)?,
            (None, None) => return Err(FieldError::new(
                "syssn",
                "is required: the QFPay number of the payment to refund (syssn, or qf_trade_no as the guide writes it)",
            )),
        };
        let out_trade_no = identifier("out_trade_no", required(form, "out_trade_no")?, 128)?;
        let txamt = amount(form, "txamt")?;
        let txdtm = required(form, "txdtm")?;
        time("txdtm", txdtm)?;
        optional_identifier(form, "udid", 40)?;
        Ok(RefundForm { syssn, out_trade_no, txamt, txdtm: txdtm.to_owned() })
    }
}

/// `/trade/v1/close` and `/trade/v1/reversal` (`04-common-api/02-reversal-cancel.md`): the
/// order by `syssn` or `out_trade_no`, its amount, the merchant's time.
#[derive(Debug, Clone)]
pub struct OrderRefForm {
    pub syssn: Option<String>,
    pub out_trade_no: Option<String>,
    pub txamt: u64,
}

impl OrderRefForm {
    fn read(form: &Form) -> Result<Self, FieldError> {
        let syssn = optional_identifier(form, "syssn", 128)?;
        let out_trade_no = optional_identifier(form, "out_trade_no", 128)?;
        if syssn.is_none() && out_trade_no.is_none() {
            return Err(FieldError::new("syssn", "syssn or out_trade_no is required"));
        }
        let txamt = amount(form, "txamt")?;
        time("txdtm", required(form, "txdtm")?)?;
        optional_identifier(form, "udid", 40)?;
        Ok(OrderRefForm { syssn, out_trade_no, txamt })
    }
}

/// The form of `/trade/v1/close`.
pub struct CloseForm(pub OrderRefForm);

/// The form of `/trade/v1/reversal`.
pub struct ReversalForm(pub OrderRefForm);

impl GatewayForm for CloseForm {
    const PATH: &'static str = "/trade/v1/close";
    fn parse(form: &Form) -> Result<Self, FieldError> {
        OrderRefForm::read(form).map(CloseForm)
    }
}

impl GatewayForm for ReversalForm {
    const PATH: &'static str = "/trade/v1/reversal";
    fn parse(form: &Form) -> Result<Self, FieldError> {
        OrderRefForm::read(form).map(ReversalForm)
    }
}
