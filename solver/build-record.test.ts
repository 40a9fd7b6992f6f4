import { expect } from 'chai';
import { parseBuildRecord } from './build-record.js';

describe('parseBuildRecord', () => {
  const base = { id: 'b1', started: 0, finished: 1, status: 'succeeded', args: {}, tags: [], vertices: [] };

  it('reads a record with frontend attributes, and one written before records kept them', () => {
    expect(parseBuildRecord(JSON.stringify(base)).frontendAttrs).to.equal(undefined);
    expect(parseBuildRecord(JSON.stringify({ ...base, frontendAttrs: { platform: 'linux/amd64' } })).frontendAttrs).to.deep.equal({ platform: 'linux/amd64' });
  });

  it('refuses frontend attributes that are no strings', () => {
    expect(() => parseBuildRecord(JSON.stringify({ ...base, frontendAttrs: { platform: 1 } }))).to.throw('malformed build record');
    expect(() => parseBuildRecord(JSON.stringify({ ...base, frontendAttrs: 'x' }))).to.throw('malformed build record');
  });
});
