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
  let run = 0;
  let runs = 0;
  let runSteps = 0;
  let runLayer = 0;
  for (const e of events) {
    if (e.type !== 'done' || e.vertex === undefined) continue;
    const text = texts.get(e.vertex) ?? '';
    if (/\bFROM\b/.test(text)) pull = Math.max(pull, e.durationMs ?? 0);   // parallel stages pull one base once
    const own = runTimes(logs.get(e.vertex) ?? '');
    if (/\bRUN\b/.test(text) && own.length > 0) {
      run += own.reduce((a, b) => a + b, 0);
      runs += own.length;
      runSteps += e.durationMs ?? 0;
      runLayer += e.time - (ended.get(e.vertex) ?? e.time);
    }
  }
  const stepEvents = events.filter((e) => ['start', 'cached', 'done', 'error'].includes(e.type));
  const last = stepEvents[stepEvents.length - 1]?.time ?? startedAt + wallMs;
  const exported = startedAt + wallMs - last;
  return {
    wall: wallMs, pull, run, runs, runStepOverhead: runSteps - run, runSetup: runSteps - run - runLayer, runLayer,
    export: exported, other: wallMs - pull - runSteps - exported,
  };
}

/** The split of buildah's `pull` + `bud` + `push oci-archive:` (the three timed on their own). */
export function buildahSplit(pullMs: number, budMs: number, budOutput: string, pushMs: number): ColdSplit {
  const own = runTimes(budOutput);
  const run = own.reduce((a, b) => a + b, 0);
  return { wall: pullMs + budMs + pushMs, pull: pullMs, run, runs: own.length, export: pushMs, other: budMs - run };
}

/** One line for the log and the notes: `wall 12,345 ms = pull … + RUN own … (n) + …`. */
export function formatSplit(who: string, s: ColdSplit): string {
  const ms = (n: number): string => `${Math.round(n).toLocaleString('en-US')} ms`;
  const parts = [`pull ${ms(s.pull)}`, `RUN processes ${ms(s.run)} (${s.runs} RUN)`];
  if (s.runStepOverhead !== undefined) {
    const detail = s.runSetup !== undefined && s.runLayer !== undefined ? ` (setup ${ms(s.runSetup)}, layer after the process ${ms(s.runLayer)})` : '';
    parts.push(`RUN-step overhead ${ms(s.runStepOverhead)}${detail}`);
  }
  parts.push(`export ${ms(s.export)}`, `other ${ms(s.other)}`);
  return `${who}: wall ${ms(s.wall)} = ${parts.join(' + ')}`;
}
