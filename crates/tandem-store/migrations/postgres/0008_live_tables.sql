-- Live tables' metadata: the tables of a workspace and their typed fields. Each table's
-- rows will live in a table of their own, which a later step adds.

CREATE TABLE live_tables (
    id               UUID        NOT NULL PRIMARY KEY,
    workspace_id     UUID        NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name             TEXT        NOT NULL,
    -- The name's lowercase key, computed by the store (full Unicode lowercasing, the
    -- same on both backends whatever the database's locale).
    name_key         TEXT        NOT NULL,
    description      TEXT        NOT NULL DEFAULT '',
    -- No foreign key: the store keeps it pointing at one of this table's own fields,
    -- and clears it when that field is deleted.
    primary_field_id UUID,
    created_by       UUID        NOT NULL REFERENCES users (id),
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT live_tables_workspace_id_name_key_key UNIQUE (workspace_id, name_key)
);

-- A workspace's tables page by id.
CREATE INDEX live_tables_workspace_id_idx ON live_tables (workspace_id, id);
-- Tables a user created (a user cannot be deleted while they have some).
CREATE INDEX live_tables_created_by_idx ON live_tables (created_by);

CREATE TABLE table_fields (
    id         UUID        NOT NULL PRIMARY KEY,
    table_id   UUID        NOT NULL REFERENCES live_tables (id) ON DELETE CASCADE,
    name       TEXT        NOT NULL,
    name_key   TEXT        NOT NULL,
    -- The serde JSON form of the field type: {"type": "number", "precision": 2}.
    field_type JSONB       NOT NULL,
    position   BIGINT      NOT NULL,
    indexed    BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT table_fields_table_id_name_key_key UNIQUE (table_id, name_key)
);

-- A table's fields in display order.
CREATE INDEX table_fields_table_id_position_idx ON table_fields (table_id, position, id);
