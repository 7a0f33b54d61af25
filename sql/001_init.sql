-- 001_init: artifacts, scans, jobs (the queue), batches, alerts, facts.
-- Applied once by the coordinator at start (see coordinator/db.c); the
-- schema_migrations table records which files have run.

CREATE TABLE artifacts (
    sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size        bigint NOT NULL CHECK (size >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One submission. status follows the job: queued → running → finished | failed.
CREATE TABLE scans (
    id              uuid PRIMARY KEY,
    artifact_sha256 text NOT NULL REFERENCES artifacts(sha256),
    ecosystem       text NOT NULL,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'finished', 'failed')),
    reason          text,
    exit_status     integer,
    stdout_tail     text,
    stderr_tail     text,
    events          bigint NOT NULL DEFAULT 0,
    drops           bigint NOT NULL DEFAULT 0,
    duration_ms     bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);

-- The queue. A dispatched job holds a lease; a job whose lease expires
-- without a final batch goes back to 'queued' with attempt + 1, and after
-- max_attempts to 'dead' with the reason (coordinator/db.c sf_db_reap).
CREATE TABLE jobs (
    id            bigserial PRIMARY KEY,
    scan_id       uuid NOT NULL REFERENCES scans(id),
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'done', 'dead')),
    priority      integer NOT NULL DEFAULT 0,
    attempt       integer NOT NULL DEFAULT 1,
    max_attempts  integer NOT NULL DEFAULT 3,
    run_after     timestamptz NOT NULL DEFAULT now(),
    lease_until   timestamptz,
    worker_id     text,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_ready ON jobs (priority DESC, id) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'running';

-- Every batch received, keyed as DESIGN.md says: ingestion is idempotent.
CREATE TABLE batches (
    job_id      bigint NOT NULL REFERENCES jobs(id),
    attempt     integer NOT NULL,
    seq         integer NOT NULL,
    worker_id   text NOT NULL,
    final       boolean NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, attempt, seq)
);

CREATE TABLE alerts (
    id            bigserial PRIMARY KEY,
    scan_id       uuid NOT NULL REFERENCES scans(id),
    job_id        bigint NOT NULL,
    attempt       integer NOT NULL,
    seq           integer NOT NULL,
    time_ns       bigint NOT NULL,
    priority      text NOT NULL,
    rule          text NOT NULL,
    output        text NOT NULL,
    source        text,
    hostname      text,
    tags          jsonb NOT NULL DEFAULT '[]',
    output_fields jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alerts_scan ON alerts (scan_id, id);

CREATE TABLE facts (
    scan_id  uuid NOT NULL REFERENCES scans(id),
    kind     text NOT NULL,
    value    text NOT NULL,
    detail   text NOT NULL DEFAULT '',
    PRIMARY KEY (scan_id, kind, value, detail)
);
