-- A batch reference may pin the integrity its lockfile records (npm's
-- Subresource Integrity, "sha512-<base64>"): the resolver holds it against
-- the registry's bytes and fails the scan, unscanned, when they disagree
-- (coordinator/submit/integrity.h). NULL: nothing pinned.
ALTER TABLE resolve_queue ADD COLUMN pinned_integrity text;
