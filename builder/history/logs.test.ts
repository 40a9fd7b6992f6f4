import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { BuildRecord, ProgressEvent, VertexRecord } from '../../solver/index.js';
import { PlainProgress } from '../progress/plain.js';
import { textRedactor } from '../report/index.js';
import { BuildLogRecorder } from './log-recorder.js';
import { replayBuild } from './logs.js';
import { readStoredLogs, storedLogsHeader } from './stored-logs.js';

function plain(): { writer: PlainProgress; text: () => string } {
  const out = new PassThrough();
  const written: string[] = [];
  out.on('data', (c: Buffer) => written.push(c.toString()));
  return { writer: new PlainProgress(out), text: () => written.join('') };
}

const log = (vertex: string, time: number, data: string, stream: 'stdout' | 'stderr' = 'stdout'): ProgressEvent => ({ type: 'log', vertex, stream, data: Buffer.from(data), time });
const step = (id: string, text: string, started: number, finished: number, extra: Partial<VertexRecord> = {}): VertexRecord =>
  ({ id, text, key: `sha256:${'a'.repeat(64)}`, cached: false, reasons: [], started, finished, durationMs: finished - started, size: 0, ...extra });

describe('history logs: stored output replayed', () => {
  // Two steps at once, output split mid-line and mid-secret, an unended last line, a status, a failed step.
  const record: BuildRecord = {
    id: 'b1', started: 1000, finished: 1900, status: 'failed', args: { API_TOKEN: 'tok-secret-42' }, tags: [],
    vertices: [step('v1', 'RUN make', 1000, 1500), step('v2', 'RUN test', 1100, 1800, { error: 'exit code: 2' })],
  };
  const events: ProgressEvent[] = [
    { type: 'start', vertex: 'v1', text: 'RUN make', reasons: [], time: 1000 },
    log('v1', 1010, 'compiling a\ncompiling '),
    { type: 'start', vertex: 'v2', text: 'RUN test', reasons: [], time: 1100 },
    log('v2', 1150, 'token tok-sec', 'stderr'),
    log('v1', 1200, 'b\nlinking'),
    { type: 'status', vertex: 'v1', text: 'copied 1000 files', time: 1250 },
    log('v2', 1300, 'ret-42 used\n', 'stderr'),
    log('v1', 1400, ' done'),
    { type: 'done', vertex: 'v1', time: 1500, durationMs: 500, size: 0 },
    log('v3', 1600, 'from a step the failure cut short\n'),
    log('v2', 1700, 'FAIL: 1 test\n'),
    { type: 'error', vertex: 'v2', time: 1800, message: 'exit code: 2' },
  ];

  async function stored(): Promise<Uint8Array> {
    const recorder = new BuildLogRecorder(textRedactor(record));
    for (const e of events) recorder.observe(e);
    const logs = await recorder.finish();
    if (logs === undefined) throw new Error('the recorder kept no logs of steps that printed');
    return logs;
  }

  it('prints the lines the live plain progress printed, at the times it printed them, the unended last line at DONE', async () => {
    const live = plain();
    for (const e of events) if (e.vertex !== 'v3') live.writer.event(e);
    const replay = plain();
    await replayBuild(record, replay.writer, readStoredLogs(await stored(), record.id));
    const redacted = live.text().replace('tok-secret-42', '<redacted>');
    expect(replay.text()).to.equal(redacted);
    expect(replay.text()).to.contain('#1 0.200 compiling b\n#1 copied 1000 files\n');
    expect(replay.text()).to.contain('#1 linking done\n#1 DONE 0.5s\n');
    expect(replay.text()).to.contain('#2 0.200 token <redacted> used\n');
    expect(replay.text()).to.contain('#2 0.600 FAIL: 1 test\n#2 ERROR: exit code: 2\n');
  });

  it('cuts a secret-named arg\'s value even when a chunk boundary splits it, and drops output of steps not in the record', async () => {
    const entries = [];
    for await (const e of readStoredLogs(await stored(), record.id)) entries.push(e);
    expect(JSON.stringify(entries)).to.not.contain('tok-secret-42').and.to.not.contain('tok-sec"');
    const replay = plain();
    await replayBuild(record, replay.writer, entries);
    expect(replay.text()).to.not.contain('cut short');
  });

  it('keeps no logs when no step printed anything (a no-op rebuild starts no gzip)', async () => {
    const recorder = new BuildLogRecorder(textRedactor(record));
    for (const e of events) if (e.type !== 'log' && e.type !== 'status') recorder.observe(e);
    expect(await recorder.finish()).to.equal(undefined);
  });

  it('names the build and the line of a stored line that is no JSON', async () => {
    const bytes = gzipSync(`${storedLogsHeader()}{"v":"v1","t":1,"s":"stdout","d":"ok\\n"}\n{not json\n`);
    const entries = [];
    let error: unknown;
    try {
      for await (const e of readStoredLogs(bytes, 'b123')) entries.push(e);
    } catch (err) {
      error = err;
    }
    expect(entries).to.have.length(1);
    expect(String(error)).to.contain('cache.db: the logs of build b123, line 3:');
  });

  it('replays a record stored without logs as its steps alone', async () => {
    const replay = plain();
    await replayBuild(record, replay.writer);
    expect(replay.text()).to.equal('#1 RUN make\n#2 RUN test\n#1 DONE 0.5s\n#2 ERROR: exit code: 2\n');
  });
});
