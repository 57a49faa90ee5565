//! `POST /trade/v1/query`'s form, by `04-common-api/01-transaction-enquiry.md`: numbers as
//! comma-separated lists, filters, a time window of at most one month that defaults to the
//! current calendar month and is ignored when `syssn` is given, and pages of 10 (at most 100).

use qfpay::request::Form;
use qfpay::tables::pay_type;

use super::{identifier, number, time, FieldError, GatewayForm};
use crate::calendar::HkTime;

/// Rows per page unless `page_size` says otherwise.
pub const DEFAULT_PAGE_SIZE: u64 = 10;
/// The largest `page_size`.
pub const MAX_PAGE_SIZE: u64 = 100;

/// A query as the gateway reads it.
#[derive(Debug, Clone)]
pub struct QueryForm {
    /// QFPay numbers asked for.
    pub syssn: Vec<String>,
    /// Merchant numbers asked for.
    pub out_trade_no: Vec<String>,
    /// Pay types to keep (none: all).
    pub pay_type: Vec<String>,
    /// A row respcd to keep.
    pub respcd: Option<String>,
    /// The window's start, as sent (not read when `syssn` is given).
    start_time: Option<HkTime>,
    /// The window's end, as sent (not read when `syssn` is given).
    end_time: Option<HkTime>,
    /// The page, from 1.
    pub page: u64,
    /// Rows a page.
    pub page_size: u64,
}

/// A comma-separated list of numbers; empty items (a trailing comma) are skipped.
fn list(form: &Form, name: &'static str) -> Result<Vec<String>, FieldError> {
    let Some(text) = form.get(name) else { return Ok(Vec::new()) };
    text.split(',').filter(|item| !item.is_empty()).map(|item| identifier(name, item, 128)).collect()
}

impl GatewayForm for QueryForm {
    const PATH: &'static str = "/trade/v1/query";

    fn parse(form: &Form) -> Result<Self, FieldError> {
        let syssn = list(form, "syssn")?;
        let pay_types = list(form, "pay_type")?;
        if let Some(unknown) = pay_types.iter().find(|p| pay_type(p).is_none()) {
            return Err(FieldError::new("pay_type", format!("unknown pay type {unknown:?}")));
        }
        let respcd = form.get("respcd").map(str::to_owned);
        if respcd.as_deref().is_some_and(|r| r.len() != 4 || !r.bytes().all(|b| b.is_ascii_digit())) {
            return Err(FieldError::new("respcd", "must be four digits"));
        }
        // The documentation: the window "is ignored when syssn is provided", so its fields are
        // not even read then.
        let read_time = |name: &'static str| match syssn.is_empty() {
            true => form.get(name).map(|t| time(name, t)).transpose(),
            false => Ok(None),
        };
        let (start_time, end_time) = (read_time("start_time")?, read_time("end_time")?);
        let page = number(form, "page")?.unwrap_or(1);
        if page == 0 {
            return Err(FieldError::new("page", "must be 1 or more"));
        }
        let page_size = number(form, "page_size")?.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(FieldError::new("page_size", format!("must be 1 to {MAX_PAGE_SIZE} (got {page_size})")));
        }
        if let Some(t) = form.get("txdtm") {
            time("txdtm", t)?;
        }
        Ok(QueryForm {
            syssn,
            out_trade_no: list(form, "out_trade_no")?,
            pay_type: pay_types,
            respcd,
            start_time,
            end_time,
            page,
            page_size,
        })
    }
}

impl QueryForm {
    /// The window searched, in Unix seconds (both ends included), as of `now`: `None` when
    /// `syssn` is given (every month is searched). A missing end is the current Hong Kong
    /// calendar month's; the window may cross a month's end but not last longer than a month.
    pub fn window(&self, now: i64) -> Result<Option<(i64, i64)>, FieldError> {
        if !self.syssn.is_empty() {
            return Ok(None);
        }
        let month = HkTime::from_unix(now);
        let start = self.start_time.unwrap_or(month.month_start());
        let end = self.end_time.unwrap_or(month.month_end());
        if end < start {
            return Err(FieldError::new("end_time", format!("{end} is before start_time {start}")));
        }
        if end > start.plus_one_month() {
            return Err(FieldError::new(
                "end_time",
                format!("the window from {start} to {end} is longer than one month; query a month at a time"),
            ));
        }
        Ok(Some((start.to_unix(), end.to_unix())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form::from_pairs(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect())
    }

    #[test]
    fn the_window_defaults_to_the_current_month_and_spans_one_month_at_most() {
        // 2023-11-15 10:00 in Hong Kong.
        let now = HkTime::parse("2023-11-15 10:00:00").unwrap().to_unix();
        let q = QueryForm::parse(&form(&[("out_trade_no", "A,B,")])).unwrap();
        assert_eq!(q.out_trade_no, ["A", "B"]);
        let (start, end) = q.window(now).unwrap().unwrap();
        assert_eq!(
            (HkTime::from_unix(start).to_string(), HkTime::from_unix(end).to_string()),
            ("2023-11-01 00:00:00".into(), "2023-11-30 23:59:59".into())
        );
        let crossing = form(&[("start_time", "2023-10-20 00:00:00"), ("end_time", "2023-11-20 00:00:00")]);
        assert!(QueryForm::parse(&crossing).unwrap().window(now).unwrap().is_some());
        let long = form(&[("start_time", "2023-10-20 00:00:00"), ("end_time", "2023-11-20 00:00:01")]);
        assert_eq!(QueryForm::parse(&long).unwrap().window(now).unwrap_err().field, "end_time");
        let backwards = form(&[("start_time", "2023-11-02 00:00:00"), ("end_time", "2023-11-01 00:00:00")]);
        assert_eq!(QueryForm::parse(&backwards).unwrap().window(now).unwrap_err().field, "end_time");
        let from_last_month = form(&[("start_time", "2023-10-01 00:00:00")]);
        assert!(QueryForm::parse(&from_last_month).unwrap().window(now).is_err(), "to the end of this month");
        let by_syssn = form(&[("syssn", "1"), ("start_time", "garbage")]);
        assert_eq!(QueryForm::parse(&by_syssn).unwrap().window(now).unwrap(), None);
    }

    #[test]
    fn fields_are_checked_by_name() {
        for (pairs, field) in [
            (&[("start_time", "2023-11-01")][..], "start_time"),
            (&[("page_size", "101")], "page_size"),
            (&[("page", "0")], "page"),
            (&[("pay_type", "800201,999999")], "pay_type"),
            (&[("respcd", "12")], "respcd"),
        ] {
            assert_eq!(QueryForm::parse(&form(pairs)).unwrap_err().field, field, "{pairs:?}");
        }
        let q = QueryForm::parse(&form(&[])).unwrap();
        assert_eq!((q.page, q.page_size), (1, DEFAULT_PAGE_SIZE));
    }
}
