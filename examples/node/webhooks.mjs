// A webhook receiver in Node (18 or newer, no packages): it verifies the Standard Webhooks
// signature over the raw body, handles each event once, and answers 2xx quickly. Every event
// that moves money has a case: copy it whole.
// Run: WEBHOOK_SECRET=whsec_... PORT=9000 node examples/node/webhooks.mjs
import http from "node:http";
import crypto from "node:crypto";

const SECRET = Buffer.from(process.env.WEBHOOK_SECRET.replace(/^whsec_/, ""), "base64");
const PORT = Number(process.env.PORT ?? 9000);
const seen = new Set(); // event ids handled: your database, in the same transaction as the effect

// What the shop does; here each prints one line. `session.reference` is your order's number.
// readme:begin node-webhooks
const shop = (action) => (event) =>
  console.log(JSON.stringify({ action, type: event.type, reference: event.data.session.reference, id: event.id }));
const handlers = {
  "checkout.session.paid": shop("fulfil"),
  // Paid after the session was closed or expired: the money arrived, so fulfil it as paid
  // (or, if you no longer can, refund it: POST /v1/sessions/{id}/refunds). Never drop it.
  "checkout.session.late_payment": shop("fulfil"),
  "checkout.session.expired": shop("release"), // unpaid and over: free the stock
  "checkout.session.closed": shop("release"),
  "refund.succeeded": shop("refunded"), // event.data.refund.amount went back
  "refund.failed": shop("refund_failed"), // nothing went back: refund again or tell a person
  "refund.unresolved": shop("refund_unresolved"), // no final word in 3 days: check with QFPay
  "payment.duplicate": shop("duplicate"), // a second payment: refunded for you by default
  "payment.duplicate_refunded": shop("duplicate_refunded"),
  "payment.held": shop("held"), // the wrong amount or currency: not paid; check with QFPay
  "payment.reversed": shop("reversed"), // the money went back to the shopper: do not ship
};

function verified(headers, body) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  if (!id || !timestamp || !headers["webhook-signature"]) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false; // a replay
  const expected = crypto.createHmac("sha256", SECRET).update(`${id}.${timestamp}.`).update(body).digest();
  return headers["webhook-signature"].split(" ").some((candidate) => {
    const [version, signature] = candidate.split(",");
    const given = Buffer.from(signature ?? "", "base64");
    return version === "v1" && given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}
// readme:end

http
  .createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks); // the raw bytes, before any parsing
      if (!verified(req.headers, body)) return res.writeHead(400).end();
      const event = JSON.parse(body);
      if (!seen.has(event.id)) {
        const handle = handlers[event.type] ?? shop("unhandled"); // a new type: read it in GET /v1/events
        handle(event);
        seen.add(event.id);
      }
      res.writeHead(204).end();
    });
  })
  .listen(PORT, "127.0.0.1", () => console.error(`webhooks on http://127.0.0.1:${PORT}/`));
