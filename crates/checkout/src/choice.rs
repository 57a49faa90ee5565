//! What the shopper chooses, and what that starts. A shopper knows their wallet, not the
//! guide's product codes: the list shows one choice per wallet, and the product behind it is
//! picked here from what the wallet offers and the device the page is on.
//!
//! On a computer the QR product is started: the shopper scans it with the wallet on their
//! phone. On a phone the wallet's page (WAP/web) is, because a phone cannot scan its own
//! screen; its screen offers the QR product as well, for paying from another device. A wallet
//! with one product starts that one either way. The device is told by its primary pointer and
//! its viewport's width, never by the user agent string, which says neither truthfully.
//!
//! Also here: where the arrow, Home and End keys move within the list.

use checkout_api::pay_options::{PayHow, PayOption};

/// The widest viewport (in CSS pixels) still taken as a phone's.
pub const PHONE_MAX_WIDTH: u32 = 600;

/// What the page knows of the device it is shown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    /// The primary pointer is a finger (`(pointer: coarse)`).
    pub coarse_pointer: bool,
    /// The viewport's width in CSS pixels (the widget passes no more than the screen's shorter
    /// side, so that a page laid out wider than the phone, or a phone held sideways, is narrow).
    pub viewport_width: u32,
}

impl Device {
    /// A phone: touched, and narrow. A tablet (touched, wide) or a touch-screen laptop (whose
    /// primary pointer is a mouse or pad) shows a QR code like a computer.
    pub fn is_phone(self) -> bool {
        self.coarse_pointer && self.viewport_width <= PHONE_MAX_WIDTH
    }
}

/// One wallet on offer: a single choice in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    /// The wallet's machine code (`alipay`, `wechat_pay`, ...), or its display name when the
    /// worker sent no code (an older worker).
    pub code: String,
    /// The worker's display name, for a wallet whose name the widget does not know.
    pub name: String,
    /// Its pay types, in the worker's order.
    pub options: Vec<PayOption>,
}

/// The pay types grouped by wallet, in the order each wallet first comes in the list (the
/// worker's order: the merchant's list, or its default).
pub fn wallets(options: &[PayOption]) -> Vec<Wallet> {
    let mut wallets: Vec<Wallet> = Vec::new();
    for option in options {
        let code = if option.wallet_code.is_empty() { &option.wallet } else { &option.wallet_code };
        match wallets.iter_mut().find(|w| &w.code == code) {
            Some(wallet) => wallet.options.push(option.clone()),
            None => {
                wallets.push(Wallet { code: code.clone(), name: option.wallet.clone(), options: vec![option.clone()] })
            }
        }
    }
    wallets
}

/// What choosing a wallet starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The pay type to start.
    pub pay_type: String,
    /// Whether it shows a QR code or sends the shopper to the wallet's page.
    pub how: PayHow,
    /// Show the wallet's page as a link for the shopper to follow (on a phone, where it may
    /// open the wallet's app), instead of going there at once.
    pub hand_off: bool,
    /// Offered beside that link: the wallet's QR product, for paying from another device.
    pub qr_instead: Option<String>,
}

/// The product to start for a wallet offering `options` on `device`; `None` when it offers none.
pub fn plan(options: &[PayOption], device: Device) -> Option<Plan> {
    let first = |how: PayHow| options.iter().find(|o| o.how == how);
    let qr = first(PayHow::Qr);
    let phone = device.is_phone();
    let wanted = if phone { PayHow::Redirect } else { PayHow::Qr };
    let start = first(wanted).or_else(|| options.first())?;
    let hand_off = phone && start.how == PayHow::Redirect;
    Some(Plan {
        pay_type: start.pay_type.clone(),
        how: start.how,
        hand_off,
        qr_instead: qr.filter(|_| hand_off).map(|o| o.pay_type.clone()),
    })
}

/// The plan for the wallet's QR product, chosen on the wallet page's screen instead.
pub fn qr_plan(pay_type: &str) -> Plan {
    Plan { pay_type: pay_type.to_owned(), how: PayHow::Qr, hand_off: false, qr_instead: None }
}

