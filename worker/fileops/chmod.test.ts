import { expect } from 'chai';
import { parseChmod } from './chmod.js';

describe('parseChmod', () => {
  it('applies an octal mode to files and directories alike', () => {
    const m = parseChmod('755');
    expect(m?.(0o600, false)).to.equal(0o755);
    expect(m?.(0o700, true)).to.equal(0o755);
  });
  it('keeps source modes when there is no --chmod', () => {
    expect(parseChmod(undefined)).to.equal(undefined);
  });
  it('applies symbolic clauses to each source mode, X only to directories and executables', () => {
    const m = parseChmod('u+x,go-w');
    expect(m?.(0o666, false)).to.equal(0o744);
    const x = parseChmod('a+X');
    expect(x?.(0o644, false)).to.equal(0o644);
    expect(x?.(0o744, false)).to.equal(0o755);
    expect(x?.(0o644, true)).to.equal(0o755);
    expect(parseChmod('a=r')?.(0o777, false)).to.equal(0o444);
  });
  it('refuses a mode that is neither octal nor symbolic', () => {
    expect(() => parseChmod('rwx')).to.throw().with.property('code', 'INVALID_ARGUMENT');
    expect(() => parseChmod('999')).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });
});
