-- QFPay never takes an out_trade_no twice, refused requests included: a refund refused in the
-- nightly window (1265) is sent again under a new number. Its earlier numbers stay here, so a
-- late notification or query row for one still finds the refund.
CREATE TABLE refund_numbers (
  out_trade_no TEXT PRIMARY KEY,
  refund_id TEXT NOT NULL
);
-- 1 while a send under the refund's current number got no answer: the gateway may have acted on
-- it, so the number is kept (a new one could refund twice) until a query settles it.
ALTER TABLE refunds ADD COLUMN number_unsure INTEGER NOT NULL DEFAULT 0;
-- How many times it was renumbered after the nightly window (capped).
ALTER TABLE refunds ADD COLUMN renumbered INTEGER NOT NULL DEFAULT 0;
-- GET /v1/notifications reads the newest first.
CREATE INDEX notifications_by_received ON notifications(received_at);
