//! Instants as people type them (`--since`, `--until`) and as the CLI prints them.
//!
//! Every time the worker's API answers or takes is Unix seconds (`checkout_api::views::UnixSeconds`:
//! `created_at`, `expires_at`, `paid_at`, an event's `created`, `created_gte`). The calendar
//! arithmetic is `qfpay::calendar`'s, not a date crate's, so the signing-only build stays small.

/// The last second of 9999-12-31: an instant past it is not a date anyone means.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;
/// Unix seconds are taken with at least this many digits (100000000 is 1973-03-03): a shorter
/// number is far more likely a year (`2026`) or a typo than an instant of the early 1970s.
const MIN_UNIX_DIGITS: usize = 9;

use qfpay::calendar::{civil_from_days, days_from_civil, days_in_month};

/// Which way a fraction of a second goes: the CLI filters on whole seconds, and each bound
/// widens to keep the whole of the second typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// A lower bound (`--since`): the second's start.
    Down,
    /// An upper bound, exclusive (`--until`): the next second's start, so nothing created in
    /// the typed second is cut off.
    Up,
}

/// Parses a date (`2026-01-01`, midnight UTC), an RFC 3339 time (`2026-01-01T08:00:00+08:00`,
/// `...Z`, fractions allowed, rounded by `round`) or Unix seconds (`1767225600`, at least 9
/// digits) into Unix seconds. `what` names the option in errors.
pub fn parse_instant(what: &str, text: &str, round: Round) -> Result<u64, String> {
    let text = text.trim();
    let rule = "must be a date (YYYY-MM-DD, e.g. 2026-01-31), an RFC 3339 time (2026-01-31T08:00:00Z, \
                2026-01-31T16:00:00+08:00) or Unix seconds";
    let seconds = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        if text.len() < MIN_UNIX_DIGITS {
            return Err(format!(
                "{what} {text} is too short for Unix seconds (they have at least {MIN_UNIX_DIGITS} digits): for a \
                 day give a date (YYYY-MM-DD, e.g. {text}-01-31 if {text} is the year) or an RFC 3339 time"
            ));
        }
        let seconds: i64 = text.parse().map_err(|_| format!("{what} {rule} (got {text:?})"))?;
        if seconds > MAX_UNIX_SECONDS {
            return Err(format!("{what} is Unix seconds, and {text} is past the year 9999 (milliseconds?)"));
        }
        seconds
    } else {
        let (seconds, fraction) = parse_calendar(text).ok_or_else(|| format!("{what} {rule} (got {text:?})"))?;
        if fraction && round == Round::Up {
            seconds + 1
        } else {
            seconds
        }
    };
    u64::try_from(seconds)
        .map_err(|_| format!("{what} is before 1970-01-01, when no session was created (got {text:?})"))
}

/// A date or an RFC 3339 time, as whole Unix seconds, and whether a non-zero fraction of a
/// second was dropped (the caller rounds).
fn parse_calendar(text: &str) -> Option<(i64, bool)> {
    let bytes = text.as_bytes();
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let days = parse_date(date)?;
    if rest.is_empty() {
        return Some((days * 86_400, false));
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let (clock, zone) = split_zone(&rest[1..])?;
    let (hh, mm, ss, fraction) = parse_clock(clock)?;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss - zone, fraction))
}

/// `YYYY-MM-DD` as days since 1970-01-01, checking the day exists in its month.
fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&text[..4])?, digits(&text[5..7])?, digits(&text[8..])?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Splits `HH:MM:SS[.fff](Z|±HH:MM)` into the clock and the zone's offset in seconds.
fn split_zone(text: &str) -> Option<(&str, i64)> {
    if let Some(clock) = text.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let at = text.rfind(['+', '-'])?;
    let (clock, zone) = text.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zone = &zone[1..];
    if zone.len() != 5 || zone.as_bytes()[2] != b':' {
        return None;
    }
    let (h, m) = (digits(&zone[..2])?, digits(&zone[3..])?);
    if h > 23 || m > 59 {
        return None;
    }
    Some((clock, sign * (h * 3600 + m * 60)))
}

