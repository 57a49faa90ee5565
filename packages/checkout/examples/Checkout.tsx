import { useEffect, useRef } from "react";
import "@qfpay-edge/checkout/react";
import type { QfpayCheckoutElement } from "@qfpay-edge/checkout/react";

export function Checkout({ session, secret }: { session: string; secret: string }) {
  const widget = useRef<QfpayCheckoutElement>(null);
  useEffect(() => {
    const element = widget.current;
    // The thank-you page only: fulfil the order from the webhook, never from the browser.
    const paid = (event: HTMLElementEventMap["qfpay:paid"]) =>
      location.assign(`/thanks?session=${event.detail.session}`);
    element?.addEventListener("qfpay:paid", paid);
    return () => element?.removeEventListener("qfpay:paid", paid);
  }, []);
  return (
    <qfpay-checkout
      ref={widget}
      endpoint="https://pay.example.com"
      session={session}
      secret={secret}
      locale="zh-HK"
      wasm="/qfpay_checkout_bg.wasm"
    />
  );
}
