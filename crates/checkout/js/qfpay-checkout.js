// <qfpay-checkout>: defines the custom element and mounts the WebAssembly widget into it.
// Also exports mount(element, options) for frameworks; it resolves to a handle with destroy().
//
// One file for both ways in: the worker serves it from its own origin (a script tag, the wasm
// beside it in pkg/), and the npm package @qfpay-edge/checkout ships it unchanged for bundled
// pages. Two things differ in a bundled page, and both are said rather than guessed:
// - the wasm: bundlers such as esbuild do not copy it, so its URL can be given (the `wasm`
//   attribute or `wasmUrl` option); it is fetched on first use, not at import, so a page that
//   gives its own URL never fetches a missing default first. The first load that succeeds wins.
// - the worker's origin: `endpoint` defaults to this script's origin only when this script is
//   served as /qfpay-checkout.js (the worker's own loader); elsewhere a missing `endpoint` is a
//   console error naming it. The check goes by the path alone: a shop that bundles its page
//   into its own /qfpay-checkout.js gets its own origin as the default, so the worst case is a
//   request to the merchant's own server, never to a third party.
//
// Importing it where there is no DOM (server-side rendering) defines nothing and throws
// nothing: the element is defined when the module is imported in a browser.
import init, { mount as mountWasm } from "./pkg/qfpay_checkout.js";

const TAG = "qfpay-checkout";
/** The wasm's load: `{ url, promise }` while it is under way or once it succeeded. */
let loading = null;

/** Instantiates the wasm once, from `wasmUrl` (relative to the page) or beside this script. */
function load(wasmUrl) {
  if (loading) return loading.promise;
  const url = wasmUrl
    ? new URL(wasmUrl, document.baseURI)
    : new URL("./pkg/qfpay_checkout_bg.wasm", import.meta.url);
  const attempt = {
    url: url.href,
    promise: init({ module_or_path: url }).catch((error) => {
      // Forgotten, so that the next start or mount tries again (the file may be there by then,
      // or be given another URL); the message says how to fix it.
      if (loading === attempt) loading = null;
      throw new Error(
        `${TAG}: cannot load the widget's wasm from ${url} (${error?.message ?? error}); ` +
          "serve qfpay_checkout_bg.wasm and give its URL in the `wasm` attribute or the `wasmUrl` option",
      );
    }),
  };
  loading = attempt;
  return attempt.promise;
}

/** The worker's origin when this script is the worker's own loader; otherwise null. */
function defaultEndpoint() {
  const here = new URL(import.meta.url);
  return /^https?:$/.test(here.protocol) && here.pathname === "/qfpay-checkout.js" ? here.origin : null;
}

/**
 * Starts the session's first request (`GET /v1/checkout/{id}`, as the widget would send it)
 * now, so that it travels while the wasm downloads and compiles rather than after: on a mobile
 * network that is a whole round trip saved. Returns the pending `fetch`, or undefined when an
 * option is missing (then the widget asks itself, and says what is missing).
 */
function prefetch(endpoint, session, secret) {
  if (!endpoint || !session || !secret || typeof fetch !== "function") return undefined;
  try {
    const url = `${endpoint.replace(/\/+$/, "")}/v1/checkout/${session}`;
    const pending = fetch(url, { headers: { Authorization: `Bearer ${secret}` }, signal: AbortSignal.timeout(10000) });
    // Handled here too, so a request whose widget never mounts (stopped meanwhile) is no
    // unhandled rejection; the widget reads the same promise's outcome.
    pending.catch(() => {});
    return pending;
  } catch {
    return undefined; // An older browser (no AbortSignal.timeout): the widget asks itself.
  }
}

/** The `texts` attribute as an object, or undefined (with a console error) when it is not one. */
function parseTexts(text) {
  if (text === null || text.trim() === "") return undefined;
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    console.error(`${TAG}: the \`texts\` attribute is not valid JSON (${error.message}); it is ignored`);
    return undefined;
  }
  if (value && typeof value === "object" && !Array.isArray(value)) return value;
  console.error(`${TAG}: the \`texts\` attribute must be a JSON object of message key to text, such as {"key": "text"}; it is ignored`);
  return undefined;
}

/**
 * Mounts the widget into `element` with `{endpoint, session, secret, locale?, texts?, wasmUrl?}`;
 * resolves to a handle whose destroy() stops it. Rejects with an error naming a missing option,
 * or saying that there is no DOM (called during server-side rendering rather than in an effect).
 */
