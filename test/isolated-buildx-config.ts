import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every build records buildx's local state under $BUILDX_CONFIG, else ~/.docker/buildx (builder/local-state.ts), as
// buildx does: the suite's thousands of builds keep theirs in a directory of this run, removed at its end, not in the
// home of whoever runs the tests. Loaded by .mocharc.json (`require`) before any test; a given BUILDX_CONFIG is kept.
const own = process.env.BUILDX_CONFIG === undefined ? mkdtempSync(join(tmpdir(), 'tsbuild-test-buildx-config-')) : undefined;
if (own !== undefined) process.env.BUILDX_CONFIG = own;

/** Mocha's root hooks: the run's config directory goes when the run ends. */
export const mochaHooks = {
  afterAll(): void {
    if (own !== undefined) rmSync(own, { recursive: true, force: true });
  },
};
