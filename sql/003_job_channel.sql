-- 003_job_channel: workers ask for jobs (request/reply). Every claimed job
-- remembers the worker and the request (a random token) it went out in, so
-- jobs whose reply was lost, or that belong to a worker that restarted or
-- went silent, are re-queued without waiting for their lease to expire.
ALTER TABLE jobs ADD COLUMN lease_token bigint;
CREATE INDEX jobs_by_worker ON jobs (worker_id) WHERE state = 'running';
