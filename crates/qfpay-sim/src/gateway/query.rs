//! `POST /trade/v1/query`: a merchant's orders and refunds as query rows, as of now.
//!
//! Numbers given (`syssn`, `out_trade_no`, each a comma-separated list of at most the
//! `query_list_max` switch) look those orders up; none given searches by pay type and respcd.
//! Unless `syssn` is given, only orders the gateway took (`sysdtm`) within the window count:
//! `start_time`/`end_time`, by default the current Hong Kong calendar month, so an order of
//! last month is "not found" without a window in that month. Rows come a page at a time,
//! oldest first.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use qfpay::RespCode;
use serde_json::{json, Value};

use super::admission::Admitted;
use super::error_answer;
use super::forms::QueryForm;
use crate::ledger::{Ledger, Order, OrderId};
use crate::{lock, Sim};

/// `POST /trade/v1/query`.
pub async fn query(
    State(sim): State<Arc<Sim>>,
    Admitted { merchant, request: req, .. }: Admitted<QueryForm>,
) -> Response {
    let list_max = lock(&sim.switches).query_list_max;
    for (name, list) in [("syssn", &req.syssn), ("out_trade_no", &req.out_trade_no)] {
        if list.len() > list_max {
            return error_answer(
                RespCode::INVALID_PARAMETER,
                format!("{name}: {} numbers given; a query takes at most {list_max} (query_list_max)", list.len()),
            );
        }
    }
    sim.tick();
    let now = sim.clock.now();
    let window = match req.window(now as i64) {
        Ok(window) => window,
        Err(err) => return error_answer(RespCode::INVALID_PARAMETER, err.to_string()),
    };
    let ledger = lock(&sim.ledger);
    let matching: Vec<&Order> = candidates(&ledger, &merchant.appcode, &req)
        .into_iter()
        .filter(|o| req.pay_type.is_empty() || req.pay_type.contains(&o.pay_type))
        .filter(|o| req.respcd.as_deref().is_none_or(|r| r == o.row_respcd(now)))
        .filter(|o| window.is_none_or(|(start, end)| (start..=end).contains(&o.created_at)))
        .collect();
    let (page, page_size) = (req.page as usize, req.page_size as usize);
    let rows: Vec<Value> =
        matching.iter().skip((page - 1).saturating_mul(page_size)).take(page_size).map(|o| o.row(now)).collect();
    Json(json!({
        "respcd": RespCode::SUCCESS, "respmsg": "", "resperr": "",
        "page": page.to_string(), "page_size": page_size.to_string(), "data": rows,
    }))
    .into_response()
}

/// The orders a query is about, oldest first, each once: those with the numbers given, or
/// every order of the merchant when none is.
fn candidates<'a>(ledger: &'a Ledger, appcode: &'a str, req: &QueryForm) -> Vec<&'a Order> {
    if req.syssn.is_empty() && req.out_trade_no.is_empty() {
        return ledger.of_merchant(appcode).collect();
    }
    let by_syssn = req.syssn.iter().filter_map(|s| ledger.by_syssn(appcode, s));
    let by_ref = req.out_trade_no.iter().filter_map(|o| ledger.by_out_trade_no(appcode, o));
    let mut ids: Vec<OrderId> = by_syssn.chain(by_ref).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().map(|id| ledger.get(id)).collect()
}
