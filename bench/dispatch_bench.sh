#!/usr/bin/env bash
# dispatch_bench — jobs dispatched and acknowledged per second: a
# coordinator and W no-op workers (`scanfarm-worker --noop 1`, which answer
# every job at once) drain N queued jobs. Baseline, same run and database:
# the same N jobs claimed and completed by a PL/pgSQL loop inside
# PostgreSQL (the queue's own ceiling, no network, no NNG). CAPACITY is each
# worker's slots: how many jobs it asks for (and gets in one reply) at once.
#   bench/dispatch_bench.sh BUILD_DIR [JOBS] [WORKERS] [CAPACITY]   (default 5000, 4, 1)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$1 jobs=${2:-5000} workers=${3:-4} capacity=${4:-1}
. "$top/bench/benchlib.sh"
bench_work /tmp sf-dispatch-bench

dsn=$("$top/scripts/pg.sh" start "$work/pg")
port=$((35000 + $$ % 4000))
"$build/coordinator/scanfarm-coordinator" --db-dsn "$dsn" --http-address "127.0.0.1:$port" \
  --store-dir "$work/artifacts" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
  --results-url "tcp://127.0.0.1:$((port + 2))" --log-level warn >"$work/coord.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

queue() { # n: queue n jobs of one artifact in one transaction
  psql "$dsn" -q <<SQL
BEGIN;
INSERT INTO artifacts (sha256, size) VALUES (repeat('a', 64), 1) ON CONFLICT DO NOTHING;
WITH s AS (INSERT INTO scans (id, artifact_sha256, ecosystem)
           SELECT gen_random_uuid(), repeat('a', 64), 'npm' FROM generate_series(1, $1)
           RETURNING id)
INSERT INTO jobs (scan_id) SELECT id FROM s;
COMMIT;
SQL
}

# Baseline: claim + complete every job inside PostgreSQL, one at a time.
queue "$jobs"
t0=$(now)
psql "$dsn" -q <<'SQL'
DO $$
DECLARE n int := 0;
BEGIN
  LOOP
    WITH next AS (SELECT id FROM jobs WHERE state = 'queued' ORDER BY priority DESC, id
                  FOR UPDATE SKIP LOCKED LIMIT 1)
    UPDATE jobs j SET state = 'done', updated_at = now() FROM next WHERE j.id = next.id;
    EXIT WHEN NOT FOUND;
    n := n + 1;
    IF n % 500 = 0 THEN COMMIT; END IF;
  END LOOP;
END $$;
SQL
t_sql=$(elapsed "$t0")

for i in $(seq 1 "$workers"); do
  "$build/worker/scanfarm-worker" --noop 1 --capacity "$capacity" --sensor none --worker-id "noop-$i" \
    --rootfs "$top/var/rootfs" --work-dir "$work/w$i" --log-level warn \
    --jobs-url "tcp://127.0.0.1:$((port + 1))" --results-url "tcp://127.0.0.1:$((port + 2))" \
    >"$work/w$i.log" 2>&1 &
  pids+=($!)
done
sleep 1 # the workers connect

queue "$jobs"
t0=$(now)
psql "$dsn" -qc "NOTIFY scanfarm_jobs"
while [ "$(psql "$dsn" -tAc "SELECT count(*) FROM scans WHERE status = 'finished'")" -lt "$jobs" ]; do
  sleep 0.05
  [ "$(elapsed "$t0" | cut -d. -f1)" -lt 600 ] || { echo "did not finish in 10 minutes"; break; }
done
t_farm=$(elapsed "$t0")
done_n=$(psql "$dsn" -tAc "SELECT count(*) FROM scans WHERE status = 'finished'")
twice=$(psql "$dsn" -tAc "SELECT count(*) FROM batches GROUP BY job_id HAVING count(*) > 1" | wc -l)

awk -v n="$jobs" -v w="$workers" -v c="$capacity" -v ts="$t_sql" -v tf="$t_farm" -v d="$done_n" -v tw="$twice" 'BEGIN {
  printf "dispatch of %d jobs to %d no-op workers of capacity %d (%d finished, %d acknowledged twice)\n", n, w, c, d, tw
  printf "  PL/pgSQL claim loop (baseline): %.2f s, %.0f jobs/s\n", ts, n / ts
  printf "  coordinator -> NNG -> workers -> batch stored: %.2f s, %.0f jobs/s\n", tf, d / tf
  printf "  ratio farm/baseline: %.2f\n", (d / tf) / (n / ts)
}'
