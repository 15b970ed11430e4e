-- Accounts, login sessions and their refresh-token chains.

CREATE TABLE users (
    id            UUID        NOT NULL PRIMARY KEY,
    email         TEXT        NOT NULL,
    name          TEXT        NOT NULL,
    password_hash TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE sessions (
    id           UUID        NOT NULL PRIMARY KEY,
    user_id      UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    user_agent   TEXT,
    ip           TEXT,
    revoked_at   TIMESTAMPTZ
);

-- Listing a user's sessions pages through them by id.
CREATE INDEX sessions_user_id_id_idx ON sessions (user_id, id);

CREATE TABLE refresh_tokens (
    token_hash TEXT        NOT NULL PRIMARY KEY,
    session_id UUID        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

-- Serves the foreign key: deleting a session finds its tokens without a scan.
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
