//! The widget's styles, adopted by its shadow root. Themable from the page with custom
//! properties (`--qfpay-color-primary`, `--qfpay-font-family`, `--qfpay-radius`,
//! `--qfpay-color-text`, `--qfpay-color-background`, `--qfpay-color-border`) and `::part()`.
//!
//! Colours go through internal properties (`--_qf-*`, set on the container `.qf`): each is the
//! merchant's variable when the page sets it, else a default of the container's scheme.
//!
//! The scheme (`data-scheme` on the container, decided at mount by [`scheme`]): a dark theme
//! follows `prefers-color-scheme` unless the merchant's CSS variables say otherwise.
//! - `auto` (the merchant set none of the `--qfpay-color-*` variables): light defaults, dark
//!   ones under `@media (prefers-color-scheme: dark)`.
//! - `light` (the merchant set some of them): the light defaults for the rest, whatever the
//!   media says. A merchant who themed the page for light, or set only a brand colour, never
//!   gets their colours mixed with dark defaults (a navy primary on near-black, say).
//! - `--qfpay-color-scheme: light | dark | auto` forces one: `dark` takes the dark defaults for
//!   the colours the merchant left unset, `auto` follows the media even with colours set.
//!
//! Secondary text is a mix of the text and background colours, so it follows the merchant's
//! too (a browser without `color-mix` drops it and shows the text colour).
//!
//! Contrast (WCAG 2 ratios; AA asks 4.5 for text, 3 for controls' edges):
//! - light: text #1d1d1f on #fff 16.8; secondary text (#5c5c5e) 6.7; white on the primary
//!   #0a66c2 5.7, the primary on #fff 5.7.
//! - dark: text #f2f2f7 on #1c1c1e 15.3; secondary text (#b6b6ba) 8.4; white on the primary
//!   #1a73d9 4.7, the primary's edge on #1c1c1e 3.6; the accent #8ab4f8 (text and outlines in
//!   the primary's place on the background) 8.1.
//!
//! The QR code stays black on white in both schemes, quiet zone included (its SVG draws a white
//! square under the modules and the matrix has its four-module margin): scanners need a light
//! margin around dark modules.

