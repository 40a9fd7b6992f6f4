import { expect } from 'chai';
import { OutputTail } from './output-tail.js';

describe('OutputTail', () => {
  it('keeps the last lines across chunk boundaries, with an unterminated last line', () => {
    const tail = new OutputTail(3);
    const enc = new TextEncoder();
    tail.push(enc.encode('one\ntw'));
    tail.push(enc.encode('o\r\nthree\nfour\nfi'));
    expect(tail.lines()).to.deep.equal(['three', 'four', 'fi']);
  });

  it('does not split a multi-byte character cut between chunks', () => {
    const tail = new OutputTail();
    const bytes = new TextEncoder().encode('é\n');
    tail.push(bytes.slice(0, 1));
    tail.push(bytes.slice(1));
    expect(tail.lines()).to.deep.equal(['é']);
  });

  it('keeps only the last 4096 characters of a line that never ends, however much of it arrives', () => {
    const tail = new OutputTail();
    const chunk = new TextEncoder().encode('a'.repeat(65_536));
    for (let i = 0; i < 200; i++) tail.push(chunk);
    tail.push(new TextEncoder().encode('b\nlast'));
    const lines = tail.lines();
    expect(lines).to.have.length(2);
    expect(lines[0]).to.have.length(4096).and.to.match(/^…a+b$/);
    expect(lines[1]).to.equal('last');
  });
});

