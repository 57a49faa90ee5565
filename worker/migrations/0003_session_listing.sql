-- GET /v1/sessions: pages in (created_at, id) order, optionally within a created-time range,
-- each served by an index rather than a table scan: the order and time range alone by
-- sessions_by_created, a reference by sessions_by_reference, a status by sessions_by_status_created
-- (0002's sessions_by_status orders by expires_at, for the settler, not by created_at).
CREATE INDEX sessions_by_created ON sessions(created_at, id);
CREATE INDEX sessions_by_reference ON sessions(reference, created_at, id);
CREATE INDEX sessions_by_status_created ON sessions(status, created_at, id);
