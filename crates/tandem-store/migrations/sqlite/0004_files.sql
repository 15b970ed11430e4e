-- Files in workspaces, their collaborative documents (a snapshot plus the updates after
-- it) and saved versions. Ids are hyphenated UUID text and times fixed-width UTC text.

CREATE TABLE files (
    id              TEXT    NOT NULL PRIMARY KEY,
    workspace_id    TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    -- BINARY collation (the default) orders paths byte by byte.
    path            TEXT    NOT NULL,
    created_by      TEXT    NOT NULL REFERENCES users (id),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    -- The seq of the document's newest update: 1, 2, 3… with no gaps.
    last_update_seq INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT files_workspace_id_path_key UNIQUE (workspace_id, path)
);

CREATE TABLE document_snapshots (
    file_id    TEXT    NOT NULL PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
    state      BLOB    NOT NULL,
    -- Every update up to this seq is folded into `state`.
    upto_seq   INTEGER NOT NULL,
    updated_at TEXT    NOT NULL
);

CREATE TABLE document_updates (
    file_id    TEXT    NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (file_id, seq)
);

CREATE TABLE file_versions (
    id         TEXT NOT NULL PRIMARY KEY,
    file_id    TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('named', 'auto')),
    name       TEXT,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    state      BLOB NOT NULL
);

-- A file's versions, newest first.
CREATE INDEX file_versions_file_id_idx ON file_versions (file_id, id);
-- Deleting a user finds the versions they saved.
CREATE INDEX file_versions_created_by_idx ON file_versions (created_by);
-- Files a user created (a user cannot be deleted while they have some).
CREATE INDEX files_created_by_idx ON files (created_by);
