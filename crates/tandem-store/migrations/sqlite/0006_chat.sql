-- Chat: rooms in projects, their members with read markers and counters, messages with a
-- per-room seq, mentions, reactions, invite tokens, and full-text search (FTS5).

CREATE TABLE rooms (
    id               TEXT    NOT NULL PRIMARY KEY,
    project_id       TEXT    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    topic            TEXT    NOT NULL DEFAULT '',
    visibility       TEXT    NOT NULL CHECK (visibility IN ('public', 'private')),
    viewers_can_post INTEGER NOT NULL DEFAULT 0,
    created_by       TEXT    REFERENCES users (id) ON DELETE SET NULL,
    archived_at      TEXT,
    -- The newest message's seq: 1, 2, 3… with no gaps.
    last_seq         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);
CREATE INDEX rooms_project_id_idx ON rooms (project_id, id);
CREATE INDEX rooms_created_by_idx ON rooms (created_by);

CREATE TABLE room_members (
    room_id       TEXT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at     TEXT    NOT NULL,
    -- The highest seq read; only moves forward.
    read_seq      INTEGER NOT NULL DEFAULT 0,
    -- Kept at send time and recounted when the marker moves, so listing rooms with
    -- unread counts never counts messages.
    unread_count  INTEGER NOT NULL DEFAULT 0,
    mention_count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);
-- A user's rooms.
CREATE INDEX room_members_user_id_idx ON room_members (user_id, room_id);

CREATE TABLE messages (
    id         TEXT    NOT NULL UNIQUE,
    room_id    TEXT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    author_id  TEXT    REFERENCES users (id) ON DELETE SET NULL,
    body       TEXT    NOT NULL,
    reply_to   TEXT,
    client_id  TEXT,
    created_at TEXT    NOT NULL,
    edited_at  TEXT,
    deleted_at TEXT,
    -- History pages are ranges of (room, seq): the primary key is that range.
    PRIMARY KEY (room_id, seq)
);
-- One message per sender and client id in a room: a retried send finds the first.
CREATE UNIQUE INDEX messages_client_id_key ON messages (room_id, author_id, client_id)
    WHERE client_id IS NOT NULL;
CREATE INDEX messages_author_id_idx ON messages (author_id);

CREATE TABLE message_mentions (
    room_id TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    user_id TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (room_id, user_id, seq),
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);

CREATE TABLE message_reactions (
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

CREATE TABLE room_invites (
    id         TEXT    NOT NULL PRIMARY KEY,
    room_id    TEXT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    token_hash TEXT    NOT NULL UNIQUE,
    created_by TEXT    REFERENCES users (id) ON DELETE SET NULL,
    -- NULL: any number of uses.
    max_uses   INTEGER,
    uses       INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT,
    revoked_at TEXT,
    created_at TEXT    NOT NULL
);
CREATE INDEX room_invites_room_id_idx ON room_invites (room_id);

-- Full-text search over message bodies, kept in step by triggers.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body, content = 'messages', content_rowid = 'rowid', tokenize = 'unicode61'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.rowid, new.body);
END;
