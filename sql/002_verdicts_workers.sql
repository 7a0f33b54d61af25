-- 002_verdicts_workers: what produced each verdict (the verdict cache's key)
-- and the worker pool as the workers' hello/heartbeat messages describe it.

-- The worker's rules and sandbox image that produced a scan's result; with
-- the artifact they key the verdict cache (DESIGN.md): a resubmission of
-- the same bytes is answered from a finished scan with the same digests.
ALTER TABLE scans ADD COLUMN ruleset_digest text;
ALTER TABLE scans ADD COLUMN image_digest text;
CREATE INDEX scans_verdict ON scans (artifact_sha256, ruleset_digest, image_digest, finished_at DESC)
    WHERE status = 'finished';

-- One row per worker id, refreshed by every hello and heartbeat.
CREATE TABLE workers (
    id              text PRIMARY KEY,
    version         text,
    capacity        integer NOT NULL DEFAULT 1,
    running         integer NOT NULL DEFAULT 0,
    sensor          text,
    ruleset_digest  text,
    image_digest    text,
    first_seen      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now()
);

-- GET /v1/scans lists newest first with a (created_at, id) cursor.
CREATE INDEX scans_created ON scans (created_at DESC, id DESC);

-- API tokens (coordinator's `token create|revoke|list`): only the SHA-256
-- of a token is stored; the token itself is shown once, at creation.
CREATE TABLE api_tokens (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL,
    token_sha256  text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

-- What a /v1 submission says the artifact is (optional; for listing and
-- for nightly runs that scan every dependency of every lockfile).
ALTER TABLE scans ADD COLUMN name text;
ALTER TABLE scans ADD COLUMN version text;
ALTER TABLE scans ADD COLUMN labels text[] NOT NULL DEFAULT '{}';
