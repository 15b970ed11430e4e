-- Keep each document's updates together on disk: a WITHOUT ROWID table is stored in its
-- primary key's order, so a batch appends to one place per document, loading a document
-- reads a contiguous range and compaction deletes one. In a rowid table every update
-- landed wherever the table ended, interleaved with every other document's, and the
-- separate key index added a page per document to every commit.
CREATE TABLE document_updates_clustered (
    file_id    TEXT    NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (file_id, seq)
) WITHOUT ROWID;

INSERT INTO document_updates_clustered (file_id, seq, data, created_at)
SELECT file_id, seq, data, created_at FROM document_updates;

DROP TABLE document_updates;

ALTER TABLE document_updates_clustered RENAME TO document_updates;
