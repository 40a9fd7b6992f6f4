import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publishDebian } from '../../test/fixtures/debian-image.js';
import type { BenchEnv } from '../lib/bench-env.js';
import { runCommand } from '../lib/command.js';
import { measureAlternating } from '../lib/measure.js';
import { outwaitPeerDeletions, peerDeleted, removeTree } from '../lib/remove-tree.js';
import { ratioOfRows, type Ratio, type Row } from '../lib/result.js';
import { buildahSplit, formatRunPairs, formatSplit, timedDockerfile, tsbuildSplit } from '../lib/run-split.js';
import { summarize } from '../lib/stats.js';
import type { Buildah, Tsbuild } from '../lib/tools.js';
import { SAME_SHAPE_AS_SKOPEO } from './push.js';
import type { Scenario } from './scenario.js';

/** The issue's goals: cold build + OCI archive ≤ 0.8× buildah's, rebuild after one source edit ≤ 0.3×. */
const COLD_GOAL = 0.8;
const EDIT_GOAL = 0.3;

/** One real-world project: its committed Dockerfile under bench/real-world/NAME, what the scenario adds, what it edits. */
interface App {
  name: string;
  /** Context-relative path of the source file the edit run changes (under the broad COPY). */
  edited: string;
  /** Generates the files that are not committed (the monorepo's 3,000). */
  generate?: (dir: string) => Promise<void>;
  /** Its `npm ci` needs the host's CA bundle as the build secret `ca` (the registry may sit behind a TLS-inspecting proxy). */
  needsCa?: boolean;
}

/** The host's CA bundle, passed to npm as NODE_EXTRA_CA_CERTS through the secret `ca` (same flag for both builders). */
const CA_BUNDLE = process.env.SSL_CERT_FILE ?? '/etc/ssl/certs/ca-certificates.crt';
function secretArgs(app: App): string[] {
  return app.needsCa === true ? ['--secret', `id=ca,src=${CA_BUNDLE}`] : [];
}

/** 30 packages × 100 files (src/*.js and a package.json each; not .ts: bench/work is inside tsconfig's include): a 3,000-file monorepo context. */
async function generateMonorepo(dir: string): Promise<void> {
  for (let p = 0; p < 30; p++) {
    const pkg = join(dir, `packages/pkg${p}`);
    await mkdir(join(pkg, 'src'), { recursive: true });
    await writeFile(join(pkg, 'package.json'), `${JSON.stringify({ name: `@mono/pkg${p}`, version: '1.0.0', main: 'src/file0.js' })}\n`);
    await Promise.all(Array.from({ length: 99 }, (_, f) => writeFile(join(pkg, `src/file${f}.js`),
      `export const value${f} = ${p * 100 + f};\nexport function f${f}(x) { return x + value${f}; }\n`)));
  }
}

const APPS: App[] = [
  { name: 'c-build', edited: 'src/greet.c' },
  { name: 'apt-server', edited: 'www/index.html' },
  { name: 'monorepo', edited: 'packages/pkg7/src/file3.js', generate: generateMonorepo },
  { name: 'npm-service', edited: 'src/routes.js', needsCa: true },
  { name: 'ts-multistage', edited: 'src/handlers.ts', needsCa: true },
];

