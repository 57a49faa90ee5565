//! The 36 pay types of the guide, with how the shopper pays and the rules that go with each.
//!
//! The guide gives a code and a one-line description; the other columns come from the spec
//! (`shared/spec/QFPAY.md`): which codes are MPM/CPM/WAP/web, 801101's amount floor, FPS's
//! refusal of refunds; `expired_time` follows QFPay's own documentation (`01-preparation/02-paycode.md`), which names eight types, WAP and in-app ones among them (it wins over the guide's "MPM only"). Where the sources are
//! silent the column says so (`partial_refund: None`), except `currencies`: the guide says some
//! types take HKD only without naming them, and we mark the Hong Kong domestic schemes (PayMe,
//! FPS, Octopus) as HKD-only, which is how those schemes work.

use core::fmt;

use serde::Serialize;

/// The wallet or card network behind a pay type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Wallet {
    /// Alipay (HK or CN).
    Alipay,
    /// WeChat Pay.
    WechatPay,
    /// HSBC PayMe.
    Payme,
    /// UnionPay QuickPass (wallet) or UnionPay cards.
    Unionpay,
    /// Faster Payment System (Hong Kong).
    Fps,
    /// Octopus.
    Octopus,
    /// Visa and Mastercard.
    VisaMastercard,
    /// Apple Pay.
    ApplePay,
    /// American Express cards.
    Amex,
    /// One code for several wallets (800008: the wallet is read from the shopper's code).
    Several,
}

impl Wallet {
    /// A stable machine name (`alipay`, `wechat_pay`, `payme`, `unionpay`, `fps`, `octopus`,
    /// ...), for the widget's marks and its names in each language.
    pub fn code(self) -> &'static str {
        match self {
            Wallet::Alipay => "alipay",
            Wallet::WechatPay => "wechat_pay",
            Wallet::Payme => "payme",
            Wallet::Unionpay => "unionpay",
            Wallet::Fps => "fps",
            Wallet::Octopus => "octopus",
            Wallet::VisaMastercard => "card",
            Wallet::ApplePay => "apple_pay",
            Wallet::Amex => "amex",
            Wallet::Several => "several",
        }
    }

    /// The wallet's name as shoppers know it.
    pub fn display_name(self) -> &'static str {
        match self {
            Wallet::Alipay => "Alipay",
            Wallet::WechatPay => "WeChat Pay",
            Wallet::Payme => "PayMe",
            Wallet::Unionpay => "UnionPay",
            Wallet::Fps => "FPS",
            Wallet::Octopus => "Octopus",
            Wallet::VisaMastercard => "Visa / Mastercard",
            Wallet::ApplePay => "Apple Pay",
            Wallet::Amex => "American Express",
            Wallet::Several => "WeChat Pay / Alipay / UnionPay / PayMe",
        }
    }
}

/// How the shopper pays with a pay type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayMode {
    /// Merchant-presented QR: the gateway returns `qrcode`, the shopper scans it.
    Mpm,
    /// Customer-presented code: the merchant scans it and sends `auth_code`.
    Cpm,
    /// Mobile browser (WAP/H5): the gateway returns `pay_url`, the browser goes there.
    Wap,
    /// Desktop web checkout: the gateway returns `pay_url`, the browser goes there.
    Web,
    /// Inside the merchant's own app, through the wallet's SDK.
    InApp,
    /// Inside the wallet's own browser (WeChat JSAPI, Alipay service window).
    Jsapi,
    /// Inside a WeChat mini-program.
    MiniProgram,
    /// Card details taken online.
    CardOnline,
    /// Card presented at a terminal.
    CardOffline,
}

impl PayMode {
    /// Every mode, for command-line parsing and listings.
    pub const ALL: [PayMode; 9] = [
        PayMode::Mpm,
        PayMode::Cpm,
        PayMode::Wap,
        PayMode::Web,
        PayMode::InApp,
        PayMode::Jsapi,
        PayMode::MiniProgram,
        PayMode::CardOnline,
        PayMode::CardOffline,
    ];

    /// The kebab-case name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PayMode::Mpm => "mpm",
            PayMode::Cpm => "cpm",
            PayMode::Wap => "wap",
            PayMode::Web => "web",
            PayMode::InApp => "in-app",
            PayMode::Jsapi => "jsapi",
            PayMode::MiniProgram => "mini-program",
            PayMode::CardOnline => "card-online",
            PayMode::CardOffline => "card-offline",
        }
    }

    /// Reads a name given by [`PayMode::name`].
    pub fn parse(text: &str) -> Option<Self> {
        PayMode::ALL.into_iter().find(|m| m.name().eq_ignore_ascii_case(text))
    }

    /// True for the modes whose answer sends the browser to `pay_url`.
    pub fn redirects(self) -> bool {
        matches!(self, PayMode::Wap | PayMode::Web)
    }
}

