//! `POST /trade/v1/query`: a merchant's orders and refunds as query rows, as of now.
//!
//! Numbers given (`syssn`, `out_trade_no`) look those orders up; none given searches by pay
//! type, respcd and a Hong Kong time window. Either way the rows come a page at a time.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use qfpay::{QueryRequest, RespCode, Txdtm, HONG_KONG_OFFSET_SECONDS};
use serde_json::{json, Value};

use super::admission::Admitted;
use crate::ledger::{Ledger, Order, OrderId};
use crate::{lock, Sim};

/// `POST /trade/v1/query`.
pub async fn query(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, request: req, .. }: Admitted<QueryRequest>,
) -> Response {
    sim.tick();
    let now = sim.clock.now();
    let ledger = lock(&sim.ledger);
    let matching = if req.syssn.is_empty() && req.out_trade_no.is_empty() {
        search(&ledger, &merchant.appcode, &req, now)
    } else {
        look_up(&ledger, &merchant.appcode, &req)
    };
    let page = req.page.unwrap_or(1) as usize;
    let page_size = req.page_size.unwrap_or(10) as usize;
    let rows: Vec<Value> = matching.iter().skip((page - 1) * page_size).take(page_size).map(|o| o.row(now)).collect();
    Json(json!({
        "respcd": RespCode::SUCCESS, "respmsg": "", "resperr": "",
        "page": page.to_string(), "page_size": page_size.to_string(), "data": rows,
    }))
    .into_response()
}

/// The merchant's orders that pass every filter given, oldest first.
fn search<'a>(ledger: &'a Ledger, appcode: &'a str, req: &QueryRequest, now: f64) -> Vec<&'a Order> {
    let start = req.start_time.as_deref().and_then(|t| Txdtm::parse("start_time", t).ok());
    let end = req.end_time.as_deref().and_then(|t| Txdtm::parse("end_time", t).ok());
    ledger
        .of_merchant(appcode)
        .filter(|o| req.pay_type.as_deref().is_none_or(|p| p == o.pay_type))
        .filter(|o| req.respcd.as_deref().is_none_or(|r| r == o.row_respcd(now)))
        .filter(|o| start.as_ref().is_none_or(|s| o.created_at >= s.to_unix(HONG_KONG_OFFSET_SECONDS)))
        .filter(|o| end.as_ref().is_none_or(|e| o.created_at <= e.to_unix(HONG_KONG_OFFSET_SECONDS)))
        .collect()
}

/// The merchant's orders with the numbers given, each once, oldest first.
fn look_up<'a>(ledger: &'a Ledger, appcode: &str, req: &QueryRequest) -> Vec<&'a Order> {
    let by_syssn = req.syssn.iter().filter_map(|s| ledger.by_syssn(appcode, s));
    let by_ref = req.out_trade_no.iter().filter_map(|o| ledger.by_out_trade_no(appcode, o));
    let mut ids: Vec<OrderId> = by_syssn.chain(by_ref).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().map(|id| ledger.get(id)).collect()
}
