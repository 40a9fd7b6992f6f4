import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { expect } from 'chai';
import { gunzipSync } from 'node:zlib';
import type { BuildRecord, VertexRecord } from '../../solver/index.js';
import { buildBundle, historyRecordJson, type BundleRecord } from './export-bundle.js';
import { statusStreamOf } from './status-stream.js';

const step = (id: string, text: string, started: number, finished: number, extra: Partial<VertexRecord> = {}): VertexRecord =>
  ({ id, text, key: `sha256:${'a'.repeat(64)}`, cached: false, reasons: [], started, finished, durationMs: finished - started, size: 0, ...extra });

const record: BuildRecord = {
  id: 'b1', started: 1_700_000_000_250, finished: 1_700_000_001_000, status: 'failed', error: { message: 'make failed' }, args: { A: '1' }, tags: ['r.example/app:1'],
  vertices: [step('v1', 'FROM busybox', 1_700_000_000_300, 1_700_000_000_300, { cached: true }), step('v2', 'RUN make', 1_700_000_000_400, 1_700_000_000_900, { error: 'exit code: 2' })],
};

/** The fields of one protobuf message: field number → values (a sub-message or string as its bytes, a varint as bigint). */
function fields(bytes: Uint8Array): Map<number, (Uint8Array | bigint)[]> {
  const r = new BinaryReader(bytes);
  const out = new Map<number, (Uint8Array | bigint)[]>();
  while (r.pos < r.len) {
    const [no, type] = r.tag();
    const value = type === WireType.LengthDelimited ? r.bytes() : type === WireType.Varint ? BigInt(r.int64()) : undefined;
    if (value === undefined) throw new Error(`unexpected wire type ${type}`);
    out.set(no, [...(out.get(no) ?? []), value]);
  }
  return out;
}
const text = (v: Uint8Array | bigint | undefined): string => Buffer.from(v as Uint8Array).toString();

/** The messages of a status stream: each after its length as a little-endian uint32 (history.Queue.ImportStatus). */
function messages(stream: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < stream.length;) {
    const n = stream.readUInt32LE(at);
    out.push(stream.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

/** The files of an uncompressed tar, in order: name → bytes (directories: empty). */
function untar(tar: Buffer): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (let at = 0; at + 512 <= tar.length;) {
    const name = tar.subarray(at, at + 100).toString().replace(/\0.*$/s, '');
    if (name === '') break;
    const size = parseInt(tar.subarray(at + 124, at + 136).toString().replace(/\0.*$/s, '').trim() || '0', 8);
    out.push([name, tar.subarray(at + 512, at + 512 + size)]);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('history export: the Docker Desktop bundle', () => {
  it('encodes the build\'s progress as control.StatusResponse messages, each after its uint32 length', async () => {
    const stream = await statusStreamOf(record, [{ vertex: 'v2', time: 1_700_000_000_500, stream: 'stderr', text: 'cc: error\n' }]);
    const all = messages(stream).map(fields);
    // vertexes = 1 (digest 1, name 3, cached 4, started 5, completed 6, error 7), logs = 3 (vertex 1, timestamp 2, stream 3, msg 4)
    const vertexes = all.flatMap((m) => m.get(1) ?? []).map((v) => fields(v as Uint8Array));
    const cached = vertexes.find((v) => text(v.get(3)?.[0]) === 'FROM busybox');
    expect(cached?.get(4)).to.deep.equal([1n]);
    expect(text(cached?.get(1)?.[0])).to.match(/^sha256:[0-9a-f]{64}$/);
    const failed = vertexes.filter((v) => text(v.get(3)?.[0]) === 'RUN make').at(-1);
    expect(text(failed?.get(7)?.[0])).to.equal('exit code: 2');
    // completed: google.protobuf.Timestamp seconds 1, nanos 2
    expect(fields(failed?.get(6)?.[0] as Uint8Array).get(1)).to.deep.equal([1_700_000_000n]);
    expect(fields(failed?.get(6)?.[0] as Uint8Array).get(2)).to.deep.equal([900_000_000n]);
    const logs = all.flatMap((m) => m.get(3) ?? []).map((l) => fields(l as Uint8Array));
    expect(logs).to.have.length(1);
    expect(logs[0]?.get(3)).to.deep.equal([2n]);
    expect(text(logs[0]?.get(4)?.[0])).to.equal('cc: error\n');
    expect(text(logs[0]?.get(1)?.[0])).to.equal(text(failed?.get(1)?.[0]));
  });

  it('writes the record as buildx\'s bundle.Record: BuildHistoryRecord\'s json names in field order, zero values left out', () => {
    const json = historyRecordJson({ record, status: Buffer.alloc(0), defaultPlatform: 'linux/amd64', localState: { Target: 'default', LocalPath: '/src', DockerfilePath: '' } },
      { mediaType: 'application/vnd.buildkit.status.v0', digest: `sha256:${'b'.repeat(64)}`, size: 7 });
    expect(Object.keys(json)).to.deep.equal(['Ref', 'Frontend', 'FrontendAttrs', 'error', 'CreatedAt', 'CompletedAt', 'logs', 'ExporterResponse',
      'numCachedSteps', 'numTotalSteps', 'numCompletedSteps', 'DefaultPlatform', 'localState']);
    expect(json['error']).to.deep.equal({ code: 2, message: 'make failed' });   // google.rpc.Status: 2 is Unknown
    expect(json['CreatedAt']).to.deep.equal({ seconds: 1_700_000_000, nanos: 250_000_000 });
    expect(json['logs']).to.deep.equal({ media_type: 'application/vnd.buildkit.status.v0', digest: `sha256:${'b'.repeat(64)}`, size: 7 });
    expect(json['FrontendAttrs']).to.deep.equal({ 'build-arg:A': '1' });
    expect(json['ExporterResponse']).to.deep.equal({ 'image.name': 'r.example/app:1' });
    expect(json['numCachedSteps']).to.equal(1);
  });

  it('tars an OCI layout as containerd does (sorted, with its directories), gzipped; several builds under an index', () => {
    const one = (id: string): BundleRecord => ({ record: { ...record, id }, status: Buffer.from([1, 0, 0, 0, 8]), defaultPlatform: 'linux/amd64' });
    const files = untar(gunzipSync(buildBundle([one('b1'), one('b2')])));
    const names = files.map(([n]) => n);
    expect(names).to.deep.equal([...names].sort());
    expect(names.slice(0, 2)).to.deep.equal(['blobs/', 'blobs/sha256/']);
    expect(names.slice(-2)).to.deep.equal(['index.json', 'oci-layout']);
    const get = (name: string): Buffer => files.find(([n]) => n === name)?.[1] as Buffer;
    const layout = JSON.parse(get('index.json').toString()) as { manifests: { mediaType: string; digest: string }[] };
    expect(layout.manifests).to.have.length(1);
    expect(layout.manifests[0]?.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    const index = JSON.parse(get(`blobs/sha256/${layout.manifests[0]?.digest.slice(7)}`).toString()) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests.map((m) => m.annotations['vnd.buildkit.history.reference'])).to.deep.equal(['b1', 'b2']);
  });
});
