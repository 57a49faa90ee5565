//! `txdtm`: the merchant's local date and time as `YYYY-MM-DD hh:mm:ss`.
//!
//! The conversions to and from Unix seconds take the UTC offset as an argument (Hong Kong
//! is `+8 h`), so callers bring their own clock and this crate stays pure.

use core::fmt;

use crate::calendar::{civil_from_days, days_from_civil, days_in_month};
use crate::validate::InvalidField;

/// Hong Kong's offset from UTC, in seconds (UTC+8, no daylight saving).
pub const HONG_KONG_OFFSET_SECONDS: i64 = 8 * 3600;

/// A valid `YYYY-MM-DD hh:mm:ss` timestamp.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Txdtm(String);

impl Txdtm {
    /// Checks the format and the ranges of every part (including the day of the month).
    pub fn parse(field: &'static str, text: &str) -> Result<Self, InvalidField> {
        civil_parts(text).map(|_| Txdtm(text.to_owned())).ok_or_else(|| {
            InvalidField::new(field, format!("must be a date and time as YYYY-MM-DD hh:mm:ss (got {text:?})"))
        })
    }

    /// The local time at `unix_seconds` for a zone `offset_seconds` east of UTC.
    pub fn from_unix(unix_seconds: i64, offset_seconds: i64) -> Self {
        let local = unix_seconds + offset_seconds;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        Txdtm(format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60))
    }

    /// Unix seconds for this local time in a zone `offset_seconds` east of UTC.
    pub fn to_unix(&self, offset_seconds: i64) -> i64 {
        let (y, m, d, h, min, s) = civil_parts(&self.0).expect("validated at construction");
        days_from_civil(y, m, d) * 86_400 + h * 3600 + min * 60 + s - offset_seconds
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The calendar month holding this time, as a query window: its first and its last second
    /// (a query by number without a window searches the current month only, and a window may
    /// span one month at most: QFPay's `04-common-api/01-transaction-enquiry.md`).
    pub fn month_window(&self) -> (Txdtm, Txdtm) {
        let (y, m, ..) = civil_parts(&self.0).expect("validated at construction");
        let last = days_in_month(y, m);
        (Txdtm(format!("{y:04}-{m:02}-01 00:00:00")), Txdtm(format!("{y:04}-{m:02}-{last:02} 23:59:59")))
    }

    /// `YYYY-MM`, the month this time falls in.
    pub fn month(&self) -> &str {
        &self.0[..7]
    }
}

impl fmt::Display for Txdtm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn civil_parts(text: &str) -> Option<(i64, i64, i64, i64, i64, i64)> {
    let b = text.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = &b[from..to];
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, min, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let valid = (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m) && h < 24 && min < 60 && s < 60;
    valid.then_some((y, m, d, h, min, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_month_window_covers_the_whole_month() {
        let (start, end) = Txdtm::parse("t", "2024-02-29 23:59:59").unwrap().month_window();
        assert_eq!((start.as_str(), end.as_str()), ("2024-02-01 00:00:00", "2024-02-29 23:59:59"));
        let (start, end) = Txdtm::parse("t", "2026-12-31 23:59:59").unwrap().month_window();
        assert_eq!((start.as_str(), end.as_str()), ("2026-12-01 00:00:00", "2026-12-31 23:59:59"));
        assert_eq!(Txdtm::parse("t", "2026-11-30 12:00:00").unwrap().month(), "2026-11");
    }

    #[test]
    fn formats_hong_kong_time() {
        // 2023-11-01 02:00:00 UTC is 10:00 in Hong Kong.
        let t = Txdtm::from_unix(1_698_804_000, HONG_KONG_OFFSET_SECONDS);
        assert_eq!(t.as_str(), "2023-11-01 10:00:00");
    }

    #[test]
    fn rejects_impossible_dates() {
        for bad in [
            "2023-02-29 10:00:00",
            "2023-13-01 10:00:00",
            "2023-11-01 24:00:00",
            "2023-11-01T10:00:00",
            "2023-11-1 10:00:00",
            "",
        ] {
            let err = Txdtm::parse("txdtm", bad).unwrap_err();
            assert_eq!(err.field, "txdtm", "{bad}");
        }
        assert!(Txdtm::parse("txdtm", "2024-02-29 23:59:59").is_ok());
    }

    proptest! {
        #[test]
        fn unix_round_trip(secs in -2_000_000_000i64..4_000_000_000i64) {
            let t = Txdtm::from_unix(secs, HONG_KONG_OFFSET_SECONDS);
            prop_assert!(Txdtm::parse("txdtm", t.as_str()).is_ok());
            prop_assert_eq!(t.to_unix(HONG_KONG_OFFSET_SECONDS), secs);
        }
    }
}
