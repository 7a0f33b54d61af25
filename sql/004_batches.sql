-- 004_batches: batch submissions (POST /v1/batches), package references the
-- coordinator fetches from a registry itself (coordinator/resolve.c), and
-- what each reference resolved to, so that the next nightly run neither
-- downloads nor scans the same version again.

-- A scan of a package reference exists before its bytes do: its artifact is
-- NULL while it waits in resolve_queue (the API shows status 'queued' with
-- phase 'resolving'); a reference that cannot be resolved ends the scan as
-- 'failed' with the reason, still without an artifact.
ALTER TABLE scans ALTER COLUMN artifact_sha256 DROP NOT NULL;

-- One POST /v1/batches. (Not `batches`: that table holds workers' result
-- batches.)
CREATE TABLE scan_batches (
    id          uuid PRIMARY KEY,
    priority    integer NOT NULL,
    labels      text[] NOT NULL DEFAULT '{}',
    rescan      boolean NOT NULL DEFAULT false,
    items       integer NOT NULL CHECK (items >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every item of a batch, in the order it was given: its scan (a new one,
-- or a finished one from the verdict cache), or why it was refused.
CREATE TABLE scan_batch_items (
    batch_id      uuid NOT NULL REFERENCES scan_batches(id),
    idx           integer NOT NULL CHECK (idx >= 0),
    scan_id       uuid REFERENCES scans(id),
    cached        boolean NOT NULL DEFAULT false,
    error_code    text,
    error_message text,
    PRIMARY KEY (batch_id, idx),
    CHECK ((scan_id IS NULL) <> (error_code IS NULL))
);
CREATE INDEX scan_batch_items_scan ON scan_batch_items (scan_id);

-- Package references waiting to be fetched: a queue like jobs, claimed under
-- a lease (FOR UPDATE SKIP LOCKED) by the resolver threads of a coordinator
-- configured with the same registry. The row goes away when its scan gets
-- its artifact (and a job) or fails.
CREATE TABLE resolve_queue (
    scan_id          uuid PRIMARY KEY REFERENCES scans(id),
    registry         text NOT NULL,
    ecosystem        text NOT NULL,
    package          text NOT NULL,
    version          text NOT NULL,
    priority         integer NOT NULL,     -- of the job to create
    job_max_attempts integer NOT NULL,
    attempt          integer NOT NULL DEFAULT 0,
    run_after        timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resolve_queue_ready ON resolve_queue (registry, priority DESC, created_at);

-- (registry, ecosystem, package, version) → the bytes it resolved to. npm
-- versions are immutable, so a later reference is answered from here (and
-- then from the verdict cache) without a download. The registry is part of
-- the key: a private registry may serve other bytes under the same name.
CREATE TABLE package_resolutions (
    registry     text NOT NULL,
    ecosystem    text NOT NULL,
    package      text NOT NULL,
    version      text NOT NULL,
    sha256       text NOT NULL REFERENCES artifacts(sha256),
    integrity    text,                  -- what the registry announced, checked
    tarball_url  text NOT NULL,
    resolved_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (registry, ecosystem, package, version)
);