/// `HH:MM:SS` with an optional fraction: the whole seconds, and whether the fraction is not zero.
fn parse_clock(text: &str) -> Option<(i64, i64, i64, bool)> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()) => {
            (whole, fraction.bytes().any(|b| b != b'0'))
        }
        Some(_) => return None,
        None => (text, false),
    };
    let b = whole.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&whole[..2])?, digits(&whole[3..5])?, digits(&whole[6..])?);
    // 60 is a leap second; it is read as the next second's start.
    (h <= 23 && m <= 59 && s <= 60).then_some((h, m, s, fraction))
}

fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Unix seconds as RFC 3339 UTC, e.g. `2026-11-26T06:46:01Z`.
pub fn format_seconds(seconds: u64) -> String {
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX).min(MAX_UNIX_SECONDS);
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn since(text: &str) -> Result<u64, String> {
        parse_instant("--since", text, Round::Down)
    }

    fn until(text: &str) -> Result<u64, String> {
        parse_instant("--until", text, Round::Up)
    }

    #[test]
    fn unix_seconds_dates_and_rfc3339_agree() {
        // 2026-01-31T00:00:00Z is 1769817600.
        assert_eq!(since("1769817600"), Ok(1_769_817_600));
        assert_eq!(since("2026-01-31"), Ok(1_769_817_600));
        assert_eq!(since("2026-01-31T00:00:00Z"), Ok(1_769_817_600));
        assert_eq!(since("2026-01-31t08:00:00+08:00"), Ok(1_769_817_600));
        assert_eq!(since("2026-01-30 19:30:00.999-04:30"), Ok(1_769_817_600));
        assert_eq!(since("1970-01-01"), Ok(0));
        assert_eq!(since("2024-02-29T23:59:59Z"), Ok(1_709_251_199));
    }

    #[test]
    fn errors_name_the_option_and_the_rule() {
        for bad in
            ["", "yesterday", "2026-02-30", "2026-13-01", "2026-01-31T25:00:00Z", "2026-01-31T10:00:00", "2026-1-31"]
        {
            let err = since(bad).unwrap_err();
            assert!(err.starts_with("--since must be a date (YYYY-MM-DD"), "{bad:?}: {err}");
        }
        assert!(since("1769817600000").unwrap_err().contains("milliseconds"));
        assert!(since("1969-12-31T23:59:59Z").unwrap_err().contains("before 1970"));
    }

    #[test]
    fn a_short_number_is_refused_with_a_date_suggested() {
        for short in ["2026", "0", "20260131", "12345678"] {
            let err = since(short).unwrap_err();
            assert!(err.starts_with(&format!("--since {short} is too short for Unix seconds")), "{err}");
            assert!(err.contains("YYYY-MM-DD") && err.contains("RFC 3339"), "{err}");
        }
        assert!(since("2026").unwrap_err().contains("2026-01-31"));
        assert_eq!(since("100000000"), Ok(100_000_000), "nine digits are Unix seconds");
        assert!(until("2026").unwrap_err().starts_with("--until 2026 is too short"));
    }

    #[test]
    fn until_rounds_a_fraction_up_and_since_down() {
        // 2026-01-31T00:00:00Z is 1769817600.
        assert_eq!(until("2026-01-31T00:00:00.001Z"), Ok(1_769_817_601));
        assert_eq!(until("2026-01-31T00:00:00.999+00:00"), Ok(1_769_817_601));
        assert_eq!(since("2026-01-31T00:00:00.999Z"), Ok(1_769_817_600));
        // No fraction, or a zero one: the instant as typed.
        assert_eq!(until("2026-01-31T00:00:00.000Z"), Ok(1_769_817_600));
        assert_eq!(until("2026-01-31T00:00:00Z"), Ok(1_769_817_600));
        assert_eq!(until("2026-01-31"), Ok(1_769_817_600));
        assert_eq!(until("1769817600"), Ok(1_769_817_600));
        // Across a day's end.
        assert_eq!(until("2026-01-30T23:59:59.5Z"), Ok(1_769_817_600));
    }

    #[test]
    fn formatting_is_rfc3339_utc_and_inverts_parsing() {
        assert_eq!(format_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_seconds(1_769_817_600), "2026-01-31T00:00:00Z");
        assert_eq!(format_seconds(1_709_251_199), "2024-02-29T23:59:59Z");
        // Every day over four centuries and leap days at their edges round-trip.
        let mut seconds = 0u64;
        while seconds < 13_000_000_000 {
            let text = format_seconds(seconds);
            assert_eq!(since(&text), Ok(seconds), "{text}");
            seconds += 86_400 * 7 + 3_661;
        }
    }
}
