# tsbuild: `make demo` builds and pushes an example image to a local registry; `make test` runs every test.
SHELL := /bin/bash
NODE := scripts/node
TSC := $(NODE) node_modules/typescript/bin/tsc
NATIVE := worker/native/tsbuild-run
FSATTR := worker/native/fsattr/tsbuild-fsattr
# The thin client of `tsbuild daemon` (builder/daemon/client.c), which bin/tsbuild execs when the daemon's socket exists.
DAEMON_CLIENT := builder/daemon/tsbuild-client
CFLAGS ?= -O2 -g -Wall -Wextra -Werror -std=gnu11
LDLIBS_NATIVE := -lseccomp
# bin/tsbuild runs one bundle (dist/bundle/cli/launch.js, commands split into lazily imported chunks) instead of ~330
# separate modules. The bundle sits two folders below dist/ like every dist/<folder>/<sub>/ file, so lookups relative to
# import.meta.url (worker/native-path.ts) resolve the same from both. Source maps keep stack traces in TypeScript.
# globalThis.Headers is undefined in the bundle: undici's cookie helpers read it at load (to brand-check Node's Headers
# too), and reading that lazy global initialises Node's own copy of undici, ~15-20 ms of every registry command.
# tsbuild uses no cookies and never names globalThis.Headers itself.
# re2js (bake's regex functions) is evaluated on a bake file's first regex call, not with the bake command's chunk
# (builder/bundle/re2js-lazy.ts).
# Then the V8 startup snapshot of the same CLI (dist/bundle/snap/, builder/bundle/build-snapshot.mjs), which bin/tsbuild
# starts instead when it is valid for the node it runs; a snapshot that cannot be built is reported, never an error.
# As root it also runs two small builds and a push from a first blob (a scratch root in $TMPDIR, a loopback registry)
# and builds the blob again with the bytecode of every function they compiled.
ESBUILD := node_modules/.bin/esbuild
BUNDLE_FLAGS := --bundle --splitting --alias:undici=./builder/bundle/undici-lazy.ts --alias:re2js=./builder/bundle/re2js-lazy.ts --format=esm --platform=node --target=node22 --outdir=dist/bundle/cli \
	--define:globalThis.Headers=undefined --chunk-names=[name]-[hash] --keep-names --sourcemap --sources-content=false --log-level=warning \
	--banner:js="import { createRequire as __tsbuildRequire } from 'node:module'; const require = __tsbuildRequire(import.meta.url);"

.PHONY: setup build native test unit demo bench clean

setup:
	@scripts/setup.sh
	@$(MAKE) --no-print-directory build

build: native
	@$(TSC) -p tsconfig.json
	@rm -rf dist/bundle && $(ESBUILD) builder/launch.ts $(BUNDLE_FLAGS)
	@$(ESBUILD) builder/version-cli.ts --bundle --format=cjs --platform=node --target=node22 --outfile=dist/bundle/cli/version.cjs --log-level=warning
	@$(NODE) builder/bundle/build-snapshot.mjs

native: $(NATIVE) $(FSATTR) $(DAEMON_CLIENT)

$(DAEMON_CLIENT): builder/daemon/client.c
	cc $(CFLAGS) -o $@ $<

$(FSATTR): $(wildcard worker/native/fsattr/*.c)
	cc $(CFLAGS) -o $@ $(wildcard worker/native/fsattr/*.c)

$(NATIVE): $(wildcard worker/native/*.c worker/native/*.h)
	@if ls worker/native/*.c >/dev/null 2>&1; then cc $(CFLAGS) -o $@ worker/native/*.c $(LDLIBS_NATIVE); else echo "no native sources yet"; fi

test: setup
	@$(NODE) node_modules/mocha/bin/mocha.js 'dist/**/*.test.js'

demo: setup
	@scripts/demo.sh

bench: setup
	@bench/run.sh

clean:
	rm -rf dist $(NATIVE) $(FSATTR) $(DAEMON_CLIENT)
