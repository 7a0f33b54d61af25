-- 005_project_scan: a scan runs in phases (fetch, install, import) and
-- installs a whole tree of packages; what each package did, and in which
-- phase, is on record (the project-scan issue, DESIGN.md "Data path").

-- Every fact names the package it is attributed to ("name@version") and the
-- phase it was seen in. Facts stored before this migration keep '' for both.
-- The same observation in two packages or phases is two facts, so both
-- columns join the key.
ALTER TABLE facts ADD COLUMN package text NOT NULL DEFAULT '';
ALTER TABLE facts ADD COLUMN phase text NOT NULL DEFAULT '';
ALTER TABLE facts DROP CONSTRAINT facts_pkey;
ALTER TABLE facts ADD PRIMARY KEY (scan_id, kind, value, detail, package, phase);

-- The phases of the final batch, in the order they ran, shaped as the /v1
-- report shows them: [{name, ran, exit_status, timed_out, duration_ms,
-- stdout_tail, stderr_tail, error}]. At most a handful (SF_WIRE_MAX_PHASES),
-- always read whole with the scan: a column. NULL for scans before it.
ALTER TABLE scans ADD COLUMN phases jsonb;

-- The installed tree, one row per package directory ("" = the project). A
-- table rather than a jsonb column: a tree can hold tens of thousands of
-- packages, the report joins each with its facts and alerts by name@version,
-- and "which scans installed x@y" (a version found malicious later) is a
-- question for an index, not for unpacking every scan's document.
CREATE TABLE scan_packages (
    scan_id          uuid NOT NULL REFERENCES scans(id),
    path             text NOT NULL,
    idx              integer NOT NULL,  -- the worker's order (the project first)
    name             text NOT NULL,
    version          text NOT NULL,
    direct           boolean NOT NULL,  -- a direct dependency of the project
    install_scripts  boolean NOT NULL,  -- declares preinstall/install/postinstall
    PRIMARY KEY (scan_id, path)
);
CREATE INDEX scan_packages_by_package ON scan_packages (name, version);
