#!/usr/bin/env bash
# Registers QEMU user emulation for foreign-architecture RUN steps, as BuildKit's `tonistiigi/binfmt` does: the
# handlers carry the fix-binary (F) flag, so the kernel opens the interpreter once, at registration, and a RUN in an
# arm64 rootfs runs its binaries inside the sandbox's own mount namespace (where /usr/libexec/qemu-binfmt is absent).
# Idempotent; needs root and Debian's qemu-user-static + binfmt-support (scripts/setup.sh installs them).
set -euo pipefail
dir=/proc/sys/fs/binfmt_misc
arches=(${TSBUILD_BINFMT_ARCHES:-aarch64 arm riscv64 ppc64le s390x})

if [ ! -e "$dir/register" ]; then
  # No init system mounted it (containers, minimal hosts): mount it ourselves.
  mount -t binfmt_misc binfmt_misc "$dir"
fi

for arch in "${arches[@]}"; do
  entry="$dir/qemu-$arch"
  spec=/usr/share/binfmts/qemu-$arch
  if [ -e "$entry" ] && grep -q '^flags:.*F' "$entry" && grep -q '^enabled' "$entry"; then continue; fi
  # Registered without F (by hand or an old package): drop it so it can be registered again with the flag.
  if [ -e "$entry" ] && ! grep -q '^flags:.*F' "$entry"; then echo -1 > "$entry"; fi
  [ -f "$spec" ] || { echo "binfmt: $spec missing (apt-get install qemu-user-static binfmt-support)" >&2; exit 1; }
  update-binfmts --import "qemu-$arch" >/dev/null 2>&1 || true
  update-binfmts --enable "qemu-$arch" >/dev/null 2>&1 || true
  if [ ! -e "$entry" ]; then
    # update-binfmts did not register it (no binfmt-support service here): write the registration from Debian's spec.
    field() { sed -n "s/^$1 //p" "$spec"; }
    flags=F
    [ "$(field preserve)" = yes ] && flags="P$flags"
    [ "$(field credentials)" = yes ] && flags="C$flags"
    printf ':qemu-%s:M:%s:%s:%s:%s:%s' "$arch" "$(field offset)" "$(field magic)" "$(field mask)" "$(field interpreter)" "$flags" > "$dir/register"
  fi
  grep -q '^flags:.*F' "$entry" || { echo "binfmt: $entry is registered without the fix-binary (F) flag" >&2; exit 1; }
done
echo "binfmt: $(for a in "${arches[@]}"; do printf 'qemu-%s(%s) ' "$a" "$(sed -n 's/^flags: //p' "$dir/qemu-$a")"; done)"
