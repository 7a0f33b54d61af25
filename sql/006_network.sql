-- 006_network: the network a scan's install and import phases run in
-- (the sandbox issue): "sinkhole" (every name resolved, every connection
-- answered and recorded, nothing leaves) or "offline" (loopback only).

-- What the submitter asked for, carried to the worker in the job message;
-- NULL: the worker's default (its --network).
ALTER TABLE jobs ADD COLUMN network text CHECK (network IN ('sinkhole', 'offline'));

-- What the scan ran in, as its worker reported it in the final batch; NULL
-- until then (and for scans before this migration, which ran offline).
ALTER TABLE scans ADD COLUMN network text;

-- A batch's network (POST /v1/batches "network"), for its items: kept with
-- the batch, and with the package references that wait to be resolved
-- (their jobs are made later, by the resolver). NULL: the workers' default.
ALTER TABLE scan_batches ADD COLUMN network text CHECK (network IN ('sinkhole', 'offline'));
ALTER TABLE resolve_queue ADD COLUMN network text CHECK (network IN ('sinkhole', 'offline'));
