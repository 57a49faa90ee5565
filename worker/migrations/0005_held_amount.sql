-- A payment held because the gateway reported another amount than the session's keeps that
-- amount, so the merchant can refund it through the API (up to what was taken).
ALTER TABLE attempts ADD COLUMN held_txamt INTEGER;
