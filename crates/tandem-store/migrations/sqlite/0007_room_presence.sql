-- When each user was last present in a chat room, as the realtime gateway reports it
-- (the room's channel, like workspace_last_seen for a workspace's).

CREATE TABLE room_last_seen (
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

-- Deleting a user finds its rows by user id.
CREATE INDEX room_last_seen_user_id_idx ON room_last_seen (user_id);