/// Which merchants a pay type is for, as the guide's description says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    /// Hong Kong merchants.
    HongKong,
    /// Overseas (non-Hong Kong) merchants.
    Overseas,
    /// Both.
    OverseasAndHongKong,
    /// The guide does not say.
    Unspecified,
}

/// Which currencies a pay type accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CurrencyRule {
    /// Any currency of the table (subject to the merchant's contract).
    Any,
    /// Hong Kong dollars only.
    HkdOnly,
}

/// An amount the payment must exceed, in a currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AmountFloor {
    /// The currency the floor is stated in.
    pub currency: &'static str,
    /// The amount must be strictly greater than this (minor units).
    pub more_than: u64,
}

/// One row of the pay type table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PayTypeInfo {
    /// The six-digit `pay_type` code.
    pub code: &'static str,
    /// Wallet or card network.
    pub wallet: Wallet,
    /// How the shopper pays.
    pub mode: PayMode,
    /// Which merchants it is for.
    pub region: Region,
    /// Whether payments of this type can be refunded at all.
    pub refundable: bool,
    /// Whether a part of the amount can be refunded; `None` where no source says.
    pub partial_refund: Option<bool>,
    /// Minimum amount rule, where the guide gives one.
    pub min_amount: Option<AmountFloor>,
    /// Whether the gateway honours `expired_time` for this type.
    pub expired_time: bool,
    /// Currencies accepted.
    pub currencies: CurrencyRule,
    /// English name.
    pub name_en: &'static str,
    /// The guide's Chinese description.
    pub name_zh: &'static str,
}

impl PayTypeInfo {
    /// Whether this type can be paid in `currency`.
    pub fn accepts_currency(&self, currency: &str) -> bool {
        match self.currencies {
            CurrencyRule::Any => true,
            CurrencyRule::HkdOnly => currency == "HKD",
        }
    }
}

