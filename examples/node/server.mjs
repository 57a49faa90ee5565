// A shop's server in Node (18 or newer, no packages): it creates a checkout session for an order
// (the amount is decided here, never in the browser) and serves the page that embeds the widget.
// Run: QFPAY_WORKER_URL=http://127.0.0.1:8787 MERCHANT_API_KEY=sk_... node examples/node/server.mjs
import http from "node:http";
import { readFile } from "node:fs/promises";

// readme:begin node-session
const WORKER = process.env.QFPAY_WORKER_URL ?? "http://127.0.0.1:8787";
const KEY = process.env.MERCHANT_API_KEY ?? "sk_dev_local_key_for_development_only";
const PORT = Number(process.env.PORT ?? 3000);
const SHOP = process.env.SHOP_URL ?? `http://localhost:${PORT}`;
const secrets = new Map(); // session id -> client secret: your orders table in production

async function createSession() {
  const reference = `order-${Date.now()}`; // your order's number
  const res = await fetch(`${WORKER}/v1/sessions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json", "Idempotency-Key": reference },
    body: JSON.stringify({
      amount: 3800, // minor units: HK$38.00
      currency: "HKD",
      goods_name: "Milk tea set",
      reference,
      // Phones pay on the wallet's page and come back here; the worker fills in the id.
      return_url: `${SHOP}/?session={CHECKOUT_SESSION_ID}`,
    }),
  });
  const body = await res.json();
  if (!res.ok) {
    const { code, message } = body.error;
    throw new Error(`${res.status} ${code}: ${message} (Request-Id ${res.headers.get("request-id")})`);
  }
  secrets.set(body.id, body.client_secret);
  return { endpoint: WORKER, session: body.id, secret: body.client_secret };
}
// readme:end

const page = async () => (await readFile(new URL("../shop/page.html", import.meta.url), "utf8")).replaceAll("{{WORKER}}", WORKER);
const script = () => readFile(new URL("../shop/page.js", import.meta.url));

http
  .createServer(async (req, res) => {
    const send = (status, type, body) => res.writeHead(status, { "Content-Type": type }).end(body);
    const json = (status, value) => send(status, "application/json", JSON.stringify(value));
    const path = new URL(req.url, SHOP).pathname;
    try {
      if (req.method === "GET" && path === "/") return send(200, "text/html; charset=utf-8", await page());
      if (req.method === "GET" && path === "/page.js") return send(200, "text/javascript", await script());
      // A new order: the page asks for a session to pay it.
      if (req.method === "POST" && path === "/checkout") return json(201, await createSession());
      // Back from the wallet's page: the page asks for its session's secret again.
      const back = path.match(/^\/checkout\/(cs_[a-z0-9]+)$/);
      if (req.method === "GET" && back && secrets.has(back[1])) {
        return json(200, { endpoint: WORKER, session: back[1], secret: secrets.get(back[1]) });
      }
      json(404, { error: "not found" });
    } catch (error) {
      console.error(error.message);
      json(502, { error: "the checkout could not be created" });
    }
  })
  .listen(PORT, "127.0.0.1", () => console.log(`shop on ${SHOP}`));
