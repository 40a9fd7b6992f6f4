import { expect } from 'chai';
import type { History } from '../../registry/oci/index.js';
import { fillHistoryTimes } from './history-times.js';

const entry = (created_by: string, created?: string): History => ({ created_by, ...(created === undefined ? {} : { created }) });

describe('fillHistoryTimes (BuildKit normalizeLayersAndHistory)', () => {
  it('gives a config-only step before the first new layer that layer\'s time, and one after a layer the time of the layer before it', () => {
    const history = [entry('base', 'T0'), entry('ENV'), entry('RUN', 'T1'), entry('LABEL'), entry('COPY', 'T2'), entry('CMD'), entry('USER')];
    expect(fillHistoryTimes(history)).to.equal('T2');
    expect(history.map((h) => h.created)).to.deep.equal(['T0', 'T1', 'T1', 'T1', 'T2', 'T2', 'T2']);
  });

  it('makes an image whose build added no layer as old as the base\'s last entry', () => {
    const history = [entry('base1', 'T0'), entry('base2', 'T0b'), entry('ENV'), entry('LABEL')];
    expect(fillHistoryTimes(history)).to.equal('T0b');
    expect(history.map((h) => h.created)).to.deep.equal(['T0', 'T0b', 'T0b', 'T0b']);
  });

  it('leaves entries without a time when nothing has one (FROM scratch, config only)', () => {
    const history = [entry('ENV')];
    expect(fillHistoryTimes(history)).to.equal(undefined);
    expect(history).to.deep.equal([{ created_by: 'ENV' }]);
  });
});
