//! Which endpoint ends an unpaid order early, per pay type, as QFPay's own documentation
//! (`04-common-api/02-reversal-cancel.md`) says. It wins over the guide, which lets a close end
//! any MPM order:
//! - `/trade/v1/reversal` for Alipay MPM (but AlipayHK's, below) and CPM and WeChat Pay CPM (and
//!   the multi-wallet CPM 800008, a CPM charge like the others);
//! - `/trade/v1/close` for WeChat Pay MPM ("and other qualified wallets", only after asking QFPay);
//! - nothing for the Hong Kong types ("Hong Kong PayTypes do not support transaction cancel"):
//!   PayMe, FPS, Octopus, AlipayHK, UnionPay, the WAP/web pages. Such an order ends by its own
//!   expiry.
//!
//! A merchant whom QFPay enabled for more overrides this per pay type (`END_ORDER` in the
//! worker; `qfpay gateway check` finds out which).

use core::fmt;

/// How an unpaid order of a pay type can be ended before its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndOrder {
    /// `/trade/v1/reversal`.
    Reversal,
    /// `/trade/v1/close`.
    Close,
    /// It cannot be ended early: it ends when its own expiry has passed.
    None,
}

impl EndOrder {
    /// Every value.
    pub const ALL: [EndOrder; 3] = [EndOrder::Reversal, EndOrder::Close, EndOrder::None];

    /// `reversal`, `close` or `none`, as settings and reports write it.
    pub fn name(self) -> &'static str {
        match self {
            EndOrder::Reversal => "reversal",
            EndOrder::Close => "close",
            EndOrder::None => "none",
        }
    }

    /// Reads [`EndOrder::name`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for EndOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The documented way to end an unpaid order of `pay_type` early.
pub fn end_order(pay_type: &str) -> EndOrder {
    match pay_type {
        // Alipay MPM (overseas merchants) and CPM; WeChat Pay CPM (both); the multi-wallet CPM.
        // 801501, Alipay MPM for Hong Kong merchants (AlipayHK), is left out: the documentation
        // says Alipay MPM takes a reversal and also that Hong Kong pay types take no cancel, and
        // the spec names AlipayHK among the latter. `none` is the reading that can never be
        // wrong (the order is followed to its expiry); `qfpay gateway check` tells a merchant
        // whose gateway reverses it to set `END_ORDER=801501=reversal`.
        "800101" | "800108" | "800208" | "801008" | "800008" => EndOrder::Reversal,
        // WeChat Pay MPM.
        "800201" => EndOrder::Close,
        _ => EndOrder::None,
    }
}

/// Parses a merchant's overrides, `PAYTYPE=MODE` separated by commas (`805801=close,801512=none`);
/// the error names the entry and the rule.
pub fn parse_overrides(text: &str) -> Result<Vec<(String, EndOrder)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (code, mode) = entry.split_once('=').ok_or_else(|| format!("{entry:?} is not PAYTYPE=MODE"))?;
            let code = code.trim();
            if super::pay_type(code).is_none() {
                return Err(format!("{code:?} is not a pay type of the guide (see `qfpay pay-types`)"));
            }
            let mode =
                EndOrder::parse(mode).ok_or_else(|| format!("{entry:?}: MODE must be reversal, close or none"))?;
            Ok((code.to_owned(), mode))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{PayMode, Wallet, PAY_TYPES};

    #[test]
    fn the_documented_table() {
        assert_eq!(end_order("800201"), EndOrder::Close);
        for code in ["800101", "800108", "800208", "801008", "800008"] {
            assert_eq!(end_order(code), EndOrder::Reversal, "{code}");
        }
        // Hong Kong types cannot be ended early: PayMe, FPS, Octopus, the WAP pages.
        for code in ["801501", "805801", "802001", "803701", "801512", "800212", "805812", "800701"] {
            assert_eq!(end_order(code), EndOrder::None, "{code}");
        }
    }

    #[test]
    fn only_alipay_and_wechat_orders_can_be_ended() {
        for info in PAY_TYPES.iter().filter(|p| end_order(p.code) != EndOrder::None) {
            assert!(matches!(info.wallet, Wallet::Alipay | Wallet::WechatPay | Wallet::Several), "{}", info.code);
            assert!(matches!(info.mode, PayMode::Mpm | PayMode::Cpm), "{}", info.code);
        }
    }

    #[test]
    fn overrides_name_what_is_wrong() {
        assert_eq!(
            parse_overrides(" 805801=close, 801512=none ").unwrap(),
            [("805801".to_owned(), EndOrder::Close), ("801512".to_owned(), EndOrder::None)]
        );
        assert!(parse_overrides("").unwrap().is_empty());
        assert!(parse_overrides("805801").unwrap_err().contains("PAYTYPE=MODE"));
        assert!(parse_overrides("999999=close").unwrap_err().contains("999999"));
        assert!(parse_overrides("805801=cancel").unwrap_err().contains("reversal, close or none"));
    }
}
