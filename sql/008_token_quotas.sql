-- Quotas per API token (the attack-resistance issue): submissions per
-- minute and uploaded bytes per UTC day. NULL limits: the coordinator's
-- defaults (--quota-submissions-per-minute, --quota-bytes-per-day); 0: none.
ALTER TABLE api_tokens ADD COLUMN submissions_per_minute integer
    CHECK (submissions_per_minute >= 0);
ALTER TABLE api_tokens ADD COLUMN bytes_per_day bigint CHECK (bytes_per_day >= 0);

-- One row per token and window: its minute (submissions) and its day (bytes).
CREATE TABLE token_usage (
    token_id      bigint NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('minute', 'day')),
    window_start  timestamptz NOT NULL,
    submissions   integer NOT NULL DEFAULT 0,
    bytes         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (token_id, kind, window_start)
);

-- Takes one submission of nbytes from the token's quota, atomically (both
-- rows locked in one order: concurrent calls queue, never deadlock): NULL
-- refused and the use counted, or which quota refused it and the seconds
-- until its window ends (nothing counted).
CREATE FUNCTION token_quota_take(tok bigint, spm integer, bpd bigint, nbytes bigint,
                                 OUT refused text, OUT retry_after integer)
LANGUAGE plpgsql AS $$
DECLARE
    m timestamptz := date_trunc('minute', now());
    d timestamptz := date_trunc('day', now());
    subs integer;
    used bigint;
BEGIN
    INSERT INTO token_usage (token_id, kind, window_start)
        VALUES (tok, 'minute', m), (tok, 'day', d) ON CONFLICT DO NOTHING;
    SELECT submissions INTO subs FROM token_usage
        WHERE token_id = tok AND kind = 'minute' AND window_start = m FOR UPDATE;
    SELECT bytes INTO used FROM token_usage
        WHERE token_id = tok AND kind = 'day' AND window_start = d FOR UPDATE;
    IF spm > 0 AND subs >= spm THEN
        refused := 'submissions';
        retry_after := greatest(1, ceil(extract(epoch FROM m + interval '1 minute' - now())))::integer;
        RETURN;
    END IF;
    IF bpd > 0 AND used + nbytes > bpd THEN
        refused := 'bytes';
        retry_after := greatest(1, ceil(extract(epoch FROM d + interval '1 day' - now())))::integer;
        RETURN;
    END IF;
    UPDATE token_usage SET submissions = submissions + 1
        WHERE token_id = tok AND kind = 'minute' AND window_start = m;
    UPDATE token_usage SET bytes = bytes + nbytes
        WHERE token_id = tok AND kind = 'day' AND window_start = d;
    -- this token's past windows no longer matter
    DELETE FROM token_usage WHERE token_id = tok
        AND ((kind = 'minute' AND window_start < m) OR (kind = 'day' AND window_start < d));
END $$;
