//! The gateway's answers and notifications, parsed leniently.
//!
//! The endpoint pages answer flat objects; the guide wraps a payment's outcome in `data`.
//! Numbers arrive as JSON numbers or strings. `syssn` and `qf_trade_no` name the same thing.
//! Bad JSON or a missing required field is an [`AnswerError`], never a panic.

use core::fmt;

use serde_json::{Map, Value};

use crate::tables::{RespClass, RespCode};

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// The body is not JSON, or not a JSON object.
    NotJson(String),
    /// A field the answer must have is absent.
    Missing(&'static str),
    /// A field has a value of the wrong kind.
    Malformed {
        /// The field.
        field: &'static str,
        /// What was expected.
        expected: &'static str,
    },
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::NotJson(why) => write!(f, "the gateway's answer is not a JSON object: {why}"),
            AnswerError::Missing(field) => write!(f, "the gateway's answer has no {field}"),
            AnswerError::Malformed { field, expected } => write!(f, "the gateway's {field} is not {expected}"),
        }
    }
}

impl std::error::Error for AnswerError {}

/// Field access over one JSON object that tolerates numbers-as-strings and the reverse.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn parse(body: &[u8]) -> Result<Map<String, Value>, AnswerError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(AnswerError::NotJson("not an object".into())),
            Err(e) => Err(AnswerError::NotJson(e.to_string())),
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn required(&self, name: &'static str) -> Result<String, AnswerError> {
        self.text(name).ok_or(AnswerError::Missing(name))
    }

    fn number(&self, name: &'static str) -> Result<Option<u64>, AnswerError> {
        self.text(name)
            .map(|t| {
                t.trim().parse::<u64>().map_err(|_| AnswerError::Malformed { field: name, expected: "a whole number" })
            })
            .transpose()
    }

    fn object(&self, name: &str) -> Option<Fields<'a>> {
        match self.0.get(name) {
            Some(Value::Object(map)) => Some(Fields(map)),
            _ => None,
        }
    }
}

/// `respcd`, `respmsg`, `resperr`: present in every answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The status code.
    pub respcd: RespCode,
    /// The gateway's message.
    pub respmsg: Option<String>,
    /// The gateway's detail (often names the parameter at fault).
    pub resperr: Option<String>,
}

impl Outcome {
    fn read(f: &Fields<'_>) -> Result<Self, AnswerError> {
        Ok(Outcome {
            respcd: RespCode::new(f.required("respcd")?),
            respmsg: f.text("respmsg"),
            resperr: f.text("resperr"),
        })
    }
}

/// The answer to `/trade/v1/payment`, from either shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentAnswer {
    /// Status of the call (for MPM, `0000` means the QR exists, not that anyone paid).
    pub outcome: Outcome,
    /// Amount.
    pub txamt: Option<u64>,
    /// Currency.
    pub txcurrcd: Option<String>,
    /// Pay type.
    pub pay_type: Option<String>,
    /// The merchant's order number.
    pub out_trade_no: Option<String>,
    /// QFPay's transaction number (`syssn` or `qf_trade_no`).
    pub syssn: Option<String>,
    /// Gateway time.
    pub sysdtm: Option<String>,
    /// Merchant time echoed.
    pub txdtm: Option<String>,
    /// MPM: the string to render as a QR code.
    pub qrcode: Option<String>,
    /// WAP/web: where to send the shopper.
    pub pay_url: Option<String>,
    /// The guide's `txstatus` (`SUCCESS`, `FAILED`, `PENDING`), when sent.
    pub txstatus: Option<String>,
}

impl PaymentAnswer {
    /// Parses a payment answer.
    pub fn parse(body: &[u8]) -> Result<Self, AnswerError> {
        let map = Fields::parse(body)?;
        let top = Fields(&map);
        let data = top.object("data");
        // A field is read from the flat shape first, then from the guide's `data` object.
        let pick = |name: &str| top.text(name).or_else(|| data.as_ref().and_then(|d| d.text(name)));
        let txamt = match top.number("txamt")? {
            Some(n) => Some(n),
            None => data.as_ref().map(|d| d.number("txamt")).transpose()?.flatten(),
        };
        Ok(PaymentAnswer {
            outcome: Outcome::read(&top)?,
            txamt,
            txcurrcd: pick("txcurrcd"),
            pay_type: pick("pay_type"),
            out_trade_no: pick("out_trade_no"),
            syssn: pick("syssn").or_else(|| pick("qf_trade_no")),
            sysdtm: pick("sysdtm"),
            txdtm: pick("txdtm"),
            qrcode: pick("qrcode"),
            pay_url: pick("pay_url"),
            txstatus: pick("txstatus"),
        })
    }
}

