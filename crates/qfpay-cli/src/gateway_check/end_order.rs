//! `end_order`: which endpoint ends an unpaid order of each enabled pay type. QFPay's
//! documentation names reversal for Alipay, close for WeChat Pay MPM and nothing for the Hong
//! Kong types, "other qualified wallets" after asking QFPay; a merchant's appcode may differ.
//!
//! For each pay type a web checkout offers (MPM, WAP, web), the smallest order is created and
//! never paid: its QR code or page goes nowhere. The documented endpoint is tried first, then
//! the other; an answer that says "ended" is believed only once a query shows the order closed
//! (still open, or not found, means this endpoint is not shown to end it). CPM types are never
//! charged: the check has no shopper's code, so they are reported from the documented table as
//! not tested. The first order created also serves [`super::list_limit`] (listed last in each
//! of its queries) before any end is tried, so it is ended or left exactly as the others.

use std::time::Duration;

use qfpay::tables::{end_order as documented_end, EndOrder, PayTypeInfo};
use qfpay::verdict::{self, EndVerdict, PayVerdict, RowVerdict};
use qfpay::{
    h5_extend_info, CloseRequest, OrderChangeAnswer, OrderRef, PayMode, PaymentAnswer, PaymentRequest, QueryAnswer,
    QueryRequest, ReversalRequest, Txdtm,
};

use super::client::Gateway;
use super::{fresh_out_trade_no, garbage, now_txdtm, step};
use crate::Failure;

/// The order's expiry where the pay type takes one: the shortest the gateway allows, so an
/// order that cannot be ended is gone within minutes.
const EXPIRY_MINUTES: u32 = 5;
/// The gateway's default expiry for the other types.
const DEFAULT_EXPIRY_MINUTES: u32 = 30;
/// How long to wait before querying an end the gateway said is in progress.
const IN_PROGRESS_WAIT: Duration = Duration::from_secs(3);
/// WeChat Pay H5's mandatory page and shopper address: a placeholder page (a name reserved for
/// examples) and this machine, since no shopper will ever open it.
const H5_PAGE: &str = "https://example.com/qfpay-gateway-check";

/// What one pay type showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An order was created and an end tried.
    Tested(Tested),
    /// No order was created, and why.
    Untested {
        /// The pay type.
        info: &'static PayTypeInfo,
        /// Why not (a CPM type, a mode the web checkout does not use, a refusal).
        why: String,
    },
}

/// An order created, the ends tried, and its state afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tested {
    /// The pay type.
    pub info: &'static PayTypeInfo,
    /// What the documentation says ends it.
    pub documented: EndOrder,
    /// What ended it (`None`: neither endpoint did).
    pub found: EndOrder,
    /// The check's order number, to find it in QFPay's portal.
    pub out_trade_no: String,
    /// Each endpoint tried and what it answered.
    pub tries: Vec<(EndOrder, String)>,
    /// The order's query row afterwards (`None`: the query was refused).
    pub afterwards: Option<RowVerdict>,
}

impl Tested {
    /// Minutes until the order ends by itself.
    pub fn expiry_minutes(&self) -> u32 {
        if self.info.expired_time {
            EXPIRY_MINUTES
        } else {
            DEFAULT_EXPIRY_MINUTES
        }
    }
}

/// An order the check created, waiting for a shopper who never comes.
#[derive(Debug, Clone)]
pub struct Created {
    info: &'static PayTypeInfo,
    /// The order as the close, reversal and query calls name it.
    pub order: OrderRef,
}

impl Created {
    /// The check's number for the order.
    pub fn out_trade_no(&self) -> &str {
        self.order.out_trade_no.as_deref().unwrap_or_default()
    }
}

/// Whether the check can create an order of this type, and if not why.
pub fn untestable(info: &PayTypeInfo) -> Option<String> {
    match info.mode {
        PayMode::Mpm | PayMode::Wap | PayMode::Web => {
            (!info.accepts_currency("HKD")).then(|| "it does not take HKD".to_owned())
        }
        PayMode::Cpm => Some("a CPM charge needs a shopper's payment code, and the check never charges".to_owned()),
        mode => Some(format!("{} payments need the shopper's app or device", mode.name())),
    }
}

