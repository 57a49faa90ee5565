//! The widget's words in English, Traditional Chinese for Hong Kong and Simplified Chinese,
//! and the wallets' names as shoppers in each know them. `zh-HK` has its own strings (Hong
//! Kong usage), not a copy of `zh-CN` converted.

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English.
    En,
    /// Traditional Chinese, Hong Kong.
    ZhHk,
    /// Simplified Chinese.
    ZhCn,
}

impl Locale {
    /// Picks a locale from a BCP 47 tag (`locale` attribute or the browser's language).
    pub fn from_tag(tag: &str) -> Locale {
        let tag = tag.trim_ascii().to_ascii_lowercase();
        if tag.starts_with("zh-hk")
            || tag.starts_with("zh-mo")
            || tag.starts_with("zh-tw")
            || tag.starts_with("zh-hant")
        {
            Locale::ZhHk
        } else if tag.starts_with("zh") {
            Locale::ZhCn
        } else {
            Locale::En
        }
    }

    /// The locale `Intl.NumberFormat` formats amounts in. English is Hong Kong English (`en-HK`):
    /// the widget's shoppers are in Hong Kong, and it writes `HK$` as the city does.
    pub fn number_tag(self) -> &'static str {
        match self {
            Locale::En => "en-HK",
            Locale::ZhHk => "zh-HK",
            Locale::ZhCn => "zh-CN",
        }
    }

    /// The tag for the `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhHk => "zh-HK",
            Locale::ZhCn => "zh-CN",
        }
    }
}

/// Declares [`Text`] and [`Text::ALL`] from one list, so that a text cannot be left out of
/// `ALL` (which the merchant's keys, the `.d.ts` check and the tests go through).
macro_rules! texts {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Every piece of text the widget shows. Each has a stable key (see [`Text::key`]) by
        /// which a merchant may replace it (the `texts` option; its TypeScript type is
        /// `www/qfpay-checkout-texts.d.ts`, checked against this list by a test).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Text {
            $($(#[$doc])* $name,)*
        }

        impl Text {
            /// Every text, in the order declared (the order of the `.d.ts`).
            pub const ALL: [Text; [$(Text::$name),*].len()] = [$(Text::$name),*];
        }
    };
}

texts! {
    /// Heading of the pay type list.
    ChooseMethod,
    /// Loading the checkout.
    Loading,
    /// Asking for a QR code.
    Preparing,
    /// Under the QR code; `{wallet}` is the wallet.
    ScanWith,
    /// Before the countdown.
    ExpiresIn,
    /// Back to the list.
    UseAnother,
    /// Paid outcome.
    Paid,
    /// What to do after paying.
    PaidNext,
    /// Declined outcome.
    Failed,
    /// What to do after a decline.
    FailedNext,
    /// QR expired.
    Expired,
    /// A fresh QR code.
    NewQr,
    /// Something went wrong.
    Error,
    /// What to do after an error.
    ErrorNext,
    /// Retry.
    TryAgain,
    /// Checking the payment.
    Checking,
    /// The QR code's text alternative; `{amount}` and `{wallet}`.
    QrLabel,
    /// Sent to the wallet.
    Redirecting,
    /// The session itself expired or closed.
    SessionOver,
    /// Another attempt was started a moment ago.
    WaitAMoment,
    /// The session has had as many attempts as one may.
    TooManyAttempts,
    /// On a phone, above the link to the wallet's page; `{wallet}` is the wallet.
    FinishIn,
    /// The link to the wallet's page; `{wallet}` is the wallet.
    OpenWallet,
    /// Above the way to a QR code, on the wallet page's screen.
    OtherDevice,
    /// The way to a QR code, for paying from another device.
    QrInstead,
}

