import { expect } from 'chai';
import { goBytesSize } from '../../common/index.js';
import { logLimitsFrom, StepLogs } from './log-limit.js';

function recorder(): { logs: { stream: string; text: string }[]; sink: { log: (s: 'stdout' | 'stderr', d: Uint8Array) => void; status: () => void } } {
  const logs: { stream: string; text: string }[] = [];
  return { logs, sink: { log: (stream, d) => logs.push({ stream, text: Buffer.from(d).toString() }), status: () => undefined } };
}

describe('StepLogs: a RUN step\'s output limited as buildkitd limits it', () => {
  it('reads BUILDKIT_STEP_LOG_MAX_SIZE and _SPEED (default 2 MiB and 200 KiB/s; -1 is no limit)', () => {
    expect(logLimitsFrom({})).to.deep.equal({ maxSize: 2 * 1024 * 1024, maxSpeed: 200 * 1024 });
    expect(logLimitsFrom({ BUILDKIT_STEP_LOG_MAX_SIZE: '-1', BUILDKIT_STEP_LOG_MAX_SPEED: '1000' })).to.deep.equal({ maxSize: -1, maxSpeed: 1000 });
    expect(logLimitsFrom({ BUILDKIT_STEP_LOG_MAX_SIZE: 'lots' }).maxSize).to.equal(2 * 1024 * 1024);
  });

  it('prints sizes as go-units does in the clip line', () => {
    expect(goBytesSize(2 * 1024 * 1024)).to.equal('2MiB');
    expect(goBytesSize(200 * 1024)).to.equal('200KiB');
    expect(goBytesSize(1536 * 1024)).to.equal('1.5MiB');
    expect(goBytesSize(10)).to.equal('10B');
  });

  it('cuts a stream at the size limit once, with BuildKit\'s line, and drops the rest', () => {
    const r = recorder();
    const logs = new StepLogs(r.sink, { maxSize: 10, maxSpeed: -1 }, () => 0);
    logs.sink.log('stdout', Buffer.from('12345678'));
    logs.sink.log('stdout', Buffer.from('abcdef'));
    logs.sink.log('stdout', Buffer.from('more'));
    expect(r.logs.map((l) => l.text)).to.deep.equal(['12345678', 'ab\n[output clipped, log limit 10B reached]\n']);
  });

  it('limits by speed since the step started, and resumes when a whole write fits again', () => {
    const r = recorder();
    let now = 0;
    const logs = new StepLogs(r.sink, { maxSize: 1000, maxSpeed: 4 }, () => now);
    now = 500;   // within the first second: 4 bytes
    logs.sink.log('stderr', Buffer.from('abcdef'));
    now = 5000;  // 20 bytes allowed by now, 6 counted
    logs.sink.log('stderr', Buffer.from('gh'));
    expect(r.logs.map((l) => l.text)).to.deep.equal(['abcd\n[output clipped, log limit 4B/s reached]\n', 'gh']);
  });

  it('keeps the streams apart, and shows what was kept since the cut when the step fails', () => {
    const r = recorder();
    const logs = new StepLogs(r.sink, { maxSize: 4, maxSpeed: -1 }, () => 0);
    logs.sink.log('stdout', Buffer.from('out1'));
    logs.sink.log('stderr', Buffer.from('err1'));
    logs.sink.log('stdout', Buffer.from('lost'));
    logs.sink.log('stdout', Buffer.from('last words'));
    logs.flushKept();
    expect(r.logs).to.deep.equal([
      { stream: 'stdout', text: 'out1' },
      { stream: 'stderr', text: 'err1' },
      { stream: 'stdout', text: '\n[output clipped, log limit 4B reached]\n' },
      { stream: 'stdout', text: 'lostlast words' },
    ]);
  });

  it('passes everything when both limits are off', () => {
    const r = recorder();
    const logs = new StepLogs(r.sink, { maxSize: -1, maxSpeed: -1 }, () => 0);
    const big = Buffer.alloc(5 << 20, 'x');
    logs.sink.log('stdout', big);
    expect(r.logs[0]?.text.length).to.equal(5 << 20);
  });
});
