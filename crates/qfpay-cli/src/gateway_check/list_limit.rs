//! `query_list_max`: how many comma-separated `out_trade_no` one query takes. The documentation
//! types the field String(128) and also allows lists, so the limit is unknown; the worker
//! batches its queries up to it (`QFPAY_QUERY_LIST_MAX`).
//!
//! Each list is made-up numbers shaped like the worker's own (`QCP` and 24 characters, so a
//! limit on characters rather than numbers reads the same for both) followed, last, by the
//! number of a real order the check created ([`super::end_order::create`]). A length counts as
//! accepted only when the answer is `0000` and carries that order's row ([`judge`]): a gateway
//! that silently cuts a long list short also answers `0000`, but without the last number's row.
//!
//! Lists of [`LADDER`] lengths are tried until one is refused, then the gap between the last
//! accepted and the first refused is halved, at most [`MAX_QUERIES`] queries in all.

use qfpay::{QueryAnswer, RespCode};

use super::client::{Answer, Gateway};
use super::end_order::{self, Created};
use super::{fresh_out_trade_no, garbage, step};
use crate::output::escape_controls;
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

/// Runs the search against the gateway, `own` listed last in every query. A query for `own`
/// alone that fails is a failure: the worker finds payments by such queries.
pub fn probe(gateway: &Gateway, own: &Created) -> Result<ListLimit, Failure> {
    let number = own.out_trade_no();
    let found = search(|length| {
        let plural = if length == 1 { "" } else { "s" };
        step(&format!("query_list_max: a query for {length} order number{plural}, the check's order last"));
        let mut numbers: Vec<String> = (1..length).map(|_| fresh_out_trade_no()).collect();
        numbers.push(number.to_owned());
        let answer = gateway.call(&end_order::query(numbers, &own.order)?)?;
        match judge(&answer, number) {
            Judged::Accepted => Ok(None),
            Judged::Refused(why) => Ok(Some(why)),
            Judged::NotAnAnswer => Err(garbage(gateway, "/trade/v1/query", &answer)),
        }
    })?;
    if found.max == 0 {
        let why = found.refused.as_ref().map_or("", |(_, why)| why.as_str());
        return Err(Failure::Remote(format!(
            "a query for the order the check had just created ({number}) did not find it ({why}); the worker \
             finds payments with such queries, so it cannot work with this gateway as it answers now"
        )));
    }
    Ok(found)
}

/// What one answer says of a list that ends with the check's own order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// `0000`, with the own order's row: the whole list was read.
    Accepted,
    /// Refused, and why: another respcd or HTTP status, or `0000` without the own order's row.
    Refused(String),
    /// Not a QFPay answer at all.
    NotAnAnswer,
}

/// Judges `answer` to a query whose list ends with `own`. Pure.
pub fn judge(answer: &Answer, own: &str) -> Judged {
    let Some(code) = answer.respcd() else {
        return match answer.status {
            200 => Judged::NotAnAnswer,
            status => Judged::Refused(format!("HTTP {status}")),
        };
    };
    if code != RespCode::SUCCESS || answer.status != 200 {
        let value: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        // The gateway's words, cut short: they should name the limit, not fill the line.
        let resperr: String = value["resperr"].as_str().unwrap_or_default().chars().take(80).collect();
        return Judged::Refused(escape_controls(format!("respcd {code} {resperr}").trim_end()));
    }
    match QueryAnswer::parse(&answer.body) {
        Ok(parsed) if parsed.payment(own).is_some() => Judged::Accepted,
        Ok(_) => Judged::Refused(format!("respcd {code} without the row of the check's order, listed last")),
        Err(_) => Judged::NotAnAnswer,
    }
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

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status, body: body.as_bytes().to_vec(), signature: None, sign_type: None }
    }

    const OWN: &str = "QCPOWNORDER0000000000000000";

    #[test]
    fn a_length_is_accepted_only_with_the_own_orders_row() {
        let row =
            format!(r#"{{"out_trade_no":"{OWN}","syssn":"S1","txamt":"100","respcd":"1143","order_type":"payment"}}"#);
        let with_row =
            format!(r#"{{"respcd":"0000","respmsg":"","resperr":"","page":"1","page_size":"10","data":[{row}]}}"#);
        assert_eq!(judge(&answer(200, &with_row), OWN), Judged::Accepted);

        // What a gateway that silently cuts the list short answers: 0000, and no row of the
        // number listed last. A refusal, though the respcd says success.
        let cut = r#"{"respcd":"0000","respmsg":"","resperr":"","page":"1","page_size":"10","data":[]}"#;
        let Judged::Refused(why) = judge(&answer(200, cut), OWN) else { panic!("0000 without the row accepted") };
        assert!(why.starts_with("respcd 0000 without the row"), "{why}");
        let others = r#"{"respcd":"0000","data":[{"out_trade_no":"QCPOTHER","txamt":"100","respcd":"1143"}]}"#;
        assert!(matches!(judge(&answer(200, others), OWN), Judged::Refused(_)));
        let no_data = r#"{"respcd":"0000","respmsg":"","resperr":""}"#;
        assert!(matches!(judge(&answer(200, no_data), OWN), Judged::Refused(_)));
    }

    #[test]
    fn other_codes_statuses_and_garbage() {
        let long = r#"{"respcd":"1104","respmsg":"","resperr":"out_trade_no: too long"}"#;
        assert_eq!(judge(&answer(200, long), OWN), Judged::Refused("respcd 1104 out_trade_no: too long".into()));
        assert_eq!(judge(&answer(413, "<html>too large</html>"), OWN), Judged::Refused("HTTP 413".into()));
        assert_eq!(judge(&answer(200, "<html>proxy</html>"), OWN), Judged::NotAnAnswer);
        assert_eq!(judge(&answer(200, r#"{"respcd":"0000","data":"x"}"#), OWN), Judged::NotAnAnswer);
    }
}
