//! Every order and refund the simulated gateway holds, and the rules that move them.
//!
//! Payment states: created -> (processing ->) paid / failed / closed / reversed / expired; only
//! an unpaid order is closed or reversed, a paid one only refunded. Refunds are their own rows,
//! linked by `orig_syssn`: (processing ->) paid. A request refused before it made an order
//! still uses up its `out_trade_no` (kept with its answer in [`Ledger::record_refusal`]), since
//! the merchant's numbers are never reused, whatever became of the first request. Time is an
//! argument (simulated Unix seconds), so every rule here is deterministic.

use std::collections::HashMap;

use qfpay::{PayMode, RespCode};
use serde::Serialize;
use serde_json::{json, Value};

pub use crate::calendar::hk_time;

/// Payment or refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A payment order.
    Payment,
    /// A refund of a payment.
    Refund,
}

impl Kind {
    /// The word the gateway uses for it: a query row's `order_type`, a notification's
    /// `notify_type`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Payment => "payment",
            Kind::Refund => "refund",
        }
    }
}

/// Where an order is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum OrderState {
    /// Waiting for the shopper.
    Created,
    /// Paid by the shopper, confirmation still in progress until this simulated time.
    Processing(f64),
    /// Paid.
    Paid,
    /// Failed with this respcd.
    Failed(String),
    /// Closed before payment (`/trade/v1/close`).
    Closed,
    /// Ended before payment by `/trade/v1/reversal`.
    Reversed,
    /// Not paid in time.
    Expired,
}

/// One order or refund.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    /// The merchant.
    pub appcode: String,
    /// Payment or refund.
    pub kind: Kind,
    /// The merchant's number.
    pub out_trade_no: String,
    /// QFPay's number.
    pub syssn: String,
    /// Pay type (a refund carries its payment's).
    pub pay_type: String,
    /// How it is paid.
    #[serde(skip)]
    pub mode: Option<PayMode>,
    /// Amount.
    pub txamt: u64,
    /// Currency.
    pub txcurrcd: String,
    /// The merchant's time as sent.
    pub txdtm: String,
    /// Simulated time the gateway took it.
    pub created_at: i64,
    /// Simulated time it was paid.
    pub paid_at: Option<i64>,
    /// Simulated time an unpaid order expires.
    pub expires_at: Option<f64>,
    /// Goods.
    pub goods_name: String,
    /// The payment's own `notify_url`, kept only under the `per_request_notify_url` switch
    /// (else notifications go to the registered URL).
    pub notify_url: Option<String>,
    /// Where the wallet page returns the browser.
    pub return_url: Option<String>,
    /// State.
    #[serde(flatten)]
    pub state: OrderState,
    /// Sum of successful refunds (payments only).
    pub refunded: u64,
    /// For refunds: the payment refunded.
    pub orig_syssn: Option<String>,
    /// The wallet page token.
    #[serde(skip)]
    pub token: String,
    /// The parameters of the request that created it, to recognise an identical retry.
    #[serde(skip)]
    pub fingerprint: Vec<(String, String)>,
    /// The answer given when it was created, repeated for an identical retry.
    #[serde(skip)]
    pub answer: Value,
    /// Notification attempts made.
    pub notifications_sent: u32,
    /// Whether the merchant acknowledged a notification with `SUCCESS`.
    pub notification_acknowledged: bool,
}

impl Order {
    /// The state as of `now`: an unpaid order past its expiry is expired.
    pub fn state_at(&self, now: f64) -> OrderState {
        match (&self.state, self.expires_at) {
            (OrderState::Created, Some(at)) if now >= at => OrderState::Expired,
            (state, _) => state.clone(),
        }
    }

    /// The respcd a query row shows for this order.
    pub fn row_respcd(&self, now: f64) -> String {
        match self.state_at(now) {
            OrderState::Created => RespCode::AWAITING_PASSWORD.into(),
            OrderState::Processing(_) => RespCode::PROCESSING.into(),
            OrderState::Paid | OrderState::Reversed => RespCode::SUCCESS.into(),
            OrderState::Failed(code) => code,
            OrderState::Closed => RespCode::ORDER_CLOSED.into(),
            OrderState::Expired => RespCode::ORDER_EXPIRED.into(),
        }
    }

