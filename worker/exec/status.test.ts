import { expect } from 'chai';
import { parseStatusLine } from './status.js';

describe('parseStatusLine', () => {
  it('reads each kind of line the helper writes', () => {
    expect(parseStatusLine('{"op":"mount","arg":"/proc","errno":1}')).to.deep.equal({ kind: 'failure', op: 'mount', arg: '/proc', errno: 1 });
    expect(parseStatusLine('{"stub":"/etc/hosts","dir":false,"before":[1,2],"after":[3,4]}'))
      .to.deep.equal({ kind: 'stub', stub: { path: '/etc/hosts', isDir: false, before: [1, 2], after: [3, 4] } });
    expect(parseStatusLine('{"settled":[5,6]}')).to.deep.equal({ kind: 'settled', mtime: [5, 6] });
    expect(parseStatusLine('{"exit":3}')).to.deep.equal({ kind: 'exit', code: 3 });
    expect(parseStatusLine('{"signal":9}')).to.deep.equal({ kind: 'signal', signal: 9 });
  });

  it('rejects lines that are not JSON or do not match the schema', () => {
    for (const line of ['', 'exit 3', '[]', '{"exit":-1}', '{"exit":"3"}', '{"op":"mount","errno":1}', '{"stub":"/x","dir":1,"before":[1,2],"after":[3,4]}', '{"settled":[1]}']) {
      expect(() => parseStatusLine(line), line).to.throw(Error);
    }
  });
});
