-- Accounts, tokens, throttling, relations, tasks, comments, outbox and job claims.
-- Times are UNIX seconds (UTC) as DOUBLE PRECISION, bound from the application clock.

CREATE TABLE users (
    id                            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                          TEXT NOT NULL,
    username                      TEXT NOT NULL,
    email                         TEXT NOT NULL,
    password_hash                 TEXT NOT NULL,
    registration_date             DOUBLE PRECISION NOT NULL,
    terms_and_conditions_checked  BOOLEAN NOT NULL,
    is_admin                      BOOLEAN NOT NULL DEFAULT FALSE,
    is_email_verified             BOOLEAN NOT NULL DEFAULT FALSE,
    email_verification_date       DOUBLE PRECISION,
    bio                           TEXT,
    location                      TEXT,
    occupation                    TEXT,
    organization                  TEXT,
    slack_username                TEXT,
    social_media_links            TEXT,
    skills                        TEXT,
    interests                     TEXT,
    resume_url                    TEXT,
    photo_url                     TEXT,
    need_mentoring                BOOLEAN NOT NULL DEFAULT FALSE,
    available_to_mentor           BOOLEAN NOT NULL DEFAULT FALSE
);
-- Usernames and e-mails are unique case-insensitively (anchor-api deviation 6).
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE INDEX users_unverified_idx ON users (registration_date) WHERE NOT is_email_verified;
CREATE INDEX users_admin_idx ON users (id) WHERE is_admin;

-- One-time tokens sent by e-mail (verification, password reset): only their SHA-256 is stored,
-- and a user has at most one live token per purpose, so a new one invalidates the old.
CREATE TABLE email_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL,
    used_at     DOUBLE PRECISION
);
CREATE UNIQUE INDEX email_tokens_user_purpose_key ON email_tokens (user_id, purpose);

-- Refresh tokens are rotated on every use; each login starts a family, and reusing a rotated
-- token revokes the whole family.
CREATE TABLE refresh_families (
    id          TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  DOUBLE PRECISION NOT NULL,
    revoked_at  DOUBLE PRECISION
);
CREATE INDEX refresh_families_user_idx ON refresh_families (user_id);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL,
    used_at     DOUBLE PRECISION
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Failed logins, kept in the database so that every instance throttles alike.
CREATE TABLE login_failures (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login_key     TEXT NOT NULL,
    client_ip     TEXT NOT NULL,
    user_id       BIGINT REFERENCES users (id) ON DELETE CASCADE,
    attempted_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX login_failures_login_ip_idx ON login_failures (login_key, client_ip, attempted_at);
CREATE INDEX login_failures_user_idx ON login_failures (user_id, attempted_at);
CREATE INDEX login_failures_time_idx ON login_failures (attempted_at);

-- A deleted party becomes NULL so that the other party's history stays readable.
-- action_user_id records who sent the request; it is history, not a reference.
CREATE TABLE mentorship_relations (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mentor_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    mentee_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    action_user_id  BIGINT NOT NULL,
    creation_date   DOUBLE PRECISION NOT NULL,
    accept_date     DOUBLE PRECISION,
    start_date      DOUBLE PRECISION,
    end_date        DOUBLE PRECISION NOT NULL,
    state           BIGINT NOT NULL CHECK (state BETWEEN 1 AND 5),
    notes           TEXT NOT NULL,
    next_task_id    BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX mentorship_relations_mentor_idx ON mentorship_relations (mentor_id, state);
CREATE INDEX mentorship_relations_mentee_idx ON mentorship_relations (mentee_id, state);
CREATE INDEX mentorship_relations_due_idx ON mentorship_relations (end_date) WHERE state = 2;
-- No two PENDING requests between the same two users, in either direction.
CREATE UNIQUE INDEX mentorship_relations_pending_pair_key ON mentorship_relations
    (LEAST(mentor_id, mentee_id), GREATEST(mentor_id, mentee_id)) WHERE state = 1;

-- A user is in at most one ACCEPTED relation: accepting inserts a row per party.
CREATE TABLE current_relations (
    user_id      BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    relation_id  BIGINT NOT NULL REFERENCES mentorship_relations (id) ON DELETE CASCADE
);
CREATE INDEX current_relations_relation_idx ON current_relations (relation_id);

-- Task ids are per relation and come from mentorship_relations.next_task_id: never reused.
CREATE TABLE tasks (
    relation_id   BIGINT NOT NULL REFERENCES mentorship_relations (id) ON DELETE CASCADE,
    id            BIGINT NOT NULL,
    description   TEXT NOT NULL,
    is_done       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    DOUBLE PRECISION NOT NULL,
    completed_at  DOUBLE PRECISION,
    PRIMARY KEY (relation_id, id)
);
CREATE INDEX tasks_done_idx ON tasks (relation_id, completed_at) WHERE is_done;

-- Comments keep their author's id as history (the author may delete their account).
CREATE TABLE task_comments (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            BIGINT NOT NULL,
    relation_id        BIGINT NOT NULL REFERENCES mentorship_relations (id) ON DELETE CASCADE,
    task_id            BIGINT NOT NULL,
    creation_date      DOUBLE PRECISION NOT NULL,
    modification_date  DOUBLE PRECISION,
    comment            TEXT NOT NULL
);
CREATE INDEX task_comments_task_idx ON task_comments (relation_id, task_id, id);

-- Mail is queued in the same transaction as the change it reports, then delivered by a worker.
CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    template         TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    body_html        TEXT NOT NULL,
    calendar         TEXT,
    created_at       DOUBLE PRECISION NOT NULL,
    next_attempt_at  DOUBLE PRECISION NOT NULL,
    claimed_until    DOUBLE PRECISION,
    attempts         BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT,
    sent_at          DOUBLE PRECISION
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL;

-- A scheduled tick runs on the one instance whose insert of (job, tick) succeeded.
CREATE TABLE job_runs (
    job          TEXT NOT NULL,
    tick         DOUBLE PRECISION NOT NULL,
    started_at   DOUBLE PRECISION NOT NULL,
    finished_at  DOUBLE PRECISION,
    affected     BIGINT,
    PRIMARY KEY (job, tick)
);