export async function mount(element, options) {
  if (typeof document === "undefined" || typeof HTMLElement === "undefined") {
    throw new Error(`${TAG}: mount() needs a browser's DOM; call it in the browser (e.g. in an effect), not during server-side rendering`);
  }
  const early = prefetch(options?.endpoint, options?.session, options?.secret);
  await load(options?.wasmUrl);
  return mountWasm(element, { ...options, prefetch: early });
}

/** `texts` as one string, to tell whether a new value is the one the widget already has. */
function textsKey(value) {
  try {
    return JSON.stringify(value ?? null);
  } catch {
    return Symbol("unserialisable"); // A cycle: never equal, so it is passed on and reported.
  }
}

/** The element's class; a function, because `HTMLElement` exists only in a browser. */
function defineElement() {
  class QfpayCheckout extends HTMLElement {
    static observedAttributes = ["session", "secret", "endpoint", "locale", "texts", "wasm"];
    #handle = null;
    /** `texts` given as an object through the property (React 19 sets properties it finds). */
    #texts = undefined;
    /** Bumped on every start and stop, so a start that waited for the wasm knows it is stale. */
    #run = 0;

    connectedCallback() {
      // A framework may have set `texts` before this class was defined: take it over.
      if (Object.hasOwn(this, "texts")) {
        const value = this.texts;
        delete this.texts;
        if (typeof value === "string") this.setAttribute("texts", value);
        else this.#texts = value ?? undefined;
      }
      // Moved (removed and put back in the same task): the widget on screen carries on.
      if (this.#handle) return;
      this.#start();
    }
    disconnectedCallback() {
      // Stopped a microtask later, unless the element is back by then: a move is not an end.
      queueMicrotask(() => {
        if (!this.isConnected) this.#stop();
      });
    }
    attributeChangedCallback(_name, old, value) {
      if (old === value) return;
      this.#restart();
    }

    /** An object of message key to text, or its JSON; the attribute's value when set as text. */
    get texts() { return this.#texts ?? this.getAttribute("texts") ?? undefined; }
    set texts(value) {
      if (typeof value === "string") {
        const hadObject = this.#texts !== undefined;
        this.#texts = undefined;
        // The same text as the attribute: no attribute change, so restart here if an object went.
        if (this.getAttribute("texts") === value) { if (hadObject) this.#restart(); }
        else this.setAttribute("texts", value);
        return;
      }
      // React 19 sets the property on every render of an inline object: equal words, no restart.
      if (textsKey(value) === textsKey(this.#texts)) return;
      this.#texts = value ?? undefined;
      this.#restart();
    }

    #restart() {
      if (this.isConnected) { this.#stop(); this.#start(); }
    }

    #stop() {
      this.#run += 1;
      if (this.#handle) { this.#handle.destroy(); this.#handle = null; }
    }

    async #start() {
      const run = ++this.#run;
      // One microtask: a script that appends the element and then sets its attributes has set them.
      await null;
      if (run !== this.#run) return;
      const attr = (name) => this.getAttribute(name);
      const early = prefetch(attr("endpoint") || defaultEndpoint(), attr("session"), attr("secret"));
      try {
        await load(this.getAttribute("wasm"));
      } catch (error) {
        console.error(error.message);
        return;
      }
      if (run !== this.#run || !this.isConnected || this.#handle) return;
      const options = this.#options();
      if (!options) return;
      try {
        this.#handle = mountWasm(this, { ...options, prefetch: early });
      } catch (error) {
        console.error(`${TAG}: ${error?.message ?? error}`);
      }
    }

    /** The options from the attributes, or null after a console error naming what is missing. */
    #options() {
      const missing = ["session", "secret"].filter((name) => !this.getAttribute(name));
      const endpoint = this.getAttribute("endpoint") || defaultEndpoint();
      if (!endpoint) missing.push("endpoint");
      if (missing.length) {
        const why = endpoint ? "" : " (`endpoint`, the worker's origin, is needed wherever the script is not the worker's own /qfpay-checkout.js, such as a bundled page)";
        console.error(`${TAG}: missing the ${missing.map((m) => `\`${m}\``).join(", ")} attribute${missing.length > 1 ? "s" : ""}${why}; nothing is shown`);
        return null;
      }
      return {
        endpoint,
        session: this.getAttribute("session"),
        secret: this.getAttribute("secret"),
        locale: this.getAttribute("locale") || undefined,
        texts: this.#texts ?? parseTexts(this.getAttribute("texts")),
      };
    }
  }
  return QfpayCheckout;
}

if (typeof HTMLElement !== "undefined" && globalThis.customElements && !customElements.get(TAG)) {
  customElements.define(TAG, defineElement());
}
