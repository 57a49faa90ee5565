/**
 * The texts a merchant may replace in the `<qfpay-checkout>` widget, by key: pass
 * `mount(element, { texts })` or the element's `texts` attribute (JSON). Give the words for the
 * locale you chose; each comment quotes the English default and names the `{placeholders}` the
 * text is filled with. Texts are shown as plain text, never HTML. An unknown key, a value that
 * is not a string, or an unknown `{placeholder}` is reported with `console.error` and ignored.
 * Kept in step with the widget's `crates/checkout/src/i18n.rs` by a test.
 */
export type CheckoutTextKey =
  /** "Choose how to pay" */
  | "choose_method"
  /** "Loading checkout…" */
  | "loading"
  /** "Preparing your QR code…" */
  | "preparing"
  /** "Scan with {wallet}" ({wallet}: the wallet's name) */
  | "scan_with"
  /** "Expires in" */
  | "expires_in"
  /** "Use another method" */
  | "use_another"
  /** "Payment received" */
  | "paid"
  /** "Thank you. You can close this page." */
  | "paid_next"
  /** "Payment not completed" */
  | "failed"
  /** "Nothing was charged. Please choose a method and try again." */
  | "failed_next"
  /** "This QR code has expired" */
  | "expired"
  /** "Get a new QR code" */
  | "new_qr"
  /** "Something went wrong" */
  | "error"
  /** "Check your connection and try again." */
  | "error_next"
  /** "Try again" */
  | "try_again"
  /** "Checking your payment…" */
  | "checking"
  /** "QR code to pay {amount} with {wallet}" ({amount}: the formatted amount; {wallet}: the wallet's name; read by screen readers) */
  | "qr_label"
  /** "Opening your wallet…" */
  | "redirecting"
  /** "This checkout is no longer open. Please start again from the shop." */
  | "session_over"
  /** "Please wait a moment, then try again." */
  | "wait_a_moment"
  /** "Too many tries for this checkout. Please ask the shop for a new one." */
  | "attempts_used_up"
  /** "Finish paying in {wallet}, then come back to this page." ({wallet}: the wallet's name) */
  | "finish_in"
  /** "Continue to {wallet}" ({wallet}: the wallet's name) */
  | "open_wallet"
  /** "Paying with another device?" */
  | "other_device"
  /** "Show a QR code instead" */
  | "qr_instead"
  /** "Alipay" (the wallet's name) */
  | "wallet_alipay"
  /** "WeChat Pay" (the wallet's name) */
  | "wallet_wechat_pay"
  /** "PayMe" (the wallet's name) */
  | "wallet_payme"
  /** "FPS" (the wallet's name) */
  | "wallet_fps"
  /** "Octopus" (the wallet's name) */
  | "wallet_octopus"
  /** "UnionPay" (the wallet's name) */
  | "wallet_unionpay";

/** Replacement texts by key; any key left out keeps the widget's words. */
export type CheckoutTexts = Partial<Record<CheckoutTextKey, string>>;
