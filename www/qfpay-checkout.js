// <qfpay-checkout>: defines the custom element and mounts the WebAssembly widget into it.
// Also exports mount(element, options) for frameworks; it resolves to a handle with destroy().
import init, { mount as mountWasm } from "./pkg/qfpay_checkout.js";

const ready = init({ module_or_path: new URL("./pkg/qfpay_checkout_bg.wasm", import.meta.url) });

export async function mount(element, options) {
  await ready;
  return mountWasm(element, options);
}

class QfpayCheckout extends HTMLElement {
  static observedAttributes = ["session", "secret", "endpoint", "locale"];
  #handle = null;

  connectedCallback() { this.#start(); }
  disconnectedCallback() { this.#stop(); }
  attributeChangedCallback() { if (this.#handle) { this.#stop(); this.#start(); } }

  #stop() { if (this.#handle) { this.#handle.destroy(); this.#handle = null; } }

  async #start() {
    await ready;
    const session = this.getAttribute("session");
    const secret = this.getAttribute("secret");
    if (!this.isConnected || this.#handle || !session || !secret) return;
    this.#handle = mountWasm(this, {
      endpoint: this.getAttribute("endpoint") || new URL(import.meta.url).origin,
      session,
      secret,
      locale: this.getAttribute("locale") || undefined,
    });
  }
}

if (!customElements.get("qfpay-checkout")) customElements.define("qfpay-checkout", QfpayCheckout);
