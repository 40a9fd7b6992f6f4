# tsbuild: `make demo` builds and pushes an example image to a local registry; `make test` runs every test.
SHELL := /bin/bash
NODE := scripts/node
TSC := $(NODE) node_modules/typescript/bin/tsc
NATIVE := worker/native/tsbuild-run
FSATTR := worker/native/fsattr/tsbuild-fsattr
CFLAGS ?= -O2 -g -Wall -Wextra -Werror -std=gnu11
LDLIBS_NATIVE := -lseccomp

.PHONY: setup build native test unit demo bench clean

setup:
	@scripts/setup.sh
	@$(MAKE) --no-print-directory build

build: native
	@$(TSC) -p tsconfig.json

native: $(NATIVE) $(FSATTR)

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
	rm -rf dist $(NATIVE) $(FSATTR)
