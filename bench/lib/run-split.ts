// Where a cold build's time goes: the RUN processes' own time (apt-get, npm, gcc), the base pull, and the builder's
// own work around them (snapshots, layer diff/tar/compression, COPY, export). The RUN commands report their own wall
// time: timedDockerfile() wraps each shell-form RUN so that it prints `@@run-ms N` when it ends, which both builders
// pass through to their output; everything else is read from the builder's own timings.

/** The marker a timed RUN prints: `@@run-ms <milliseconds>`. */
const MARKER = '@@run-ms';
const MARKER_RE = /@@run-ms (\d+)/g;

/**
 * The Dockerfile with every shell-form RUN timed from inside: `RUN [--flags] CMD` becomes `RUN [--flags] t0=…; (
 * CMD ); rc=$?; echo "@@run-ms …"; exit $rc` (GNU date, present in Debian images). Continuation lines are joined;
 * exec-form RUN (`RUN [...]`) and heredocs are left as they are.
 */
export function timedDockerfile(text: string): string {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  return lines.map((line) => {
    const m = /^(\s*RUN\s+)((?:--\S+\s+)*)(.*)$/i.exec(line);
    if (m === null) return line;
    const [, run = '', flags = '', cmd = ''] = m;
    if (cmd.startsWith('[') || cmd.includes('<<')) return line;
    return `${run}${flags}__t0=$(date +%s%N); ( ${cmd} ); __rc=$?; `
      + `echo "${MARKER} $(( ($(date +%s%N) - __t0) / 1000000 ))"; exit $__rc`;
  }).join('\n');
}

/** One RUN process's own time, by its command as written in the Dockerfile (the timing wrapper taken off). */
export interface RunTime { command: string; ms: number }

const WRAPPED_RE = /__t0=\$\(date \+%s%N\); \( (.*) \); __rc=\$\?;/;

/** The command a timedDockerfile() RUN wraps (whitespace collapsed), or the text itself when it is not wrapped. */
export function unwrappedCommand(text: string): string {
  return (WRAPPED_RE.exec(text)?.[1] ?? text).replace(/\s+/g, ' ').trim();
}

/** The RUN times a timed build printed, in ms, in the order they appear in its output. */
export function runTimes(output: string): number[] {
  return [...output.matchAll(MARKER_RE)].map((m) => Number(m[1]));
}

/** One cold build, split. Every figure in ms; `other` is what is left of the wall time. */
export interface ColdSplit {
  wall: number;
  /** Base image pull (tsbuild: its FROM steps; buildah: `buildah pull` before the build). */
  pull: number;
  /** Sum of the RUN processes' own times (parallel stages add up: it may exceed their share of the wall time). */
  run: number;
  runs: number;
  /** Each RUN's own time with its command: the two builders' RUN processes side by side (formatRunPairs). */
  perRun?: RunTime[];
  /** tsbuild: of `pull`, the unpacking of the base's layers (from the FROM step's `unpacking` status to its end). */
  unpack?: number;
  /** Around the RUN processes inside RUN steps: snapshot, mounts, namespace, layer diff + tar + compression. */
  runStepOverhead?: number;
  /** Of runStepOverhead: before the RUN process started (snapshot, mounts, helper, network). */
  runSetup?: number;
  /** Of runStepOverhead: after it ended (the layer: diff, tar, compression, store). */
  runLayer?: number;
  /** After the last step: image assembly, what compression is left, the OCI archive (buildah: `push oci-archive:`). */
  export: number;
  /** The rest: start-up, COPY and config steps, buildah's layer commits, … */
  other: number;
}

interface JsonEvent { type: string; time: number; vertex?: string; text?: string; durationMs?: number; data?: string }

function parseJsonEvents(stderr: string): JsonEvent[] {
  const out: JsonEvent[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v === 'object' && v !== null && 'type' in v && 'time' in v && typeof v.type === 'string' && typeof v.time === 'number') out.push(v as JsonEvent);
    } catch {
      // build output that starts with '{'
    }
  }
  return out;
}

