-- Live tables' metadata: the tables of a workspace and their typed fields. Each table's
-- rows will live in a table of their own, which a later step adds.
-- Ids are hyphenated UUID text and times fixed-width UTC text (see src/sqlite/mod.rs).

CREATE TABLE live_tables (
    id               TEXT NOT NULL PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    -- The name's lowercase key: names are unique per workspace case-insensitively, with
    -- full Unicode lowercasing, which SQLite's NOCASE (ASCII only) cannot do.
    name_key         TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    -- No foreign key: the store keeps it pointing at one of this table's own fields,
    -- and clears it when that field is deleted.
    primary_field_id TEXT,
    created_by       TEXT NOT NULL REFERENCES users (id),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CONSTRAINT live_tables_workspace_id_name_key_key UNIQUE (workspace_id, name_key)
);

-- A workspace's tables page by id.
CREATE INDEX live_tables_workspace_id_idx ON live_tables (workspace_id, id);
-- Tables a user created (a user cannot be deleted while they have some).
CREATE INDEX live_tables_created_by_idx ON live_tables (created_by);

CREATE TABLE table_fields (
    id         TEXT    NOT NULL PRIMARY KEY,
    table_id   TEXT    NOT NULL REFERENCES live_tables (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL,
    -- The serde JSON form of the field type, as text: {"type": "number", "precision": 2}.
    field_type TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    indexed    INTEGER NOT NULL DEFAULT 0 CHECK (indexed IN (0, 1)),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    CONSTRAINT table_fields_table_id_name_key_key UNIQUE (table_id, name_key)
);

-- A table's fields in display order.
CREATE INDEX table_fields_table_id_position_idx ON table_fields (table_id, position, id);
