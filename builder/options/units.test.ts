import { expect } from 'chai';
import { formatBytes } from '../report/format.js';
import { formatSize, parseSize } from './units.js';

describe('formatSize', () => {
  const cases: [number, string][] = [[0, '0B'], [512, '512B'], [1536, '1.5kB'], [1_048_576, '1.0MB'], [1_044_480, '1.0MB'], [1_036_000, '1.0MB'], [241_172_480, '230MB'], [5 * 1024 ** 3, '5.0GB']];
  for (const [bytes, want] of cases) it(`prints ${bytes} bytes as ${want}, never in exponent notation`, () => expect(formatSize(bytes)).to.equal(want));
  it('gives the report a space before the unit (1.0 MB)', () => expect(formatBytes(1_048_576)).to.equal('1.0 MB'));
  it('reads docker sizes back', () => expect(parseSize('64m')).to.equal(64 * 1024 * 1024));
});