/** The split of a tsbuild run made with `--progress tsbuild-json` (log data is base64). */
export function tsbuildSplit(stderr: string, startedAt: number, wallMs: number): ColdSplit {
  const events = parseJsonEvents(stderr);
  const texts = new Map<string, string>();
  for (const e of events) if (e.type === 'start' && e.vertex !== undefined && e.text !== undefined) texts.set(e.vertex, e.text);
  const logs = new Map<string, string>();
  const ended = new Map<string, number>();   // when the marker was printed: the RUN process's end
  for (const e of events) {
    if (e.type !== 'log' || e.vertex === undefined || e.data === undefined) continue;
    const data = Buffer.from(e.data, 'base64').toString('utf8');
    logs.set(e.vertex, (logs.get(e.vertex) ?? '') + data);
    if (data.includes(MARKER)) ended.set(e.vertex, e.time);
  }
  let pull = 0;
  let unpack = 0;
  const perRun: RunTime[] = [];
  const unpacking = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'status' && e.vertex !== undefined && e.text?.startsWith('unpacking') === true && !unpacking.has(e.vertex)) unpacking.set(e.vertex, e.time);
  }
  let run = 0;
  let runs = 0;
  let runSteps = 0;
  let runLayer = 0;
  for (const e of events) {
    if (e.type !== 'done' || e.vertex === undefined) continue;
    const text = texts.get(e.vertex) ?? '';
    if (/\bFROM\b/.test(text) && (e.durationMs ?? 0) > pull) {   // parallel stages pull one base once
      pull = e.durationMs ?? 0;
      unpack = e.time - (unpacking.get(e.vertex) ?? e.time);
    }
    const own = runTimes(logs.get(e.vertex) ?? '');
    if (/\bRUN\b/.test(text) && own.length > 0) {
      run += own.reduce((a, b) => a + b, 0);
      runs += own.length;
      for (const ms of own) perRun.push({ command: unwrappedCommand(text), ms });
      runSteps += e.durationMs ?? 0;
      runLayer += e.time - (ended.get(e.vertex) ?? e.time);
    }
  }
  const stepEvents = events.filter((e) => ['start', 'cached', 'done', 'error'].includes(e.type));
  const last = stepEvents[stepEvents.length - 1]?.time ?? startedAt + wallMs;
  const exported = startedAt + wallMs - last;
  return {
    wall: wallMs, pull, unpack, run, runs, perRun, runStepOverhead: runSteps - run, runSetup: runSteps - run - runLayer, runLayer,
    export: exported, other: wallMs - pull - runSteps - exported,
  };
}

/** The split of buildah's `pull` + `bud` + `push oci-archive:` (the three timed on their own). */
export function buildahSplit(pullMs: number, budMs: number, budOutput: string, pushMs: number): ColdSplit {
  const own = runTimes(budOutput);
  const run = own.reduce((a, b) => a + b, 0);
  return { wall: pullMs + budMs + pushMs, pull: pullMs, run, runs: own.length, perRun: buildahRuns(budOutput), export: pushMs, other: budMs - run };
}

// buildah prints `STEP n/m: RUN <command>` (or `[stage] STEP …`) before a step's output, the marker in it.
function buildahRuns(output: string): RunTime[] {
  const out: RunTime[] = [];
  let command = '';
  for (const line of output.split('\n')) {
    const step = /STEP \d+\/\d+: RUN (.*)$/.exec(line);
    if (step !== null) command = unwrappedCommand(step[1] ?? '');
    for (const ms of runTimes(line)) out.push({ command, ms });
  }
  return out;
}

/**
 * One line with each RUN process's own time under both builders, in the order `ours` ran them, matched by command
 * (the same command twice is matched in order): `apt-get update && … 6,868 / 6,795 ms; …`. Shows whether a
 * difference is in the RUN processes (the same work for both) or around them.
 */
export function formatRunPairs(ours: RunTime[], peer: RunTime[], who: [string, string] = ['tsbuild', 'buildah']): string {
  const left = [...peer];
  const ms = (n: number | undefined): string => (n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
  const pairs = ours.map((r) => {
    const i = left.findIndex((p) => p.command === r.command);
    const other = i < 0 ? undefined : left.splice(i, 1)[0];
    const name = r.command.length > 72 ? `${r.command.slice(0, 71)}…` : r.command;
    return `\`${name}\` ${ms(r.ms)} / ${ms(other?.ms)} ms`;
  });
  return `RUN processes, ${who[0]} / ${who[1]}: ${pairs.join('; ')}`;
}

/** One line for the log and the notes: `wall 12,345 ms = pull … + RUN own … (n) + …`. */
export function formatSplit(who: string, s: ColdSplit): string {
  const ms = (n: number): string => `${Math.round(n).toLocaleString('en-US')} ms`;
  const parts = [`pull ${ms(s.pull)}${s.unpack !== undefined && s.unpack > 0 ? ` (unpack ${ms(s.unpack)})` : ''}`, `RUN processes ${ms(s.run)} (${s.runs} RUN)`];
  if (s.runStepOverhead !== undefined) {
    const detail = s.runSetup !== undefined && s.runLayer !== undefined ? ` (setup ${ms(s.runSetup)}, layer after the process ${ms(s.runLayer)})` : '';
    parts.push(`RUN-step overhead ${ms(s.runStepOverhead)}${detail}`);
  }
  parts.push(`export ${ms(s.export)}`, `other ${ms(s.other)}`);
  return `${who}: wall ${ms(s.wall)} = ${parts.join(' + ')}`;
}
