-- Accounts, login sessions and their refresh-token chains.
--
-- Ids are hyphenated lower-case UUID text; times are UTC text in exactly one format,
-- `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so comparing the text compares the times.

CREATE TABLE users (
    id            TEXT NOT NULL PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
) STRICT;

CREATE TABLE sessions (
    id           TEXT NOT NULL PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT NOT NULL,
    user_agent   TEXT,
    ip           TEXT,
    revoked_at   TEXT
) STRICT;

-- Listing a user's sessions pages through them by id.
CREATE INDEX sessions_user_id_id_idx ON sessions (user_id, id);

CREATE TABLE refresh_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;

-- Serves the foreign key: deleting a session finds its tokens without a scan.
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
