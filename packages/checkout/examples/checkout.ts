// checkout.ts, bundled to /checkout.js (e.g. esbuild checkout.ts --bundle --format=esm --outfile=public/checkout.js),
// with node_modules/@qfpay-edge/checkout/pkg/qfpay_checkout_bg.wasm copied to public/.
import "@qfpay-edge/checkout";

document.querySelector("qfpay-checkout")?.addEventListener("qfpay:paid", (event) => {
  // The thank-you page only: fulfil the order from the webhook, never from the browser.
  location.assign(`/thanks?session=${event.detail.session}`);
});
