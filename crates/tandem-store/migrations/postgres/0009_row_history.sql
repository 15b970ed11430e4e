-- Each live table's rows live in a row table of their own (`tr_<table id as hex>`),
-- which the store creates and drops with the table (see src/rows/layout.rs); this is
-- the history of those rows' changes. Creation is no entry: the row's own columns
-- tell it.

CREATE TABLE table_row_history (
    table_id UUID        NOT NULL REFERENCES live_tables (id) ON DELETE CASCADE,
    row_id   UUID        NOT NULL,
    -- The version the row reached with this change.
    version  BIGINT      NOT NULL,
    action   TEXT        NOT NULL CHECK (action IN ('updated', 'trashed', 'restored')),
    actor    UUID        NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    -- {"<field id>": [before, after], ...}, the cells' API JSON; {} when trashed or
    -- restored.
    changes  JSONB       NOT NULL,
    PRIMARY KEY (table_id, row_id, version)
);
