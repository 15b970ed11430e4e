-- Projects, their members, invitations, workspaces, and the audit log.
-- Ids are hyphenated UUID text and times fixed-width UTC text (see src/sqlite/mod.rs).

CREATE TABLE projects (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE members (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    joined_at  TEXT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

-- Exactly one owner per project: a second one cannot be written, even by a bug.
CREATE UNIQUE INDEX members_one_owner_idx ON members (project_id) WHERE role = 'owner';
-- "My projects" pages through a user's memberships by project id.
CREATE INDEX members_user_id_idx ON members (user_id, project_id);

CREATE TABLE invitations (
    id          TEXT NOT NULL PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    email       TEXT,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_by  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    accepted_at TEXT,
    accepted_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    revoked_at  TEXT
);

CREATE INDEX invitations_project_id_idx ON invitations (project_id, id);

CREATE TABLE workspaces (
    id         TEXT NOT NULL PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    -- A JSON object, as text.
    settings   TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT workspaces_project_id_name_key UNIQUE (project_id, name)
);

CREATE INDEX workspaces_project_id_idx ON workspaces (project_id, id);

CREATE TABLE audit_log (
    id          TEXT NOT NULL PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    request_id  TEXT,
    -- JSON, as text.
    before      TEXT,
    after       TEXT,
    at          TEXT NOT NULL
);

CREATE INDEX audit_log_project_id_idx ON audit_log (project_id, id);

-- Audit rows are written once and never changed; they go only with their project.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows cannot be changed');
END;