/// What a key does on the `at`-th of `count` choices, as in a radio group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// Move the focus (and the check) to this choice.
    MoveTo(usize),
    /// Choose the focused one (Enter, Space).
    Choose,
}

/// The arrows move to the next or previous choice and round the list, Home and End to the
/// first and last; Enter and Space choose. Any other key is the browser's (`None`).
pub fn on_key(key: &str, at: usize, count: usize) -> Option<KeyAction> {
    let last = count.checked_sub(1)?;
    Some(match key {
        "ArrowDown" | "ArrowRight" => KeyAction::MoveTo(if at >= last { 0 } else { at + 1 }),
        "ArrowUp" | "ArrowLeft" => KeyAction::MoveTo(if at == 0 || at > last { last } else { at - 1 }),
        "Home" => KeyAction::MoveTo(0),
        "End" => KeyAction::MoveTo(last),
        "Enter" | " " => KeyAction::Choose,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wallets the gateway offers to a web checkout in Hong Kong.
    const WALLETS: [&str; 6] = ["alipay", "wechat_pay", "payme", "fps", "octopus", "unionpay"];

    const PHONE: Device = Device { coarse_pointer: true, viewport_width: 390 };
    const DESKTOP: Device = Device { coarse_pointer: false, viewport_width: 1280 };

    fn option(wallet_code: &str, pay_type: &str, how: PayHow) -> PayOption {
        PayOption {
            pay_type: pay_type.into(),
            wallet: format!("{wallet_code} display"),
            wallet_code: wallet_code.into(),
            how,
            name_en: format!("{pay_type} en"),
            name_zh: format!("{pay_type} zh"),
        }
    }

    /// What a wallet offers, named for the failure messages.
    fn offers(wallet: &str) -> Vec<(&'static str, Vec<PayOption>)> {
        let qr = || option(wallet, "QR", PayHow::Qr);
        let page = || option(wallet, "PAGE", PayHow::Redirect);
        vec![
            ("QR only", vec![qr()]),
            ("redirect only", vec![page()]),
            ("both, QR first", vec![qr(), page()]),
            ("both, redirect first", vec![page(), qr()]),
        ]
    }

    fn expected(offered: &str, device: Device) -> Plan {
        let qr = Plan { pay_type: "QR".into(), how: PayHow::Qr, hand_off: false, qr_instead: None };
        let page = |hand_off: bool, qr_instead: Option<&str>| Plan {
            pay_type: "PAGE".into(),
            how: PayHow::Redirect,
            hand_off,
            qr_instead: qr_instead.map(str::to_owned),
        };
        match (offered, device.is_phone()) {
            ("QR only", _) => qr,
            // A computer goes to the page at once: there is no app to open there.
            ("redirect only", phone) => page(phone, None),
            (_, true) => page(true, Some("QR")),
            (_, false) => qr,
        }
    }

    #[test]
    fn every_wallet_on_every_device_starts_the_product_that_fits() {
        for wallet in WALLETS {
            for (name, device) in [("phone", PHONE), ("desktop", DESKTOP)] {
                for (offered, options) in offers(wallet) {
                    assert_eq!(
                        plan(&options, device),
                        Some(expected(offered, device)),
                        "{wallet} on a {name}, offering {offered}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_first_product_of_a_kind_wins_and_none_offered_is_no_plan() {
        let options = [
            option("alipay", "801501", PayHow::Qr),
            option("alipay", "801512", PayHow::Redirect),
            option("alipay", "800101", PayHow::Qr),
            option("alipay", "801514", PayHow::Redirect),
        ];
        let phone = plan(&options, PHONE).unwrap();
        assert_eq!((phone.pay_type.as_str(), phone.qr_instead.as_deref()), ("801512", Some("801501")));
        assert_eq!(plan(&options, DESKTOP).unwrap().pay_type, "801501");
        assert_eq!(plan(&[], PHONE), None);
        assert_eq!(plan(&[], DESKTOP), None);
    }

    #[test]
    fn a_phone_is_touched_and_narrow() {
        let device = |coarse_pointer, viewport_width| Device { coarse_pointer, viewport_width };
        assert!(device(true, PHONE_MAX_WIDTH).is_phone());
        assert!(device(true, 320).is_phone());
        assert!(!device(true, PHONE_MAX_WIDTH + 1).is_phone(), "a tablet");
        assert!(!device(false, 375).is_phone(), "a narrow window on a computer");
        assert!(!device(false, 1280).is_phone());
    }

    #[test]
    fn one_choice_per_wallet_in_the_order_of_the_list() {
        let options = [
            option("wechat_pay", "800201", PayHow::Qr),
            option("alipay", "801501", PayHow::Qr),
            option("wechat_pay", "800212", PayHow::Redirect),
            option("alipay", "801512", PayHow::Redirect),
            option("fps", "802001", PayHow::Qr),
        ];
        let grouped = wallets(&options);
        let codes: Vec<_> = grouped.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["wechat_pay", "alipay", "fps"]);
        let wechat: Vec<_> = grouped[0].options.iter().map(|o| o.pay_type.as_str()).collect();
        assert_eq!(wechat, ["800201", "800212"]);
        assert_eq!(grouped[0].name, "wechat_pay display");
    }

    #[test]
    fn an_option_without_a_wallet_code_groups_by_its_display_name() {
        let mut a = option("", "800201", PayHow::Qr);
        a.wallet = "WeChat Pay".into();
        let mut b = a.clone();
        b.pay_type = "800212".into();
        b.how = PayHow::Redirect;
        let grouped = wallets(&[a, b]);
        assert_eq!(grouped.len(), 1);
        assert_eq!((grouped[0].code.as_str(), grouped[0].options.len()), ("WeChat Pay", 2));
    }

    /// Everything the worker offers by default, from the real table: at most one choice per
    /// wallet, and each can start on a computer (a QR code) and on a phone.
    #[test]
    fn the_default_offer_is_one_choice_per_wallet() {
        for currency in ["HKD", "CNY", "USD"] {
            let offered = checkout_api::fitting_pay_types(currency, 3800, None);
            let grouped = wallets(&offered);
            assert!(!grouped.is_empty() && grouped.len() <= WALLETS.len(), "{currency}: {grouped:?}");
            for wallet in &grouped {
                assert!(WALLETS.contains(&wallet.code.as_str()), "{currency}: {}", wallet.code);
                assert_eq!(grouped.iter().filter(|w| w.code == wallet.code).count(), 1, "{currency}: {}", wallet.code);
                for device in [PHONE, DESKTOP] {
                    assert!(plan(&wallet.options, device).is_some(), "{currency}: {} on {device:?}", wallet.code);
                }
                let desktop = plan(&wallet.options, DESKTOP).unwrap();
                assert_eq!(desktop.how, PayHow::Qr, "{currency}: {} shows a QR code on a computer", wallet.code);
            }
        }
        assert_eq!(wallets(&checkout_api::fitting_pay_types("HKD", 3800, None)).len(), WALLETS.len());
    }

    #[test]
    fn keys_move_round_the_list_and_choose() {
        use KeyAction::*;
        let cases = [
            ("ArrowDown", 0, Some(MoveTo(1))),
            ("ArrowRight", 1, Some(MoveTo(2))),
            ("ArrowDown", 2, Some(MoveTo(0))),
            ("ArrowUp", 0, Some(MoveTo(2))),
            ("ArrowLeft", 2, Some(MoveTo(1))),
            ("Home", 2, Some(MoveTo(0))),
            ("End", 0, Some(MoveTo(2))),
            ("Enter", 1, Some(Choose)),
            (" ", 1, Some(Choose)),
            ("Tab", 1, None),
            ("a", 1, None),
        ];
        for (key, at, action) in cases {
            assert_eq!(on_key(key, at, 3), action, "{key:?} on choice {at} of 3");
        }
        assert_eq!(on_key("ArrowDown", 0, 1), Some(MoveTo(0)), "one choice stays put");
        assert_eq!(on_key("ArrowDown", 0, 0), None, "no choices");
    }
}
