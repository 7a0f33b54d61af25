-- 009_ecosystems: PyPI and RubyGems beside npm (the ecosystems issue).
-- (007 is left to the branch that holds it.)

-- What a body is, read from its content (coordinator/submit/inspect.c),
-- never from a file name: the kind ("sdist", "wheel", "project", "gem")
-- and the name and version its metadata gives (NULL for projects). The
-- same bytes may be judged for two ecosystems (a tarball with package.json
-- and requirements.txt), so the key is the pair. Written once, when the
-- bytes are first submitted for that ecosystem; npm bodies have no row
-- (the worker judges them, as before).
CREATE TABLE artifact_kinds (
    sha256     text NOT NULL REFERENCES artifacts(sha256),
    ecosystem  text NOT NULL,
    kind       text NOT NULL,
    name       text,
    version    text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sha256, ecosystem)
);

-- How a package reference's bytes were checked (POST /v1/batches): the
-- file's URL and the digest the index announced and the bytes matched
-- ("sha256:<hex>", "sha512-<base64>" …), or NULL when the source announces
-- none (a static gem source made by `gem generate_index`): the scan is of
-- the bytes the source serves, and its report says they were not verified.
ALTER TABLE scans ADD COLUMN resolved_url text;
ALTER TABLE scans ADD COLUMN resolved_integrity text;

-- One verdict per ecosystem: the same bytes installed by pip and by npm are
-- two scans, and the verdict cache looks for the one asked for.
CREATE INDEX scans_verdict_ecosystem ON scans (artifact_sha256, ecosystem)
    WHERE status = 'finished';
