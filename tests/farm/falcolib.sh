# falcolib.sh — sourced by the farm tests that run a real Falco next to the
# farm (the falco-grpc and falco-json backends, the rules in Falco, the
# differential runs). After farmlib.sh's farm_init:
#
#   falco_locate                  sets falco, falco_stock (its stock falco.yaml), or
#                                 exits 77 with the reason when there is no Falco
#   falco_configure KIND          $work/falco: falco.yaml (the stock one reading
#                                 config.d), the worker's shipped overrides
#                                 (packaging/falco/config.d and outputs/, rules
#                                 from $src/rules),
#                                 KIND's outputs (grpc: a socket under $work/falco;
#                                 json: http_output to 127.0.0.1:$falco_http_port),
#                                 and the test's own: file_output to
#                                 $work/falco/alerts.json, no stdout/syslog/webserver
#   falco_start / falco_stop      run it in the background (log: $work/falco/falco.log)
#   falco_wait_ready              until an alert of Falco's arrives in alerts.json
#   falco_rules_list              the rules/ files Falco loads, comma-separated
#                                 (the worker's --rules: the same files)
#
# Where Falco is: $SCANFARM_FALCO (the binary; its configuration is
# $SCANFARM_FALCO_CONFIG, else ../etc/falco.yaml beside it), else
# ../shared/falco/bin/falco next to the project root — a Falco (0.43.1 with
# the modern eBPF driver) built for these tests. Absent: the test skips.
falco=
falco_pid=

falco_locate() {
  falco=${SCANFARM_FALCO:-$src/../shared/falco/bin/falco}
  if [ ! -x "$falco" ]; then
    echo "SKIP: no Falco at $falco (set SCANFARM_FALCO to a Falco 0.43 binary)"
    exit 77
  fi
  falco_stock=${SCANFARM_FALCO_CONFIG:-$(dirname "$falco")/../etc/falco.yaml}
  [ -f "$falco_stock" ] || { echo "FAIL - Falco's stock configuration $falco_stock is missing"; exit 1; }
  # present but unable to run (a missing runtime library) is a failure, not a skip
  "$falco" --version >/dev/null 2>&1 || { echo "FAIL - $falco does not run:"; "$falco" --version; exit 1; }
}

# The rules/ files the shipped Falco configuration lists, in its order.
falco_rules_files() {
  sed -n 's#^  - /usr/share/scanfarm/rules/\(.*\.yaml\)$#\1#p' "$src/packaging/falco/config.d/50-scanfarm.yaml" |
    sed "s#^#$src/rules/#"
}
falco_rules_list() { falco_rules_files | paste -sd, -; }

falco_configure() {
  local kind=$1 dir=$work/falco
  mkdir -p "$dir/config.d"
  sed "s#^  - /etc/falco/config.d\$#  - $dir/config.d#" "$falco_stock" >"$dir/falco.yaml"
  grep -q "^  - $dir/config.d\$" "$dir/falco.yaml" || { echo "FAIL - cannot point $falco_stock at $dir/config.d"; exit 1; }
  sed "s#/usr/share/scanfarm/rules/#$src/rules/#" "$src/packaging/falco/config.d/50-scanfarm.yaml" \
    >"$dir/config.d/50-scanfarm.yaml"
  case $kind in
    grpc)
      falco_socket=$dir/falco.sock
      sed "s#unix:///run/falco/falco.sock#unix://$falco_socket#" \
        "$src/packaging/falco/outputs/falco-grpc.yaml" >"$dir/config.d/60-scanfarm-outputs.yaml"
      export SCANFARM_SENSOR=falco-grpc SCANFARM_FALCO_GRPC_ADDRESS=unix://$falco_socket ;;
    json)
      falco_http_port=$((port + 5))
      sed "s#127.0.0.1:7310#127.0.0.1:$falco_http_port#" \
        "$src/packaging/falco/outputs/falco-json.yaml" >"$dir/config.d/60-scanfarm-outputs.yaml"
      export SCANFARM_SENSOR=falco-json SCANFARM_FALCO_HTTP_ADDRESS=127.0.0.1:$falco_http_port ;;
  esac
  cat >"$dir/config.d/90-test.yaml" <<-EOF
	# the test's own: alerts also to a file, nothing on this host's syslog,
	# no web server (its port would clash with tests running side by side)
	stdout_output:
	  enabled: false
	syslog_output:
	  enabled: false
	log_syslog: false
	webserver:
	  enabled: false
	file_output:
	  enabled: true
	  keep_alive: true
	  filename: $dir/alerts.json
	EOF
  export SCANFARM_RULES SCANFARM_FALCO_RELAY_DIR=$dir/relay
  SCANFARM_RULES=$(falco_rules_list)
}

falco_start() {
  "$falco" -c "$work/falco/falco.yaml" >>"$work/falco/falco.log" 2>&1 &
  falco_pid=$!
}

falco_stop() {
  [ -n "$falco_pid" ] || return 0
  kill "$falco_pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$falco_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$falco_pid" 2>/dev/null
  wait "$falco_pid" 2>/dev/null
  falco_pid=
}

# Falco is up when a pulse of the test's own comes back in its file output.
falco_wait_ready() {
  local token
  token=ready$RANDOM$RANDOM
  for i in $(seq 1 120); do
    /bin/true scanfarm-falco-pulse "$token" "$i"
    grep -q "scanfarm-falco-pulse $token" "$work/falco/alerts.json" 2>/dev/null && return 0
    kill -0 "$falco_pid" 2>/dev/null || { echo "FAIL - Falco exited:"; tail -n 20 "$work/falco/falco.log"; return 1; }
    sleep 0.5
  done
  echo "FAIL - Falco not ready after 60 s:"; tail -n 20 "$work/falco/falco.log"
  return 1
}
