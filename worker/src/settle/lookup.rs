//! Gateway queries by order number, as QFPay's documentation says they work: without a time
//! window a query searches the current calendar month only, and a window spans one month at
//! most (`04-common-api/01-transaction-enquiry.md`). So each number is asked in the month its
//! `txdtm` falls in, and an order made in the last minutes of a month is asked in the next month
//! too (the gateway's own time for it may fall there). Lists are cut to `QFPAY_QUERY_LIST_MAX`.

use checkout_api::budget::CallClass;
use checkout_api::ApiError;
use qfpay::{GatewayRequest, QueryAnswer, QueryRequest, Txdtm, HONG_KONG_OFFSET_SECONDS};

use crate::app::App;
use crate::clock;
use crate::gateway::Called;

use super::R;

/// How close to a month's end an order must be made to be asked in the next month as well.
const MONTH_EDGE_MS: u64 = 10 * 60_000;

/// An order to look up: its number, when it was made (Unix ms, the time its `txdtm` says) and
/// the last time it may have reached the gateway (a refund re-sent identically for a day may be
/// taken, and filed, in a later month than its `txdtm`'s).
pub struct Wanted<'a> {
    pub out_trade_no: &'a str,
    pub made_at: u64,
    pub last_at: u64,
}

impl<'a> Wanted<'a> {
    /// An order sent once, at `made_at`.
    pub fn at(out_trade_no: &'a str, made_at: u64) -> Self {
        Wanted { out_trade_no, made_at, last_at: made_at }
    }
}

/// The month windows to ask for an order made at `made_at` and last sent at `last_at`, as of
/// `now`: every month from the one it was made in to the one a few minutes past its last send
/// falls in, once that month has begun.
pub fn windows(made_at: u64, last_at: u64, now: u64) -> Vec<(Txdtm, Txdtm)> {
    let at = |ms: u64| Txdtm::from_unix((ms / 1000) as i64, HONG_KONG_OFFSET_SECONDS);
    let until = (last_at.max(made_at) + MONTH_EDGE_MS).min(now.max(made_at));
    let mut window = at(made_at).month_window();
    let mut out = vec![window.clone()];
    loop {
        let next_start = (window.1.to_unix(HONG_KONG_OFFSET_SECONDS).max(0) as u64 + 1) * 1000;
        if next_start > until {
            return out;
        }
        window = at(next_start).month_window();
        out.push(window.clone());
    }
}

/// What a batch of queries came to: the rows of every answer, and the numbers no answer
/// covered (no answer, no budget, or a refusal): those are asked again at their next time.
pub struct Found {
    pub answer: QueryAnswer,
    pub unasked: Vec<String>,
}

/// Asks the gateway for every wanted order, grouped by month window and cut to the configured
/// list length. Each call's rows count even when a later call fails; at most `max_calls` calls.
pub async fn query(app: &App<'_>, wanted: &[Wanted<'_>], class: CallClass, max_calls: usize) -> R<Found> {
    let now = clock::now_ms();
    let mut groups: Vec<((Txdtm, Txdtm), Vec<String>)> = Vec::new();
    for order in wanted {
        for window in windows(order.made_at, order.last_at, now) {
            match groups.iter_mut().find(|(w, _)| *w == window) {
                Some((_, numbers)) => numbers.push(order.out_trade_no.to_owned()),
                None => groups.push((window, vec![order.out_trade_no.to_owned()])),
            }
        }
    }
    let mut found = Found { answer: QueryAnswer::empty(), unasked: Vec::new() };
    let mut calls = 0;
    let mut stopped = false;
    for (window, numbers) in &groups {
        for chunk in numbers.chunks(app.settings.query_list_max.max(1)) {
            let answer = if stopped || calls >= max_calls {
                None
            } else {
                calls += 1;
                one_query(app, chunk.to_vec(), window, 1, class).await?
            };
            match answer {
                Some(answer) => found.answer.rows.extend(answer.rows),
                None => {
                    // No answer or no budget: the rest wait for their next time too.
                    stopped = true;
                    found.unasked.extend(chunk.iter().cloned());
                }
            }
        }
    }
    // A number asked in two windows counts as asked if either call answered.
    let answered = |n: &String| found.answer.rows.iter().any(|r| r.out_trade_no.as_ref() == Some(n));
    found.unasked.retain(|n| !answered(n));
    Ok(found)
}

/// One query call: by numbers within a window, or (no numbers) every order of the window, one
/// page of 100. `None` when no answer came or the call was refused.
pub async fn one_query(
    app: &App<'_>,
    numbers: Vec<String>,
    window: &(Txdtm, Txdtm),
    page: u32,
    class: CallClass,
) -> R<Option<QueryAnswer>> {
    let request = QueryRequest {
        out_trade_no: numbers,
        start_time: Some(window.0.to_string()),
        end_time: Some(window.1.to_string()),
        page: Some(page),
        page_size: Some(checkout_api::upstream::QUERY_BATCH as u32),
        txdtm: Some(clock::txdtm_now()),
        ..QueryRequest::default()
    };
    let signed = request.sign(&app.settings.gateway.credentials).map_err(ApiError::from)?;
    Ok(match app.gateway().call(class, &signed, QueryAnswer::parse, |a| &a.outcome.respcd).await {
        Called::Answer(answer) if answer.outcome.respcd.is_success() => Some(answer),
        Called::Answer(answer) => {
            worker::console_error!(
                "query refused: respcd {} {}",
                answer.outcome.respcd,
                answer.outcome.resperr.as_deref().unwrap_or("")
            );
            None
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> u64 {
        Txdtm::parse("t", text).unwrap().to_unix(HONG_KONG_OFFSET_SECONDS) as u64 * 1000
    }

    #[test]
    fn an_order_is_asked_in_its_own_month() {
        let made = ms("2026-11-15 12:00:00");
        let w = windows(made, made, ms("2026-12-02 12:00:00"));
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].0.as_str(), w[0].1.as_str()), ("2026-11-01 00:00:00", "2026-11-30 23:59:59"));
    }

    #[test]
    fn an_order_at_a_month_end_is_asked_in_both_months_once_the_next_began() {
        let made = ms("2026-11-30 23:59:59");
        assert_eq!(windows(made, made, ms("2026-11-30 23:59:59")).len(), 1);
        let w = windows(made, made, ms("2026-12-01 00:00:30"));
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].0.as_str(), "2026-12-01 00:00:00");
    }

    #[test]
    fn a_refund_sent_again_into_the_next_month_is_asked_in_every_month_it_may_be_filed_in() {
        let made = ms("2026-11-30 20:00:00");
        let last = ms("2026-12-01 10:00:00");
        let w = windows(made, last, ms("2026-12-03 12:00:00"));
        assert_eq!(w.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(), ["2026-11-01 00:00:00", "2026-12-01 00:00:00"]);
        assert_eq!(windows(made, last, ms("2026-11-30 23:00:00")).len(), 1, "not a month that has not begun");
        let later = ms("2027-01-15 10:00:00");
        assert_eq!(windows(made, later, later).len(), 3, "every month between");
    }
}
