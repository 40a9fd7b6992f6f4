import { readFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { runCommand } from './command.js';

/** The machine and tool versions a bench run measured on: printed above every results table. */
export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  versions: { node: string; tsbuild: string; buildah: string; skopeo: string; pigz: string };
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  try {
    const run = await runCommand(cmd, args);
    return `${run.stdout}${run.stderr}`.trim().split('\n')[0] ?? '';
  } catch (err) {
    return `unavailable (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
}

/** Reads /proc/cpuinfo, uname and each tool's `--version`. `tsbuild` is the path of bin/tsbuild. */
export async function describeMachine(tsbuild: string): Promise<Machine> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    cpuModel: model.trim(),
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    versions: {
      node: process.version,
      tsbuild: await firstLine(tsbuild, ['--version']),
      buildah: await firstLine('buildah', ['--version']),
      skopeo: await firstLine('skopeo', ['--version']),
      pigz: await firstLine('pigz', ['--version']),
    },
  };
}