/// The style sheet. The dark block must stay the only `prefers-color-scheme` rule: the browser
/// tests find it by its condition and switch it on and off.
pub const CSS: &str = r#"
.qf { --_qf-text: var(--qfpay-color-text, #1d1d1f); --_qf-background: var(--qfpay-color-background, #fff);
  --_qf-border: var(--qfpay-color-border, #d9d9de); --_qf-primary: var(--qfpay-color-primary, #0a66c2);
  --_qf-accent: var(--qfpay-color-primary, #0a66c2); }
@media (prefers-color-scheme: dark) {
  .qf[data-scheme=auto] { --_qf-text: var(--qfpay-color-text, #f2f2f7); --_qf-background: var(--qfpay-color-background, #1c1c1e);
    --_qf-border: var(--qfpay-color-border, #48484e); --_qf-primary: var(--qfpay-color-primary, #1a73d9);
    --_qf-accent: var(--qfpay-color-primary, #8ab4f8); }
}
.qf[data-scheme=dark] { --_qf-text: var(--qfpay-color-text, #f2f2f7); --_qf-background: var(--qfpay-color-background, #1c1c1e);
  --_qf-border: var(--qfpay-color-border, #48484e); --_qf-primary: var(--qfpay-color-primary, #1a73d9);
  --_qf-accent: var(--qfpay-color-primary, #8ab4f8); }
:host { display: block; font-family: var(--qfpay-font-family, system-ui, -apple-system, "Segoe UI", "PingFang HK", "Microsoft JhengHei", sans-serif);
  max-width: 24rem; }
.qf { color: var(--_qf-text); border: 1px solid var(--_qf-border); border-radius: var(--qfpay-radius, 12px);
  background: var(--_qf-background); padding: 1rem 1.25rem; }
.amount { font-size: 1.75rem; font-weight: 700; margin: .25rem 0; }
.goods, .merchant, .note { color: color-mix(in srgb, var(--_qf-text) 72%, var(--_qf-background)); margin: 0; }
h2 { font-size: 1rem; margin: 1rem 0 .5rem; }
.mark { width: 1.5rem; height: 1.5rem; flex: none; font-family: system-ui, sans-serif; }
h2.wallet { display: flex; align-items: center; gap: .5rem; }
[role=radio] { display: flex; align-items: center; gap: .5rem; padding: .65rem .75rem; margin: .25rem 0; cursor: pointer;
  border: 1px solid var(--_qf-border); border-radius: calc(var(--qfpay-radius, 12px) * .66); }
[role=radio]:hover { border-color: var(--_qf-accent); }
[role=radio]:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--_qf-accent); outline-offset: 2px; }
[role=radio][aria-checked=true] { border-color: var(--_qf-accent); box-shadow: inset 0 0 0 1px var(--_qf-accent); }
button, a.button { display: inline-block; text-decoration: none; font: inherit; padding: .6rem 1rem; border-radius: calc(var(--qfpay-radius, 12px) * .66); cursor: pointer;
  border: 1px solid var(--_qf-primary); background: var(--_qf-primary); color: #fff; margin: .75rem .5rem 0 0; }
button.secondary { background: transparent; color: var(--_qf-accent); border-color: var(--_qf-accent); }
a.button { display: block; text-align: center; margin: .75rem 0; }
.qr { display: block; width: 100%; max-width: 16rem; height: auto; margin: .75rem auto; background: #fff; }
.countdown { font-variant-numeric: tabular-nums; }
.outcome { font-size: 1.25rem; font-weight: 700; margin: .75rem 0 .25rem; }
.outcome:focus { outline: none; }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
"#;

/// The merchant's colour variables: setting any of them pins the light defaults for the rest.
pub const COLOUR_VARIABLES: [&str; 4] =
    ["--qfpay-color-primary", "--qfpay-color-text", "--qfpay-color-background", "--qfpay-color-border"];

/// The variable that forces a scheme.
pub const SCHEME_VARIABLE: &str = "--qfpay-color-scheme";

/// The widget's colour scheme: the container's `data-scheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Light defaults, dark ones when the browser prefers dark.
    Auto,
    /// Light defaults.
    Light,
    /// Dark defaults.
    Dark,
}

impl Scheme {
    /// The `data-scheme` value.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Auto => "auto",
            Scheme::Light => "light",
            Scheme::Dark => "dark",
        }
    }
}

/// The scheme for a page whose `--qfpay-color-scheme` is `forced` (its computed value, empty
/// when unset) and which does or does not set any of [`COLOUR_VARIABLES`]. An unknown value is
/// an error naming the variable and its values; the scheme is then decided as if it were unset.
pub fn scheme(forced: &str, any_colour_set: bool) -> (Scheme, Option<String>) {
    let by_colours = if any_colour_set { Scheme::Light } else { Scheme::Auto };
    // CSS's whitespace is ASCII's; `trim()` would also bring Unicode's table to the download.
    match forced.trim_ascii() {
        "" => (by_colours, None),
        "auto" => (Scheme::Auto, None),
        "light" => (Scheme::Light, None),
        "dark" => (Scheme::Dark, None),
        other => (
            by_colours,
            Some(
                [
                    "qfpay-checkout: `",
                    SCHEME_VARIABLE,
                    "` must be `light`, `dark` or `auto`, not `",
                    other,
                    "` (ignored)",
                ]
                .concat(),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_merchants_variables_decide_the_scheme() {
        assert_eq!(scheme("", false), (Scheme::Auto, None), "nothing set: follow the media");
        assert_eq!(scheme("", true), (Scheme::Light, None), "a colour set: light for the rest");
        assert_eq!(scheme(" dark ", true), (Scheme::Dark, None));
        assert_eq!(scheme("dark", false), (Scheme::Dark, None));
        assert_eq!(scheme("light", false), (Scheme::Light, None));
        assert_eq!(scheme("auto", true), (Scheme::Auto, None));
        let (fallback, error) = scheme("night", true);
        assert_eq!(fallback, Scheme::Light);
        let error = error.unwrap();
        assert!(error.contains(SCHEME_VARIABLE) && error.contains("`night`") && error.contains("`auto`"), "{error}");
    }

    #[test]
    fn each_dark_default_is_in_both_dark_rules() {
        // The forced rule and the media rule carry the same dark defaults.
        let media = CSS.split("@media (prefers-color-scheme: dark)").nth(1).unwrap();
        let auto = media.split(".qf[data-scheme=auto]").nth(1).unwrap().split('}').next().unwrap();
        let forced = CSS.split(".qf[data-scheme=dark]").nth(1).unwrap().split('}').next().unwrap();
        let squash = |s: &str| s.split_whitespace().collect::<String>();
        assert_eq!(squash(auto), squash(forced));
        assert_eq!(CSS.matches("prefers-color-scheme").count(), 1, "the tests find the only dark media rule");
    }
}
