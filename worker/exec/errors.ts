import * as util from 'node:util';
import { TsbuildError } from '../../common/index.js';

/** The kernel's text for an errno, as Go's syscall.Errno prints it (`argument list too long`); the number when unknown. */
export function errnoMessage(errno: number): string {
  try {
    return (util as { getSystemErrorMessage?: (n: number) => string }).getSystemErrorMessage?.(-errno) ?? util.getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** `EPERM (operation not permitted)` for errno 1 (the message needs Node >= 22.12); the number for one Node does not know. */
function errnoText(errno: number): string {
  try {
    const message = (util as { getSystemErrorMessage?: (n: number) => string }).getSystemErrorMessage?.(-errno);
    return `${util.getSystemErrorName(-errno)}${message ? ` (${message})` : ''}`;
  } catch {
    return `errno ${errno}`;
  }
}

/** A RUN step's process failed: non-zero exit, killed by a signal, or its executable could not be started. */
export class RunError extends TsbuildError {
  readonly code = 'RUN_FAILED';
  /** The process's exit status (128+signal when killed). */
  readonly exitCode: number;
  /** The last lines the step printed (stdout and stderr interleaved), oldest first. */
  readonly tail: string[];
  constructor(argv: string[], exitCode: number, tail: string[], reason?: string, hint?: string) {
    // Same wording as BuildKit, so people recognise it and search for it.
    super(`process "${argv.join(' ')}" did not complete successfully: ${reason ?? `exit code: ${exitCode}`}`,
      hint ?? 'the command printed the lines above before it failed; run it in the base image to debug it');
    this.exitCode = exitCode;
    this.tail = tail;
  }
}

/** The container around a RUN step could not be set up (a mount, a namespace, a cgroup …): names the failed call. */
export class ContainerSetupError extends TsbuildError {
  readonly code = 'RUN_FAILED';
  constructor(readonly op: string, readonly arg: string, readonly errno: number, hint?: string) {
    super(`setting up the RUN container failed: ${op}(${JSON.stringify(arg)}): ${errnoText(errno)}`,
      hint ?? 'tsbuild needs root, overlayfs and namespaces; check that the mount targets in the step are valid paths');
  }
}

/**
 * A `--resource` limit this host cannot apply: a CPU or memory node it lacks, swap it does not account, a controller
 * it has not mounted, a value its kernel refuses. Named by the cgroup file and value, as the user can change either.
 */
export class ResourceLimitError extends TsbuildError {
  readonly code = 'INVALID_ARGUMENT';
  constructor(what: string, options?: ErrorOptions, hint = 'change or drop that --resource (or -m, --cpu-*, --cpuset-*) value for this host') {
    super(`RUN resource limit ${what}`, hint, options);
  }
}

/** The build's RUN network (a network namespace behind slirp4netns) could not be started. */
export class NetworkSetupError extends TsbuildError {
  readonly code = 'RUN_FAILED';
  constructor(options?: ErrorOptions, detail?: { message: string; hint: string }) {
    super(detail?.message ?? 'starting the RUN network (slirp4netns) failed',
      detail?.hint ?? 'install slirp4netns (scripts/setup.sh does), or run the step with RUN --network=none (or --network=host with --allow network.host)', options);
  }
}

/** A `RUN --mount=type=secret,required` whose secret was not given with --secret. */
export class SecretError extends TsbuildError {
  readonly code = 'SECRET_NOT_FOUND';
  constructor(readonly id: string) {
    super(`secret "${id}" is required by RUN --mount=type=secret but was not provided`,
      `pass it with --secret id=${id},src=<file>, or mark the mount required=false`);
  }
}

/** The step was cancelled through its AbortSignal; its container has been killed. */
export class CancelledError extends TsbuildError {
  readonly code = 'CANCELLED';
  constructor(what: string, options?: ErrorOptions) {
    super(`${what} was cancelled`, undefined, options);
  }
}
