//! The merchant's own words: the `texts` option replaces any text (or a wallet's name) by its
//! key, for whichever locale is active, with the same `{placeholders}` filled as in the
//! widget's words. A wrong entry (unknown key, not a string, unknown placeholder) is refused
//! with an error naming the key and the rule, and the widget's own words stay. Pure, tested
//! natively; the keys' TypeScript type, `www/qfpay-checkout-texts.d.ts`, is checked here too.

use crate::i18n::{t, Locale, Text, WALLETS};

/// `words` with each `{name}` that `values` names replaced by its value; any other brace is
/// kept as written. Not `str::replace`: its substring search, and the panic messages that come
/// with it, would add kilobytes to the download for two placeholders.
pub fn fill(words: &str, values: &[(&str, &str)]) -> String {
    let mut said = String::with_capacity(words.len());
    let mut rest = words;
    while let Some((before, after)) = rest.split_once('{') {
        said.push_str(before);
        let named = after.split_once('}').and_then(|(name, tail)| {
            let (_, value) = values.iter().find(|(n, _)| *n == name)?;
            Some((*value, tail))
        });
        match named {
            Some((value, tail)) => {
                said.push_str(value);
                rest = tail;
            }
            None => {
                said.push('{');
                rest = after;
            }
        }
    }
    said.push_str(rest);
    said
}

/// What looks like a `{name}` in `words`: a brace, ASCII letters, digits, `_` or spaces (at
/// least one letter or digit), a brace. Broad on purpose: `{Wallet}` or `{ wallet }` is a
/// misspelt placeholder to report, not words to show with their braces.
fn placeholders(words: &str) -> impl Iterator<Item = &str> {
    let mut rest = words;
    std::iter::from_fn(move || loop {
        let (_, after) = rest.split_once('{')?;
        rest = after;
        let (name, _) = after.split_once('}')?;
        let fits = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b' ');
        if fits && name.bytes().any(|b| b.is_ascii_alphanumeric()) {
            return Some(name);
        }
    })
}

/// What a merchant's text replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Text(Text),
    /// A wallet's name, by its code.
    Wallet(&'static str),
}

impl Key {
    fn parse(key: &str) -> Option<Key> {
        if let Some(text) = Text::ALL.into_iter().find(|t| t.key() == key) {
            return Some(Key::Text(text));
        }
        let code = key.strip_prefix("wallet_")?;
        WALLETS.iter().find(|w| w.0 == code).map(|w| Key::Wallet(w.0))
    }

    fn placeholders(self) -> &'static [&'static str] {
        match self {
            Key::Text(text) => text.placeholders(),
            Key::Wallet(_) => &[],
        }
    }
}

/// Why a merchant's text was not used. [`TextError::message`] names the key and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    /// No text has this key (a typo, or a key from another version).
    UnknownKey(String),
    /// The value is not a string.
    NotText(String),
    /// The words hold a `{name}` this text does not fill.
    UnknownPlaceholder {
        /// The text's key.
        key: String,
        /// The name between the braces.
        placeholder: String,
        /// The names this text fills.
        allowed: &'static [&'static str],
    },
}

impl TextError {
    /// What the console says: the key, the rule, and that the widget's own words stay.
    pub fn message(&self) -> String {
        const WHO: &str = "qfpay-checkout: option `texts`:";
        match self {
            TextError::UnknownKey(key) => {
                [WHO, " unknown key \"", key, "\" (ignored); the keys are CheckoutTextKey in qfpay-checkout-texts.d.ts"]
                    .concat()
            }
            TextError::NotText(key) => [WHO, " \"", key, "\" must be a string (ignored)"].concat(),
            TextError::UnknownPlaceholder { key, placeholder, allowed } => {
                let mut takes = String::new();
                for name in allowed.iter() {
                    let and = if takes.is_empty() { "" } else { " and " };
                    takes.extend([and, "{", name, "}"]);
                }
                if takes.is_empty() {
                    takes.push_str("no placeholders");
                }
                [WHO, " \"", key, "\" has {", placeholder, "} but takes ", &takes, " (ignored)"].concat()
            }
        }
    }
}

/// The words the widget shows in one locale: its own, or the merchant's where they gave some.
/// Merchants' words are text, never markup: the widget sets them as text content.
#[derive(Debug, Clone)]
pub struct Texts {
    locale: Locale,
    own: Vec<(Key, String)>,
}

impl Texts {
    /// The widget's own words in `locale`.
    pub fn new(locale: Locale) -> Texts {
        Texts { locale, own: Vec::new() }
    }

