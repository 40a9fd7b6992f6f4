import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchEnv } from './bench-env.js';
import type { CommandRun } from './command.js';
import { summarizeCpuProfile, type CpuProfileSummary } from './cpu-profile.js';
import { removeTree } from './remove-tree.js';
import { Tsbuild } from './tools.js';

/** A phase of one tsbuild run, from its tsbuild-json progress events and the process's own start and exit. */
export interface Phase { name: string; ms: number }

/** What one profiled tsbuild run shows: where the wall time went, the slowest steps, and where the CPU went. */
export interface ProfileReport {
  scenario: string;
  ratio: number;
  wallMs: number;
  phases: Phase[];
  steps: { text: string; ms: number; cached: boolean }[];
  notes: string[];
  cpu?: CpuProfileSummary;
  error?: string;
}

interface TimedEvent { type: string; time: number; vertex?: string; text?: string; durationMs?: number }

function parseEvents(stderr: string): TimedEvent[] {
  const events: TimedEvent[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === 'object' && value !== null && 'type' in value && 'time' in value
        && typeof value.type === 'string' && typeof value.time === 'number') events.push(value as TimedEvent);
    } catch {
      // A line of build output that happens to start with '{'.
    }
  }
  return events;
}

/** Splits a run's wall time at its first and last step events: startup, steps, and what follows them (outputs). */
export function phasesOf(run: CommandRun): { phases: Phase[]; steps: ProfileReport['steps']; notes: string[] } {
  const events = parseEvents(run.stderr);
  const vertexEvents = events.filter((e) => ['start', 'cached', 'done', 'error'].includes(e.type));
  const end = run.startedAt + run.ms;
  const first = vertexEvents[0]?.time;
  const last = vertexEvents[vertexEvents.length - 1]?.time;
  const phases: Phase[] = first === undefined || last === undefined
    ? [{ name: 'whole run (no step events)', ms: run.ms }]
    : [
      { name: 'process start → first step event (Node start, module load, Dockerfile, base image resolve, cache open)', ms: first - run.startedAt },
      { name: 'first → last step event (the solve)', ms: last - first },
      { name: 'last step event → exit (image assembly, outputs, push, close)', ms: end - last },
    ];
  const texts = new Map(events.filter((e) => (e.type === 'start' || e.type === 'cached') && e.vertex !== undefined && e.text !== undefined).map((e) => [e.vertex, e.text]));
  const cached = new Set(events.filter((e) => e.type === 'cached').map((e) => e.vertex));
  const steps = events.filter((e) => e.type === 'done' && typeof e.durationMs === 'number')
    .map((e) => ({ text: texts.get(e.vertex) ?? e.vertex ?? '?', ms: e.durationMs ?? 0, cached: cached.has(e.vertex) }))
    .sort((a, b) => b.ms - a.ms).slice(0, 10);
  const notes = events.filter((e) => e.type === 'note' && e.text !== undefined).map((e) => e.text ?? '');
  return { phases, steps, notes };
}

/** The last `.cpuprofile` written in `dir`: a replay may run tsbuild more than once, the last run is the one measured. */
async function newestProfile(dir: string): Promise<string | undefined> {
  let newest: { file: string; mtimeMs: number } | undefined;
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.cpuprofile')) continue;
    const file = join(dir, name);
    const { mtimeMs } = await stat(file);
    if (newest === undefined || mtimeMs > newest.mtimeMs) newest = { file, mtimeMs };
  }
  return newest?.file;
}

/** Replays one tsbuild run of `scenario` under `node --cpu-prof` with tsbuild-json progress, and summarizes both. */
export async function profileScenario(
  env: BenchEnv, scenario: { id: string; replay?: (env: BenchEnv, tsbuild: Tsbuild) => Promise<void> }, ratio: number,
): Promise<ProfileReport> {
  const report: ProfileReport = { scenario: scenario.id, ratio, wallMs: 0, phases: [], steps: [], notes: [] };
  if (scenario.replay === undefined) return { ...report, error: 'this scenario has no replay' };
  const dir = join(env.work, 'state/profile');
  await removeTree(dir);
  await mkdir(dir, { recursive: true });
  const tsbuild = new Tsbuild({ projectRoot: env.projectRoot, profileDir: dir });
  try {
    await scenario.replay(env, tsbuild);
    const run = tsbuild.last;
    if (run === undefined) throw new Error('the replay ran no tsbuild');
    const { phases, steps, notes } = phasesOf(run);
    const file = await newestProfile(dir);
    const cpu = file === undefined ? undefined : summarizeCpuProfile(JSON.parse(await readFile(file, 'utf8')) as unknown);
    return { ...report, wallMs: run.ms, phases, steps, notes, ...(cpu !== undefined ? { cpu } : {}) };
  } catch (err) {
    return { ...report, error: err instanceof Error ? err.message : String(err) };
  }
}