/** BENCH_REAL_WORLD=name,name runs only those projects (all when unset); an unknown name fails the scenario. */
function selectedApps(): App[] {
  const names = (process.env.BENCH_REAL_WORLD ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = names.filter((n) => !APPS.some((a) => a.name === n));
  if (unknown.length > 0) throw new Error(`BENCH_REAL_WORLD: no project ${unknown.join(', ')} (known: ${APPS.map((a) => a.name).join(', ')})`);
  return names.length === 0 ? APPS : APPS.filter((a) => names.includes(a.name));
}

interface AppState {
  app: App;
  ctx: string;
  root: string;
  buildah: Buildah;
  tag: string;
  archive: string;
}

/** Where the worst measured run was, so that the profiled replay repeats that one. */
let worst: { app: string; kind: 'cold' | 'edit'; ratio: number } | undefined;
const states = new Map<string, AppState>();
let debianBase: string | undefined;

async function base(env: BenchEnv): Promise<string> {
  if (debianBase === undefined) {
    env.log('  publishing the Debian bookworm base (test/fixtures/debian-image.ts)');
    debianBase = (await publishDebian(env.registry.host, 'debian', 'bookworm')).ref;
  }
  return debianBase;
}

async function prepare(env: BenchEnv, app: App): Promise<AppState> {
  const ctx = join(env.work, `contexts/real-world-${app.name}`);
  await rm(ctx, { recursive: true, force: true });
  await cp(join(env.projectRoot, 'bench/real-world', app.name), ctx, { recursive: true });
  await app.generate?.(ctx);
  const out = join(env.work, 'state/real-world-out');
  await mkdir(out, { recursive: true });
  const state: AppState = {
    app, ctx, root: await env.freshRoot(`real-world-${app.name}`), buildah: env.buildah(`real-world-${app.name}`),
    tag: `localhost/bench-rw-${app.name}:1`, archive: join(out, `${app.name}.tar`),
  };
  states.set(app.name, state);
  return state;
}

/** Appends a line to the edited file: a new content digest, same shape, so the broad COPY and what follows rerun. */
async function edit(state: AppState, mark: string): Promise<void> {
  const file = join(state.ctx, state.app.edited);
  const text = await readFile(file, 'utf8');
  const comment = state.app.edited.endsWith('.html') ? `<!-- ${mark} -->` : `/* ${mark} */`;
  await writeFile(file, `${text}${comment}\n`);
}

/** `tsbuild build -o type=oci,dest=FILE` (a tar), the same image shape buildah pushes. */
async function tsbuildArchive(tsbuild: Tsbuild, state: AppState, baseRef: string): Promise<number> {
  await rm(`${state.archive}.tsbuild`, { force: true });
  const run = await tsbuild.build(state.root, state.ctx, [
    '--build-arg', `BASE=${baseRef}`, ...secretArgs(state.app), '-o', `type=oci,dest=${state.archive}.tsbuild`, ...SAME_SHAPE_AS_SKOPEO,
  ]);
  return run.ms;
}

/** `buildah bud --layers` then `buildah push IMAGE oci-archive:FILE`, timed together. */
async function buildahArchive(state: AppState, baseRef: string): Promise<number> {
  await rm(`${state.archive}.buildah`, { force: true });
  try {
    const bud = await state.buildah.bud(state.ctx, state.tag, ['--layers', '--build-arg', `BASE=${baseRef}`, ...secretArgs(state.app)]);
    const push = await state.buildah.pushOciArchive(state.tag, `${state.archive}.buildah`);
    return bud.ms + push.ms;
  } finally {
    peerDeleted();   // bud removed its containers' files: the next cold run waits that out (remove-tree.ts)
  }
}

/**
 * One untimed build of the project before its timed cold runs, so that every timed run meets the network in the
 * same state. The apt and npm downloads go through the machine's caching proxy, whose copy of a file does not last
 * long: the same 46.6 MB of Debian packages took 27.5 s to fetch once it had gone and 0.3-1.3 s while it was there
 * (bench/RESULTS.md, "Real-world cold: the network and the disk"). Without this, whoever runs first after the copies
 * expired pays for the fetch, and tsbuild always runs first in a pair. Its root is set aside, never reused.
 */
async function primeNetwork(env: BenchEnv, state: AppState, baseRef: string): Promise<void> {
  env.log(`  ${state.app.name}: one untimed build first (the network's caches warm for every timed run)`);
  const root = await env.freshRoot(`real-world-${state.app.name}-prime`);
  await env.tsbuild.build(root, state.ctx, ['--build-arg', `BASE=${baseRef}`, ...secretArgs(state.app)]);
  await removeTree(root);
}

/**
 * Five small projects of the kind users build (bench/real-world/): a gcc multi-stage C build, an apt-installed
 * server with its config, a 3,000-file monorepo context, an express service (`npm ci` from a real lock, Debian's
 * nodejs + npm), a TypeScript multi-stage (tsc in a build stage, dist + production node_modules in a slim final
 * stage). Each cold (empty state, base pulled) and after a one-file edit, tsbuild `-o type=oci` against `buildah
 * bud --layers` + `buildah push oci-archive:`; then the sums over all of them (the aggregate ratios).
 */
export const realWorld: Scenario = {
  id: 'real-world',
  title: 'Real-world Dockerfiles on Debian (C build, apt server, monorepo, npm service, TypeScript multi-stage): cold and one-file edit, with OCI archive export',
  goal: `cold ≤ ${COLD_GOAL}×, edit ≤ ${EDIT_GOAL}× buildah (bud --layers + push oci-archive)`,
  async run(env, result) {
    const baseRef = await base(env);
    worst = undefined;
    env.tsbuild.peakRssKiB = 0;
    const apps = selectedApps();
    for (const app of apps) {
      const state = await prepare(env, app);
      await primeNetwork(env, state, baseRef);
      env.log(`  ${app.name}: cold`);
      const cold = await measureAlternating([
        {
          label: `tsbuild ${app.name} cold`, role: 'tsbuild', command: `tsbuild build --root EMPTY -o type=oci,dest=… bench/real-world/${app.name}`,
          before: async () => { await removeTree(state.root); await outwaitPeerDeletions(env.log); },
          run: () => tsbuildArchive(env.tsbuild, state, baseRef),
        },
        {
          label: `buildah ${app.name} cold`, role: 'peer', command: `buildah bud --layers (empty storage) && buildah push oci-archive:…`,
          before: async () => { await state.buildah.reset(); await outwaitPeerDeletions(env.log); },
          run: () => buildahArchive(state, baseRef),
        },
      ], env.reps, env.log);
      result.rows.push(...cold);
      record(result, app.name, 'cold', COLD_GOAL);
      env.log(`  ${app.name}: edit ${app.edited}`);
      const edits = await measureAlternating([
        {
          label: `tsbuild ${app.name} edit`, role: 'tsbuild', command: `edit ${app.edited}; tsbuild build -o type=oci,dest=…`,
          before: (rep) => edit(state, `tsbuild-${rep}`),
          run: () => tsbuildArchive(env.tsbuild, state, baseRef),
        },
        {
          label: `buildah ${app.name} edit`, role: 'peer', command: `edit ${app.edited}; buildah bud --layers && buildah push oci-archive:…`,
          before: (rep) => edit(state, `buildah-${rep}`),
          run: () => buildahArchive(state, baseRef),
        },
      ], env.reps, env.log);
      result.rows.push(...edits);
      record(result, app.name, 'edit', EDIT_GOAL);
      if (process.env.BENCH_REAL_WORLD_SPLIT === '1') await split(env, result, state, baseRef);
    }
    if (apps.length > 1) {
      aggregate(result, apps, 'cold', COLD_GOAL);
      aggregate(result, apps, 'edit', EDIT_GOAL);
    }
  },
  async replay(env, tsbuild) {
    const target = worst ?? { app: 'c-build', kind: 'cold' as const, ratio: 0 };
    const baseRef = await base(env);
    const state = states.get(target.app) ?? await prepare(env, APPS.find((a) => a.name === target.app) ?? APPS[0]!);
    if (target.kind === 'cold') await removeTree(state.root);
    else await edit(state, 'profile');
    await tsbuildArchive(tsbuild, state, baseRef);
  },
};

/**
 * BENCH_REAL_WORLD_SPLIT=1: one more cold build by each builder of the project with every RUN timed from inside
 * (bench/lib/run-split.ts), split into base pull (tsbuild: with its unpack share), the RUN processes' own time, the
 * builder's work around them and the export, and each RUN process's time under both builders side by side; written
 * to the log and the notes. tsbuild runs with `--progress tsbuild-json` for its step times;
 * buildah's pull, bud and push are timed one by one.
 */
async function split(env: BenchEnv, result: Parameters<Scenario['run']>[1], state: AppState, baseRef: string): Promise<void> {
  const name = state.app.name;
  const ctx = `${state.ctx}-split`;
  await rm(ctx, { recursive: true, force: true });
  await cp(state.ctx, ctx, { recursive: true });
  await writeFile(join(ctx, 'Dockerfile'), timedDockerfile(await readFile(join(ctx, 'Dockerfile'), 'utf8')));
  const root = await env.freshRoot(`real-world-${name}-split`);
  const archive = `${state.archive}.split`;
  await outwaitPeerDeletions(env.log);
  const t = await runCommand(env.tsbuild.bin, ['build', '--root', root, '--build-arg', `BASE=${baseRef}`, ...secretArgs(state.app),
    '-o', `type=oci,dest=${archive}.tsbuild`, ...SAME_SHAPE_AS_SKOPEO, '--progress', 'tsbuild-json', ctx], { keepAll: true });
  const ourSplit = tsbuildSplit(t.stderr, t.startedAt, t.ms);
  const ours = formatSplit(`tsbuild ${name} cold split`, ourSplit);
  await removeTree(root);
  const buildah = env.buildah(`real-world-${name}-split`);
  await buildah.reset();
  await outwaitPeerDeletions(env.log);
  const pull = await buildah.pull(baseRef);
  const bud = await buildah.bud(ctx, state.tag, ['--layers', '--build-arg', `BASE=${baseRef}`, ...secretArgs(state.app)], { keepAll: true });
  const push = await buildah.pushOciArchive(state.tag, `${archive}.buildah`);
  peerDeleted();
  const peerSplit = buildahSplit(pull.ms, bud.ms, `${bud.stdout}\n${bud.stderr}`, push.ms);
  const peer = formatSplit(`buildah ${name} cold split`, peerSplit);
  // The RUN processes are the same work for both builders; side by side, a difference there is the machine's noise
  // (or the network), not the builder.
  const pairs = `${name} cold split: ${formatRunPairs(ourSplit.perRun ?? [], peerSplit.perRun ?? [])}`;
  await buildah.reset();
  await rm(ctx, { recursive: true, force: true });
  await rm(`${archive}.tsbuild`, { force: true });
  await rm(`${archive}.buildah`, { force: true });
  for (const line of [ours, peer, pairs]) {
    env.log(`  ${line}`);
    result.notes.push(line);
  }
}

/**
 * The projects taken together: a row per builder whose samples are the per-repetition sums over every project (the
 * reps alternate in the same order for all), and the ratio of the two sums of medians, put first so the summary
 * table shows it.
 */
function aggregate(result: Parameters<Scenario['run']>[1], apps: App[], kind: 'cold' | 'edit', goal: number): void {
  const rowsOf = (who: 'tsbuild' | 'buildah') => apps.map((a) => result.rows.find((r) => r.label === `${who} ${a.name} ${kind}`));
  const ours = rowsOf('tsbuild');
  const peers = rowsOf('buildah');
  if ([...ours, ...peers].some((r) => r === undefined)) return;
  const sumRow = (rows: typeof ours, who: 'tsbuild' | 'buildah', role: Row['role']): Row => {
    const reps = Math.min(...rows.map((r) => r?.ms.samples.length ?? 0));
    const samples = Array.from({ length: reps }, (_, i) => rows.reduce((t, r) => t + (r?.ms.samples[i] ?? 0), 0));
    return { label: `${who} all ${kind}`, role, command: `sum over ${apps.map((a) => a.name).join(', ')}`, ms: summarize(samples) };
  };
  const ourSum = ours.reduce((t, r) => t + (r?.ms.median ?? 0), 0);
  const peerSum = peers.reduce((t, r) => t + (r?.ms.median ?? 0), 0);
  if (peerSum <= 0) return;
  result.rows.push(sumRow(ours, 'tsbuild', 'tsbuild'), sumRow(peers, 'buildah', 'peer'));
  const value = ourSum / peerSum;
  const ratio: Ratio = { ours: `tsbuild all ${kind}`, peer: `buildah all ${kind}`, value, goal, isMet: value <= goal };
  // Cold first, then edit, both ahead of the per-project ratios.
  result.ratios.splice(kind === 'cold' ? 0 : 1, 0, ratio);
}

function record(result: Parameters<Scenario['run']>[1], app: string, kind: 'cold' | 'edit', goal: number): void {
  const ratio: Ratio | undefined = ratioOfRows(result, `tsbuild ${app} ${kind}`, `buildah ${app} ${kind}`, goal);
  if (ratio === undefined) return;
  result.ratios.push(ratio);
  if (worst === undefined || ratio.value / goal > worst.ratio) worst = { app, kind, ratio: ratio.value / goal };
}
