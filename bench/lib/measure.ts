import type { Role, Row } from './result.js';
import { summarize } from './stats.js';

/** One contender in a measured comparison: `run` does one repetition and returns its wall time in ms. */
export interface Contender {
  label: string;
  role: Role;
  command: string;
  /** Untimed preparation before each repetition (reset state, touch a file). */
  before?: (rep: number) => Promise<void>;
  run: (rep: number) => Promise<number>;
  bytes?: number;
  steps?: number;
}

/**
 * Runs every contender `reps` times, alternating (A B C, A B C, …) so that drift in the machine's state (page
 * cache, CPU frequency, other load) spreads over all of them instead of landing on whoever ran last.
 */
export async function measureAlternating(contenders: Contender[], reps: number, log: (line: string) => void): Promise<Row[]> {
  const samples = contenders.map((): number[] => []);
  for (let rep = 0; rep < reps; rep++) {
    for (const [i, c] of contenders.entries()) {
      await c.before?.(rep);
      const ms = await c.run(rep);
      samples[i]?.push(ms);
      log(`  ${c.label}: rep ${rep + 1}/${reps} ${ms.toFixed(0)} ms`);
    }
  }
  return contenders.map((c, i) => ({
    label: c.label, role: c.role, command: c.command, ms: summarize(samples[i] ?? []),
    ...(c.bytes !== undefined ? { bytes: c.bytes } : {}), ...(c.steps !== undefined ? { steps: c.steps } : {}),
  }));
}
