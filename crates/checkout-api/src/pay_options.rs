//! Which pay types a checkout can offer: the widget shows QR codes (MPM) and sends phones to
//! wallet pages (WAP/web); CPM, in-app, JSAPI and card-present types need hardware or an app.

use qfpay::tables::{PayMode, PAY_TYPES};
use serde::{Deserialize, Serialize};

/// How the widget completes a pay type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayHow {
    /// Show a QR code for the shopper's phone to scan.
    Qr,
    /// Send the browser to the wallet's page.
    Redirect,
}

/// A pay type the widget may offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayOption {
    /// The six-digit code.
    pub pay_type: String,
    /// The wallet's name as shoppers know it.
    pub wallet: String,
    /// The wallet's machine name (`alipay`, `wechat_pay`, `payme`, `fps`, `octopus`,
    /// `unionpay`, ...): the widget groups the choices by it, one per wallet.
    #[serde(default)]
    pub wallet_code: String,
    /// QR or redirect.
    pub how: PayHow,
    /// The pay type's English name.
    pub name_en: String,
    /// The pay type's Chinese name.
    pub name_zh: String,
}

/// How a pay type can be completed in a web checkout, if at all.
pub fn how(pay_type: &str) -> Option<PayHow> {
    let info = qfpay::tables::pay_type(pay_type)?;
    match info.mode {
        PayMode::Mpm => Some(PayHow::Qr),
        PayMode::Wap | PayMode::Web => Some(PayHow::Redirect),
        PayMode::Cpm
        | PayMode::InApp
        | PayMode::Jsapi
        | PayMode::MiniProgram
        | PayMode::CardOnline
        | PayMode::CardOffline => None,
    }
}

/// The pay types that fit a session: web-completable, accepting its currency and amount, and
/// in the merchant's list when there is one (in the merchant's order), else in table order.
pub fn fitting_pay_types(currency: &str, amount: u64, allowed: Option<&[String]>) -> Vec<PayOption> {
    let candidates: Vec<&str> = match allowed {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => PAY_TYPES.iter().map(|p| p.code).collect(),
    };
    candidates
        .into_iter()
        .filter_map(|code| {
            let info = qfpay::tables::pay_type(code)?;
            let how = how(code)?;
            let floor_ok = info.min_amount.is_none_or(|f| f.currency != currency || amount > f.more_than);
            (info.accepts_currency(currency) && floor_ok).then(|| PayOption {
                pay_type: code.to_owned(),
                wallet: info.wallet.display_name().to_owned(),
                wallet_code: info.wallet.code().to_owned(),
                how,
                name_en: info.name_en.to_owned(),
                name_zh: info.name_zh.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkd_offers_qr_and_redirect_types_only() {
        let all = fitting_pay_types("HKD", 1500, None);
        assert!(all.iter().any(|p| p.pay_type == "800201" && p.how == PayHow::Qr));
        assert!(all.iter().any(|p| p.pay_type == "801512" && p.how == PayHow::Redirect));
        assert!(!all.iter().any(|p| p.pay_type == "800208"), "CPM needs a scanner");
        assert_eq!(all.iter().filter(|p| p.how == PayHow::Qr).count(), 7);
    }

    #[test]
    fn currency_amount_and_merchant_list_filter() {
        let usd = fitting_pay_types("USD", 1500, None);
        assert!(!usd.iter().any(|p| p.pay_type == "802001"), "FPS takes HKD only");
        let small = fitting_pay_types("HKD", 100, None);
        assert!(!small.iter().any(|p| p.pay_type == "801101"), "801101 needs more than 1 HKD");
        let list = vec!["805801".to_owned(), "800201".to_owned(), "800208".to_owned()];
        let chosen: Vec<_> = fitting_pay_types("HKD", 1500, Some(&list)).into_iter().map(|p| p.pay_type).collect();
        assert_eq!(chosen, vec!["805801", "800201"], "merchant's order, CPM dropped");
    }
}
