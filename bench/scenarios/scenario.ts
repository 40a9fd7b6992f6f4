import type { BenchEnv } from '../lib/bench-env.js';
import type { ScenarioResult } from '../lib/result.js';
import type { Tsbuild } from '../lib/tools.js';

/** One benchmark scenario: measures tsbuild and its peer in the same run, and can replay one tsbuild run. */
export interface Scenario {
  id: string;
  title: string;
  /** The goal as the issue states it, shown beside the figure. */
  goal?: string;
  /** Measures; fills `result` as it goes so that a failure halfway keeps what was measured. */
  run(env: BenchEnv, result: ScenarioResult): Promise<void>;
  /**
   * One more tsbuild run exactly like a measured repetition, with the given (profiling) Tsbuild; it may rely on
   * the state `run` left behind.
   */
  replay?(env: BenchEnv, tsbuild: Tsbuild): Promise<void>;
}
