import type { Command } from 'commander';
import { UserError } from '../../common/index.js';

/** `tsbuild daemon`: warm tsbuild processes behind a unix socket, so a command skips Node's start (builder/daemon/). */
export function registerDaemon(program: Command, signal: AbortSignal): void {
  program.command('daemon')
    .description('keep warm tsbuild processes ready; bin/tsbuild hands each command to one when the socket exists (foreground, logs to stderr)')
    .option('--socket <path>', 'unix socket (default: $TSBUILD_DAEMON_SOCKET, /run/tsbuild/tsbuild.sock for root, else $XDG_RUNTIME_DIR/tsbuild/tsbuild.sock)')
    .option('--warm <n>', 'warm processes kept ready', '1')
    .action(async (flags: { socket?: string; warm: string }) => {
      const { binTsbuild, defaultSocket, runDaemon } = await import('../daemon/server.js');
      const socket = flags.socket ?? defaultSocket();
      if (socket === undefined) {
        throw new UserError('INVALID_ARGUMENT', 'no socket path for the daemon', 'set XDG_RUNTIME_DIR or TSBUILD_DAEMON_SOCKET, or pass --socket');
      }
      const warm = Number(flags.warm);
      if (!Number.isInteger(warm) || warm < 1 || warm > 64) {
        throw new UserError('INVALID_ARGUMENT', `--warm ${flags.warm}: not a whole number from 1 to 64`, 'e.g. --warm 2');
      }
      const log = (line: string): void => { process.stderr.write(`tsbuild daemon: ${line}\n`); };
      await runDaemon({ socket, warm, bin: binTsbuild(), signal, log });
    });
}
