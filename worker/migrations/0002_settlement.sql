-- Background settlement and merchant events (issue: the worker acts on its own).
-- Every open obligation has a time in a column below; the settler's alarm sweeps what is due.

-- `closing`: over, but not every attempt is confirmed closed at the gateway yet. The reason
-- says where it ends: 'expired' or 'closed'.
ALTER TABLE sessions ADD COLUMN closing_reason TEXT;
CREATE INDEX sessions_by_status ON sessions(status, expires_at);

-- When the settler next queries an open attempt (NULL once it is final), and how closing it at
-- the gateway goes (after the session is over or the attempt's time is up).
ALTER TABLE attempts ADD COLUMN next_check_at INTEGER;
ALTER TABLE attempts ADD COLUMN close_tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN next_close_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX attempts_due ON attempts(next_check_at) WHERE next_check_at IS NOT NULL;
-- Attempts open when this migration runs are taken up by the settler at once.
UPDATE attempts SET next_check_at = created_at WHERE status IN ('creating', 'pending');
CREATE INDEX attempts_open ON attempts(status, expires_at);

-- A pending refund is queried, or re-sent identically (same out_trade_no and txdtm), at
-- next_try_at. `released`: 1 once a failed refund's reserved amount was given back (automatic
-- refunds reserve nothing, so they start at 1).
ALTER TABLE refunds ADD COLUMN txdtm TEXT;
ALTER TABLE refunds ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN next_try_at INTEGER;
ALTER TABLE refunds ADD COLUMN released INTEGER NOT NULL DEFAULT 0;
CREATE INDEX refunds_due ON refunds(next_try_at) WHERE status = 'pending';
-- Refunds pending when this migration runs are queried by the settler at once.
UPDATE refunds SET next_try_at = created_at WHERE status = 'pending';
UPDATE refunds SET released = 1 WHERE automatic = 1;

-- The settler settles idempotency keys stuck in progress; this keeps that sweep cheap.
CREATE INDEX idempotency_in_progress ON idempotency(status, created_at);

-- The outbox: one row per event, written in the same batch as the state change that caused it.
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- the feed's order
  id TEXT NOT NULL UNIQUE,                -- evt_...
  type TEXT NOT NULL,
  session_id TEXT NOT NULL,
  once_key TEXT NOT NULL UNIQUE,          -- one event per cause (a session is paid once, ...)
  payload TEXT NOT NULL,                  -- the JSON body exactly as delivered
  created_at INTEGER NOT NULL,
  delivery TEXT NOT NULL,                 -- pending | delivered | failed | disabled
  tries INTEGER NOT NULL DEFAULT 0,
  next_try_at INTEGER,                    -- NULL unless pending
  delivered_at INTEGER
);
CREATE INDEX events_due ON events(next_try_at) WHERE next_try_at IS NOT NULL;
CREATE INDEX events_by_session ON events(session_id, seq);

-- Every delivery try: when, what the receiver answered (0: nothing), how long it took.
CREATE TABLE deliveries (
  event_id TEXT NOT NULL,
  try INTEGER NOT NULL,
  at INTEGER NOT NULL,
  status INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  error TEXT,
  PRIMARY KEY (event_id, try)
);
