-- Each live table's rows live in a row table of their own (`tr_<table id as hex>`),
-- which the store creates and drops with the table (see src/rows/layout.rs); this is
-- the history of those rows' changes. Creation is no entry: the row's own columns
-- tell it. Ids are hyphenated UUID text and times fixed-width UTC text.

CREATE TABLE table_row_history (
    table_id TEXT    NOT NULL REFERENCES live_tables (id) ON DELETE CASCADE,
    row_id   TEXT    NOT NULL,
    -- The version the row reached with this change.
    version  INTEGER NOT NULL,
    action   TEXT    NOT NULL CHECK (action IN ('updated', 'trashed', 'restored')),
    actor    TEXT    NOT NULL,
    at       TEXT    NOT NULL,
    -- JSON text: {"<field id>": [before, after], ...}, the cells' API JSON; {} when
    -- trashed or restored.
    changes  TEXT    NOT NULL,
    PRIMARY KEY (table_id, row_id, version)
) WITHOUT ROWID;
