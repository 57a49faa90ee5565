// <qfpay-checkout> in React's JSX. React 19's types read intrinsic elements from `React.JSX`
// (module "react"), so that namespace is augmented; only this entry mentions React, so the
// package's main entry typechecks without @types/react.
import type { DetailedHTMLProps, HTMLAttributes } from "react";
import type { CheckoutTexts, QfpayCheckoutElement } from "./qfpay-checkout.js";

export * from "./qfpay-checkout.js";

/** The element's props: its attributes, plus React's own (ref, className, children, ...). */
export interface QfpayCheckoutProps
  extends DetailedHTMLProps<HTMLAttributes<QfpayCheckoutElement>, QfpayCheckoutElement> {
  /** The session id your server created, "cs_...". */
  session: string;
  /** That session's client_secret. */
  secret: string;
  /**
   * The worker's origin, e.g. "https://pay.example.com". Required here: in a bundled page the
   * script's own origin is the shop's, not the worker's.
   */
  endpoint: string;
  /** "en", "zh-HK" or "zh-CN"; default: the browser's language. */
  locale?: string;
  /**
   * Your wording by message key, or its JSON. React 19 sets an object as the element's property
   * (import this module before the element renders); React 18 would write "[object Object]",
   * so pass `JSON.stringify(texts)` there.
   */
  texts?: CheckoutTexts | string;
  /** The URL of qfpay_checkout_bg.wasm, when it is not in pkg/ beside the loader. */
  wasm?: string;
}

declare module "react" {
  namespace JSX {
    interface IntrinsicElements {
      "qfpay-checkout": QfpayCheckoutProps;
    }
  }
}
