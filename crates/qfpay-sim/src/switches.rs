//! Switches: where QFPay's documentation leaves the gateway's behaviour open, or where QFPay
//! sets it per merchant, the simulator offers each plausible behaviour, and a client must keep
//! its promises under all of them.
//!
//! [`SimConfig::switches`](crate::SimConfig::switches) holds the values at start; `GET
//! /sim/switches` shows the values in force and `POST /sim/switches` changes any of them at
//! run time with a JSON object of the same names (see [`Switches::apply`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::end_order::EndOrder;

/// What an answer's `X-QF-SIGN` covers (`01-preparation/01-introduction.md` "encourages"
/// verifying it but never says over what).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerSignature {
    /// The guide's 签名验证: the `data` object's string and number fields when `data` is an
    /// object, else the answer's own; sorted `name=value` joined by `&`, the key appended.
    SortedData,
    /// The answer's top-level string and number fields, `data` ignored, same rules.
    TopLevel,
    /// The raw body bytes followed by the key, as notifications are signed.
    RawBody,
    /// No `X-QF-SIGN` at all.
    None,
}

impl AnswerSignature {
    /// Every value, for messages that list them.
    pub const ALL: [AnswerSignature; 4] =
        [AnswerSignature::SortedData, AnswerSignature::TopLevel, AnswerSignature::RawBody, AnswerSignature::None];

    /// `sorted-data`, `top-level`, `raw-body` or `none`.
    pub fn name(self) -> &'static str {
        match self {
            AnswerSignature::SortedData => "sorted-data",
            AnswerSignature::TopLevel => "top-level",
            AnswerSignature::RawBody => "raw-body",
            AnswerSignature::None => "none",
        }
    }

    /// Reads [`AnswerSignature::name`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == text.trim())
    }
}

/// Every switch. The JSON shape of `GET`/`POST /sim/switches` is this struct's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Switches {
    /// What answers' `X-QF-SIGN` covers. Default `sorted-data`.
    pub answer_signature: AnswerSignature,
    /// The longest comma-separated `syssn` or `out_trade_no` list a query takes (the
    /// documentation types them String(128) yet allows lists); longer is `1104`. Default 100.
    pub query_list_max: usize,
    /// Per pay type, how an unpaid order ends early, over the documented table (what QFPay
    /// enabled for this merchant). Default: none, the documented table alone.
    pub end_order: BTreeMap<String, EndOrder>,
    /// No refunds 23:30-00:30 Hong Kong time (`1265`). Default on, as documented.
    pub refund_blackout: bool,
    /// A "special promotion": every refund is refused `1265`, at any hour. Default off.
    pub refund_promotion: bool,
    /// The merchant's unsettled volume today is too low: refunds are refused `1269`. Default off.
    pub refund_low_volume: bool,
    /// The currency allows no partial refund: a refund of less than the payment is `1270`.
    /// Default off.
    pub refund_no_partial_currency: bool,
    /// The transaction allows no partial refund: a refund of less than the payment is `1271`.
    /// Default off.
    pub refund_no_partial: bool,
    /// Honour a payment's own `notify_url` field (not what the documentation describes: QFPay
    /// registers one URL per appcode). Default off.
    pub per_request_notify_url: bool,
    /// The URL registered for the merchants' notifications; `null`: none, and nothing is sent.
    pub notify_url: Option<String>,
}

impl Default for Switches {
    fn default() -> Self {
        Switches {
            answer_signature: AnswerSignature::SortedData,
            query_list_max: 100,
            end_order: BTreeMap::new(),
            refund_blackout: true,
            refund_promotion: false,
            refund_low_volume: false,
            refund_no_partial_currency: false,
            refund_no_partial: false,
            per_request_notify_url: false,
            notify_url: None,
        }
    }
}

/// The names `POST /sim/switches` takes, for the error that meets another.
pub const NAMES: [&str; 10] = [
    "answer_signature",
    "query_list_max",
    "end_order",
    "refund_blackout",
    "refund_promotion",
    "refund_low_volume",
    "refund_no_partial_currency",
    "refund_no_partial",
    "per_request_notify_url",
    "notify_url",
];

/// The largest `query_list_max` accepted: a list that long already fills a large form.
const QUERY_LIST_MAX_LIMIT: usize = 10_000;

impl Switches {
    /// Applies the fields of `patch` (any subset of [`NAMES`]); the rest stay. All or nothing:
    /// on an error, naming the field and what it takes, nothing changed.
    pub fn apply(&mut self, patch: &Map<String, Value>) -> Result<(), String> {
        let mut next = self.clone();
        for (name, value) in patch {
            next.set(name, value)?;
        }
        *self = next;
        Ok(())
    }