/// What a query row says about an order, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Paid (`respcd` `0000`, nothing undone).
    Paid,
    /// Not final: the shopper may still pay (`1143`, `1145`, `1298`).
    Pending,
    /// Failed with a final code.
    Failed,
    /// Closed or cancelled before payment (`cancel` 2), or reversed (`cancel` 1).
    Closed,
    /// Refunded in full (`cancel` 3).
    Refunded,
    /// Refunded in part (`cancel` 5).
    PartlyRefunded,
}

/// One row of a query answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryRow {
    /// The merchant's number.
    pub out_trade_no: Option<String>,
    /// QFPay's number.
    pub syssn: Option<String>,
    /// Pay type.
    pub pay_type: Option<String>,
    /// `payment` or `refund`.
    pub order_type: Option<String>,
    /// Amount.
    pub txamt: Option<u64>,
    /// Currency.
    pub txcurrcd: Option<String>,
    /// Merchant time.
    pub txdtm: Option<String>,
    /// Gateway time.
    pub sysdtm: Option<String>,
    /// When it was paid.
    pub paydtm: Option<String>,
    /// Goods.
    pub goods_name: Option<String>,
    /// The order's own status code.
    pub respcd: Option<RespCode>,
    /// Error text for a failed order.
    pub errmsg: Option<String>,
    /// 0 none, 1 reversed, 2 closed, 3 refunded, 4 pre-auth finished, 5 partly refunded.
    pub cancel: Option<u8>,
    /// For refunds: the payment refunded.
    pub origssn: Option<String>,
}

impl QueryRow {
    fn read(f: &Fields<'_>) -> Result<Self, AnswerError> {
        let cancel = f
            .number("cancel")?
            .map(|c| u8::try_from(c).map_err(|_| AnswerError::Malformed { field: "cancel", expected: "0 to 5" }))
            .transpose()?;
        Ok(QueryRow {
            out_trade_no: f.text("out_trade_no"),
            syssn: f.text("syssn"),
            pay_type: f.text("pay_type"),
            order_type: f.text("order_type"),
            txamt: f.number("txamt")?,
            txcurrcd: f.text("txcurrcd"),
            txdtm: f.text("txdtm"),
            sysdtm: f.text("sysdtm"),
            paydtm: f.text("paydtm"),
            goods_name: f.text("goods_name"),
            respcd: f.text("respcd").map(RespCode::new),
            errmsg: f.text("errmsg"),
            cancel,
            origssn: f.text("origssn"),
        })
    }

    /// The row's status. `cancel` wins over `respcd` because it records what happened
    /// after the payment (a refunded order still has `respcd` `0000`).
    pub fn status(&self) -> PaymentStatus {
        match self.cancel {
            Some(1) | Some(2) => return PaymentStatus::Closed,
            Some(3) => return PaymentStatus::Refunded,
            Some(5) => return PaymentStatus::PartlyRefunded,
            _ => {}
        }
        // The table's class decides; only "closed" needs the codes themselves, since closed
        // and declined orders share the declined class.
        let Some(code) = self.respcd.as_ref() else { return PaymentStatus::Failed };
        match code.class() {
            RespClass::Success => PaymentStatus::Paid,
            // Not final: a transient code in a row says nothing about the order either.
            RespClass::PendingAskAgain | RespClass::TransientRetry => PaymentStatus::Pending,
            _ if code.is_closed_order() => PaymentStatus::Closed,
            _ => PaymentStatus::Failed,
        }
    }
}

/// The answer to `/trade/v1/query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryAnswer {
    /// Whether the call worked (not the orders' statuses).
    pub outcome: Outcome,
    /// Page number.
    pub page: Option<u64>,
    /// Rows per page.
    pub page_size: Option<u64>,
    /// The rows; empty means not found.
    pub rows: Vec<QueryRow>,
}

impl QueryAnswer {
    /// An answer with no rows, to gather the rows of several calls into.
    pub fn empty() -> Self {
        QueryAnswer {
            outcome: Outcome { respcd: RespCode::new(RespCode::SUCCESS), respmsg: None, resperr: None },
            page: None,
            page_size: None,
            rows: Vec::new(),
        }
    }

