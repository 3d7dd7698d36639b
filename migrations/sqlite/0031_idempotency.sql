-- Idempotency-Key: a member's key is claimed by inserting its row (the primary key makes the
-- claim atomic across instances) before the request runs; the change's own transaction marks
-- it committed; the answer is stored once the handler has finished, and replayed to a retry
-- with the same request. Kept 24 hours (purge-expired).
CREATE TABLE idempotency_keys (
    user_id       INTEGER NOT NULL,
    key           TEXT NOT NULL,
    -- SHA-256 of the method, the path with its query, and the body.
    fingerprint   TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('in_flight', 'committed', 'completed')),
    status        INTEGER,
    content_type  TEXT,
    body          TEXT,
    created_at    REAL NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
