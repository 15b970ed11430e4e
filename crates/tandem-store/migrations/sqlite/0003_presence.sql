-- When each user was last present in a workspace, as the realtime gateway reports it.
-- Ids are hyphenated UUID text and times fixed-width UTC text (see src/sqlite/mod.rs).

CREATE TABLE workspace_last_seen (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seen_at      TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

-- Deleting a user finds its rows by user id.
CREATE INDEX workspace_last_seen_user_id_idx ON workspace_last_seen (user_id);