    /// Parses a query answer.
    pub fn parse(body: &[u8]) -> Result<Self, AnswerError> {
        let map = Fields::parse(body)?;
        let top = Fields(&map);
        let rows = match map.get("data") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Object(m) => QueryRow::read(&Fields(m)),
                    _ => Err(AnswerError::Malformed { field: "data", expected: "a list of objects" }),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(AnswerError::Malformed { field: "data", expected: "a list" }),
        };
        Ok(QueryAnswer {
            outcome: Outcome::read(&top)?,
            page: top.number("page")?,
            page_size: top.number("page_size")?,
            rows,
        })
    }

    /// The payment row for an order number, if the gateway knows it.
    pub fn payment(&self, out_trade_no: &str) -> Option<&QueryRow> {
        self.rows.iter().find(|r| {
            r.out_trade_no.as_deref() == Some(out_trade_no) && r.order_type.as_deref().is_none_or(|t| t == "payment")
        })
    }

    /// The row of the refund with this merchant number, if the gateway knows it.
    pub fn refund(&self, out_trade_no: &str) -> Option<&QueryRow> {
        self.rows
            .iter()
            .find(|r| r.out_trade_no.as_deref() == Some(out_trade_no) && r.order_type.as_deref() == Some("refund"))
    }
}

/// The answer to refund, close and reversal: all three change an existing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderChangeAnswer {
    /// Status of the call (`1143`/`1145`: in progress, query later).
    pub outcome: Outcome,
    /// The original order's QFPay number.
    pub orig_syssn: Option<String>,
    /// The new transaction's own number.
    pub syssn: Option<String>,
    /// Amount.
    pub txamt: Option<u64>,
    /// The merchant's number for this request.
    pub out_trade_no: Option<String>,
}

impl OrderChangeAnswer {
    /// Parses a refund, close or reversal answer.
    pub fn parse(body: &[u8]) -> Result<Self, AnswerError> {
        let map = Fields::parse(body)?;
        let f = Fields(&map);
        Ok(OrderChangeAnswer {
            outcome: Outcome::read(&f)?,
            orig_syssn: f.text("orig_syssn"),
            syssn: f.text("syssn"),
            txamt: f.number("txamt")?,
            out_trade_no: f.text("out_trade_no"),
        })
    }
}

/// An asynchronous notification's body (verify its signature over the raw bytes first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// `payment` or `refund`.
    pub notify_type: String,
    /// `"1"` for success.
    pub status: Option<String>,
    /// For a payment its number; for a refund the refund's own.
    pub syssn: String,
    /// The merchant's number.
    pub out_trade_no: String,
    /// Pay type.
    pub pay_type: Option<String>,
    /// Amount.
    pub txamt: u64,
    /// Currency.
    pub txcurrcd: Option<String>,
    /// Merchant time.
    pub txdtm: Option<String>,
    /// Gateway time.
    pub sysdtm: Option<String>,
    /// When paid.
    pub paydtm: Option<String>,
    /// Cancel state as in query rows.
    pub cancel: Option<u8>,
    /// `0000` on success.
    pub respcd: Option<RespCode>,
    /// Merchant id.
    pub mchid: Option<String>,
    /// Goods.
    pub goods_name: Option<String>,
    /// For refunds, when sent: the payment refunded.
    pub origssn: Option<String>,
}

impl Notification {
    /// Parses a notification body.
    pub fn parse(body: &[u8]) -> Result<Self, AnswerError> {
        let map = Fields::parse(body)?;
        let f = Fields(&map);
        let cancel = f.number("cancel")?.map(|c| u8::try_from(c).unwrap_or(u8::MAX));
        Ok(Notification {
            notify_type: f.required("notify_type")?,
            status: f.text("status"),
            syssn: f.required("syssn")?,
            out_trade_no: f.required("out_trade_no")?,
            pay_type: f.text("pay_type"),
            txamt: f.number("txamt")?.ok_or(AnswerError::Missing("txamt"))?,
            txcurrcd: f.text("txcurrcd"),
            txdtm: f.text("txdtm"),
            sysdtm: f.text("sysdtm"),
            paydtm: f.text("paydtm"),
            cancel,
            respcd: f.text("respcd").map(RespCode::new),
            mchid: f.text("mchid"),
            goods_name: f.text("goods_name"),
            origssn: f.text("origssn").or_else(|| f.text("orig_syssn")),
        })
    }

    /// True when this notification reports a successful payment or refund.
    pub fn is_success(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == "1") && self.respcd.as_ref().is_none_or(RespCode::is_success)
    }
}

#[cfg(test)]
mod tests;
