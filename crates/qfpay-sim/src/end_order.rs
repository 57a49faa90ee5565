//! Which call ends an unpaid order of each pay type early, as QFPay's documentation
//! (`04-common-api/02-reversal-cancel.md`) describes it:
//! - `/trade/v1/reversal` for Alipay, both its QR (MPM) and its shopper's code (CPM), and for
//!   WeChat Pay CPM; the multi-wallet CPM `800008` is a shopper's code too;
//! - `/trade/v1/close` for WeChat Pay MPM;
//! - nothing for the rest: "Hong Kong PayTypes do not support transaction cancel", and the
//!   pages and in-app types are not named for either call. Such an order ends at its expiry.
//!
//! The documentation adds that close serves "other qualified wallets" once QFPay enables them
//! for a merchant, so the `end_order` switch overrides this table per pay type.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How an unpaid order of a pay type can be ended before its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndOrder {
    /// By `/trade/v1/reversal`.
    Reversal,
    /// By `/trade/v1/close`.
    Close,
    /// Not at all: the order ends when it expires.
    None,
}

impl EndOrder {
    /// Every value, for messages that list them.
    pub const ALL: [EndOrder; 3] = [EndOrder::Reversal, EndOrder::Close, EndOrder::None];

    /// `reversal`, `close` or `none`.
    pub fn name(self) -> &'static str {
        match self {
            EndOrder::Reversal => "reversal",
            EndOrder::Close => "close",
            EndOrder::None => "none",
        }
    }

    /// Reads [`EndOrder::name`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == text.trim())
    }

    /// The path that does it, if any.
    pub fn path(self) -> Option<&'static str> {
        match self {
            EndOrder::Reversal => Some("/trade/v1/reversal"),
            EndOrder::Close => Some("/trade/v1/close"),
            EndOrder::None => None,
        }
    }
}

impl fmt::Display for EndOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The documented call for `pay_type`.
pub fn documented(pay_type: &str) -> EndOrder {
    match pay_type {
        // Alipay MPM (overseas merchants), Alipay CPM, WeChat Pay CPM (both settlements), and
        // the CPM code that serves several wallets. AlipayHK's MPM (801501) is a Hong Kong pay
        // type, which "does not support transaction cancel" (the spec's corrections name
        // AlipayHK); a merchant whose gateway does reverse it sets the `end_order` switch.
        "800101" | "800108" | "800208" | "801008" | "800008" => EndOrder::Reversal,
        // WeChat Pay MPM.
        "800201" => EndOrder::Close,
        _ => EndOrder::None,
    }
}

/// The call for `pay_type` with the merchant's overrides applied.
pub fn effective(pay_type: &str, overrides: &BTreeMap<String, EndOrder>) -> EndOrder {
    overrides.get(pay_type).copied().unwrap_or_else(|| documented(pay_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_table_and_overrides() {
        assert_eq!(documented("800101"), EndOrder::Reversal);
        assert_eq!(documented("800201"), EndOrder::Close);
        for hong_kong in ["805801", "802001", "800212", "801512"] {
            assert_eq!(documented(hong_kong), EndOrder::None, "{hong_kong}");
        }
        let overrides = BTreeMap::from([("805801".to_owned(), EndOrder::Close)]);
        assert_eq!(effective("805801", &overrides), EndOrder::Close);
        assert_eq!(effective("800201", &overrides), EndOrder::Close);
        assert_eq!(EndOrder::parse("reversal"), Some(EndOrder::Reversal));
        assert_eq!(EndOrder::parse("cancel"), None);
    }
}
