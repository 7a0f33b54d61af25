# indexlib.sh — sourced by the farm tests of PyPI and RubyGems scans: local
# package indexes built at test time from tests/packages, served on loopback.
#
#   py_build SRC OUT [sdist|zip|wheel] build the Python package in SRC (a copy of
#                                    it, armed: an "armed" file at its top) with the
#                                    host's setuptools; prints the file
#   py_build_pep517 SRC OUT BACKEND  the sdist of SRC (armed likewise) built by the PEP 517
#                                    backend module whose source is in BACKEND, as
#                                    `python -m build --sdist` would; prints the file
#   pypi_index DIR FILE...           a PEP 503 simple index in DIR: DIR/simple/<name>/
#                                    linking DIR/packages/<file>#sha256=<digest>
#   gem_build SRC OUT                `gem build` of SRC/*.gemspec (armed likewise);
#                                    prints the .gem
#   gem_index DIR GEM...             a static gem source in DIR (`gem generate_index`)
#   serve_static DIR PORT LOG [OPT…] serve DIR on 127.0.0.1:PORT (tools/fake_registry.py;
#                                    OPT: --token T, --tls CERT KEY); sets served_pid
#
# And what both tests ask of a report (the /v1 report in $report):
#   wait_v1 ID                       the scan's /v1 report once it has ended
#   alerts RULE PACKAGE PHASE        how many alerts of RULE name PACKAGE and PHASE
#   loud_alerts                      the alerts at Notice or above, [rule, package, phase, output]
#   phases / status                  [name, ran, exit_status] per phase / status and reason
#   all3 / nofetch                   phases() of a scan that ran all three / all but the fetch
#   expect_fired PACKAGE-DIR         ok: every rule its expect file (under $pk) names fired
# Needs: src (the source tree) from farmlib.sh; pk (tests/packages) for expect_fired.

# The host's Debian python3, whose setuptools and wheel build the packages.
py_host=/usr/bin/python3

py_build() {
  local from=$1 out=$2 kind=${3:-sdist} tmp
  tmp=$(mktemp -d)
  cp -r "$from"/. "$tmp"/
  : >"$tmp/armed" # the attack simulations act only when armed
  mkdir -p "$out"
  if [ "$kind" = zip ]; then
    (cd "$tmp" && "$py_host" setup.py -q sdist --formats=zip -d "$out") >/dev/null 2>&1 || { rm -rf "$tmp"; return 1; }
    ls -t "$out"/*.zip | head -n1
  elif [ "$kind" = wheel ]; then
    (cd "$tmp" && "$py_host" setup.py -q bdist_wheel -d "$out") >/dev/null 2>&1 || { rm -rf "$tmp"; return 1; }
    ls -t "$out"/*.whl | head -n1
  else
    (cd "$tmp" && "$py_host" setup.py -q sdist -d "$out") >/dev/null 2>&1 || { rm -rf "$tmp"; return 1; }
    ls -t "$out"/*.tar.gz | head -n1
  fi
  rm -rf "$tmp"
}

py_build_pep517() {
  local from=$1 out=$2 backend=$3 tmp file
  tmp=$(mktemp -d)
  cp -r "$from"/. "$tmp"/
  : >"$tmp/armed"
  mkdir -p "$out"
  file=$(cd "$tmp" && PYTHONPATH=$backend "$py_host" -c \
    'import sys, tomllib; m = tomllib.load(open("pyproject.toml", "rb"))["build-system"]["build-backend"]
print(__import__(m).build_sdist(sys.argv[1]))' "$out") || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
  echo "$out/$file"
}

# PEP 503: a project's page is /simple/<normalised name>/, its links carry
# the file's sha256, which pip checks.
pypi_index() {
  local dir=$1 f base name norm
  shift
  mkdir -p "$dir/simple" "$dir/packages"
  for f in "$@"; do
    base=$(basename "$f")
    cp "$f" "$dir/packages/$base"
    case $base in
      *.whl) name=${base%%-*} ;;
      *) name=${base%-*} ;;
    esac
    norm=$(printf '%s' "$name" | tr 'A-Z' 'a-z' | sed -E 's/[-_.]+/-/g')
    mkdir -p "$dir/simple/$norm"
    printf '<a href="../../packages/%s#sha256=%s">%s</a><br>\n' "$base" \
      "$(sha256sum "$f" | cut -d' ' -f1)" "$base" >>"$dir/simple/$norm/links"
  done
  : >"$dir/simple/index.html.tmp"
  for norm in "$dir"/simple/*/; do
    norm=$(basename "$norm")
    { echo "<!DOCTYPE html><html><body>"; cat "$dir/simple/$norm/links"; echo "</body></html>"; } \
      >"$dir/simple/$norm/index.html"
    printf '<a href="%s/">%s</a><br>\n' "$norm" "$norm" >>"$dir/simple/index.html.tmp"
  done
  { echo "<!DOCTYPE html><html><body>"; cat "$dir/simple/index.html.tmp"; echo "</body></html>"; } \
    >"$dir/simple/index.html"
  rm -f "$dir/simple/index.html.tmp"
}