struct Row(&'static str, Wallet, PayMode, Region, &'static str, &'static str);

const fn info(r: Row) -> PayTypeInfo {
    let Row(code, wallet, mode, region, name_en, name_zh) = r;
    PayTypeInfo {
        code,
        wallet,
        mode,
        region,
        refundable: true,
        partial_refund: None,
        min_amount: None,
        expired_time: false,
        currencies: CurrencyRule::Any,
        name_en,
        name_zh,
    }
}

/// A type that takes `expired_time`: QFPay's documentation lists 800201, 800101, 801512, 801501,
/// 801107, 801101, 801010 and 801510.
const fn takes_expiry(r: Row) -> PayTypeInfo {
    PayTypeInfo { expired_time: true, ..info(r) }
}

const fn hkd_only(p: PayTypeInfo) -> PayTypeInfo {
    PayTypeInfo { currencies: CurrencyRule::HkdOnly, ..p }
}

use PayMode::*;
use Region::*;
use Wallet::*;

/// Every pay type the guide lists, in the guide's order.
pub const PAY_TYPES: [PayTypeInfo; 36] = [
    info(Row(
        "800008",
        Several,
        Cpm,
        HongKong,
        "WeChat Pay, Alipay, UnionPay QuickPass, PayMe CPM",
        "WeChat支付、Alipay支付、UnionPay QuickPass、PayMe",
    )),
    takes_expiry(Row("800101", Alipay, Mpm, Overseas, "Alipay MPM (overseas merchants)", "Alipay MPM（海外商家）")),
    info(Row(
        "800108",
        Alipay,
        Cpm,
        OverseasAndHongKong,
        "Alipay CPM (overseas and HK merchants)",
        "Alipay CPM（海外及香港商家）",
    )),
    PayTypeInfo {
        min_amount: Some(AmountFloor { currency: "HKD", more_than: 100 }),
        ..takes_expiry(Row("801101", Alipay, Web, Overseas, "Alipay web payment (overseas)", "Alipay Web支付（海外）"))
    },
    takes_expiry(Row("801107", Alipay, Wap, Overseas, "Alipay WAP payment (overseas)", "Alipay WAP支付（海外）")),
    info(Row("801110", Alipay, InApp, Overseas, "Alipay in-app payment (overseas)", "Alipay应用内支付（海外）")),
    info(Row("800107", Alipay, Jsapi, Unspecified, "Alipay service window H5 payment", "Alipay服务窗口H5支付")),
    takes_expiry(Row("801501", Alipay, Mpm, HongKong, "Alipay MPM (HK merchants)", "Alipay MPM（香港商家）")),
    takes_expiry(Row(
        "801510",
        Alipay,
        InApp,
        HongKong,
        "Alipay in-app payment (HK merchants)",
        "Alipay应用内支付（香港商家）",
    )),
    takes_expiry(Row(
        "801512",
        Alipay,
        Wap,
        HongKong,
        "Alipay WAP payment (HK merchants)",
        "Alipay WAP支付（香港商家）",
    )),
    info(Row("801514", Alipay, Web, HongKong, "Alipay web payment (HK merchants)", "Alipay Web支付（香港商家）")),
    takes_expiry(Row(
        "800201",
        WechatPay,
        Mpm,
        OverseasAndHongKong,
        "WeChat Pay MPM (overseas and HK)",
        "WeChat MPM（海外及香港）",
    )),
    info(Row(
        "800208",
        WechatPay,
        Cpm,
        OverseasAndHongKong,
        "WeChat Pay CPM (overseas and HK)",
        "WeChat CPM（海外及香港）",
    )),
    info(Row(
        "800207",
        WechatPay,
        Jsapi,
        OverseasAndHongKong,
        "WeChat Pay JSAPI (overseas and HK)",
        "WeChat JSAPI支付（海外及香港）",
    )),
    info(Row("800212", WechatPay, Wap, Unspecified, "WeChat Pay H5", "WeChat H5支付")),
    info(Row(
        "800210",
        WechatPay,
        InApp,
        OverseasAndHongKong,
        "WeChat Pay in-app (overseas and HK)",
        "WeChat应用内支付（海外及香港）",
    )),
    info(Row("800213", WechatPay, MiniProgram, Unspecified, "WeChat Pay mini-program", "WeChat小程序支付")),
    info(Row(
        "801008",
        WechatPay,
        Cpm,
        HongKong,
        "WeChat Pay HK CPM (direct settlement)",
        "WeChat Pay（香港）CPM（直接结算）",
    )),
    takes_expiry(Row(
        "801010",
        WechatPay,
        InApp,
        HongKong,
        "WeChat Pay HK in-app (direct settlement)",
        "WeChat Pay（香港）应用内支付（直接结算）",
    )),
    hkd_only(info(Row("805801", Payme, Mpm, HongKong, "PayMe MPM (HK merchants)", "PayMe MPM（香港商家）"))),
    hkd_only(info(Row("805808", Payme, Cpm, HongKong, "PayMe CPM (HK merchants)", "PayMe CPM（香港商家）"))),
    hkd_only(info(Row(
        "805814",
        Payme,
        Web,
        HongKong,
        "PayMe web payment (HK merchants)",
        "PayMe Web支付（香港商家）",
    ))),
    hkd_only(info(Row(
        "805812",
        Payme,
        Wap,
        HongKong,
        "PayMe WAP payment (HK merchants)",
        "PayMe WAP支付（香港商家）",
    ))),
    info(Row("800701", Unionpay, Mpm, Unspecified, "UnionPay QuickPass MPM", "UnionPay QuickPass MPM")),
    info(Row("800708", Unionpay, Cpm, Unspecified, "UnionPay QuickPass CPM", "UnionPay QuickPass CPM")),
    info(Row("800712", Unionpay, Wap, HongKong, "UnionPay WAP payment (HK)", "UnionPay WAP支付（香港）")),
    info(Row("800714", Unionpay, Web, HongKong, "UnionPay PC web payment (HK)", "UnionPay PC-Web支付（香港）")),
    PayTypeInfo {
        refundable: false,
        partial_refund: Some(false),
        ..hkd_only(info(Row("802001", Fps, Mpm, HongKong, "FPS MPM (HK merchants)", "FPS MPM（香港商家）")))
    },
    hkd_only(info(Row("803701", Octopus, Mpm, HongKong, "Octopus MPM (HK merchants)", "Octopus MPM（香港商家）"))),
    hkd_only(info(Row("803712", Octopus, Wap, HongKong, "Octopus WAP payment (HK)", "Octopus WAP支付（香港）"))),
    hkd_only(info(Row("803714", Octopus, Web, HongKong, "Octopus PC web payment (HK)", "Octopus PC-Web支付（香港）"))),
    info(Row(
        "802801",
        VisaMastercard,
        CardOnline,
        Unspecified,
        "Visa / Mastercard online payment",
        "Visa / Mastercard在线支付",
    )),
    info(Row(
        "802808",
        VisaMastercard,
        CardOffline,
        Unspecified,
        "Visa / Mastercard offline payment",
        "Visa / Mastercard离线支付",
    )),
    info(Row("806527", ApplePay, CardOnline, Unspecified, "Apple Pay online payment", "ApplePay在线支付")),
    info(Row("806708", Unionpay, CardOffline, Unspecified, "UnionPay card offline payment", "UnionPay卡离线支付")),
    info(Row(
        "806808",
        Amex,
        CardOffline,
        Unspecified,
        "American Express card offline payment",
        "American Express卡离线支付",
    )),
];

/// A `pay_type` code; unknown codes survive a round trip.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayType(String);

impl PayType {
    /// Wraps any code, known or not.
    pub fn new(code: impl Into<String>) -> Self {
        PayType(code.into())
    }

    /// The code as sent on the wire.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// The table row, when the guide lists this code.
    pub fn info(&self) -> Option<&'static PayTypeInfo> {
        lookup(&self.0)
    }
}

/// The table row for a code.
pub fn lookup(code: &str) -> Option<&'static PayTypeInfo> {
    PAY_TYPES.iter().find(|p| p.code == code)
}

impl fmt::Display for PayType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
