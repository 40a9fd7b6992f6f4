#!/usr/bin/env bash
# Buildx invocations as real projects' GitHub workflows write them (docker/build-push-action inputs, the
# actions/cache local-cache pattern, release tarballs, reproducible builds), run with `tsbuild build` in place of
# `docker buildx build`, each followed by the check a CI job relies on: files produced, images in the registry
# (skopeo), exit statuses. Run by test/compat/buildx-ci.test.ts with TSBUILD, REGISTRY, BASE and WORK set.
set -uo pipefail

: "${TSBUILD:?path of bin/tsbuild}" "${REGISTRY:?HOST:PORT of a plain-HTTP registry}" "${BASE:?base image}" "${WORK:?scratch directory}"
BUILDX=("$TSBUILD" build --root "$WORK/root")
passed=0
failed=0
step() { echo "== $*"; }
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }
expect() { local what="$1"; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
inspect() { skopeo inspect --tls-verify=false "$@" >/dev/null; }
# The image manifest a tag names: with buildx's default provenance the tag names an index (the image, then its
# attestation manifest), so a check of manifest-level attributes reads the index's first entry, as a buildx user would.
manifest() {
  local raw digest
  raw=$(skopeo inspect --raw --tls-verify=false "docker://$1")
  if grep -q '"manifests"' <<<"$raw"; then
    digest=$(grep -o '"digest":"sha256:[0-9a-f]*"' <<<"$raw" | head -1 | grep -o 'sha256:[0-9a-f]*')
    skopeo inspect --raw --tls-verify=false "docker://${1%:*}@$digest"
  else
    printf '%s\n' "$raw"
  fi
}
export -f manifest

mkdir -p "$WORK/app" && cd "$WORK/app" || exit 1
echo "hello" > app.txt
mkdir -p node_modules && echo junk > node_modules/big.js
printf 'node_modules\n*.log\n' > .dockerignore
cat > Dockerfile <<DOCKERFILE
# syntax=docker/dockerfile:1
ARG BASE_IMAGE=$BASE
FROM \${BASE_IMAGE} AS build
WORKDIR /src
COPY . .
RUN mkdir -p /out && cp app.txt /out/app.txt && test ! -e node_modules
FROM build AS test
RUN test -f /out/app.txt
FROM scratch AS artifacts
COPY --from=build /out/ /
FROM \${BASE_IMAGE}
COPY --from=build /out/app.txt /app/app.txt
CMD ["cat", "/app/app.txt"]
DOCKERFILE

step "1 build-push-action: push with provenance/sbom off"
"${BUILDX[@]}" --platform linux/amd64 --provenance=false --sbom=false --pull -t "$REGISTRY/app:ci" --push --progress plain .
expect "pushed app:ci" inspect "docker://$REGISTRY/app:ci"

step "2 registry cache, image-manifest=true,oci-mediatypes=true (ECR style)"
"${BUILDX[@]}" --cache-from "type=registry,ref=$REGISTRY/app:cache" \
  --cache-to "type=registry,ref=$REGISTRY/app:cache,mode=max,image-manifest=true,oci-mediatypes=true" -t "$REGISTRY/app:sha-1" --push .
expect "cache manifest pushed" inspect --raw "docker://$REGISTRY/app:cache"

step "3 actions/cache local cache: cache-from a missing dir, cache-to a new one, then move"
"${BUILDX[@]}" --cache-from type=local,src=/tmp/nonexistent-buildx-cache --cache-to "type=local,dest=$WORK/.buildx-cache-new,mode=max" .
expect "local cache layout written" test -f "$WORK/.buildx-cache-new/index.json"
rm -rf "$WORK/.buildx-cache" && mv "$WORK/.buildx-cache-new" "$WORK/.buildx-cache"
"${BUILDX[@]}" --cache-from "type=local,src=$WORK/.buildx-cache" --cache-to "type=local,dest=$WORK/.buildx-cache,mode=max" .
expect "local cache re-exported into the same layout" test -f "$WORK/.buildx-cache/oci-layout"

step "4 OCI tarball for a release asset (parent directory created)"
"${BUILDX[@]}" -o "type=oci,dest=$WORK/dist/app-oci.tar" .
expect "OCI tarball readable by skopeo" inspect "oci-archive:$WORK/dist/app-oci.tar"

step "5 docker archive"
"${BUILDX[@]}" --output "type=docker,dest=$WORK/dist/app-docker.tar" -t app:local .
expect "docker archive readable by skopeo" inspect "docker-archive:$WORK/dist/app-docker.tar"

step "6 metadata file and iidfile (as build-push-action reads them)"
"${BUILDX[@]}" --metadata-file "$WORK/meta/metadata.json" --iidfile "$WORK/meta/iid" -t "$REGISTRY/app:meta" --push .
expect "metadata has containerimage.digest" grep -q '"containerimage.digest": "sha256:' "$WORK/meta/metadata.json"
expect "iidfile holds the config digest" grep -q '^sha256:' "$WORK/meta/iid"

step "7 reproducible builds: SOURCE_DATE_EPOCH build arg, rewrite-timestamp"
"${BUILDX[@]}" --build-arg SOURCE_DATE_EPOCH=1700000000 -o "type=oci,dest=$WORK/repro/a.tar,rewrite-timestamp=true" .
"${BUILDX[@]}" --no-cache --build-arg SOURCE_DATE_EPOCH=1700000000 -o "type=oci,dest=$WORK/repro/b.tar,rewrite-timestamp=true" .
expect "two builds give byte-identical tarballs" cmp -s "$WORK/repro/a.tar" "$WORK/repro/b.tar"

step "8 --target test stage"
expect "test stage builds" "${BUILDX[@]}" --target test --progress plain .

step "9 local export of an artifacts stage"
"${BUILDX[@]}" --target artifacts -o "type=local,dest=$WORK/artifacts" .
expect "artifact file exported" grep -qx hello "$WORK/artifacts/app.txt"

step "10 annotations and labels pushed"
BUILDKIT_PROGRESS=plain "${BUILDX[@]}" --label org.opencontainers.image.revision=abc123 \
  -o "type=image,name=$REGISTRY/app:annotated,push=true,annotation.org.opencontainers.image.source=https://example.com/app" .
expect "manifest annotation in the registry" bash -c "manifest $REGISTRY/app:annotated | grep -q 'https://example.com/app'"
expect "label in the image config" bash -c "skopeo inspect --tls-verify=false docker://$REGISTRY/app:annotated | grep -q abc123"

step "11 zstd-compressed push"
"${BUILDX[@]}" -o "type=registry,name=$REGISTRY/app:zstd,compression=zstd,force-compression=true" .
expect "zstd layers in the registry" bash -c "manifest $REGISTRY/app:zstd | grep -q 'tar+zstd'"

step "12 unsupported attribute refused by name (exit 2), nothing written"
"${BUILDX[@]}" -o "type=oci,dest=$WORK/never.tar,compression=estargz" . 2>"$WORK/err.txt"
status=$?
expect "exit status 2" test "$status" -eq 2
expect "error names the attribute" grep -q 'compression=estargz' "$WORK/err.txt"
expect "no output file" test ! -e "$WORK/never.tar"

step "13 --check"
expect "build checks pass on this Dockerfile" "${BUILDX[@]}" --check .

step "14 a failing build exits 1"
printf 'FROM %s\nRUN exit 7\n' "$BASE" > Dockerfile.fail
"${BUILDX[@]}" -f Dockerfile.fail . 2>/dev/null
status=$?
expect "exit status 1" test "$status" -eq 1

step "15 named local context (--build-context NAME=DIR), its own .dockerignore"
mkdir -p "$WORK/shared" && echo "shared v1" > "$WORK/shared/lib.txt" && echo x > "$WORK/shared/skip.log" && echo '*.log' > "$WORK/shared/.dockerignore"
printf 'FROM %s\nCOPY --from=shared . /shared/\nRUN --mount=from=shared,target=/mnt cp /mnt/lib.txt /mounted.txt\n' "$BASE" > Dockerfile.named
"${BUILDX[@]}" -f Dockerfile.named --build-context "shared=$WORK/shared" -o "type=local,dest=$WORK/named" .
expect "COPY --from a named dir" grep -qx 'shared v1' "$WORK/named/shared/lib.txt"
expect "RUN --mount from a named dir" grep -qx 'shared v1' "$WORK/named/mounted.txt"
expect "the named dir's .dockerignore applied" test ! -e "$WORK/named/shared/skip.log"

step "16 a stage replaced by an image from an OCI layout (oci-layout://)"
"${BUILDX[@]}" --provenance=false --target build -t base:layout -o "type=oci,tar=false,dest=$WORK/base-layout" .
"${BUILDX[@]}" --target test --build-context "build=oci-layout://$WORK/base-layout:layout" --progress plain . >"$WORK/layout.log" 2>&1
expect "build with an oci-layout stage" test $? -eq 0
expect "the replaced stage's own steps did not run" bash -c "! grep -q 'cp app.txt' '$WORK/layout.log'"

step "17 --ulimit and --shm-size in RUN"
printf 'FROM %s\nRUN ulimit -n > /nofile && df -k /dev/shm | tail -1 > /shm\n' "$BASE" > Dockerfile.limits
"${BUILDX[@]}" -f Dockerfile.limits --ulimit nofile=1024:2048 --shm-size 256m -o "type=local,dest=$WORK/limits" .
expect "ulimit -n is 1024" grep -qx 1024 "$WORK/limits/nofile"
expect "/dev/shm is 256m" grep -q 262144 "$WORK/limits/shm"

step "18 --ssh default with RUN --mount=type=ssh"
eval "$(ssh-agent -s)" >/dev/null
printf 'FROM %s\nRUN --mount=type=ssh,required=true test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /sock\n' "$BASE" > Dockerfile.ssh
"${BUILDX[@]}" -f Dockerfile.ssh --ssh default -o "type=local,dest=$WORK/ssh" .
expect "the agent socket is mounted at BuildKit's default target" grep -qx /run/buildkit/ssh_agent.0 "$WORK/ssh/sock"
"${BUILDX[@]}" -f Dockerfile.ssh --no-cache . 2>"$WORK/ssh-err.txt"
expect "a required ssh mount without --ssh exits 1" test $? -eq 1
expect "the error names --ssh" grep -q 'was not given' "$WORK/ssh-err.txt"
ssh-agent -k >/dev/null

step "19 metadata of a recompressed push is the pushed digest"
"${BUILDX[@]}" --provenance=false --metadata-file "$WORK/meta/zstd.json" -o "type=registry,name=$REGISTRY/app:meta-zstd,compression=zstd,force-compression=true" .
pushed="sha256:$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/app:meta-zstd" | sha256sum | cut -d' ' -f1)"
expect "containerimage.digest is the pushed manifest" grep -q "\"containerimage.digest\": \"$pushed\"" "$WORK/meta/zstd.json"

echo "compat: $passed passed, $failed failed"
test "$failed" -eq 0