    /// The `cancel` column: 0 none, 1 reversed, 2 closed, 3 refunded, 5 partly refunded.
    pub fn cancel(&self, now: f64) -> u8 {
        match self.state_at(now) {
            OrderState::Reversed => 1,
            OrderState::Closed => 2,
            OrderState::Paid if self.refunded >= self.txamt && self.refunded > 0 => 3,
            OrderState::Paid if self.refunded > 0 => 5,
            _ => 0,
        }
    }

    /// True when the order is paid (refunds do not change that).
    pub fn is_paid(&self) -> bool {
        self.state == OrderState::Paid
    }

    /// A query row, in the endpoint page's shape.
    pub fn row(&self, now: f64) -> Value {
        let respcd = RespCode::new(self.row_respcd(now));
        json!({
            "out_trade_no": self.out_trade_no,
            "syssn": self.syssn,
            "pay_type": self.pay_type,
            "order_type": self.kind.name(),
            "txamt": self.txamt.to_string(),
            "txcurrcd": self.txcurrcd,
            "txdtm": self.txdtm,
            "sysdtm": hk_time(self.created_at),
            "paydtm": self.paid_at.map(hk_time).unwrap_or_default(),
            "goods_name": self.goods_name,
            "respcd": respcd.code(),
            "errmsg": respcd_text(&respcd),
            "cancel": self.cancel(now).to_string(),
            "origssn": self.orig_syssn.clone().unwrap_or_default(),
        })
    }
}

/// The text beside `respcd` in an answer or a query row: none for success (the table's text
/// for `0000` is "Success", which the gateway does not send), else the table's English text.
pub(crate) fn respcd_text(respcd: &RespCode) -> &'static str {
    if respcd.is_success() {
        ""
    } else {
        respcd.info().map_or("", |i| i.text_en)
    }
}

/// What a merchant number was used for: the kind of request, its parameters and its answer,
/// to answer a second use.
#[derive(Debug, Clone)]
pub struct NumberUse {
    /// Payment or refund.
    pub kind: Kind,
    /// The sorted parameters of the first request.
    pub fingerprint: Vec<(String, String)>,
    /// The answer it got.
    pub answer: Value,
}

/// All orders, with indexes by merchant number, QFPay number and wallet token.
#[derive(Debug, Default)]
pub struct Ledger {
    orders: Vec<Order>,
    /// Numbers of requests refused before they made an order, by merchant and number.
    refused: HashMap<(String, String), NumberUse>,
    by_ref: HashMap<(String, String), usize>,
    by_syssn: HashMap<String, usize>,
    by_token: HashMap<String, usize>,
    processing: Vec<usize>,
    seq: u64,
}

/// An order's position in the ledger.
pub type OrderId = usize;

impl Ledger {
    /// A new QFPay number: the Hong Kong date and a running number, 23 digits.
    pub fn next_syssn(&mut self, now: i64) -> String {
        self.seq += 1;
        let date: String = hk_time(now).chars().take(10).filter(char::is_ascii_digit).collect();
        format!("{date}{:015}", self.seq)
    }

    /// Adds an order and indexes it; one in progress is settled by [`Ledger::tick`].
    pub fn insert(&mut self, order: Order) -> OrderId {
        let id = self.orders.len();
        if matches!(order.state, OrderState::Processing(_)) {
            self.processing.push(id);
        }
        self.by_ref.insert((order.appcode.clone(), order.out_trade_no.clone()), id);
        self.by_syssn.insert(order.syssn.clone(), id);
        if !order.token.is_empty() {
            self.by_token.insert(order.token.clone(), id);
        }
        self.orders.push(order);
        id
    }

    /// An order by the merchant's number.
    pub fn by_out_trade_no(&self, appcode: &str, out_trade_no: &str) -> Option<OrderId> {
        self.by_ref.get(&(appcode.to_owned(), out_trade_no.to_owned())).copied()
    }

    /// What the merchant's number was used for, if anything: an order, or a refused request.
    pub fn number_use(&self, appcode: &str, out_trade_no: &str) -> Option<NumberUse> {
        let key = (appcode.to_owned(), out_trade_no.to_owned());
        match self.by_ref.get(&key) {
            Some(&id) => {
                let o = &self.orders[id];
                Some(NumberUse { kind: o.kind, fingerprint: o.fingerprint.clone(), answer: o.answer.clone() })
            }
            None => self.refused.get(&key).cloned(),
        }
    }

    /// Marks a merchant's number used by a request that was refused.
    pub fn record_refusal(&mut self, appcode: &str, out_trade_no: &str, refused: NumberUse) {
        self.refused.insert((appcode.to_owned(), out_trade_no.to_owned()), refused);
    }

