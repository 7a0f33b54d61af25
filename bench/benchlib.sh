# bench/benchlib.sh — what the shell benches share, sourced after `top` is set:
#   bench_work PARENT PREFIX   makes $work (mode 755: the postgres user must reach
#                              a cluster under it) and removes it on exit, after
#                              killing the processes in pids and stopping the
#                              PostgreSQL cluster at $work/pg if one was started
#   now                        wall clock, seconds with nanoseconds
#   elapsed T0                 seconds since T0 (three decimals)
#   median                     the median of the numbers on stdin, one per line
pids=()
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -d "$work/pg" ] && "$top/scripts/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
bench_work() { # PARENT PREFIX
  work=$(mktemp -d "$1/$2-XXXXXX")
  chmod 755 "$work"
  trap bench_cleanup EXIT
}
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN {printf "%.3f", a - b}'; }
median() {
  sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
