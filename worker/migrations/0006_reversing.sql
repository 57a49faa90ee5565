-- When a reversal of an attempt's order was sent and its answer is not in yet. News of the
-- order's payment meanwhile may be the very payment the reversal undoes (the two cross at the
-- gateway), so it is checked by a query after the reversal's answer instead of taken at once.
ALTER TABLE attempts ADD COLUMN reversing_since INTEGER;