gem_build() {
  local from=$1 out=$2 tmp
  tmp=$(mktemp -d)
  cp -r "$from"/. "$tmp"/
  : >"$tmp/armed" # the attack simulations act only when armed
  mkdir -p "$out"
  (cd "$tmp" && gem build --silent ./*.gemspec -o "$out/build.gem") >/dev/null 2>&1 || { rm -rf "$tmp"; return 1; }
  local spec
  spec=$(cd "$tmp" && ruby -e 's = Gem::Specification.load(Dir["*.gemspec"][0]); print s.full_name')
  mv "$out/build.gem" "$out/$spec.gem"
  rm -rf "$tmp"
  echo "$out/$spec.gem"
}

gem_index() {
  local dir=$1
  shift
  mkdir -p "$dir/gems"
  cp "$@" "$dir/gems/"
  gem generate_index --silent --directory "$dir" >/dev/null 2>&1
}

serve_static() {
  python3 "$src/tests/tools/fake_registry.py" "$@" &
  served_pid=$!
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$2/" && return 0
    sleep 0.1
  done
  return 1
}

# --- a report's contents ($report), as both tests check them
wait_v1() { wait_scan "$1" >/dev/null; curl -s "$url/v1/scans/$1"; }
alerts() { jq --arg r "$1" --arg p "$2" --arg ph "$3" '[.alerts[] | select(.rule == $r
  and .output_fields["scanfarm.package"] == $p and .output_fields["scanfarm.phase"] == $ph)]
  | length' <<<"$report"; }
loud='["emergency","alert","critical","error","warning","warn","notice"]'
loud_alerts() { jq -c --argjson l "$loud" '[.alerts[] | select((.priority | ascii_downcase) as $p
  | $l | index($p)) | [.rule, .output_fields["scanfarm.package"], .output_fields["scanfarm.phase"], .output]]' <<<"$report"; }
phases() { jq -c '[.phases[] | [.name, .ran, .exit_status]]' <<<"$report"; }
all3='[["fetch",true,0],["install",true,0],["import",true,0]]'
nofetch='[["fetch",false,null],["install",true,0],["import",true,0]]'
status() { jq -r '.status + " " + (.reason // "")' <<<"$report"; }

# expect_fired PACKAGE-DIR: every rule its expect file names fired ($report)
expect_fired() {
  local rule missing=()
  while IFS= read -r rule; do
    [ -n "$rule" ] && [ "$(jq --arg r "$rule" '[.alerts[] | select(.rule == $r)] | length' <<<"$report")" -eq 0 ] && missing+=("$rule")
  done <"$pk/$1/expect"
  ok "$1: every rule of its expect file fired${missing[*]:+ (missing: ${missing[*]})}" '[ ${#missing[@]} -eq 0 ]'
}
