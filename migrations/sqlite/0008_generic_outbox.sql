-- The outbox carries messages of any kind (mail today; webhooks or exports later): a kind that
-- names the handler, and a JSON payload that handler reads. Queued mail keeps its content.
CREATE TABLE outbox_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       REAL NOT NULL,
    next_attempt_at  REAL NOT NULL,
    claimed_until    REAL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    sent_at          REAL
);
INSERT INTO outbox_new (id, kind, payload, created_at, next_attempt_at, claimed_until, attempts,
        last_error, sent_at)
    SELECT id, 'mail',
           json_object('template', template, 'recipient', recipient, 'subject', subject,
                       'text', body_text, 'html', body_html, 'calendar', calendar),
           created_at, next_attempt_at, claimed_until, attempts, last_error, sent_at
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE sent_at IS NULL;
