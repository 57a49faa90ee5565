//! `query_list_max`: how many comma-separated `out_trade_no` one query takes. The documentation
//! types the field String(128) and also allows lists, so the limit is unknown; the worker
//! batches its queries up to it (`QFPAY_QUERY_LIST_MAX`).
//!
//! Lists of [`LADDER`] lengths are tried until one is refused (any top-level respcd but
//! `0000`), then the gap between the last accepted and the first refused is halved, at most
//! [`MAX_QUERIES`] queries in all. The numbers are fresh and shaped like the worker's own (`QCP`
//! and 24 characters), so a limit on characters rather than numbers reads the same for both.

use qfpay::{QueryRequest, RespCode};

use super::client::Gateway;
use super::{fresh_out_trade_no, now_txdtm, step};
use crate::Failure;

/// The list lengths tried first, in order.
pub const LADDER: [u32; 5] = [1, 10, 50, 100, 200];
/// The most queries the search sends: enough to pin any limit under 200 exactly.
pub const MAX_QUERIES: u32 = 12;

/// What the search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListLimit {
    /// The longest list accepted (0: not even one number).
    pub max: u32,
    /// The shortest list refused, and the refusal's words; `None` when every length tried
    /// was accepted (then `max` is the longest tried, not a limit the gateway showed).
    pub refused: Option<(u32, String)>,
    /// Queries sent.
    pub queries: u32,
}

/// Finds the limit with `accepts(length)`, which sends one query: `Ok(None)` accepted,
/// `Ok(Some(why))` refused.
pub fn search<E>(mut accepts: impl FnMut(u32) -> Result<Option<String>, E>) -> Result<ListLimit, E> {
    let mut found = ListLimit { max: 0, refused: None, queries: 0 };
    for length in LADDER {
        found.queries += 1;
        match accepts(length)? {
            None => found.max = length,
            Some(why) => {
                found.refused = Some((length, why));
                break;
            }
        }
    }
    while let Some((refused, _)) = &found.refused {
        if refused - found.max <= 1 || found.queries >= MAX_QUERIES {
            break;
        }
        let middle = found.max + (refused - found.max) / 2;
        found.queries += 1;
        match accepts(middle)? {
            None => found.max = middle,
            Some(why) => found.refused = Some((middle, why)),
        }
    }
    Ok(found)
}

/// Runs the search against the gateway. A refused single number is a failure: the worker
/// cannot query at all, whatever the list.
pub fn probe(gateway: &Gateway) -> Result<ListLimit, Failure> {
    let found = search(|length| {
        let plural = if length == 1 { "" } else { "s" };
        step(&format!("query_list_max: a query for {length} order number{plural}"));
        let numbers = (0..length).map(|_| fresh_out_trade_no()).collect();
        let query = QueryRequest { out_trade_no: numbers, txdtm: Some(now_txdtm().to_string()), ..Default::default() };
        let answer = gateway.call(&query)?;
        let value: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        match answer.respcd() {
            Some(code) if code == RespCode::SUCCESS && answer.status == 200 => Ok(None),
            Some(code) => {
                // The gateway's words, cut short: they should name the limit, not fill the line.
                let resperr: String = value["resperr"].as_str().unwrap_or_default().chars().take(80).collect();
                Ok(Some(crate::output::escape_controls(format!("respcd {code} {resperr}").trim_end())))
            }
            None if answer.status != 200 => Ok(Some(format!("HTTP {}", answer.status))),
            None => Err(super::garbage(gateway, "/trade/v1/query", &answer)),
        }
    })?;
    if found.max == 0 {
        let why = found.refused.as_ref().map_or("", |(_, why)| why.as_str());
        return Err(Failure::Remote(format!("the gateway refused a query for one out_trade_no ({why})")));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn against(limit: u32) -> ListLimit {
        let result: Result<ListLimit, ()> = search(|n| Ok((n > limit).then(|| format!("more than {limit}"))));
        result.unwrap()
    }

    #[test]
    fn every_limit_under_the_ladder_top_is_found_exactly_within_the_budget() {
        for limit in 1..200 {
            let found = against(limit);
            assert_eq!(found.max, limit, "{found:?}");
            assert_eq!(found.refused.as_ref().map(|r| r.0), Some(limit + 1), "{found:?}");
            assert!(found.queries <= MAX_QUERIES, "{limit}: {found:?}");
        }
    }

    #[test]
    fn a_limit_beyond_the_ladder_reports_the_longest_tried() {
        let found = against(1000);
        assert_eq!((found.max, found.refused, found.queries), (200, None, 5));
        assert_eq!(against(0).max, 0);
    }
}
