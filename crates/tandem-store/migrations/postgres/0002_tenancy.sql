-- Projects, their members, invitations, workspaces, and the audit log.

CREATE TABLE projects (
    id          UUID        NOT NULL PRIMARY KEY,
    name        TEXT        NOT NULL,
    description TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE members (
    project_id UUID        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT        NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    joined_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

-- Exactly one owner per project: a second one cannot be written, even by a bug.
CREATE UNIQUE INDEX members_one_owner_idx ON members (project_id) WHERE role = 'owner';
-- "My projects" pages through a user's memberships by project id.
CREATE INDEX members_user_id_idx ON members (user_id, project_id);

CREATE TABLE invitations (
    id          UUID        NOT NULL PRIMARY KEY,
    project_id  UUID        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    token_hash  TEXT        NOT NULL UNIQUE,
    email       TEXT,
    role        TEXT        NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_by  UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    accepted_at TIMESTAMPTZ,
    accepted_by UUID        REFERENCES users (id) ON DELETE SET NULL,
    revoked_at  TIMESTAMPTZ
);

CREATE INDEX invitations_project_id_idx ON invitations (project_id, id);

CREATE TABLE workspaces (
    id         UUID        NOT NULL PRIMARY KEY,
    project_id UUID        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT        NOT NULL,
    settings   JSONB       NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT workspaces_project_id_name_key UNIQUE (project_id, name)
);

CREATE INDEX workspaces_project_id_idx ON workspaces (project_id, id);

CREATE TABLE audit_log (
    id          UUID        NOT NULL PRIMARY KEY,
    project_id  UUID        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    actor       UUID        NOT NULL,
    action      TEXT        NOT NULL,
    target_type TEXT        NOT NULL,
    target_id   TEXT        NOT NULL,
    request_id  TEXT,
    before      JSONB,
    after       JSONB,
    at          TIMESTAMPTZ NOT NULL
);

CREATE INDEX audit_log_project_id_idx ON audit_log (project_id, id);

-- Audit rows are written once and never changed; they go only with their project.
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log rows cannot be changed';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
