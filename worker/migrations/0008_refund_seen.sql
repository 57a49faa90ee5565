-- 1 once the gateway said it has the refund (an "in progress" answer or row): a later answer
-- with no row of it is then never taken as "no record", whatever code came since.
ALTER TABLE refunds ADD COLUMN gateway_had INTEGER NOT NULL DEFAULT 0;
UPDATE refunds SET gateway_had = 1 WHERE respcd IN ('1143', '1145');
-- Any refund already given up on is asked about from now on.
UPDATE refunds SET next_try_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
  WHERE status = 'unresolved' AND next_try_at IS NULL;
