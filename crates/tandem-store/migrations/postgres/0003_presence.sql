-- When each user was last present in a workspace, as the realtime gateway reports it.

CREATE TABLE workspace_last_seen (
    workspace_id UUID        NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seen_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

-- Deleting a user finds its rows by user id.
CREATE INDEX workspace_last_seen_user_id_idx ON workspace_last_seen (user_id);
