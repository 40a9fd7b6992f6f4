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
});
