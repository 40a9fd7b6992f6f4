#!/usr/bin/env bash
# One idempotent setup for a fresh machine of our kind (Debian 12, root, Node 20 only, npm + Debian archive reachable).
# Fast when everything is present: each step checks before it acts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Debian packages the tests and the demo use. apt-get only runs when one is missing.
packages=(docker-registry skopeo umoci busybox-static gcc make libc6-dev zstd pigz chromium debootstrap libcap2-bin attr acl xz-utils bzip2 git
  qemu-user-static binfmt-support openssl ca-certificates libseccomp-dev slirp4netns uidmap fuse-overlayfs openssh-client)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts a registry on :5000 as a service; tests and the demo start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
  systemctl disable docker-registry >/dev/null 2>&1 || true
fi

# Rootless builds (builder/rootless.ts): slirp4netns, run by an unprivileged user's namespace, opens /dev/net/tun,
# which distributions' udev rules make 0666 (creating a tun device still needs CAP_NET_ADMIN in a network
# namespace). Minimal hosts and containers leave it 0600 root; give it the usual mode.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  echo "setup: chmod 0666 /dev/net/tun (rootless RUN networking)"
  chmod 0666 /dev/net/tun
fi
# The fuse-overlayfs fallback of rootless builds (worker/rootless/overlay-flavour.ts) opens /dev/fuse as the user;
# the kernel creates it 0666 and distributions keep it so, but containers often leave it 0600 root.
if [ -c /dev/fuse ] && [ "$(stat -c %a /dev/fuse)" != 666 ]; then
  echo "setup: chmod 0666 /dev/fuse (rootless fuse-overlayfs snapshots)"
  chmod 0666 /dev/fuse
fi

# Foreign-architecture RUN (--platform linux/arm64 on x86_64): QEMU handlers registered with the fix-binary flag.
scripts/binfmt.sh

# The arm64 busybox base of the multi-platform tests (test/fixtures/busybox-image.ts): Debian's busybox-static:arm64,
# downloaded (never installed) into the test cache.
test_cache=/var/cache/tsbuild-test
if ! ls "$test_cache"/busybox-static_*_arm64.deb >/dev/null 2>&1; then
  echo "setup: apt-get download busybox-static:arm64 into $test_cache"
  mkdir -p "$test_cache"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then dpkg --add-architecture arm64; fi
  apt-get update -qq
  (cd "$test_cache" && apt-get download -qq busybox-static:arm64 2>&1 | grep -v 'unsandboxed' || true)
  ls "$test_cache"/busybox-static_*_arm64.deb >/dev/null
fi

# Node >= 22: the host's if new enough, else Node 24 from the npm registry's `node` package, project-local.
host_major=0
command -v node >/dev/null 2>&1 && host_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$host_major" -lt 22 ] && [ ! -x tools/node/node_modules/node/bin/node ]; then
  echo "setup: host node is $(node --version 2>/dev/null || echo absent); installing Node 24 into tools/node"
  mkdir -p tools/node
  npm install --prefix tools/node --no-audit --no-fund --loglevel=error node@24 >/dev/null
fi
echo "setup: node $(scripts/node --version)"

# npm dependencies, only when package-lock.json changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
