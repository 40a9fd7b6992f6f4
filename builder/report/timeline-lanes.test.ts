import { expect } from 'chai';
import { assignLanes } from './timeline-lanes.js';
import { diffWords } from './text-diff.js';

describe('assignLanes', () => {
  it('puts sequential steps on one lane and overlapping ones on separate lanes', () => {
    expect(assignLanes([{ startMs: 0, endMs: 10 }, { startMs: 10, endMs: 20 }])).to.deep.equal([0, 0]);
    expect(assignLanes([{ startMs: 0, endMs: 100 }, { startMs: 5, endMs: 50 }, { startMs: 60, endMs: 90 }, { startMs: 100, endMs: 120 }])).to.deep.equal([0, 1, 1, 0]);
  });

  it('reserves the minimum bar width so instant steps do not cover each other', () => {
    expect(assignLanes([{ startMs: 0, endMs: 0 }, { startMs: 2, endMs: 2 }, { startMs: 20, endMs: 30 }], 10)).to.deep.equal([0, 1, 0]);
  });
});

describe('diffWords', () => {
  it('marks the words that were removed and added, keeping the rest', () => {
    expect(diffWords('RUN npm ci', 'RUN npm ci --omit=dev')).to.deep.equal([{ op: 'same', text: 'RUN npm ci' }, { op: 'add', text: ' --omit=dev' }]);
    const parts = diffWords('RUN make all', 'RUN make test');
    expect(parts.filter((p) => p.op === 'del').map((p) => p.text.trim())).to.deep.equal(['all']);
    expect(parts.filter((p) => p.op === 'add').map((p) => p.text.trim())).to.deep.equal(['test']);
  });
});
