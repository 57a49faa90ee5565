// Types for the loader's JavaScript API and the <qfpay-checkout> element. No React here: the
// JSX declarations are a separate entry of the npm package (@qfpay-edge/checkout/react), so
// pages without React typecheck without @types/react.
import type { CheckoutTexts } from "./qfpay-checkout-texts.js";
export type { CheckoutTextKey, CheckoutTexts } from "./qfpay-checkout-texts.js";

export interface CheckoutOptions {
  /** The worker's origin, e.g. "https://pay.example.com". */
  endpoint: string;
  /** The checkout session id, "cs_...". */
  session: string;
  /** The session's client secret (opens this one session only). */
  secret: string;
  /** "en", "zh-HK" or "zh-CN"; default: the browser's language. */
  locale?: string;
  /** Your wording for any of the widget's texts, by message key. */
  texts?: CheckoutTexts;
  /**
   * Where the widget's qfpay_checkout_bg.wasm is served (relative to the page), when it is not
   * in pkg/ beside the loader, as in a bundled page. The first load that succeeds wins; a
   * failed one is tried again at the next mount.
   */
  wasmUrl?: string | URL;
}
export interface CheckoutHandle {
  /** Stops polling, timers and listeners and empties the element. */
  destroy(): void;
}
export interface CheckoutEventDetail {
  session: string;
  status: "open" | "selected" | "pending" | "paid" | "failed" | "expired" | "error";
  attempt?: string;
  /** The pay type the widget started for the chosen wallet, e.g. "801501". */
  pay_type?: string;
  /** The chosen wallet's code: "alipay", "wechat_pay", "payme", "fps", "octopus", "unionpay", ... */
  wallet?: string;
}
/** `qfpay:error`'s detail: what went wrong, for the developer (the shopper sees the error screen). */
export interface CheckoutErrorDetail extends CheckoutEventDetail {
  status: "error";
  /** The worker's error code ("unauthorized", "origin_not_allowed", "not_found", ...) or the widget's ("network", "not_the_worker", "unreadable_answer", "bad_redirect"). */
  code: string;
  /** What to check (the secret, the page's origin, the endpoint), with the answer's Request-Id when there was one; also logged once with console.error. */
  message: string;
}
/**
 * Mounts the widget into `element`. Rejects with an error naming a missing option, or saying
 * there is no DOM (called during server-side rendering: call it in an effect instead).
 */
export function mount(element: HTMLElement, options: CheckoutOptions): Promise<CheckoutHandle>;

/**
 * The <qfpay-checkout> element. Its attributes: `session`, `secret`, `endpoint` (needed
 * unless the script is the worker's own /qfpay-checkout.js), `locale`, `texts` (JSON) and
 * `wasm` (the wasm's URL). A change restarts the widget; the same value again does not.
 */
export interface QfpayCheckoutElement extends HTMLElement {
  /**
   * Your wording by message key: an object, or its JSON (as in the `texts` attribute). An
   * object equal to the current one changes nothing.
   */
  texts: CheckoutTexts | string | undefined;
}

declare global {
  interface HTMLElementTagNameMap {
    "qfpay-checkout": QfpayCheckoutElement;
  }
  interface HTMLElementEventMap extends CheckoutEventMap {}
  /** The events bubble out of the shadow root (composed), so the document hears them too. */
  interface DocumentEventMap extends CheckoutEventMap {}
  interface WindowEventMap extends CheckoutEventMap {}
}
/** The widget's events by name, for `addEventListener` on the element, the document or the window. */
export interface CheckoutEventMap {
  "qfpay:ready": CustomEvent<CheckoutEventDetail>;
  "qfpay:select": CustomEvent<CheckoutEventDetail>;
  "qfpay:qr": CustomEvent<CheckoutEventDetail>;
  "qfpay:paid": CustomEvent<CheckoutEventDetail>;
  "qfpay:failed": CustomEvent<CheckoutEventDetail>;
  "qfpay:expired": CustomEvent<CheckoutEventDetail>;
  "qfpay:error": CustomEvent<CheckoutErrorDetail>;
}
