//! Hong Kong wall-clock time (UTC+8, no daylight saving) for the simulated gateway: the
//! `YYYY-MM-DD hh:mm:ss` text its answers and query windows use, calendar months for the
//! query's default window, and the minute of the day for the refund blackout.
//!
//! The simulator keeps its own calendar instead of the protocol crate's, so what the gateway
//! decides about time is written once here, from QFPay's documentation.

/// Hong Kong's offset from UTC, in seconds.
pub const HONG_KONG_OFFSET: i64 = 8 * 3600;

/// A Hong Kong date and time, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HkTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl HkTime {
    /// The Hong Kong time of Unix seconds.
    pub fn from_unix(unix: i64) -> Self {
        let local = unix + HONG_KONG_OFFSET;
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let seconds = local.rem_euclid(86_400) as u32;
        HkTime { year, month, day, hour: seconds / 3600, minute: seconds / 60 % 60, second: seconds % 60 }
    }

    /// Unix seconds of this Hong Kong time.
    pub fn to_unix(self) -> i64 {
        let days = days_from_civil(self.year, self.month, self.day);
        days * 86_400 + i64::from(self.hour * 3600 + self.minute * 60 + self.second) - HONG_KONG_OFFSET
    }

    /// Reads `YYYY-MM-DD hh:mm:ss` exactly (the format of every time field the gateway takes);
    /// `None` for any other text or a date that does not exist.
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let shape = b.len() == 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b' ' && b[13] == b':' && b[16] == b':';
        if !shape {
            return None;
        }
        let digits = |from: usize, to: usize| -> Option<u32> {
            let part = text.get(from..to)?;
            part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
        };
        let t = HkTime {
            year: i64::from(digits(0, 4)?),
            month: digits(5, 7)?,
            day: digits(8, 10)?,
            hour: digits(11, 13)?,
            minute: digits(14, 16)?,
            second: digits(17, 19)?,
        };
        let valid = (1..=12).contains(&t.month)
            && (1..=days_in_month(t.year, t.month)).contains(&t.day)
            && t.hour < 24
            && t.minute < 60
            && t.second < 60;
        valid.then_some(t)
    }

    /// The first second of this time's calendar month.
    pub fn month_start(self) -> Self {
        HkTime { day: 1, hour: 0, minute: 0, second: 0, ..self }
    }

    /// The last second of this time's calendar month.
    pub fn month_end(self) -> Self {
        HkTime { day: days_in_month(self.year, self.month), hour: 23, minute: 59, second: 59, ..self }
    }

    /// The same day and time one calendar month later; a day the next month lacks (31 January)
    /// becomes its last day.
    pub fn plus_one_month(self) -> Self {
        let (year, month) = if self.month == 12 { (self.year + 1, 1) } else { (self.year, self.month + 1) };
        HkTime { year, month, day: self.day.min(days_in_month(year, month)), ..self }
    }

    /// Minutes since Hong Kong midnight.
    pub fn minute_of_day(self) -> u32 {
        self.hour * 60 + self.minute
    }
}

impl std::fmt::Display for HkTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// `YYYY-MM-DD hh:mm:ss` in Hong Kong time for Unix seconds.
pub fn hk_time(unix: i64) -> String {
    HkTime::from_unix(unix).to_string()
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_and_hong_kong_text_round_trip() {
        // 2023-11-01 02:00:00 UTC is 10:00 in Hong Kong.
        assert_eq!(hk_time(1_698_804_000), "2023-11-01 10:00:00");
        let t = HkTime::parse("2023-11-01 10:00:00").unwrap();
        assert_eq!(t.to_unix(), 1_698_804_000);
        for unix in [0, 951_782_400, 1_709_164_800, 4_102_444_799, -86_400] {
            assert_eq!(HkTime::parse(&hk_time(unix)).unwrap().to_unix(), unix, "{unix}");
        }
    }

    #[test]
    fn only_the_exact_format_and_real_dates_parse() {
        for bad in [
            "2023-11-01T10:00:00",
            "2023-11-01 10:00",
            "2023-02-29 00:00:00",
            "2023-13-01 00:00:00",
            "2024-1-01 00:00:00",
            "2023-11-01 24:00:00",
            "２023-11-01 10:00:00",
        ] {
            assert_eq!(HkTime::parse(bad), None, "{bad}");
        }
        assert!(HkTime::parse("2024-02-29 23:59:59").is_some());
    }

    #[test]
    fn months() {
        let t = HkTime::parse("2024-01-31 12:00:00").unwrap();
        assert_eq!(t.month_start().to_string(), "2024-01-01 00:00:00");
        assert_eq!(t.month_end().to_string(), "2024-01-31 23:59:59");
        assert_eq!(t.plus_one_month().to_string(), "2024-02-29 12:00:00");
        assert_eq!(HkTime::parse("2023-12-15 00:00:00").unwrap().plus_one_month().to_string(), "2024-01-15 00:00:00");
    }
}
