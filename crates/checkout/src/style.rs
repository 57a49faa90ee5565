//! The widget's styles, adopted by its shadow root. Themable from the page with custom
//! properties (`--qfpay-color-primary`, `--qfpay-font-family`, `--qfpay-radius`,
//! `--qfpay-color-text`, `--qfpay-color-background`, `--qfpay-color-border`) and `::part()`.

/// The style sheet.
pub const CSS: &str = r#"
:host { display: block; font-family: var(--qfpay-font-family, system-ui, -apple-system, "Segoe UI", "PingFang HK", "Microsoft JhengHei", sans-serif);
  color: var(--qfpay-color-text, #1d1d1f); max-width: 24rem; }
.qf { border: 1px solid var(--qfpay-color-border, #d9d9de); border-radius: var(--qfpay-radius, 12px);
  background: var(--qfpay-color-background, #fff); padding: 1rem 1.25rem; }
.amount { font-size: 1.75rem; font-weight: 700; margin: .25rem 0; }
.goods, .merchant, .note { color: #5f6368; margin: 0; }
h2 { font-size: 1rem; margin: 1rem 0 .5rem; }
.mark { width: 1.5rem; height: 1.5rem; flex: none; font-family: system-ui, sans-serif; }
h2.wallet { display: flex; align-items: center; gap: .5rem; }
[role=radio] { display: flex; align-items: center; gap: .5rem; padding: .65rem .75rem; margin: .25rem 0; cursor: pointer;
  border: 1px solid var(--qfpay-color-border, #d9d9de); border-radius: calc(var(--qfpay-radius, 12px) * .66); }
[role=radio]:hover { border-color: var(--qfpay-color-primary, #0a66c2); }
[role=radio]:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--qfpay-color-primary, #0a66c2); outline-offset: 2px; }
[role=radio][aria-checked=true] { border-color: var(--qfpay-color-primary, #0a66c2); box-shadow: inset 0 0 0 1px var(--qfpay-color-primary, #0a66c2); }
button, a.button { display: inline-block; text-decoration: none; font: inherit; padding: .6rem 1rem; border-radius: calc(var(--qfpay-radius, 12px) * .66); cursor: pointer;
  border: 1px solid var(--qfpay-color-primary, #0a66c2); background: var(--qfpay-color-primary, #0a66c2); color: #fff; margin: .75rem .5rem 0 0; }
button.secondary { background: transparent; color: var(--qfpay-color-primary, #0a66c2); }
a.button { display: block; text-align: center; margin: .75rem 0; }
.qr { display: block; width: 100%; max-width: 16rem; height: auto; margin: .75rem auto; background: #fff; }
.countdown { font-variant-numeric: tabular-nums; }
.outcome { font-size: 1.25rem; font-weight: 700; margin: .75rem 0 .25rem; }
.outcome:focus { outline: none; }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
"#;
