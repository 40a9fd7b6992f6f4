/**
 * The status a command ends with when the reader of its output went away (`tsbuild history --json | head -1`): the
 * one a shell shows for a process killed by SIGPIPE (128 + 13), as docker, buildx and git end in the same pipeline.
 * Node ignores SIGPIPE, so without this a closed pipe surfaced as an unhandled EPIPE with a stack trace.
 */
export const CLOSED_OUTPUT_STATUS = 141;

let closed = false;
let listening = false;
let stopCommand: () => void = () => undefined;

/**
 * Listens for EPIPE on stdout and stderr: the first one calls `stop` (the command's abort, so a build cleans up its
 * mounts and processes as after Ctrl-C instead of running on for nobody) and the command ends with
 * CLOSED_OUTPUT_STATUS. Any other error of those streams is thrown as before. The listeners are added once; a later
 * call only changes what they stop (the daemon's warm process runs main for its warm-up builds, then for the command).
 */
export function stopWhenOutputCloses(stop: () => void): void {
  stopCommand = stop;
  if (listening) return;
  listening = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      // Once the reader has gone, what the stream reports next is the stop's own doing: an output that was writing
      // into stdout (`-o type=tar,dest=- | head -c 100`) is aborted, and its pipeline destroys stdout with that
      // AbortError. It was thrown from here, an uncaught exception with a stack and status 1.
      if (closed) return;
      if (err.code !== 'EPIPE') throw err;
      closed = true;
      process.exitCode = CLOSED_OUTPUT_STATUS;
      stopCommand();
    });
  }
}

/** Whether the output was closed under the command (then its status is CLOSED_OUTPUT_STATUS, whatever it set since). */
export function outputClosed(): boolean {
  return closed;
}