    /// An order by QFPay's number, only if it belongs to `appcode`.
    pub fn by_syssn(&self, appcode: &str, syssn: &str) -> Option<OrderId> {
        self.by_syssn.get(syssn).copied().filter(|&id| self.orders[id].appcode == appcode)
    }

    /// An order by wallet token.
    pub fn by_token(&self, token: &str) -> Option<OrderId> {
        self.by_token.get(token).copied()
    }

    /// An order.
    pub fn get(&self, id: OrderId) -> &Order {
        &self.orders[id]
    }

    /// An order, to change.
    pub fn get_mut(&mut self, id: OrderId) -> &mut Order {
        &mut self.orders[id]
    }

    /// Every order, oldest first.
    pub fn all(&self) -> &[Order] {
        &self.orders
    }

    /// Every order and refund of one merchant, oldest first.
    pub fn of_merchant<'a>(&'a self, appcode: &'a str) -> impl Iterator<Item = &'a Order> + 'a {
        self.orders.iter().filter(move |o| o.appcode == appcode)
    }

    /// The shopper paid: paid now, or processing for `pending` simulated seconds first.
    /// Returns whether the order just became paid (so a notification is due).
    pub fn pay(&mut self, id: OrderId, now: f64, pending: u64) -> Result<bool, PayRefusal> {
        let order = &mut self.orders[id];
        PayRefusal::check(order.state_at(now))?;
        if pending > 0 {
            order.state = OrderState::Processing(now + pending as f64);
            self.processing.push(id);
            return Ok(false);
        }
        order.state = OrderState::Paid;
        order.paid_at = Some(now as i64);
        Ok(true)
    }

    /// The shopper declined (or the code said no): failed with `respcd`.
    pub fn fail(&mut self, id: OrderId, now: f64, respcd: &str) -> Result<(), PayRefusal> {
        let order = &mut self.orders[id];
        PayRefusal::check(order.state_at(now))?;
        order.state = OrderState::Failed(respcd.to_owned());
        Ok(())
    }

    /// Pays an order still waiting or being confirmed, now (the `reversal-crosses-payment`
    /// fault): whether it became paid.
    pub fn complete_now(&mut self, id: OrderId, now: f64) -> bool {
        let order = &mut self.orders[id];
        if !matches!(order.state_at(now), OrderState::Created | OrderState::Processing(_)) {
            return false;
        }
        order.state = OrderState::Paid;
        order.paid_at = Some(now as i64);
        true
    }

    /// Moves orders whose processing time is over to paid; returns them (notifications due).
    pub fn tick(&mut self, now: f64) -> Vec<OrderId> {
        let mut done = Vec::new();
        self.processing.retain(|&id| {
            let order = &mut self.orders[id];
            match order.state {
                OrderState::Processing(until) if until <= now => {
                    order.state = OrderState::Paid;
                    order.paid_at = Some(now as i64);
                    done.push(id);
                    false
                }
                OrderState::Processing(_) => true,
                _ => false,
            }
        });
        done
    }
}

/// Why an order cannot be paid or declined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayRefusal {
    /// It is paid already.
    AlreadyPaid,
    /// Its time is up.
    Expired,
    /// It was closed or reversed.
    Closed,
    /// It failed earlier with this respcd.
    Failed(String),
}

impl PayRefusal {
    /// The one rule for paying and declining alike: the shopper can act only on an order
    /// that is waiting (`Created`); any other state says why not.
    fn check(state: OrderState) -> Result<(), PayRefusal> {
        match state {
            OrderState::Created => Ok(()),
            OrderState::Processing(_) | OrderState::Paid => Err(PayRefusal::AlreadyPaid),
            OrderState::Expired => Err(PayRefusal::Expired),
            OrderState::Closed | OrderState::Reversed => Err(PayRefusal::Closed),
            OrderState::Failed(code) => Err(PayRefusal::Failed(code)),
        }
    }

    /// A sentence for the wallet page and the control API.
    pub fn message(&self) -> String {
        match self {
            PayRefusal::AlreadyPaid => "this order is already paid".into(),
            PayRefusal::Expired => "this order has expired".into(),
            PayRefusal::Closed => "this order was closed".into(),
            PayRefusal::Failed(code) => format!("this order failed earlier (respcd {code})"),
        }
    }
}
