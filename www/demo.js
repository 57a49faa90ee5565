// The demo shop: "Buy" asks the worker's demo-only route for a session (a real shop's server
// would call POST /v1/sessions with its merchant key) and shows <qfpay-checkout>.
import "./qfpay-checkout.js";

const slot = document.getElementById("checkout");
const buy = document.getElementById("buy");
const log = document.getElementById("events");

function show(id, secret) {
  slot.replaceChildren();
  const widget = document.createElement("qfpay-checkout");
  widget.setAttribute("session", id);
  widget.setAttribute("secret", secret);
  const locale = new URLSearchParams(location.search).get("locale");
  if (locale) widget.setAttribute("locale", locale);
  slot.append(widget);
}

for (const name of ["ready", "select", "qr", "paid", "failed", "expired", "error"]) {
  document.addEventListener(`qfpay:${name}`, (event) => {
    const line = document.createElement("li");
    line.textContent = `qfpay:${name} ${event.detail.status}${event.detail.pay_type ? " " + event.detail.pay_type : ""}`;
    line.dataset.event = name;
    log.append(line);
  });
}

buy.addEventListener("click", async () => {
  buy.disabled = true;
  const response = await fetch("/demo/sessions", { method: "POST" });
  const session = await response.json();
  sessionStorage.setItem(session.id, session.client_secret);
  show(session.id, session.client_secret);
});

// Back from a wallet page (WAP/web pay types return here with ?session=...).
const returning = new URLSearchParams(location.search).get("session");
if (returning && sessionStorage.getItem(returning)) {
  buy.disabled = true;
  show(returning, sessionStorage.getItem(returning));
}

// The strict-CSP page proves the widget needs nothing the policy forbids: any violation is listed.
document.addEventListener("securitypolicyviolation", (event) => {
  const line = document.createElement("li");
  line.textContent = `CSP violation: ${event.violatedDirective} ${event.blockedURI}`;
  line.dataset.event = "csp-violation";
  log.append(line);
});