    fn set(&mut self, name: &str, value: &Value) -> Result<(), String> {
        let flag = |value: &Value| value.as_bool().ok_or_else(|| format!("{name}: must be true or false"));
        match name {
            "answer_signature" => {
                self.answer_signature = value.as_str().and_then(AnswerSignature::parse).ok_or_else(|| {
                    let names: Vec<&str> = AnswerSignature::ALL.iter().map(|a| a.name()).collect();
                    format!("answer_signature: must be one of {}", names.join(", "))
                })?;
            }
            "query_list_max" => {
                self.query_list_max = value
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| (1..=QUERY_LIST_MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        format!("query_list_max: must be a whole number from 1 to {QUERY_LIST_MAX_LIMIT}")
                    })?;
            }
            "end_order" => self.end_order = end_order_map(value)?,
            "refund_blackout" => self.refund_blackout = flag(value)?,
            "refund_promotion" => self.refund_promotion = flag(value)?,
            "refund_low_volume" => self.refund_low_volume = flag(value)?,
            "refund_no_partial_currency" => self.refund_no_partial_currency = flag(value)?,
            "refund_no_partial" => self.refund_no_partial = flag(value)?,
            "per_request_notify_url" => self.per_request_notify_url = flag(value)?,
            "notify_url" => {
                self.notify_url = match value {
                    Value::Null => None,
                    Value::String(url) => Some(check_notify_url(url)?),
                    _ => return Err("notify_url: must be an http:// or https:// URL, or null for none".into()),
                }
            }
            _ => return Err(format!("unknown switch {name:?}; the switches are {}", NAMES.join(", "))),
        }
        Ok(())
    }

    /// Reads `PAYTYPE=MODE` (the command line's `--end-order`).
    pub fn parse_end_order(text: &str) -> Result<(String, EndOrder), String> {
        let (pay_type, mode) =
            text.split_once('=').ok_or_else(|| format!("{text:?} is not PAYTYPE=reversal|close|none"))?;
        let pay_type = check_pay_type(pay_type.trim())?;
        Ok((pay_type, end_order_mode(mode)?))
    }
}

/// `end_order`: a JSON object of pay type to mode. It replaces the overrides in force, so `{}`
/// returns to the documented table.
fn end_order_map(value: &Value) -> Result<BTreeMap<String, EndOrder>, String> {
    let Value::Object(entries) = value else {
        return Err("end_order: must be an object of pay type to \"reversal\", \"close\" or \"none\"".into());
    };
    entries
        .iter()
        .map(|(pay_type, mode)| {
            let mode = mode.as_str().ok_or_else(|| format!("end_order.{pay_type}: must be a string"))?;
            Ok((check_pay_type(pay_type)?, end_order_mode(mode)?))
        })
        .collect()
}

fn end_order_mode(text: &str) -> Result<EndOrder, String> {
    EndOrder::parse(text).ok_or_else(|| format!("end_order: {text:?} must be reversal, close or none"))
}

fn check_pay_type(code: &str) -> Result<String, String> {
    match qfpay::tables::pay_type(code) {
        Some(info) => Ok(info.code.to_owned()),
        None => Err(format!("end_order: {code:?} is not a pay type of the table")),
    }
}

/// An absolute `http://` or `https://` URL with a host. The documentation allows ports 80 and
/// 443 only; the simulator does not, so a receiver on any local port works.
pub fn check_notify_url(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !url.chars().any(char::is_whitespace) => {
            Ok(url.to_owned())
        }
        _ => Err(format!("notify_url: {url:?} must be an absolute http:// or https:// URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn defaults_are_the_documented_behaviour() {
        let s = Switches::default();
        assert_eq!((s.answer_signature, s.query_list_max, s.refund_blackout), (AnswerSignature::SortedData, 100, true));
        assert!(!s.refund_promotion && !s.per_request_notify_url && s.notify_url.is_none() && s.end_order.is_empty());
        let json = serde_json::to_value(&s).unwrap();
        let mut fields: Vec<&String> = json.as_object().unwrap().keys().collect();
        fields.sort();
        let mut names = NAMES.to_vec();
        names.sort();
        assert_eq!(fields, names, "every field is a switch name");
    }

    #[test]
    fn apply_changes_what_is_given_or_nothing() {
        let mut s = Switches::default();
        s.apply(&patch(json!({"answer_signature": "raw-body", "end_order": {"805801": "close"}, "notify_url": "http://127.0.0.1:9/n"})))
            .unwrap();
        assert_eq!(s.answer_signature, AnswerSignature::RawBody);
        assert_eq!(s.end_order.get("805801"), Some(&EndOrder::Close));
        let before = s.clone();
        for (bad, named) in [
            (json!({"refund_promotion": true, "gremlins": 1}), "gremlins"),
            (json!({"answer_signature": "md5"}), "answer_signature"),
            (json!({"query_list_max": 0}), "query_list_max"),
            (json!({"end_order": {"999999": "close"}}), "end_order"),
            (json!({"end_order": {"800201": "cancel"}}), "end_order"),
            (json!({"refund_blackout": "yes"}), "refund_blackout"),
            (json!({"notify_url": "ftp://x"}), "notify_url"),
        ] {
            let err = s.apply(&patch(bad.clone())).unwrap_err();
            assert!(err.contains(named), "{bad}: {err}");
            assert_eq!(s, before, "{bad}: nothing changed");
        }
        s.apply(&patch(json!({"notify_url": null, "end_order": {}}))).unwrap();
        assert_eq!((s.notify_url.as_deref(), s.end_order.len()), (None, 0));
    }

    #[test]
    fn end_order_on_the_command_line() {
        assert_eq!(Switches::parse_end_order("805801=close"), Ok(("805801".into(), EndOrder::Close)));
        assert!(Switches::parse_end_order("805801").is_err());
        assert!(Switches::parse_end_order("805801=maybe").is_err());
    }
}
