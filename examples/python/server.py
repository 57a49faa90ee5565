# A shop's server in Python 3 (standard library only): it creates a checkout session for an order
# (the amount is decided here, never in the browser) and serves the page that embeds the widget.
# Run: QFPAY_WORKER_URL=http://127.0.0.1:8787 MERCHANT_API_KEY=sk_... python3 examples/python/server.py
import json, os, re, sys, time, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WORKER = os.environ.get("QFPAY_WORKER_URL", "http://127.0.0.1:8787")
KEY = os.environ.get("MERCHANT_API_KEY", "sk_dev_local_key_for_development_only")
PORT = int(os.environ.get("PORT", "3000"))
SHOP = os.environ.get("SHOP_URL", f"http://localhost:{PORT}")
PAGE = Path(__file__).parent.parent / "shop"
secrets = {}  # session id -> client secret: your orders table in production


# readme:begin python-session
def create_session():
    reference = f"order-{time.time_ns()}"  # your order's number
    body = {
        "amount": 3800,  # minor units: HK$38.00
        "currency": "HKD",
        "goods_name": "Milk tea set",
        "reference": reference,
        # Phones pay on the wallet's page and come back here; the worker fills in the id.
        "return_url": f"{SHOP}/?session={{CHECKOUT_SESSION_ID}}",
    }
    request = urllib.request.Request(
        f"{WORKER}/v1/sessions",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", "Idempotency-Key": reference},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            session = json.load(answer)
    except urllib.error.HTTPError as e:
        error = json.load(e)["error"]
        raise RuntimeError(f"{e.code} {error['code']}: {error['message']} (Request-Id {e.headers['Request-Id']})")
    secrets[session["id"]] = session["client_secret"]
    return {"endpoint": WORKER, "session": session["id"], "secret": session["client_secret"]}
# readme:end


class Shop(BaseHTTPRequestHandler):
    def send(self, status, kind, body):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def json(self, status, value):
        self.send(status, "application/json", json.dumps(value).encode())

    def do_GET(self):
        path = self.path.split("?")[0]
        back = re.fullmatch(r"/checkout/(cs_[a-z0-9]+)", path)
        if path == "/":
            page = (PAGE / "page.html").read_text().replace("{{WORKER}}", WORKER)
            self.send(200, "text/html; charset=utf-8", page.encode())
        elif path == "/page.js":
            self.send(200, "text/javascript", (PAGE / "page.js").read_bytes())
        elif back and back[1] in secrets:
            # Back from the wallet's page: the page asks for its session's secret again.
            self.json(200, {"endpoint": WORKER, "session": back[1], "secret": secrets[back[1]]})
        else:
            self.json(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/checkout":  # a new order: the page asks for a session to pay it
            return self.json(404, {"error": "not found"})
        try:
            self.json(201, create_session())
        except (RuntimeError, OSError) as e:
            print(e, file=sys.stderr, flush=True)
            self.json(502, {"error": "the checkout could not be created"})

    def log_message(self, *args):
        pass


print(f"shop on {SHOP}", flush=True)
ThreadingHTTPServer(("127.0.0.1", PORT), Shop).serve_forever()
