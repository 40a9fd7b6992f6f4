import { expect } from 'chai';
import { goJson, goLocalTimeJson, goRfc3339, goTimeJson } from './go-json.js';

describe('goJson', () => {
  it('escapes what Go\'s encoding/json escapes, with MarshalIndent\'s two spaces', () => {
    expect(goJson({ a: '<b>&\u2028' })).to.equal('{\n  "a": "\\u003cb\\u003e\\u0026\\u2028"\n}');
  });
});

describe('goTimeJson', () => {
  it('writes a time as encoding/json does: the fraction without trailing zeros, none when it is zero', () => {
    expect(goTimeJson(1_700_000_000_000)).to.equal('2023-11-14T22:13:20Z');
    expect(goTimeJson(1_700_000_000_120)).to.equal('2023-11-14T22:13:20.12Z');
    expect(goTimeJson(1_700_000_000_001)).to.equal('2023-11-14T22:13:20.001Z');
    expect(goTimeJson(0)).to.equal('1970-01-01T00:00:00Z');
  });
});

describe('goLocalTimeJson', () => {
  const tz = process.env['TZ'];
  afterEach(() => { if (tz === undefined) delete process.env['TZ']; else process.env['TZ'] = tz; });   // Node rereads TZ when it is set

  it('writes a time in the local zone as RFC3339Nano formats t.Local(): the offset, or Z in UTC', () => {
    process.env['TZ'] = 'Europe/Berlin';
    expect(goLocalTimeJson(1_700_000_000_120)).to.equal('2023-11-14T23:13:20.12+01:00');
    process.env['TZ'] = 'America/St_Johns';
    expect(goLocalTimeJson(1_700_000_000_000)).to.equal('2023-11-14T18:43:20-03:30');
    process.env['TZ'] = 'UTC';
    expect(goLocalTimeJson(1_700_000_000_000)).to.equal('2023-11-14T22:13:20Z');
  });
});

describe('goRfc3339', () => {
  it('writes whole seconds, as time.RFC3339 formats a time (the fraction cut, not rounded)', () => {
    expect(goRfc3339(1_700_000_000_999)).to.equal('2023-11-14T22:13:20Z');
  });
});
