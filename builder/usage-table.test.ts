import { expect } from 'chai';
import { goHumanDuration, goHumanSize } from '../common/index.js';
import type { Digest } from '../registry/index.js';
import type { DiskUsageEntry } from '../solver/index.js';
import { prunedTotal, usageSummary, usageTable, usageVerbose } from './usage-table.js';

describe('the build cache as `docker buildx du` and `prune` print it', () => {
  const now = Date.UTC(2026, 11, 1, 12, 0, 0);
  const entry = (hex: string, size: number, agoMs: number, leased = false): DiskUsageEntry => ({
    key: `sha256:${hex.repeat(64 / hex.length)}` as Digest, opText: `RUN make ${hex}`, size, created: now - agoMs - 1500, lastUsed: now - agoMs, leased,
  });
  const entries = [entry('ab', 1_704_000_000, 13 * 86_400_000), entry('cd', 8224, 43 * 3_600_000, true), entry('ef', 0, 500)];

  it('sizes and durations as docker/go-units says them', () => {
    expect([0, 999, 1000, 8224, 1_056_214, 318_000_000, 1_704_000_000, 10_360_000_000].map(goHumanSize))
      .to.deep.equal(['0B', '999B', '1kB', '8.224kB', '1.056MB', '318MB', '1.704GB', '10.36GB']);
    const s = 1000; const m = 60 * s; const h = 60 * m; const d = 24 * h;
    expect([500, s, 59 * s, 90 * s, 36 * m, 61 * m, 43 * h, 13 * d, 15 * d, 70 * d, 800 * d].map(goHumanDuration)).to.deep.equal([
      'Less than a second', '1 second', '59 seconds', 'About a minute', '36 minutes', 'About an hour', '43 hours', '13 days', '2 weeks', '2 months', '2 years',
    ]);
  });

  it('prints the table, with buildx\'s cell widths and tab padding, and the summary', () => {
    expect(usageTable(entries, now)).to.equal([
      'ID\t\t\t\t\t\tRECLAIMABLE\tSIZE\t\tLAST ACCESSED',
      `${'ab'.repeat(13).slice(0, 25)}${' '.repeat(15)}\ttrue \t\t1.704GB   \t13 days ago`,
      `${'cd'.repeat(13).slice(0, 25)}${' '.repeat(15)}\tfalse\t\t8.224kB   \t43 hours ago`,
      `${'ef'.repeat(13).slice(0, 25)}${' '.repeat(15)}\ttrue \t\t0B        \tLess than a second ago`,
      '',
    ].join('\n'));
    // The record a running build holds is not reclaimable.
    expect(usageSummary(entries)).to.equal('Reclaimable:\t1.704GB\nTotal:\t\t1.704GB\n');
    expect(usageTable([], now)).to.equal('');
    expect(prunedTotal(2_627_000_000)).to.equal('Total:\t2.627GB\n');
  });

  it('prints each record in detail with --verbose, its whole key as the ID', () => {
    const text = usageVerbose([entries[1] as DiskUsageEntry], now);
    expect(text).to.equal([
      `ID:\t\tsha256:${'cd'.repeat(32)}`, 'Created at:\t2026-11-29 16:59:58.5 +0000 UTC', 'Mutable:\tfalse', 'Reclaimable:\tfalse', 'Shared:\t\tfalse',
      'Size:\t\t8.224kB', 'Description:\tRUN make cd', 'Last used:\t43 hours ago', 'Type:\t\tregular', '', '',
    ].join('\n'));
  });
});
