#!/usr/bin/env bash
# falco_fake_test — the worker's Falco sources against fake Falcos that send
# what no Falco should: malformed and oversized messages are dropped and
# counted, the worker stays up and keeps reading; a burst far larger than
# the worker's queue (--falco-queue 16) is read to the end — the sender
# never waits on a slow consumer — and what did not fit is counted.
#   gRPC: tests/tools/fake_falco.py, a gRPC server speaking the outputs
#         service's wire format with hand-made messages (one over grpc's own
#         limit, which ends the subscription: the worker subscribes again);
#         then over TCP with mutual TLS (a client of another CA refused)
#   JSON: curl posting to the worker's http_output endpoint
# No coordinator is needed: the worker's counters are read from its log
# line at exit.
#   falco_fake_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$1 build=$2
passed=0 failed=0
ok() { if eval "$2"; then passed=$((passed + 1)); echo "ok   - $1"; else failed=$((failed + 1)); echo "FAIL - $1"; fi; }
[ -d "$src/var/rootfs" ] || { echo "SKIP: no sandbox rootfs (scripts/setup.sh rootfs)"; exit 77; }
/usr/bin/python3 -c 'import grpc' 2>/dev/null || { echo "FAIL - python3-grpcio missing (scripts/setup.sh packages)"; exit 1; }
work=$(mktemp -d /tmp/sf-falco-fake-XXXXXX)
chmod 0755 "$work" # the sandbox user namespace must reach the work dir
port=$((20000 + ($$ * 7 + 4242) % 12000))
fake= worker=
trap '[ -n "$fake" ] && kill "$fake" 2>/dev/null; [ -n "$worker" ] && kill "$worker" 2>/dev/null; wait 2>/dev/null;
      [ "$failed" -ne 0 ] && tail -n 30 "$work"/*.log; rm -rf "$work"' EXIT

start_worker() { # KIND EXTRA-ARGS...
  local kind=$1
  shift
  "$build/worker/scanfarm-worker" --sensor "$kind" --falco-queue 16 --rules "$src/rules/99-scanfarm-falco.yaml" \
    --rootfs "$src/var/rootfs" --work-dir "$work/w-$kind" --jobs-url "tcp://127.0.0.1:$port" \
    --results-url "tcp://127.0.0.1:$((port + 1))" --falco-relay-dir "" "$@" >"$work/worker-$kind.log" 2>&1 &
  worker=$!
  for _ in $(seq 1 100); do grep -q ' ready: ' "$work/worker-$kind.log" && return 0; sleep 0.1; done
  return 1
}
stop_worker() { # → the counters line
  kill "$worker"
  wait "$worker"
  worker=
}
counter() { # LOG NAME: the number before NAME in the worker's last "falco:" line
  grep 'falco: [0-9]* messages' "$1" | tail -n 1 | grep -o "[0-9]* $2" | cut -d' ' -f1
}

# --- gRPC
"/usr/bin/python3" "$src/tests/tools/fake_falco.py" "$work/fake.sock" "$work/fake.status" \
  alert garbage norule badprio big:2000000 alert big:9000000 reconnect alert burst:20000 >"$work/fake.log" 2>&1 &
fake=$!
for _ in $(seq 1 100); do [ -S "$work/fake.sock" ] && break; sleep 0.1; done
ok "fake Falco listening" '[ -S "$work/fake.sock" ]'
start_worker falco-grpc --falco-grpc-address "unix://$work/fake.sock"
ok "worker started with --sensor falco-grpc" 'kill -0 "$worker"'
for _ in $(seq 1 300); do grep -q '^done$' "$work/fake.status" 2>/dev/null && break; sleep 0.1; done
ok "the fake sent its whole script: the worker kept reading" 'grep -q "^done$" "$work/fake.status"'
ok "an over-limit message ended a subscription and the worker subscribed again" \
  'grep -q "^subscribed 2$" "$work/fake.status"'
sleep 1
ok "the worker is still up" 'kill -0 "$worker"'
stop_worker
log=$work/worker-falco-grpc.log
grep "falco: [0-9]* messages" "$log"
ok "every message counted (8 + 20000)" '[ "$(counter "$log" messages)" = 20008 ]'
ok "three malformed dropped (garbage, no rule, unknown priority)" '[ "$(counter "$log" malformed)" = 3 ]'
ok "two oversized dropped (over 1 MiB; over grpc's 8 MiB)" '[ "$(counter "$log" oversized)" = 2 ]'
q=$(counter "$log" "queue full") n=$(counter "$log" "for none")
ok "the well-formed 20003: dispatched (no job's) or dropped when the queue was full ($n + $q)" \
  '[ $((n + q)) = 20003 ]'
ok "the worker said why a subscription ended" 'grep -q "subscription ended after .* status 8" "$log"'
kill "$fake" 2>/dev/null
wait "$fake" 2>/dev/null
fake=

# --- gRPC over TCP with mutual TLS: a client certificate of the CA's is
# let in, one of another CA's is not
tls=$work/tls
mkdir -p "$tls"
mkcert() { # NAME CA-PREFIX [SAN]
  openssl req -newkey rsa:2048 -nodes -keyout "$tls/$1.key" -subj "/CN=$1" -out "$tls/$1.csr" 2>/dev/null &&
    openssl x509 -req -in "$tls/$1.csr" -CA "$tls/$2.crt" -CAkey "$tls/$2.key" -CAcreateserial \
      -days 2 -out "$tls/$1.crt" ${3:+-extfile <(printf 'subjectAltName=%s\n' "$3")} 2>/dev/null
}
for ca in ca other; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tls/$ca.key" -subj "/CN=$ca" -days 2 -out "$tls/$ca.crt" 2>/dev/null
done
mkcert server ca "IP:127.0.0.1" && mkcert client ca && mkcert intruder other
ok "certificates made" '[ -s "$tls/server.crt" ] && [ -s "$tls/client.crt" ] && [ -s "$tls/intruder.crt" ]'
tport=$((port + 3))
: >"$work/tls.status"
"/usr/bin/python3" "$src/tests/tools/fake_falco.py" "tcp:$tport:$tls" "$work/tls.status" alert alert >"$work/fake-tls.log" 2>&1 &
fake=$!
sleep 1
start_worker falco-grpc --falco-grpc-address "127.0.0.1:$tport" --falco-grpc-ca "$tls/ca.crt" \
  --falco-grpc-cert "$tls/intruder.crt" --falco-grpc-key "$tls/intruder.key"
sleep 2
stop_worker
mv "$work/worker-falco-grpc.log" "$work/worker-intruder.log"
ok "a client certificate of another CA gets nothing" '[ "$(counter "$work/worker-intruder.log" messages)" = 0 ] && ! grep -q "^subscribed" "$work/tls.status"'
start_worker falco-grpc --falco-grpc-address "127.0.0.1:$tport" --falco-grpc-ca "$tls/ca.crt" \
  --falco-grpc-cert "$tls/client.crt" --falco-grpc-key "$tls/client.key"
for _ in $(seq 1 50); do grep -q '^done$' "$work/tls.status" && break; sleep 0.1; done
sleep 0.5
stop_worker
ok "with the CA's client certificate the alerts arrive over mutual TLS" \
  '[ "$(counter "$work/worker-falco-grpc.log" messages)" = 2 ]'
"$build/worker/scanfarm-worker" --sensor falco-grpc --falco-grpc-address "127.0.0.1:$tport" \
  --rules "$src/rules/99-scanfarm-falco.yaml" --rootfs "$src/var/rootfs" --work-dir "$work/w-notls" \
  --falco-relay-dir "" >"$work/notls.log" 2>&1
ok "a TCP address without certificates is refused at start" 'grep -q "needs mutual TLS" "$work/notls.log"'
kill "$fake" 2>/dev/null
wait "$fake" 2>/dev/null
fake=

# --- JSON
hp=$((port + 2))
start_worker falco-json --falco-http-address "127.0.0.1:$hp"
ok "worker started with --sensor falco-json" 'kill -0 "$worker"'
post() { curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$1" "http://127.0.0.1:$hp/falco"; }
alert='{"output":"12:00:00.000000000: Warning fake alert","priority":"Warning","rule":"fake rule","source":"syscall","time":"2026-12-01T12:00:00.000000000Z","output_fields":{"thread.cgroups":"cpuset=/ memory=/user.slice","proc.pid":1,"evt.num":7,"fd.name":null},"tags":["fake"],"hostname":"fake-falco"}'
ok "an alert is taken (200)" '[ "$(post "$alert")" = 200 ]'
ok "malformed JSON is refused (400)" '[ "$(post "{\"rule\": ")" = 400 ]'
ok "JSON that is not an alert is refused (400)" '[ "$(post "{\"rule\": 5, \"priority\": \"Warning\"}")" = 400 ]'
head -c 2000000 /dev/zero | tr '\0' 'x' | sed 's/^/{"rule":"r","priority":"Warning","output":"/; s/$/"}/' >"$work/big.json"
ok "an oversized body is refused (413)" '[ "$(post @"$work/big.json")" = 413 ]'
ok "GET is not how Falco posts (405)" '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$hp/falco")" = 405 ]'
printf '%s\n' "$alert" >"$work/alert.json"
seq 1 2000 | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
  --data-binary @"$work/alert.json" "http://127.0.0.1:$hp/falco" >"$work/codes.txt"
ok "2000 posts from 8 senders at once all answered 200 (no sender waits on the jobs)" \
  '[ "$(grep -c "^200$" "$work/codes.txt")" = 2000 ]'
ok "the worker is still up" 'kill -0 "$worker"'
stop_worker
log=$work/worker-falco-json.log
ok "every post counted (4 + 2000)" '[ "$(counter "$log" messages)" = 2004 ]'
ok "two malformed dropped" '[ "$(counter "$log" malformed)" = 2 ]'
ok "one oversized dropped" '[ "$(counter "$log" oversized)" = 1 ]'
q=$(counter "$log" "queue full") n=$(counter "$log" "for none")
ok "the 2001 alerts: dispatched or counted as dropped ($n + $q)" '[ $((n + q)) = 2001 ]'

ok "no sanitizer findings in the workers' logs" '! grep -E "Sanitizer|runtime error:" "$work"/worker-*.log'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
