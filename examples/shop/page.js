// The shop's page: "Pay" asks the shop's server for a session and mounts the widget. A shopper
// coming back from a wallet's page lands on /?session=cs_...: the page asks its server for that
// session's secret and mounts the widget again, which follows the payment to its end.
// readme:begin page-js
const mount = ({ endpoint, session, secret }) => {
  const widget = document.createElement("qfpay-checkout");
  widget.setAttribute("endpoint", endpoint);
  widget.setAttribute("session", session);
  widget.setAttribute("secret", secret);
  // For the page only: fulfil the order from the webhook, never from the browser.
  widget.addEventListener("qfpay:paid", () => (document.getElementById("thanks").hidden = false));
  // The widget logs what to check in the console; the shopper sees its error screen.
  widget.addEventListener("qfpay:error", (e) => (document.body.dataset.error = e.detail.code));
  document.getElementById("checkout").replaceChildren(widget);
  document.getElementById("pay").hidden = true;
};

const pay = document.getElementById("pay");
pay.addEventListener("click", async () => {
  pay.disabled = true;
  const res = await fetch("/checkout", { method: "POST" });
  if (res.ok) mount(await res.json());
  pay.disabled = false;
});

const back = new URLSearchParams(location.search).get("session");
if (back) {
  const res = await fetch(`/checkout/${encodeURIComponent(back)}`);
  if (res.ok) mount(await res.json());
}
// readme:end
