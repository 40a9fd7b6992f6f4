/** A span of time on the timeline, in ms from the start of the build. */
export interface Span { startMs: number; endMs: number }

/**
 * Puts overlapping spans on separate lanes (rows) so parallel steps show side by side: each span goes to the first
 * lane that is free at its start, in order of start time. Returns one lane index per span, in input order.
 */
export function assignLanes(spans: readonly Span[], minMs = 1): number[] {
  const order = spans.map((s, i) => ({ s, i })).sort((a, b) => a.s.startMs - b.s.startMs || a.i - b.i);
  const laneEnds: number[] = [];
  const lanes = new Array<number>(spans.length).fill(0);
  for (const { s, i } of order) {
    // A bar is drawn at least `minMs` wide (cache hits take ~0 ms): reserve that much so bars never cover each other.
    const end = Math.max(s.endMs, s.startMs + minMs);
    let lane = laneEnds.findIndex((e) => e <= s.startMs);
    if (lane < 0) { lane = laneEnds.length; laneEnds.push(end); } else laneEnds[lane] = end;
    lanes[i] = lane;
  }
  return lanes;
}
