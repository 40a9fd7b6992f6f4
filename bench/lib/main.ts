// `make bench` → bench/run.sh → this: every scenario with tsbuild and its peer in one run, results written to
// bench/results/<date>.json and the generated part of bench/RESULTS.md. Environment: BENCH_REPS (default 3),
// BENCH_ONLY=id,id (a subset of scenarios), BENCH_COMPONENTS=0 (skip the component benchmarks), BENCH_PROFILE=0
// (skip the profiled replays).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from '../scenarios/index.js';
import { openBenchEnv } from './bench-env.js';
import { runComponents, type ComponentResult } from './components.js';
import { describeMachine } from './machine.js';
import { renderMarkdown, spliceResults } from './markdown.js';
import { profileScenario } from './profile.js';
import { byWorstRatio, type BenchReport } from './report.js';
import { emptyResult, type ScenarioResult } from './result.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const reps = Math.max(1, Number(process.env.BENCH_REPS ?? '3') || 3);
const only = (process.env.BENCH_ONLY ?? '').split(',').filter((s) => s !== '');
const log = (line: string): void => { process.stderr.write(`${line}\n`); };

const started = Date.now();
const date = new Date(started).toISOString();
const machine = await describeMachine(join(projectRoot, 'bin/tsbuild'));
log(`bench: ${machine.cpuModel}, ${machine.cores} cores, kernel ${machine.kernel}; ${reps} repetitions`);

const env = await openBenchEnv(projectRoot, reps, log);
const scenarios: ScenarioResult[] = [];
let components: ComponentResult[] = [];
const profiles: BenchReport['profiles'] = [];
try {
  for (const scenario of SCENARIOS.filter((s) => only.length === 0 || only.includes(s.id))) {
    log(`scenario ${scenario.id}: ${scenario.title}`);
    const result = emptyResult(scenario.id, scenario.title, scenario.goal);
    const t0 = Date.now();
    env.tsbuild.peakRssKiB = 0;
    try {
      await scenario.run(env, result);
    } catch (err) {
      result.error = err instanceof Error ? err.message : String(err);
      log(`  failed: ${result.error}`);
    }
    if (env.tsbuild.peakRssKiB > 0) result.notes.push(`tsbuild peak RSS: ${(env.tsbuild.peakRssKiB / 1024).toFixed(0)} MiB (the largest of its measured runs; GNU time's figure, the largest process among tsbuild and the programs its RUN steps ran)`);
    result.durationMs = Date.now() - t0;
    for (const r of result.ratios) log(`  ${r.ours} / ${r.peer} = ${r.value.toFixed(2)}${r.goal !== undefined ? ` (goal ≤ ${r.goal})` : ''}`);
    scenarios.push(result);
  }
  if (process.env.BENCH_PROFILE !== '0') {
    for (const { scenario: result, ratio } of byWorstRatio(scenarios)) {
      const scenario = SCENARIOS.find((s) => s.id === result.id);
      if (scenario?.replay === undefined) continue;
      log(`profile: replaying ${scenario.id} (worst ratio ${ratio.toFixed(2)}×) under --cpu-prof`);
      profiles.push(await profileScenario(env, scenario, ratio));
    }
  }
} finally {
  await env.close();
}
if (process.env.BENCH_COMPONENTS !== '0') components = await runComponents(projectRoot, log);

const report: BenchReport = {
  date, machine, reps, totalMs: Date.now() - started, scenarios, components, profiles,
};
const resultsDir = join(projectRoot, 'bench/results');
await mkdir(resultsDir, { recursive: true });
const jsonFile = join(resultsDir, `${date.slice(0, 10)}.json`);
await writeFile(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
const markdown = renderMarkdown(report);
const resultsMd = join(projectRoot, 'bench/RESULTS.md');
const existing = await readFile(resultsMd, 'utf8').catch(() => undefined);
await writeFile(resultsMd, spliceResults(existing, markdown));
process.stdout.write(markdown);
log(`bench: wrote ${jsonFile} and ${resultsMd} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (scenarios.some((s) => s.error !== undefined)) process.exitCode = 1;