impl Text {
    /// The key a merchant replaces this text by: stable, whatever the words become.
    pub fn key(self) -> &'static str {
        use Text::*;
        match self {
            ChooseMethod => "choose_method",
            Loading => "loading",
            Preparing => "preparing",
            ScanWith => "scan_with",
            ExpiresIn => "expires_in",
            UseAnother => "use_another",
            Paid => "paid",
            PaidNext => "paid_next",
            Failed => "failed",
            FailedNext => "failed_next",
            Expired => "expired",
            NewQr => "new_qr",
            Error => "error",
            ErrorNext => "error_next",
            TryAgain => "try_again",
            Checking => "checking",
            QrLabel => "qr_label",
            Redirecting => "redirecting",
            SessionOver => "session_over",
            WaitAMoment => "wait_a_moment",
            TooManyAttempts => "attempts_used_up",
            FinishIn => "finish_in",
            OpenWallet => "open_wallet",
            OtherDevice => "other_device",
            QrInstead => "qr_instead",
        }
    }

    /// The `{name}`s this text's words may hold.
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            Text::ScanWith | Text::FinishIn | Text::OpenWallet => &["wallet"],
            Text::QrLabel => &["amount", "wallet"],
            _ => &[],
        }
    }
}

/// The widget's own words for `text` in `locale`.
pub(crate) fn t(locale: Locale, text: Text) -> &'static str {
    use Text::*;
    match locale {
        Locale::En => match text {
            ChooseMethod => "Choose how to pay",
            Loading => "Loading checkout…",
            Preparing => "Preparing your QR code…",
            ScanWith => "Scan with {wallet}",
            ExpiresIn => "Expires in",
            UseAnother => "Use another method",
            Paid => "Payment received",
            PaidNext => "Thank you. You can close this page.",
            Failed => "Payment not completed",
            FailedNext => "Nothing was charged. Please choose a method and try again.",
            Expired => "This QR code has expired",
            NewQr => "Get a new QR code",
            Error => "Something went wrong",
            ErrorNext => "Check your connection and try again.",
            TryAgain => "Try again",
            Checking => "Checking your payment…",
            WaitAMoment => "Please wait a moment, then try again.",
            TooManyAttempts => "Too many tries for this checkout. Please ask the shop for a new one.",
            QrLabel => "QR code to pay {amount} with {wallet}",
            Redirecting => "Opening your wallet…",
            SessionOver => "This checkout is no longer open. Please start again from the shop.",
            FinishIn => "Finish paying in {wallet}, then come back to this page.",
            OpenWallet => "Continue to {wallet}",
            OtherDevice => "Paying with another device?",
            QrInstead => "Show a QR code instead",
        },
        Locale::ZhHk => match text {
            ChooseMethod => "選擇付款方式",
            Loading => "正在載入…",
            Preparing => "正在產生二維碼…",
            ScanWith => "請用{wallet}掃描",
            ExpiresIn => "有效時間",
            UseAnother => "改用其他付款方式",
            Paid => "已收到付款",
            PaidNext => "多謝惠顧，你可以關閉此頁。",
            Failed => "付款未完成",
            FailedNext => "未有扣款。請重新選擇付款方式再試。",
            Expired => "二維碼已過期",
            NewQr => "重新產生二維碼",
            Error => "出現問題",
            ErrorNext => "請檢查網絡連線，然後再試。",
            TryAgain => "再試一次",
            Checking => "正在確認付款…",
            WaitAMoment => "請稍候片刻，然後再試。",
            TooManyAttempts => "此付款已嘗試太多次，請向商店索取新的付款頁面。",
            QrLabel => "用{wallet}支付{amount}的二維碼",
            Redirecting => "正在開啟錢包…",
            SessionOver => "此付款頁已經失效，請返回商店重新開始。",
            FinishIn => "請在{wallet}完成付款，然後返回此頁。",
            OpenWallet => "前往{wallet}付款",
            OtherDevice => "用另一部裝置付款？",
            QrInstead => "改為顯示二維碼",
        },
        Locale::ZhCn => match text {
            ChooseMethod => "选择支付方式",
            Loading => "正在加载…",
            Preparing => "正在生成二维码…",
            ScanWith => "请使用{wallet}扫码",
            ExpiresIn => "剩余时间",
            UseAnother => "使用其他支付方式",
            Paid => "支付成功",
            PaidNext => "感谢您的购买，您可以关闭此页面。",
            Failed => "支付未完成",
            FailedNext => "未产生扣款。请重新选择支付方式后再试。",
            Expired => "二维码已过期",
            NewQr => "重新生成二维码",
            Error => "出现错误",
            ErrorNext => "请检查网络连接后重试。",
            TryAgain => "重试",
            Checking => "正在确认支付…",
            WaitAMoment => "请稍候片刻，然后再试。",
            TooManyAttempts => "此付款已尝试太多次，请向商店索取新的付款页面。",
            QrLabel => "用{wallet}支付{amount}的二维码",
            Redirecting => "正在打开钱包…",
            SessionOver => "此支付页面已失效，请返回商店重新下单。",
            FinishIn => "请在{wallet}完成支付，然后返回此页面。",
            OpenWallet => "前往{wallet}支付",
            OtherDevice => "用另一台设备支付？",
            QrInstead => "改为显示二维码",
        },
    }
}

