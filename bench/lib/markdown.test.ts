import { expect } from 'chai';
import { formatMs, spliceResults } from './markdown.js';

describe('bench markdown', () => {
  it('writes short times in ms and long ones in seconds', () => {
    expect(formatMs(412.4)).to.equal('412 ms');
    expect(formatMs(2414)).to.equal('2.41 s');
  });

  it('replaces only the generated block and keeps the notes written around it', () => {
    const first = spliceResults(undefined, 'table v1\n');
    const withNotes = `${first}\n## Profile analysis\nhand-written\n`;
    const second = spliceResults(withNotes, 'table v2\n');
    expect(second).to.contain('table v2').and.not.contain('table v1');
    expect(second).to.contain('## Profile analysis\nhand-written');
    expect(spliceResults(second, 'table v3\n').match(/bench:generated:begin/g)).to.have.length(1);
  });
});
