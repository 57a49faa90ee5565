//! The small badge beside each wallet's name: a rounded square in a colour like the wallet's,
//! with its initial. Drawn by the widget (see `dom::mark_svg`), not the wallets' logos: their
//! files are theirs, and each would cost the download more than this whole table. The badge is
//! decoration (`aria-hidden`); the name beside it is what assistive technology reads.

/// How a wallet's badge looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The square's fill, as CSS/SVG understand it.
    pub colour: &'static str,
    /// The letter in it, in white.
    pub letter: char,
}

/// The badge of a wallet known by its code; a grey one with the initial of `name` (the
/// worker's display name) for any other.
pub fn mark(code: &str, name: &str) -> Mark {
    let known = |colour, letter| Mark { colour, letter };
    match code {
        "alipay" => known("#1677ff", 'A'),
        "wechat_pay" => known("#07c160", 'W'),
        "payme" => known("#db0011", 'P'),
        "fps" => known("#2e3192", 'F'),
        "octopus" => known("#f39800", 'O'),
        "unionpay" => known("#00857c", 'U'),
        _ => Mark { colour: "#6b7280", letter: name.chars().next().map_or('?', |c| c.to_ascii_uppercase()) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wallet_has_its_own_badge() {
        let codes = ["alipay", "wechat_pay", "payme", "fps", "octopus", "unionpay"];
        let marks: Vec<Mark> = codes.iter().map(|c| mark(c, "")).collect();
        for (i, m) in marks.iter().enumerate() {
            assert!(m.colour.starts_with('#') && m.colour.len() == 7, "{}: {}", codes[i], m.colour);
            assert_eq!(marks.iter().filter(|n| n.colour == m.colour).count(), 1, "{}: a colour of its own", codes[i]);
        }
    }

    #[test]
    fn an_unknown_wallet_has_a_grey_badge_with_its_initial() {
        assert_eq!(mark("apple_pay", "apple Pay"), Mark { colour: "#6b7280", letter: 'A' });
        assert_eq!(mark("", "微信"), Mark { colour: "#6b7280", letter: '微' });
        assert_eq!(mark("x", ""), Mark { colour: "#6b7280", letter: '?' });
    }
}
