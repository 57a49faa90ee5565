#!/usr/bin/env bash
# The merchant API from a shell: create a session, read it, close it, read the events.
# Run: W=http://127.0.0.1:8787 KEY=sk_dev_local_key_for_development_only bash examples/curl.sh
set -euo pipefail
W=${W:-http://127.0.0.1:8787}
KEY=${KEY:-sk_dev_local_key_for_development_only}
ORDER="order-$(date +%s%N)"

# Create a session (amounts in minor units: 3800 = HK$38.00). The same Idempotency-Key answers
# the same session for 24 h, so a retry after a lost answer is safe.
# readme:begin curl-session
session=$(curl -sS --fail-with-body -X POST "$W/v1/sessions" \
  -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" -H "Idempotency-Key: $ORDER" \
  -d '{"amount": 3800, "currency": "HKD", "goods_name": "Milk tea set", "reference": "'"$ORDER"'",
       "return_url": "https://shop.example/checkout?session={CHECKOUT_SESSION_ID}"}')
# readme:end
id=$(jq -r .id <<<"$session")
echo "created $id; give the page only id and client_secret: $(jq -r .client_secret <<<"$session" | cut -c1-12)..."

# Read it, with its payment attempts and refunds.
curl -sS --fail-with-body "$W/v1/sessions/$id" -H "Authorization: Bearer $KEY" | jq -c '{id, status, amount, return_url}'

# Close it unpaid: "closed", or "closing" while the gateway confirms (checkout.session.closed follows).
curl -sS --fail-with-body -X POST "$W/v1/sessions/$id/close" -H "Authorization: Bearer $KEY" | jq -c '{id, status}'

# The five newest events, oldest first (the same events your webhook receiver gets).
curl -sS --fail-with-body "$W/v1/events?latest=true&limit=5" -H "Authorization: Bearer $KEY" | jq -c '.data[] | {id, type}'
