#!/usr/bin/env bash
# scripts/setup.sh — everything the project needs on a fresh Debian 12 host (root).
#
#   scripts/setup.sh packages   install the Debian packages (idempotent)
#   scripts/setup.sh host       host tweaks the sandbox and sensor need (idempotent)
#   scripts/setup.sh rootfs     build the sandbox root filesystem once into var/rootfs
#   scripts/setup.sh all        all three (the default)
#
# Nothing here relies on anything installed by hand. (python3: the tests' fake npm registry;
# python3-setuptools, python3-wheel, ruby: the PyPI and RubyGems tests' packages and indexes;
# e2fsprogs: mkfs.ext4 for each job's disk and the rootfs image.)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
var=${SCANFARM_VAR:-$top/var}

PACKAGES=(build-essential cmake pkg-config clang llvm libbpf-dev bpftool libnng-dev
  libpq-dev libarchive-dev libgrpc-dev protobuf-c-compiler libprotobuf-c-dev
  protobuf-compiler libmsgpack-dev libyaml-dev libmicrohttpd-dev
  libcurl4-openssl-dev libssl-dev libjansson-dev zlib1g-dev libnftables-dev libmnl-dev
  postgresql crun runc mmdebstrap
  # iproute2: deploy_tls_bootstrap_test puts the pool's addresses on the
  # loopback of its own network namespace
  iproute2
  jq curl ca-certificates openssl xz-utils git python3 tinyproxy e2fsprogs
  shellcheck python3-yaml python3-jsonschema python3-jinja2 python3-configobj
  python3-jsonpatch python3-netifaces python3-requests python3-grpcio
  # the coordinator reads PEP 503 pages with libxml2; the ecosystems' tests
  # build sdists, wheels, gems and a static gem source on the host
  libxml2-dev python3-setuptools python3-wheel ruby
  # the libraries a Falco 0.43 built from source needs (the Falco backends' tests)
  libgrpc++1.51 libprotobuf32 libyaml-cpp0.7 libjsoncpp25 libre2-9 libtbb12 libelf1
  libcurl4 libssl3 libabsl20220623 libc-ares2 libzstd1)

log() { printf '[setup] %s\n' "$*" >&2; }

# cloud-init's schema checker for the deploy tests (tests/deploy), unpacked
# into var/cloud-init and never installed: an installed cloud-init enables
# its units and would re-run data-source probing, SSH host key and network
# set-up at every boot of this host. Its Python libraries (above) are inert.
cloudinit_unpacked() {
  local dir=$var/cloud-init tmp
  if command -v cloud-init >/dev/null || [ -d "$dir/usr/lib/python3/dist-packages/cloudinit" ]; then return; fi
  tmp=$(mktemp -d)
  chmod 0777 "$tmp"   # apt-get download runs as _apt where it can
  if (cd "$tmp" && apt-get download -qq cloud-init >/dev/null 2>&1); then
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    dpkg-deb -x "$tmp"/cloud-init_*.deb "$dir.tmp" && mv "$dir.tmp" "$dir"
    log "packages: cloud-init unpacked into $dir (schema checks only)"
  else
    log "packages: cannot download cloud-init; the deploy tests skip the schema check"
  fi
  rm -rf "$tmp"
}

packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  mkdir -p "$var"
  if [ ${#missing[@]} -eq 0 ]; then log "packages: all present"; cloudinit_unpacked; return; fi
  log "packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # the package starts a system-wide tinyproxy; workers run their own
  # (allowlisting, per worker): no open proxy is left behind
  if [ -x /etc/init.d/tinyproxy ]; then /etc/init.d/tinyproxy stop >/dev/null 2>&1 || true; fi
  pkill -x tinyproxy -U tinyproxy 2>/dev/null || true
  cloudinit_unpacked
}

host() {
  # crun refuses a hybrid cgroup layout whose v2 hierarchy holds the hugetlb
  # controller; mounting the v1 hugetlb hierarchy moves it back (MACHINE-NOTES).
  if [ -d /sys/fs/cgroup/unified ] && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
    if ! mountpoint -q /sys/fs/cgroup/hugetlb 2>/dev/null; then
      mkdir -p /sys/fs/cgroup/hugetlb
      mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
      log "host: mounted v1 hugetlb controller for crun"
    fi
  fi
  # The eBPF sensor attaches to tracepoints; tracefs is not mounted by default.
  if [ -d /sys/kernel/tracing ] && ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs nodev /sys/kernel/tracing || true
  fi
}

# The rootfs recipe: bump ROOTFS_RECIPE with every change to what rootfs() puts
# in the image (and IMAGE_SANDBOX_RECIPE in worker/sandbox/image.c with it, the
# verdict cache key). A rootfs whose recipe file (var/rootfs.recipe, beside it:
# nothing in the image names the product) names another recipe is rebuilt.
ROOTFS_RECIPE=scanfarm-sandbox-5
# What malware expects of a CI runner, so it does not simply fail: curl, wget,
# git, python3, make, g++ (node-gyp's toolchain too) and ps. What PyPI and
# RubyGems packages install with: pip, setuptools and wheel (a plain setup.py
# builds with no index), setuptools' and wheel's own wheels (what pip's build
# isolation installs a setuptools build from when no index has them), venv
# and Python's headers; ruby, its headers and bundler (gcc, for native
# extensions, comes with g++).
ROOTFS_PACKAGES=nodejs,npm,yarnpkg,ca-certificates,curl,wget,git,python3,make,g++,procps,python3-pip,python3-setuptools,python3-wheel,python3-wheel-whl,python3-venv,python3-dev,ruby,ruby-dev,bundler
# pnpm from the npm registry, pinned by version and by the registry's sha512
PNPM_VERSION=9.15.9
PNPM_INTEGRITY=sha512-aARhQYk8ZvrQHAeSMRKOmvuJ74fiaR1p5NQO7iKJiClf1GghgbrlW1hBjDolO95lpQXsfF+UA+zlzDzTfc8lMQ==

# pnpm_into DIR: fetch the pinned pnpm tarball, check its integrity, unpack it
# under DIR/usr/local/lib/node_modules/pnpm with a DIR/usr/local/bin/pnpm link.
pnpm_into() {
  local root=$1 tgz want got
  tgz=$(mktemp)
  curl -fsSL --retry 3 -o "$tgz" "https://registry.npmjs.org/pnpm/-/pnpm-$PNPM_VERSION.tgz"
  want=${PNPM_INTEGRITY#sha512-}
  got=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
  if [ "$got" != "$want" ]; then
    rm -f "$tgz"
    log "rootfs: pnpm-$PNPM_VERSION.tgz integrity mismatch (sha512-$got)"
    return 1
  fi
  mkdir -p "$root/usr/local/lib/node_modules/pnpm" "$root/usr/local/bin"
  tar -xzf "$tgz" -C "$root/usr/local/lib/node_modules/pnpm" --strip-components=1 \
    --no-same-owner
  rm -f "$tgz"
  ln -sfn ../lib/node_modules/pnpm/bin/pnpm.cjs "$root/usr/local/bin/pnpm"
}

# image_of DIR IMG: DIR as a read-only ext4 image, which the worker mounts (a
# loop device) as the sandbox's root: a file system of its own, so the
# sandbox's /proc/self/mountinfo shows "/" for its root and no host path.
image_of() {
  local dir=$1 img=$2 kib inodes
  kib=$(du -sk --apparent-size "$dir" | cut -f1)
  inodes=$(find "$dir" -xdev | wc -l)
  rm -f "$img"
  # room for ext4's own blocks (inode tables, a block per small file), no
  # journal and no reserved blocks: nothing ever writes to it
  mkfs.ext4 -q -F -t ext4 -O ^has_journal -m 0 -N $((inodes + inodes / 8 + 1024)) \
    -E root_owner=0:0 -L root -d "$dir" "$img" $((kib + kib / 4 + inodes * 2 + 65536))k
}

rootfs() {
  local dir=$var/rootfs img=$var/rootfs.img marker=$var/rootfs.recipe
  if [ "$(cat "$marker" 2>/dev/null)" = "$ROOTFS_RECIPE" ] && [ -d "$dir" ] && [ -f "$img" ]; then
    log "rootfs: present at $dir and $img ($ROOTFS_RECIPE)"; return
  fi
  if [ -e "$dir" ]; then log "rootfs: $dir is an older recipe: rebuilding"; fi
  mkdir -p "$var"
  rm -rf "$dir.tmp" "$marker"
  local t0=$SECONDS
  log "rootfs: building Debian bookworm minbase + ${ROOTFS_PACKAGES//,/ } + pnpm into $dir (a few minutes)"
  # /builds: GitLab runners' project root (worker/sandbox/runner.c); /etc/hosts
  # and /etc/hostname: mount points the worker fills per job. No user of ours:
  # each job's /etc/passwd and /etc/group are its own.
  mmdebstrap --quiet --variant=minbase --include="$ROOTFS_PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='mkdir -p "$1/builds" "$1/tmp" "$1/proc" "$1/dev" "$1/sys" "$1/home"' \
    --customize-hook='echo localhost > "$1/etc/hostname"' \
    --customize-hook='printf "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" > "$1/etc/hosts"' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/apt/* "$1"/var/log/dpkg.log "$1"/var/log/alternatives.log' \
    bookworm "$dir.tmp"
  pnpm_into "$dir.tmp"
  chroot "$dir.tmp" yarnpkg --version >/dev/null
  chroot "$dir.tmp" pnpm --version >/dev/null
  chroot "$dir.tmp" python3 -m pip --version >/dev/null
  chroot "$dir.tmp" bundle --version >/dev/null
  image_of "$dir.tmp" "$img.tmp"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  mv "$img.tmp" "$img"
  echo "$ROOTFS_RECIPE" > "$marker"
  log "rootfs: done in $((SECONDS - t0)) s ($(du -sh "$dir" | cut -f1) tree, $(du -h "$img" | cut -f1) image)"
}

case "${1:-all}" in
  packages) packages ;;
  host) host ;;
  rootfs) rootfs ;;
  all) packages; host; rootfs ;;
  *) echo "usage: $0 [packages|host|rootfs|all]" >&2; exit 2 ;;
esac
