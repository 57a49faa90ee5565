//! The 13 currencies of the guide, with their ISO 4217 minor-unit exponents.

use core::fmt;

/// One row of the currency table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CurrencyInfo {
    /// ISO 4217 code, e.g. `HKD`.
    pub code: &'static str,
    /// Digits after the decimal point in the ISO 4217 minor unit (JPY 0, HKD 2).
    pub exponent: u8,
    /// English name.
    pub name_en: &'static str,
    /// The guide's Chinese name.
    pub name_zh: &'static str,
}

impl CurrencyInfo {
    /// An amount in minor units as a plain decimal, e.g. `1500` HKD as `15.00`, `1500` JPY as `1500`.
    pub fn format_minor(&self, amount: u64) -> String {
        if self.exponent == 0 {
            return amount.to_string();
        }
        let scale = 10u64.pow(u32::from(self.exponent));
        format!("{}.{:0width$}", amount / scale, amount % scale, width = usize::from(self.exponent))
    }
}

const fn row(code: &'static str, exponent: u8, name_en: &'static str, name_zh: &'static str) -> CurrencyInfo {
    CurrencyInfo { code, exponent, name_en, name_zh }
}

/// Every currency the guide lists, in the guide's order.
pub const CURRENCIES: [CurrencyInfo; 13] = [
    row("AED", 2, "UAE dirham", "阿联酋迪拉姆"),
    row("CNY", 2, "Chinese yuan", "人民币"),
    row("EUR", 2, "Euro", "欧元"),
    row("HKD", 2, "Hong Kong dollar", "港元"),
    row("IDR", 2, "Indonesian rupiah", "印度尼西亚卢比"),
    row("JPY", 0, "Japanese yen", "日元"),
    row("MMK", 2, "Myanmar kyat", "缅甸缅元"),
    row("MYR", 2, "Malaysian ringgit", "马来西亚林吉特"),
    row("SGD", 2, "Singapore dollar", "新加坡元"),
    row("THB", 2, "Thai baht", "泰国铢"),
    row("USD", 2, "US dollar", "美元"),
    row("CAD", 2, "Canadian dollar", "加元"),
    row("AUD", 2, "Australian dollar", "澳元"),
];

/// The table row for a code.
pub fn lookup(code: &str) -> Option<&'static CurrencyInfo> {
    CURRENCIES.iter().find(|c| c.code == code)
}

/// A currency code as sent in `txcurrcd`; unknown codes survive a round trip.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(String);

impl Currency {
    /// Hong Kong dollar, the currency most of our merchants take.
    pub fn hkd() -> Self {
        Currency("HKD".to_owned())
    }

    /// Wraps any code, known or not.
    pub fn new(code: impl Into<String>) -> Self {
        Currency(code.into())
    }

    /// The code as sent on the wire.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// The table row, when the guide lists this code.
    pub fn info(&self) -> Option<&'static CurrencyInfo> {
        lookup(&self.0)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
