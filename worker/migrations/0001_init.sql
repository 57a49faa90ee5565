-- Checkout sessions, payment attempts, refunds, notifications and idempotency records.
-- Times are Unix milliseconds. Amounts are minor units of the session's currency.

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,            -- SHA256 of the client secret; the secret itself is never stored
  status TEXT NOT NULL,                 -- open | paid | expired | closed
  amount INTEGER NOT NULL,
  currency TEXT NOT NULL,
  goods_name TEXT NOT NULL,
  reference TEXT NOT NULL,
  pay_types TEXT NOT NULL,              -- JSON list of the pay types offered
  return_url TEXT,
  metadata TEXT,                        -- JSON object or NULL
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  paid_at INTEGER,
  paid_attempt_id TEXT,                 -- the one attempt that paid the session
  amount_refunded INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE attempts (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  out_trade_no TEXT NOT NULL UNIQUE,
  pay_type TEXT NOT NULL,
  status TEXT NOT NULL,                 -- creating | pending | paid | failed | closed | expired
  syssn TEXT,
  qrcode TEXT,
  redirect_url TEXT,
  respcd TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  paid_at INTEGER,
  last_checked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attempts_by_session ON attempts(session_id, created_at);

CREATE TABLE refunds (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  attempt_id TEXT NOT NULL REFERENCES attempts(id),
  out_trade_no TEXT NOT NULL UNIQUE,
  amount INTEGER NOT NULL,
  reason TEXT,
  status TEXT NOT NULL,                 -- pending | succeeded | failed
  automatic INTEGER NOT NULL DEFAULT 0, -- 1: refund of a second payment of a paid session
  syssn TEXT,
  respcd TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX refunds_by_session ON refunds(session_id, created_at);
CREATE UNIQUE INDEX one_automatic_refund_per_attempt ON refunds(attempt_id) WHERE automatic = 1;

CREATE TABLE notifications (
  syssn TEXT PRIMARY KEY,               -- the gateway's transaction number: a repeat is ignored
  notify_type TEXT NOT NULL,
  out_trade_no TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at INTEGER NOT NULL
);

CREATE TABLE idempotency (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  status INTEGER NOT NULL,              -- 0 while the first request is being processed
  response TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);