/// Creates the smallest order of `info`, never to be paid; `Err` holds the outcome when no
/// order could be made (a type the check does not create, or the gateway refused it).
pub fn create(gateway: &Gateway, info: &'static PayTypeInfo) -> Result<Result<Created, Outcome>, Failure> {
    if let Some(why) = untestable(info) {
        return Ok(Err(Outcome::Untested { info, why }));
    }
    let request = smallest_order(info);
    let amount = crate::output::amount(request.txamt, &request.txcurrcd);
    step(&format!("end_order: creating a {amount} order of {} ({})", info.code, info.name_en));
    let answer = gateway.call(&request)?;
    let created = PaymentAnswer::parse(&answer.body).map_err(|_| garbage(gateway, "/trade/v1/payment", &answer))?;
    match verdict::payment(&created, info.mode) {
        PayVerdict::Refused(code) => {
            let resperr = created.outcome.resperr.as_deref().unwrap_or_default();
            let why = format!("the gateway refused the order: respcd {code} {resperr}");
            return Ok(Err(Outcome::Untested { info, why: crate::output::escape_controls(why.trim_end()) }));
        }
        // MPM, WAP and web orders are "created" or, with the guide's `txstatus`, "pending": either
        // way an order exists and waits for a shopper. "Paid" cannot happen without a shopper; the
        // query afterwards reports it if it ever does.
        PayVerdict::Created | PayVerdict::Pending(_) | PayVerdict::Paid => {}
    }
    let order = OrderRef {
        syssn: created.syssn.clone(),
        out_trade_no: Some(request.out_trade_no),
        txamt: request.txamt,
        // The documentation asks for the original transaction's time.
        txdtm: request.txdtm,
        udid: None,
    };
    Ok(Ok(Created { info, order }))
}

/// Tries to end `created` each way, documented endpoint first, and reads its state afterwards.
pub fn finish(gateway: &Gateway, created: Created) -> Result<Outcome, Failure> {
    let Created { info, order } = created;
    let documented = documented_end(info.code);
    let mut tested = Tested {
        info,
        documented,
        found: EndOrder::None,
        out_trade_no: order.out_trade_no.clone().unwrap_or_default(),
        tries: Vec::new(),
        afterwards: None,
    };
    // Whether `afterwards` was read after the last end tried.
    let mut current = false;
    for endpoint in try_order(documented) {
        step(&format!("end_order: {} of the {} order", endpoint.name(), info.code));
        let (verdict, said) = end(gateway, endpoint, &order)?;
        tested.tries.push((endpoint, said));
        current = false;
        if matches!(verdict, EndVerdict::NotEnded(_)) {
            continue;
        }
        if matches!(verdict, EndVerdict::InProgress) {
            std::thread::sleep(IN_PROGRESS_WAIT);
        }
        tested.afterwards = row(gateway, &order)?;
        current = true;
        match (&verdict, &tested.afterwards) {
            (EndVerdict::AlreadyPaid, _) | (_, Some(RowVerdict::Paid)) => break,
            (_, Some(RowVerdict::Closed | RowVerdict::Expired | RowVerdict::Failed(_))) => {
                tested.found = endpoint;
                break;
            }
            // Still open, not found, or not queryable: whatever the answer said, this endpoint is
            // not shown to end it. Saying "none" wrongly only makes the worker wait for the
            // expiry; saying "close" wrongly has it send calls that never end anything.
            (_, row) => {
                let but = match row {
                    Some(RowVerdict::Pending) => ", but a query shows the order still open",
                    _ => ", but a query could not confirm it",
                };
                if let Some((_, said)) = tested.tries.last_mut() {
                    said.push_str(but);
                }
            }
        }
    }
    if !current {
        tested.afterwards = row(gateway, &order)?;
    }
    Ok(Outcome::Tested(tested))
}

