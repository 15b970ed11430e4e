-- Chat: rooms in projects, their members with read markers and counters, messages with a
-- per-room seq, mentions, reactions, invite tokens, and full-text search (tsvector).

CREATE TABLE rooms (
    id               UUID        NOT NULL PRIMARY KEY,
    project_id       UUID        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name             TEXT        NOT NULL,
    topic            TEXT        NOT NULL DEFAULT '',
    visibility       TEXT        NOT NULL CHECK (visibility IN ('public', 'private')),
    viewers_can_post BOOLEAN     NOT NULL DEFAULT FALSE,
    created_by       UUID        REFERENCES users (id) ON DELETE SET NULL,
    archived_at      TIMESTAMPTZ,
    -- The newest message's seq: 1, 2, 3… with no gaps. Posting takes this row's lock,
    -- so seqs are also in commit order.
    last_seq         BIGINT      NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX rooms_project_id_idx ON rooms (project_id, id);
CREATE INDEX rooms_created_by_idx ON rooms (created_by);

CREATE TABLE room_members (
    room_id       UUID        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id       UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at     TIMESTAMPTZ NOT NULL,
    -- The highest seq read; only moves forward.
    read_seq      BIGINT      NOT NULL DEFAULT 0,
    -- Kept at send time and recounted when the marker moves, so listing rooms with
    -- unread counts never counts messages.
    unread_count  BIGINT      NOT NULL DEFAULT 0,
    mention_count BIGINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);
-- A user's rooms.
CREATE INDEX room_members_user_id_idx ON room_members (user_id, room_id);

CREATE TABLE messages (
    id         UUID        NOT NULL UNIQUE,
    room_id    UUID        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq        BIGINT      NOT NULL,
    author_id  UUID        REFERENCES users (id) ON DELETE SET NULL,
    body       TEXT        NOT NULL,
    reply_to   UUID,
    client_id  TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    edited_at  TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,
    search     TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED,
    -- History pages are ranges of (room, seq): the primary key is that range.
    PRIMARY KEY (room_id, seq)
);
-- One message per sender and client id in a room: a retried send finds the first.
CREATE UNIQUE INDEX messages_client_id_key ON messages (room_id, author_id, client_id)
    WHERE client_id IS NOT NULL;
CREATE INDEX messages_author_id_idx ON messages (author_id);
CREATE INDEX messages_search_idx ON messages USING GIN (search);

CREATE TABLE message_mentions (
    room_id UUID   NOT NULL,
    seq     BIGINT NOT NULL,
    user_id UUID   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (room_id, user_id, seq),
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);

CREATE TABLE message_reactions (
    message_id UUID        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

CREATE TABLE room_invites (
    id         UUID        NOT NULL PRIMARY KEY,
    room_id    UUID        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    token_hash TEXT        NOT NULL UNIQUE,
    created_by UUID        REFERENCES users (id) ON DELETE SET NULL,
    -- NULL: any number of uses.
    max_uses   INTEGER,
    uses       INTEGER     NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX room_invites_room_id_idx ON room_invites (room_id);
