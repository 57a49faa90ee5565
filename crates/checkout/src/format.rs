//! Amounts for people: minor units shown with the currency's ISO 4217 exponent and the
//! locale's habits (`HK$38.00`, `HKD 38.00`, `¥1,500`). Pure, tested natively.

use crate::i18n::Locale;

/// The symbol shoppers in Hong Kong and China expect, where one is common.
fn symbol(currency: &str) -> Option<&'static str> {
    match currency {
        "HKD" => Some("HK$"),
        "CNY" => Some("¥"),
        "JPY" => Some("JP¥"),
        "USD" => Some("US$"),
        "EUR" => Some("€"),
        "SGD" => Some("S$"),
        "AUD" => Some("A$"),
        "CAD" => Some("CA$"),
        _ => None,
    }
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `amount` minor units of `currency` with `exponent` digits after the point.
pub fn amount(amount: u64, currency: &str, exponent: u8, _locale: Locale) -> String {
    let scale = 10u64.pow(u32::from(exponent.min(4)));
    let whole = group_thousands(&(amount / scale).to_string());
    let number =
        if exponent == 0 { whole } else { format!("{whole}.{:0w$}", amount % scale, w = usize::from(exponent)) };
    match symbol(currency) {
        Some(sym) => format!("{sym}{number}"),
        None => format!("{currency} {number}"),
    }
}

/// `mm:ss` (or `h:mm:ss`) for a countdown of `ms` milliseconds, rounded up to the second.
pub fn countdown(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_per_currency() {
        assert_eq!(amount(3800, "HKD", 2, Locale::ZhHk), "HK$38.00");
        assert_eq!(amount(5, "HKD", 2, Locale::En), "HK$0.05");
        assert_eq!(amount(123_456_789, "USD", 2, Locale::En), "US$1,234,567.89");
        assert_eq!(amount(1500, "JPY", 0, Locale::En), "JP¥1,500");
        assert_eq!(amount(150_000, "IDR", 2, Locale::En), "IDR 1,500.00");
        assert_eq!(amount(999, "THB", 2, Locale::ZhCn), "THB 9.99");
    }

    #[test]
    fn countdowns() {
        assert_eq!(countdown(0), "0:00");
        assert_eq!(countdown(1), "0:01");
        assert_eq!(countdown(90_000), "1:30");
        assert_eq!(countdown(3_600_000), "1:00:00");
    }
}