/// The documented endpoint first, then the other; for a type documented as not endable, close
/// (the guide's call for an unpaid QR order) before reversal.
fn try_order(documented: EndOrder) -> [EndOrder; 2] {
    match documented {
        EndOrder::Reversal => [EndOrder::Reversal, EndOrder::Close],
        EndOrder::Close | EndOrder::None => [EndOrder::Close, EndOrder::Reversal],
    }
}

/// The smallest order of `info`: 1 HKD, or just over the pay type's floor; expiring as soon as
/// the gateway allows where the type takes `expired_time`.
fn smallest_order(info: &PayTypeInfo) -> PaymentRequest {
    let floor = info.min_amount.filter(|f| f.currency == "HKD").map_or(0, |f| f.more_than + 1);
    let extend_info = (info.code == qfpay::request::WECHAT_H5)
        .then(|| h5_extend_info(H5_PAGE, "qfpay gateway check", &std::net::Ipv4Addr::LOCALHOST.to_string()));
    PaymentRequest {
        txamt: floor.max(100),
        txcurrcd: "HKD".into(),
        pay_type: info.code.into(),
        out_trade_no: fresh_out_trade_no(),
        txdtm: now_txdtm().to_string(),
        expired_time: info.expired_time.then_some(EXPIRY_MINUTES),
        goods_name: Some("qfpay gateway check".into()),
        extend_info,
        ..PaymentRequest::default()
    }
}

/// One close or reversal, and its answer in words (`respcd 1136`).
fn end(gateway: &Gateway, endpoint: EndOrder, order: &OrderRef) -> Result<(EndVerdict, String), Failure> {
    let (answer, path) = match endpoint {
        EndOrder::Reversal => (gateway.call(&ReversalRequest(order.clone()))?, "/trade/v1/reversal"),
        EndOrder::Close | EndOrder::None => (gateway.call(&CloseRequest(order.clone()))?, "/trade/v1/close"),
    };
    match OrderChangeAnswer::parse(&answer.body) {
        // The code alone: the finding rests on it, and `resperr` would repeat per endpoint.
        Ok(parsed) => {
            let said = format!("respcd {}", parsed.outcome.respcd);
            Ok((verdict::end_order(&parsed), crate::output::escape_controls(&said)))
        }
        // An error page instead of an answer (a path this gateway does not serve): not ended.
        Err(_) if answer.status != 200 => Ok((EndVerdict::NotEnded(String::new()), format!("HTTP {}", answer.status))),
        Err(_) => Err(garbage(gateway, path, &answer)),
    }
}

/// The order's query row now; `None` when the gateway refused the query.
fn row(gateway: &Gateway, order: &OrderRef) -> Result<Option<RowVerdict>, Failure> {
    let number = order.out_trade_no.clone().unwrap_or_default();
    let answer = gateway.call(&query(vec![number.clone()], order)?)?;
    let parsed = QueryAnswer::parse(&answer.body).map_err(|_| garbage(gateway, "/trade/v1/query", &answer))?;
    Ok(parsed.outcome.respcd.is_success().then(|| verdict::payment_row(parsed.payment(&number))))
}

/// A query for `numbers` in `order`'s month: a query without a window searches the current
/// month only, so it names the order's, as the worker does.
pub fn query(numbers: Vec<String>, order: &OrderRef) -> Result<QueryRequest, Failure> {
    let (start, end) = Txdtm::parse("txdtm", &order.txdtm)
        .map(|t| t.month_window())
        .map_err(|e| Failure::Remote(format!("the check built an invalid request ({e}); please report this")))?;
    Ok(QueryRequest {
        out_trade_no: numbers,
        start_time: Some(start.to_string()),
        end_time: Some(end.to_string()),
        txdtm: Some(now_txdtm().to_string()),
        ..QueryRequest::default()
    })
}
