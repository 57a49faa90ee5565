# A webhook receiver in Python 3 (standard library only): it verifies the Standard Webhooks
# signature over the raw body, handles each event once, and answers 2xx quickly. Every event
# that moves money has a case: copy it whole.
# Run: WEBHOOK_SECRET=whsec_... PORT=9000 python3 examples/python/webhooks.py
import base64, hashlib, hmac, json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = base64.b64decode(os.environ["WEBHOOK_SECRET"].removeprefix("whsec_"))
PORT = int(os.environ.get("PORT", "9000"))
seen = set()  # event ids handled: your database, in the same transaction as the effect


def shop(action):
    """What the shop does; here each prints one line. The session's reference is your order."""
    def act(event):
        line = {"action": action, "type": event["type"], "reference": event["data"]["session"]["reference"], "id": event["id"]}
        print(json.dumps(line, separators=(",", ":")), flush=True)
    return act


HANDLERS = {
    "checkout.session.paid": shop("fulfil"),
    # Paid after the session was closed or expired: the money arrived, so fulfil it as paid
    # (or, if you no longer can, refund it: POST /v1/sessions/{id}/refunds). Never drop it.
    "checkout.session.late_payment": shop("fulfil"),
    "checkout.session.expired": shop("release"),  # unpaid and over: free the stock
    "checkout.session.closed": shop("release"),
    "refund.succeeded": shop("refunded"),  # event["data"]["refund"]["amount"] went back
    "refund.failed": shop("refund_failed"),  # nothing went back: refund again or tell a person
    "refund.unresolved": shop("refund_unresolved"),  # no final word in 3 days: check with QFPay
    "payment.duplicate": shop("duplicate"),  # a second payment: refunded for you by default
    "payment.duplicate_refunded": shop("duplicate_refunded"),
    "payment.held": shop("held"),  # the wrong amount or currency: not paid; check with QFPay
    "payment.reversed": shop("reversed"),  # the money went back to the shopper: do not ship
}


# readme:begin python-verify
def verified(headers, body):
    msg_id, timestamp, signatures = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures) or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > 300:  # a replay
        return False
    expected = hmac.new(SECRET, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        try:
            given = base64.b64decode(signature, validate=True)
        except ValueError:
            continue
        if version == "v1" and hmac.compare_digest(given, expected):
            return True
    return False
# readme:end


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))  # the raw bytes
        if not verified(self.headers, body):
            self.send_response(400)
            self.end_headers()
            return
        event = json.loads(body)
        if event["id"] not in seen:
            HANDLERS.get(event["type"], shop("unhandled"))(event)  # a new type: read it in GET /v1/events
            seen.add(event["id"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


print(f"webhooks on http://127.0.0.1:{PORT}/", file=sys.stderr, flush=True)
HTTPServer(("127.0.0.1", PORT), Receiver).serve_forever()
