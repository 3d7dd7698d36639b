-- Audit events committed with their change but not chained yet. On PostgreSQL a change inserts
-- its events here, without taking the head of the chain, so changes commit in parallel; right
-- after its commit a short chaining step, under one advisory lock, moves every pending event
-- into `audit_events` in `id` order, giving each its seq and hashes. Normally empty: it holds
-- events only between a commit and its chaining, or those of a process that died in between
-- (chained by the next change, the next start, `audit verify` or the purge-expired job).
CREATE TABLE audit_pending (
    id          BIGSERIAL PRIMARY KEY,
    at          DOUBLE PRECISION NOT NULL,
    actor_id    BIGINT,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    request_id  TEXT,
    detail      TEXT,
    client      TEXT
);
