import type { ComponentResult } from './components.js';
import type { Machine } from './machine.js';
import type { ProfileReport } from './profile.js';
import type { ScenarioResult } from './result.js';

/** One whole `make bench` run, as written to bench/results/<date>.json. */
export interface BenchReport {
  /** ISO 8601, when the run started. */
  date: string;
  machine: Machine;
  reps: number;
  totalMs: number;
  scenarios: ScenarioResult[];
  components: ComponentResult[];
  /** One profiled tsbuild run per scenario that can replay one, slowest ratio first. */
  profiles: ProfileReport[];
}

/** Scenarios that finished, each with its worst (largest) tsbuild ratio, worst first: the order to profile them in. */
export function byWorstRatio(scenarios: ScenarioResult[]): { scenario: ScenarioResult; ratio: number }[] {
  return scenarios
    .filter((s) => s.error === undefined && s.ratios.length > 0)
    .map((scenario) => ({ scenario, ratio: Math.max(...scenario.ratios.map((r) => r.value)) }))
    .sort((a, b) => b.ratio - a.ratio);
}
