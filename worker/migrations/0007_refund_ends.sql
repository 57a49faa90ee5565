-- Every refund ends. A refund's last send (Unix ms) is written before each send: one the gateway
-- has no record of is ended `failed` only two days after it, when no send of it can still arrive.
ALTER TABLE refunds ADD COLUMN last_sent_at INTEGER;
-- Refunds pending when this runs may have been sent moments ago: counted as sent now.
UPDATE refunds SET last_sent_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000 WHERE status = 'pending';
-- Refunds given up on (`unresolved`) are still asked about daily for a while.
CREATE INDEX refunds_unresolved_due ON refunds(next_try_at) WHERE status = 'unresolved';
