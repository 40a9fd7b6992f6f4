import { writeSync } from 'node:fs';
import { CLOSED_OUTPUT_STATUS } from './closed-output.js';
import { VERSION } from './version.js';

// The whole of a bare `tsbuild --version` (bin/tsbuild runs this file, bundled to dist/bundle/cli/version.cjs, for
// exactly that command line). A CommonJS script that writes with one write(2): the ESM path (launch.js, the compile
// cache, six chunks, process.stdout's stream) cost ~20 ms over Node's own ~48 ms start on this VM, and Node's start is
// the floor of any tsbuild command (bench/RESULTS.md, thirteenth round). Prints what main() prints for it.
try {
  writeSync(1, `${VERSION}\n`);
} catch (err) {
  // A closed pipe ends the command as it ends any other (builder/closed-output.ts); anything else in one line.
  if ((err as NodeJS.ErrnoException).code === 'EPIPE') process.exitCode = CLOSED_OUTPUT_STATUS;
  else {
    process.stderr.write(`tsbuild: writing the version: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
