//! Which pay types a checkout can offer: the widget shows QR codes (MPM) and sends phones to
//! wallet pages (WAP/web); CPM, in-app, JSAPI and card-present types need hardware or an app.

use qfpay::tables::{PayMode, PAY_TYPES};
use serde::{Deserialize, Serialize};

/// How the widget completes a pay type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PayHow {
    /// Show a QR code for the shopper's phone to scan.
    Qr,
    /// Send the browser to the wallet's page.
    Redirect,
}

/// A pay type the widget may offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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

/// The pay types a Hong Kong merchant's appcode has enabled when `PAY_TYPES` is not set: the
/// web-completable products for Hong Kong merchants (and those the guide gives no region),
/// one per wallet and flow (a QR code, a wallet page), the first of the table's order.
pub fn default_enabled() -> Vec<String> {
    let mut seen: Vec<(qfpay::tables::Wallet, PayHow)> = Vec::new();
    let mut out = Vec::new();
    // A phone's wallet page is the WAP product; the PC web page only where there is no WAP.
    for web_pass in [false, true] {
        for info in PAY_TYPES.iter() {
            let region_ok = !matches!(info.region, qfpay::tables::Region::Overseas);
            let pass_ok = (info.mode == PayMode::Web) == web_pass;
            let Some(how) = how(info.code).filter(|_| region_ok && pass_ok) else { continue };
            if !seen.contains(&(info.wallet, how)) {
                seen.push((info.wallet, how));
                out.push(info.code.to_owned());
            }
        }
    }
    // In the table's order, as shoppers will see the wallets.
    out.sort_by_key(|code| PAY_TYPES.iter().position(|p| p.code == code));
    out
}

/// Reads `PAY_TYPES`: the codes QFPay enabled for this appcode, comma-separated. The error
/// names the code that is not in the guide's table.
pub fn parse_enabled(text: &str) -> Result<Vec<String>, String> {
    let codes: Vec<String> = text.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
    if codes.is_empty() {
        return Err("lists no pay type".into());
    }
    match codes.iter().find(|c| qfpay::tables::pay_type(c).is_none()) {
        Some(bad) => Err(format!("lists {bad:?}, which is not a pay type of the guide's table")),
        None => Ok(codes),
    }
}

/// The pay types a session offers: the ones it asks for, all of which must be enabled (a
/// session narrows the merchant's list, never widens it), or the enabled ones.
pub fn narrow(requested: Option<&[String]>, enabled: &[String]) -> Result<Vec<String>, crate::ApiError> {
    let Some(requested) = requested else { return Ok(enabled.to_vec()) };
    match requested.iter().find(|c| !enabled.contains(c)) {
        Some(code) => {
            let name = qfpay::tables::pay_type(code).map_or("", |i| i.name_en);
            Err(crate::ApiError::field(
                "pay_types",
                format!(
                    "{code} ({name}) is not enabled for this merchant: the PAY_TYPES setting lists what QFPay enabled, or, unset, the Hong Kong QR and wallet-page products"
                ),
            ))
        }
        None => Ok(requested.to_vec()),
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
    fn the_default_offer_is_one_product_per_wallet_and_flow_for_hong_kong() {
        let enabled = default_enabled();
        let offered = fitting_pay_types("HKD", 3800, Some(&enabled));
        let mut pairs: Vec<(String, PayHow)> = offered.iter().map(|p| (p.wallet_code.clone(), p.how)).collect();
        let count = pairs.len();
        pairs.dedup();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup();
        assert_eq!(pairs.len(), count, "no two products of one wallet and flow: {offered:?}");
        let wallets: std::collections::BTreeSet<&str> = offered.iter().map(|p| p.wallet_code.as_str()).collect();
        assert!(wallets.len() <= 6, "{wallets:?}");
        assert!(!enabled.iter().any(|c| c == "800101"), "no overseas product by default");
        assert!(enabled.iter().any(|c| c == "801501") && enabled.iter().any(|c| c == "800201"));
        assert!(enabled.iter().any(|c| c == "801512") && !enabled.iter().any(|c| c == "801514"), "WAP over web");
    }

    #[test]
    fn a_session_narrows_the_enabled_list_and_never_widens_it() {
        let enabled = vec!["800201".to_owned(), "801501".to_owned()];
        assert_eq!(narrow(None, &enabled).unwrap(), enabled);
        assert_eq!(narrow(Some(&["801501".to_owned()]), &enabled).unwrap(), vec!["801501"]);
        let err = narrow(Some(&["800101".to_owned()]), &enabled).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("pay_types"));
        assert!(err.message.contains("800101"), "{}", err.message);
        assert!(parse_enabled("800201, 801501").is_ok());
        assert!(parse_enabled("800201,999999").unwrap_err().contains("999999"));
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
