#!/usr/bin/env bash
# nightly_bench — a nightly run of N package references that are all
# cached (issue target: 10,000 in under 10 s end to end on one 2-core
# machine): `scanfarm deps` on one package-lock.json of N packages, every
# one resolved before (package_resolutions, bytes in the store) and its
# verdict cached, against a throwaway PostgreSQL, a coordinator and a
# loopback npm registry (tests/tools/fake_registry.py).
#
# Set-up, not measured: N tiny distinct tarballs and their packuments are
# generated; a first `deps` run resolves all N through the coordinator (its
# time is printed for context: N packuments and tarballs fetched, verified,
# stored); a no-op worker (`--noop 1`) then ends their jobs without
# installing anything. Since those results come from no install, the bench
# stamps them, in its own throwaway database, with the rules and image
# digests the live worker reports — the verdict-cache key (the worker runs
# with the eBPF sensor and the shipped rules only so that it has a rules
# digest: a worker without detection is never a cache key) — so that the
# measured run sees what a farm sees after real nightly scans. Nothing of
# this reaches a real farm.
#
# Measured: the cached run's wall time (median of RUNS), against a
# baseline measured in the same run on the same lockfile: reading it
# (`deps --scan no`) plus posting the very NDJSON stream `deps` sends with
# curl and reading the coordinator's answer — what a client cannot avoid.
# The ratio is what following the batch, collecting its items and writing
# the report cost on top.
#   bench/nightly_bench.sh BUILD_DIR [N] [RUNS]   (default 10000, 3)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd) n=${2:-10000} runs=${3:-3}
. "$top/bench/benchlib.sh"
bench_work /tmp sf-nightly-bench

port=$((36000 + $$ % 4000)) regport=$((36000 + $$ % 4000 + 3))
regurl=http://127.0.0.1:$regport url=http://127.0.0.1:$port
# --- N packages: tarballs, packuments, and one package-lock.json using them all
python3 - "$work" "$n" "$regurl" <<'PY'
import base64, hashlib, io, json, os, sys, tarfile
work, n, reg = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(f"{work}/registry/-", exist_ok=True)
os.makedirs(f"{work}/repo", exist_ok=True)
pkgs = {"": {"name": "bench-app", "version": "1.0.0", "dependencies": {}}}
for i in range(n):
    name = f"sf-bench-{i:05d}"
    manifest = json.dumps({"name": name, "version": "1.0.0"}).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.USTAR_FORMAT) as t:
        info = tarfile.TarInfo("package/package.json")
        info.size, info.mtime = len(manifest), 0
        t.addfile(info, io.BytesIO(manifest))
    data = buf.getvalue()
    with open(f"{work}/registry/-/{name}-1.0.0.tgz", "wb") as f:
        f.write(data)
    sri = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    dist = {"tarball": f"{reg}/-/{name}-1.0.0.tgz", "integrity": sri,
            "shasum": hashlib.sha1(data).hexdigest()}
    with open(f"{work}/registry/{name}", "w") as f:
        json.dump({"name": name, "versions": {"1.0.0": {"name": name, "version": "1.0.0",
                                                        "dist": dist}}}, f)
    pkgs[""]["dependencies"][name] = "1.0.0"
    pkgs[f"node_modules/{name}"] = {"version": "1.0.0", "integrity": sri}
with open(f"{work}/repo/package-lock.json", "w") as f:
    json.dump({"name": "bench-app", "version": "1.0.0", "lockfileVersion": 3,
               "requires": True, "packages": pkgs}, f, indent=2)
PY
python3 "$top/tests/tools/fake_registry.py" "$work/registry" "$regport" "$work/registry.log" &
pids+=($!)

dsn=$(SCANFARM_PG_OPTS='-c fsync=off' "$top/scripts/pg.sh" start "$work/pg")
"$build/coordinator/scanfarm-coordinator" --db-dsn "$dsn" --http-address "127.0.0.1:$port" \
  --store-dir "$work/artifacts" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
  --results-url "tcp://127.0.0.1:$((port + 2))" --npm-registry "$regurl" \
  --resolve-concurrency 8 --log-level warn >"$work/coord.log" 2>&1 &
pids+=($!)
"$build/worker/scanfarm-worker" --noop 1 --capacity 16 --sensor ebpf --worker-id bench-noop \
  --rootfs "$top/var/rootfs" --rules "$top/rules" --work-dir "$work/w" --log-level warn \
  --heartbeat-interval 2 \
  --jobs-url "tcp://127.0.0.1:$((port + 1))" --results-url "tcp://127.0.0.1:$((port + 2))" \
  >"$work/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "$url/healthz" >/dev/null 2>&1 && curl -fs "$regurl/sf-bench-00000" >/dev/null 2>&1 && break; sleep 0.1; done
deps() { (cd "$work/repo" && "$build/cli/scanfarm" --server "$url" --progress off --timeout 3600 deps "$@" .); }

# --- set-up: every reference resolved once, its job ended, its verdict cached
t0=$(now)
deps --format json --output "$work/first.json" 2>"$work/first.err" || true
t_first=$(elapsed "$t0")
[ -s "$work/first.json" ] || { echo "the first run failed:"; tail -n 5 "$work/first.err"; exit 1; }
for _ in $(seq 1 1200); do
  [ "$(psql "$dsn" -tAc "SELECT count(*) FROM scans WHERE status = 'finished'")" -ge "$n" ] && break
  sleep 0.5
done
psql "$dsn" -qc "UPDATE scans s SET ruleset_digest = w.ruleset_digest, image_digest = w.image_digest
                 FROM workers w WHERE w.id = 'bench-noop' AND s.status = 'finished'"
resolved=$(psql "$dsn" -tAc "SELECT count(*) FROM package_resolutions")
finished=$(psql "$dsn" -tAc "SELECT count(*) FROM scans WHERE status = 'finished'")

# --- measured: the cached run, and the baseline, alternately
(cd "$work/repo" && "$build/cli/scanfarm" deps --scan no . ) >"$work/inv.json" 2>/dev/null
jq -c '.packages[] | {ecosystem, package: .name, version, integrity}' "$work/inv.json" >"$work/stream.ndjson"
: >"$work/t_run" ; : >"$work/t_base"
for _ in $(seq 1 "$runs"); do
  t0=$(now)
  deps --format json --output "$work/cached.json" 2>/dev/null || true
  elapsed "$t0" >>"$work/t_run"; echo >>"$work/t_run"
  t0=$(now)
  (cd "$work/repo" && "$build/cli/scanfarm" deps --scan no .) >/dev/null 2>&1
  curl -s -H 'Content-Type: application/x-ndjson' --data-binary @"$work/stream.ndjson" \
    "$url/v1/batches" >"$work/base.out"
  elapsed "$t0" >>"$work/t_base"; echo >>"$work/t_base"
done
t_run=$(median <"$work/t_run") t_base=$(median <"$work/t_base")
cached=$(jq .summary.cached "$work/cached.json") clean=$(jq .summary.clean "$work/cached.json")
base_cached=$(head -n1 "$work/base.out" | jq .counts.cached)
echo "references: $n (resolved: $resolved, finished: $finished; first, uncached run: ${t_first} s)"
echo "cached run (scanfarm deps, median of $runs): ${t_run} s — $cached of $n from the verdict cache, $clean clean"
echo "baseline (deps --scan no + the same NDJSON posted with curl, $base_cached cached): ${t_base} s"
awk -v r="$t_run" -v b="$t_base" 'BEGIN {printf "ratio: %.2fx the baseline; target < 10 s: %s\n", r / b, r < 10 ? "met" : "NOT met"}'
