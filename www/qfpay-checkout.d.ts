// Types for the loader's JavaScript API.
export interface CheckoutOptions {
  /** The worker's origin, e.g. "https://pay.example.com". */
  endpoint: string;
  /** The checkout session id, "cs_...". */
  session: string;
  /** The session's client secret (opens this one session only). */
  secret: string;
  /** "en", "zh-HK" or "zh-CN"; default: the browser's language. */
  locale?: string;
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
export function mount(element: HTMLElement, options: CheckoutOptions): Promise<CheckoutHandle>;
declare global {
  interface HTMLElementEventMap {
    "qfpay:ready": CustomEvent<CheckoutEventDetail>;
    "qfpay:select": CustomEvent<CheckoutEventDetail>;
    "qfpay:qr": CustomEvent<CheckoutEventDetail>;
    "qfpay:paid": CustomEvent<CheckoutEventDetail>;
    "qfpay:failed": CustomEvent<CheckoutEventDetail>;
    "qfpay:expired": CustomEvent<CheckoutEventDetail>;
    "qfpay:error": CustomEvent<CheckoutEventDetail>;
  }
}
