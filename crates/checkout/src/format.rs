//! Numbers for people, pure and tested natively: an amount's minor units as the exact decimal
//! `Intl.NumberFormat` is given (see `money`), and countdowns.
//!
//! Written digit by digit rather than with `format!` or `to_string()`: `core::fmt`'s
//! machinery (argument tables, padding, the integer `Display`s) costs the page kilobytes,
//! and these are the only numbers the widget writes.

/// Appends `n` in decimal, with at least `min_digits` digits (zeros in front).
pub fn push_number(out: &mut String, n: u64, min_digits: usize) {
    let mut digits = [0u8; 20];
    let (mut n, mut len) = (n, 0);
    while n > 0 || len < min_digits.max(1) {
        digits[len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
    }
    for &d in digits[..len].iter().rev() {
        out.push(char::from(d));
    }
}

/// `n` in decimal.
pub fn number(n: u64) -> String {
    let mut out = String::new();
    push_number(&mut out, n, 1);
    out
}

use checkout_api::views::UnixSeconds;

/// `amount` minor units with `exponent` digits after the point (`3800`, 2: `"38.00"`), as a
/// decimal string: exact for any `u64`, where dividing a float would not be. Built char by
/// char, without slicing: a slice's panic path would add kilobytes to the download.
pub fn decimal(amount: u64, exponent: u8) -> String {
    let digits = number(amount);
    let exponent = usize::from(exponent);
    // At least one digit before the point: `5` with 2 is `0.05`.
    let pad = (exponent + 1).saturating_sub(digits.len());
    let point_at = (pad + digits.len()).saturating_sub(exponent);
    let mut number = String::with_capacity(pad + digits.len() + 1);
    for (i, c) in std::iter::repeat_n('0', pad).chain(digits.chars()).enumerate() {
        if exponent > 0 && i == point_at {
            number.push('.');
        }
        number.push(c);
    }
    number
}

/// The milliseconds left from `now_ms` (the page's clock, `Date.now()`) until `deadline`, which
/// the worker gives in Unix seconds; 0 once it has passed.
pub fn ms_until(deadline: UnixSeconds, now_ms: f64) -> u64 {
    (deadline.start_ms() as f64 - now_ms).max(0.0) as u64
}

/// `mm:ss` (or `h:mm:ss`) for a countdown of `ms` milliseconds, rounded up to the second.
pub fn countdown(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        push_number(&mut out, h, 1);
        out.push(':');
    }
    push_number(&mut out, m, if h > 0 { 2 } else { 1 });
    out.push(':');
    push_number(&mut out, s, 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_per_exponent() {
        assert_eq!(decimal(3800, 2), "38.00");
        assert_eq!(decimal(5, 2), "0.05");
        assert_eq!(decimal(0, 2), "0.00");
        assert_eq!(decimal(1500, 0), "1500");
        assert_eq!(decimal(1, 3), "0.001");
        assert_eq!(decimal(123_456_789, 2), "1234567.89");
        assert_eq!(decimal(u64::MAX, 2), "184467440737095516.15", "exact past 2^53");
    }

    #[test]
    fn countdowns() {
        assert_eq!(countdown(0), "0:00");
        assert_eq!(countdown(1), "0:01");
        assert_eq!(countdown(90_000), "1:30");
        assert_eq!(countdown(3_600_000), "1:00:00");
        assert_eq!(countdown(3_600_000 + 61_000), "1:01:01");
        assert_eq!(countdown(36_000_000 + 599_000), "10:09:59");
    }

    #[test]
    fn numbers_as_display_writes_them() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(number(n), n.to_string());
        }
        let mut out = String::from("x");
        push_number(&mut out, 7, 2);
        push_number(&mut out, 123, 2);
        assert_eq!(out, "x07123");
    }

    #[test]
    fn a_deadline_in_seconds_counts_down_on_the_pages_millisecond_clock() {
        // Date.now() at 2026-01-31T00:00:00.250Z, and an expiry 30 minutes later in seconds.
        let now_ms = 1_769_817_600_250.0;
        let deadline = UnixSeconds::from_secs(1_769_817_600 + 30 * 60);
        assert_eq!(ms_until(deadline, now_ms), 30 * 60_000 - 250);
        assert_eq!(countdown(ms_until(deadline, now_ms)), "30:00");
        assert_eq!(ms_until(UnixSeconds::from_secs(1_769_817_600), now_ms), 0, "passed");
        assert_eq!(ms_until(UnixSeconds::from_secs(1_769_817_601), now_ms), 750);
    }
}