    /// The locale the words are in.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// Uses `value` for the text `key` (`None`: the page gave something that is not a string).
    /// On an error nothing changes.
    pub fn set(&mut self, key: &str, value: Option<&str>) -> Result<(), TextError> {
        let parsed = Key::parse(key).ok_or_else(|| TextError::UnknownKey(key.to_owned()))?;
        let value = value.ok_or_else(|| TextError::NotText(key.to_owned()))?;
        let allowed = parsed.placeholders();
        if let Some(unknown) = placeholders(value).find(|p| !allowed.contains(p)) {
            return Err(TextError::UnknownPlaceholder {
                key: key.to_owned(),
                placeholder: unknown.to_owned(),
                allowed,
            });
        }
        // The last of one key wins (an object has each key once; this keeps `set` total).
        match self.own.iter_mut().find(|(k, _)| *k == parsed) {
            Some((_, words)) => *words = value.to_owned(),
            None => self.own.push((parsed, value.to_owned())),
        }
        Ok(())
    }

    fn own(&self, key: Key) -> Option<&str> {
        self.own.iter().find(|(k, _)| *k == key).map(|(_, words)| words.as_str())
    }

    /// The words for `text`.
    pub fn get(&self, text: Text) -> &str {
        self.own(Key::Text(text)).unwrap_or_else(|| t(self.locale, text))
    }

    /// The words for `text` with its placeholders filled from `values`.
    pub fn fill(&self, text: Text, values: &[(&str, &str)]) -> String {
        fill(self.get(text), values)
    }

