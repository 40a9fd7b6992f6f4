#!/usr/bin/env bash
# `make demo`: a local registry on 127.0.0.1:5000 (state in .state/registry), the busybox base image published to it,
# examples/hello built and pushed by tsbuild, and the commands to check the result with independent tools.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state="$root/.state"
mkdir -p "$state/registry"

if ! curl -fsS -o /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null; then
  cat > "$state/registry/config.yml" <<YAML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $state/registry/data }
  delete: { enabled: true }
http: { addr: 127.0.0.1:5000 }
YAML
  nohup /usr/bin/docker-registry serve "$state/registry/config.yml" > "$state/registry/registry.log" 2>&1 &
  echo $! > "$state/registry/pid"
  for _ in $(seq 1 50); do curl -fsS -o /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null http://127.0.0.1:5000/v2/ || { echo "demo: the registry did not start; see $state/registry/registry.log" >&2; exit 1; }
  echo "demo: registry started on 127.0.0.1:5000 (pid $(cat "$state/registry/pid"), data in $state/registry/data)"
else
  echo "demo: using the registry already on 127.0.0.1:5000"
fi

scripts/node dist/test/fixtures/publish-busybox.js 127.0.0.1:5000 busybox

bin/tsbuild build --root "$state/root" --progress plain --metadata-file "$state/demo-metadata.json" \
  -t localhost:5000/hello:latest --push examples/hello

digest=$(scripts/node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))["containerimage.digest"]' "$state/demo-metadata.json")
cat <<MSG

pushed localhost:5000/hello:latest@$digest
check it:
  skopeo inspect --tls-verify=false docker://localhost:5000/hello:latest
  skopeo copy --src-tls-verify=false docker://localhost:5000/hello:latest oci:/tmp/hello-oci:latest && umoci unpack --image /tmp/hello-oci:latest /tmp/hello-bundle
MSG
