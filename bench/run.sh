#!/usr/bin/env bash
# `make bench` (after `make setup`): tsbuild against its peers in one run. Checks the peer tools, installs the
# missing ones from Debian's archive, then runs every scenario (bench/scenarios/) with 3+ repetitions each and writes
# bench/results/<date>.json and bench/RESULTS.md. Needs root (overlay mounts, namespaces, buildah storage).
# Environment: BENCH_REPS (default 3), BENCH_ONLY=cold-build,push,… (a subset), BENCH_COMPONENTS=0.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ "$(id -u)" -ne 0 ]; then
  echo "bench: needs root (overlay mounts, namespaces, buildah's storage); run it as root" >&2
  exit 1
fi

# The peers and the references: buildah (with runc: crun refuses cgroup v1 hybrid hosts), skopeo, pigz; GNU time
# for tsbuild's peak RSS, hyperfine for the start-up figures.
packages=(buildah runc skopeo pigz docker-registry util-linux time hyperfine)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in buildah runc skopeo pigz unshare docker-registry; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool is still missing after apt-get" >&2; exit 1; }
done

# The runner is compiled with the rest of the tree (make setup → make build).
if [ ! -f dist/bench/lib/main.js ]; then
  echo "bench: dist/bench/lib/main.js is missing; run 'make build' first" >&2
  exit 1
fi
exec scripts/node --disable-warning=ExperimentalWarning dist/bench/lib/main.js
