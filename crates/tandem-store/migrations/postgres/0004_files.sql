-- Files in workspaces, their collaborative documents (a snapshot plus the updates after
-- it) and saved versions.

CREATE TABLE files (
    id              UUID        NOT NULL PRIMARY KEY,
    workspace_id    UUID        NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    -- "C" orders paths byte by byte, as SQLite does, whatever the database's locale.
    path            TEXT        NOT NULL COLLATE "C",
    created_by      UUID        NOT NULL REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    -- The seq of the document's newest update: 1, 2, 3… with no gaps. Appending takes
    -- this row's lock, so seqs are also in commit order.
    last_update_seq BIGINT      NOT NULL DEFAULT 0,
    CONSTRAINT files_workspace_id_path_key UNIQUE (workspace_id, path)
);

CREATE TABLE document_snapshots (
    file_id    UUID        NOT NULL PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
    state      BYTEA       NOT NULL,
    -- Every update up to this seq is folded into `state`.
    upto_seq   BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE document_updates (
    file_id    UUID        NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    seq        BIGINT      NOT NULL,
    data       BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (file_id, seq)
);

CREATE TABLE file_versions (
    id         UUID        NOT NULL PRIMARY KEY,
    file_id    UUID        NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    kind       TEXT        NOT NULL CHECK (kind IN ('named', 'auto')),
    name       TEXT,
    created_by UUID        REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    state      BYTEA       NOT NULL
);

-- A file's versions, newest first.
CREATE INDEX file_versions_file_id_idx ON file_versions (file_id, id);
-- Deleting a user finds the versions they saved.
CREATE INDEX file_versions_created_by_idx ON file_versions (created_by);
-- Files a user created (a user cannot be deleted while they have some).
CREATE INDEX files_created_by_idx ON files (created_by);
