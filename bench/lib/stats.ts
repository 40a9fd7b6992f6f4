/** Median and spread of repeated measurements: what every figure in RESULTS.md is made of. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Every sample, in the order it was taken. */
  samples: number[];
}

/** The median, min and max of `samples` (at least one). An even count gives the mean of the two middle values. */
export function summarize(samples: number[]): Summary {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? NaN;
  const median = sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? NaN) + upper) / 2;
  return { median, min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, samples: [...samples] };
}

/** `ours / peer` of the medians, or undefined when the peer's median is not positive (nothing to divide by). */
export function ratioOf(ours: Summary, peer: Summary): number | undefined {
  return peer.median > 0 ? ours.median / peer.median : undefined;
}

/** Throughput in MiB/s for `bytes` moved in `ms` milliseconds. */
export function mibPerSecond(bytes: number, ms: number): number {
  return ms > 0 ? bytes / (1024 * 1024) / (ms / 1000) : 0;
}
