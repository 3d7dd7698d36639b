-- Audit events committed with their change but not chained yet (see the PostgreSQL migration).
-- SQLite's writers are serialized anyway, so a change chains its events in its own
-- transaction and this table stays empty; it exists so both databases have one schema.
CREATE TABLE audit_pending (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          REAL NOT NULL,
    actor_id    INTEGER,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    request_id  TEXT,
    detail      TEXT,
    client      TEXT
);