    /// A wallet's name, by its code (`alipay`, `wechat_pay`, ...): the merchant's, else as
    /// shoppers in the locale know it, else `fallback` (the worker's display name) for a
    /// wallet the widget does not know.
    pub fn wallet<'a>(&'a self, code: &str, fallback: &'a str) -> &'a str {
        let Some(&(code, en, hk, cn)) = WALLETS.iter().find(|w| w.0 == code) else { return fallback };
        if let Some(own) = self.own(Key::Wallet(code)) {
            return own;
        }
        match self.locale {
            Locale::En => en,
            Locale::ZhHk => hk,
            Locale::ZhCn => cn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCALES: [Locale; 3] = [Locale::En, Locale::ZhHk, Locale::ZhCn];

    #[test]
    fn every_placeholder_in_the_words_is_one_the_text_fills() {
        for locale in LOCALES {
            for text in Text::ALL {
                let words = t(locale, text);
                let mut found: Vec<&str> = placeholders(words).collect();
                found.sort_unstable();
                let mut declared = text.placeholders().to_vec();
                declared.sort_unstable();
                assert_eq!(found, declared, "{locale:?} {text:?}: {words}");
            }
        }
    }

    #[test]
    fn placeholders_are_filled_and_other_braces_kept() {
        let texts = Texts::new(Locale::ZhHk);
        assert_eq!(texts.fill(Text::OpenWallet, &[("wallet", "支付寶")]), "前往支付寶付款");
        let en = Texts::new(Locale::En);
        assert_eq!(
            en.fill(Text::QrLabel, &[("amount", "HK$1.00"), ("wallet", "FPS")]),
            "QR code to pay HK$1.00 with FPS"
        );
        assert_eq!(fill("{a}{b}{a} {c} { } {", &[("a", "1"), ("b", "2")]), "121 {c} { } {");
        assert_eq!(fill("no braces", &[("a", "1")]), "no braces");
        assert_eq!(fill("{wallet}", &[("wallet", "{wallet}")]), "{wallet}", "a value is not filled again");
    }

    #[test]
    fn a_merchant_replaces_texts_and_wallet_names_by_key() {
        let mut texts = Texts::new(Locale::ZhHk);
        assert_eq!(texts.set("scan_with", Some("用 {wallet} 掃一掃")), Ok(()));
        assert_eq!(texts.set("wallet_fps", Some("FPS 轉數快")), Ok(()));
        assert_eq!(texts.set("paid", Some("")), Ok(()), "an empty text is the merchant's choice");
        assert_eq!(texts.set("paid", Some("<b>多謝</b>")), Ok(()), "the last one wins");
        assert_eq!(texts.fill(Text::ScanWith, &[("wallet", "八達通")]), "用 八達通 掃一掃");
        assert_eq!(texts.wallet("fps", "FPS"), "FPS 轉數快");
        assert_eq!(texts.get(Text::Paid), "<b>多謝</b>", "text, shown as written");
        assert_eq!(texts.get(Text::Failed), "付款未完成", "the rest are the widget's");
        assert_eq!(texts.wallet("octopus", "Octopus"), "八達通");
    }

    #[test]
    fn a_wrong_text_changes_nothing_and_its_error_names_the_key_and_the_rule() {
        let mut texts = Texts::new(Locale::En);
        let unknown = texts.set("pay_wth", Some("Pay")).unwrap_err();
        assert_eq!(unknown, TextError::UnknownKey("pay_wth".into()));
        assert!(unknown.message().contains("\"pay_wth\"") && unknown.message().contains("CheckoutTextKey"));
        assert_eq!(
            texts.set("wallet_apple_pay", Some("Apple")),
            Err(TextError::UnknownKey("wallet_apple_pay".into())),
            "only the wallets the widget names"
        );
        let not_text = texts.set("paid", None).unwrap_err();
        assert_eq!(not_text.message(), "qfpay-checkout: option `texts`: \"paid\" must be a string (ignored)");
        let typo = texts.set("scan_with", Some("Scan with {walet}")).unwrap_err();
        assert_eq!(
            typo.message(),
            "qfpay-checkout: option `texts`: \"scan_with\" has {walet} but takes {wallet} (ignored)"
        );
        for misspelt in ["{Wallet}", "{ wallet }", "{wallet 2}", "{WALLET_NAME}"] {
            let error = texts.set("scan_with", Some(&format!("Scan with {misspelt}"))).unwrap_err();
            assert!(error.message().contains(&format!("has {misspelt} but takes {{wallet}}")), "{error:?}");
        }
        for kept in ["Scan {}", "Scan { }", "Scan {-}", "Scan {钱包}", "{ {wallet}"] {
            assert_eq!(texts.set("scan_with", Some(kept)), Ok(()), "{kept}: braces that are no placeholder");
        }
        texts = Texts::new(Locale::En);
        let none = texts.set("paid", Some("Paid {amount}")).unwrap_err();
        assert!(none.message().ends_with("\"paid\" has {amount} but takes no placeholders (ignored)"), "{none:?}");
        for text in Text::ALL {
            assert_eq!(texts.get(text), t(Locale::En, text), "{text:?} unchanged");
        }
    }

    #[test]
    fn keys_are_unique_snake_case() {
        let mut keys: Vec<String> = Text::ALL.iter().map(|t| t.key().to_owned()).collect();
        keys.extend(WALLETS.iter().map(|w| format!("wallet_{}", w.0)));
        for key in &keys {
            assert!(key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{key}");
            assert!(Key::parse(key).is_some(), "{key} parses");
        }
        let count = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), count, "no key twice");
    }

    /// `www/qfpay-checkout-texts.d.ts` is what merchants' editors check their `texts` against:
    /// its keys must be exactly the widget's, each with the English words in its comment.
    #[test]
    fn the_typescript_keys_are_the_widgets() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../www/qfpay-checkout-texts.d.ts");
        let dts = std::fs::read_to_string(path).expect("www/qfpay-checkout-texts.d.ts");
        let mut declared = Vec::new();
        let mut comment = "";
        for line in dts.lines().map(str::trim) {
            if line.starts_with("/**") {
                comment = line;
            } else if let Some(key) = line.strip_prefix("| \"").and_then(|k| k.trim_end_matches(';').strip_suffix('"'))
            {
                declared.push((key.to_owned(), comment.to_owned()));
            }
        }
        let mut expected: Vec<(String, &str)> = Text::ALL.iter().map(|t| (t.key().into(), t_en(*t))).collect();
        expected.extend(WALLETS.iter().map(|w| (format!("wallet_{}", w.0), w.1)));
        let names = |list: &[(String, String)]| list.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        let expected_names: Vec<String> = expected.iter().map(|(k, _)| k.clone()).collect();
        let missing: Vec<&String> = expected_names.iter().filter(|k| !names(&declared).contains(k)).collect();
        let extra: Vec<String> = names(&declared).into_iter().filter(|k| !expected_names.contains(k)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "d.ts lacks {missing:?}, has unknown {extra:?}");
        for (key, english) in expected {
            let (_, comment) = declared.iter().find(|(k, _)| *k == key).unwrap();
            let quoted = format!("\"{english}\"");
            assert!(comment.contains(&quoted), "{key}: its comment should quote {quoted}, has {comment}");
        }
    }

    fn t_en(text: Text) -> &'static str {
        t(Locale::En, text)
    }
}