/// The wallets the widget names itself: code, then the name in English, Hong Kong Chinese and
/// Simplified Chinese. A merchant replaces one with the key `wallet_<code>`.
pub(crate) const WALLETS: [(&str, &str, &str, &str); 6] = [
    ("alipay", "Alipay", "支付寶", "支付宝"),
    ("wechat_pay", "WeChat Pay", "微信支付", "微信支付"),
    ("payme", "PayMe", "PayMe", "PayMe"),
    ("fps", "FPS", "轉數快", "转数快"),
    ("octopus", "Octopus", "八達通", "八达通"),
    ("unionpay", "UnionPay", "銀聯", "银联"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::texts::Texts;

    const LOCALES: [Locale; 3] = [Locale::En, Locale::ZhHk, Locale::ZhCn];

    /// `ALL` comes from the enum's own list: each text once, at its declared place.
    #[test]
    fn all_lists_every_text_once_in_order() {
        for (i, text) in Text::ALL.into_iter().enumerate() {
            assert_eq!(text as usize, i, "{text:?}");
        }
        let last = Text::ALL[Text::ALL.len() - 1];
        assert_eq!(last as usize + 1, Text::ALL.len(), "the count matches the variants");
    }

    #[test]
    fn tags_pick_locales() {
        assert_eq!(Locale::from_tag("zh-HK"), Locale::ZhHk);
        assert_eq!(Locale::from_tag("zh-Hant-HK"), Locale::ZhHk);
        assert_eq!(Locale::from_tag("zh-CN"), Locale::ZhCn);
        assert_eq!(Locale::from_tag("zh"), Locale::ZhCn);
        assert_eq!(Locale::from_tag("en-GB"), Locale::En);
        assert_eq!(Locale::from_tag(""), Locale::En);
    }

    #[test]
    fn hong_kong_has_its_own_words() {
        assert_ne!(t(Locale::ZhHk, Text::Paid), t(Locale::ZhCn, Text::Paid));
        assert_ne!(t(Locale::ZhHk, Text::ChooseMethod), t(Locale::ZhCn, Text::ChooseMethod));
        let (hk, cn) = (Texts::new(Locale::ZhHk), Texts::new(Locale::ZhCn));
        assert_eq!(hk.wallet("alipay", "Alipay"), "支付寶");
        assert_eq!(cn.wallet("alipay", "Alipay"), "支付宝");
        assert_eq!(hk.wallet("octopus", "Octopus"), "八達通");
        assert_eq!(cn.wallet("fps", "FPS"), "转数快");
    }

    #[test]
    fn wallets_have_names_in_every_locale_and_unknown_ones_keep_the_workers() {
        for (code, ..) in WALLETS {
            for locale in LOCALES {
                assert!(!Texts::new(locale).wallet(code, "").is_empty(), "{code} in {locale:?}");
            }
        }
        assert_eq!(Texts::new(Locale::ZhHk).wallet("apple_pay", "Apple Pay"), "Apple Pay");
        assert_eq!(Texts::new(Locale::En).wallet("", "WeChat Pay"), "WeChat Pay");
    }
}
