-- The job queue and the files jobs produce. Ids are hyphenated UUID text, times
-- fixed-width UTC text, JSON values text.

CREATE TABLE jobs (
    id                 TEXT    NOT NULL PRIMARY KEY,
    project_id         TEXT    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_by         TEXT    REFERENCES users (id) ON DELETE SET NULL,
    kind               TEXT    NOT NULL,
    payload            TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN
                           ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead')),
    priority           INTEGER NOT NULL DEFAULT 0,
    run_at             TEXT    NOT NULL,
    attempt            INTEGER NOT NULL DEFAULT 0,
    max_attempts       INTEGER NOT NULL,
    -- The running attempt's lease: every write it makes must name this token.
    lease_token        TEXT,
    lease_expires_at   TEXT,
    heartbeat_at       TEXT,
    idempotency_key    TEXT,
    -- A digest of the submission, to tell a retry from a different job under one key.
    request_digest     TEXT,
    progress           TEXT,
    result             TEXT,
    errors             TEXT    NOT NULL DEFAULT '[]',
    cancel_requested   INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT    NOT NULL,
    started_at         TEXT,
    finished_at        TEXT,
    updated_at         TEXT    NOT NULL
);

-- Claiming: the runnable jobs in the order they are taken, and nothing else.
CREATE INDEX jobs_claim_idx ON jobs (priority DESC, run_at, id)
    WHERE state IN ('queued', 'failed');
-- The reaper: running jobs by lease expiry.
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE state = 'running';
-- A project's jobs, newest first.
CREATE INDEX jobs_project_id_idx ON jobs (project_id, id);
-- Pruning finished jobs past their retention.
CREATE INDEX jobs_finished_idx ON jobs (finished_at)
    WHERE state IN ('succeeded', 'cancelled', 'dead');
-- Queue metrics: counts by state, the oldest waiting job.
CREATE INDEX jobs_state_idx ON jobs (state, run_at);
-- One job per submitter and idempotency key, enforced here rather than by a read.
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (created_by, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- Deleting a user finds the jobs they submitted.
CREATE INDEX jobs_created_by_idx ON jobs (created_by);

CREATE TABLE job_artifacts (
    job_id       TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (job_id, name)
);
