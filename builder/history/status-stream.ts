import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { BuildRecord } from '../../solver/index.js';
import { SolveStatusProgress, type SolveStatus } from '../progress/index.js';
import { replayBuild } from './logs.js';
import type { StoredLogEntry } from './stored-logs.js';

// A recorded build's progress as BuildKit keeps it beside its history record: the blob the record's `logs`
// descriptor names (media type application/vnd.buildkit.status.v0), which `buildx history export` puts in its bundle
// and Docker Desktop replays. BuildKit writes it in history.Queue.ImportStatus (solver/llbsolver/history/
// buildhistory.go): each control.StatusResponse of the build, protobuf-encoded, after its length as a little-endian
// uint32. tsbuild replays its record and stored logs through the rawjson writer (progress/solve-status.ts, the one
// mapping of its progress to BuildKit's SolveStatus) and encodes what that writer emits, field by field as
// api/services/control/control.proto numbers them. The wire encoding is @bufbuild/protobuf's; proto3 leaves out
// fields at their zero value, as BuildKit's vtproto marshaller does.

export const STATUS_MEDIA_TYPE = 'application/vnd.buildkit.status.v0';

/** The status blob of `record` and its stored `logs` (none for a record kept without them: its steps alone). */
export async function statusStreamOf(record: BuildRecord, logs: AsyncIterable<StoredLogEntry> | Iterable<StoredLogEntry>): Promise<Buffer> {
  const messages: Buffer[] = [];
  const writer = new SolveStatusProgress((status) => {
    const body = encodeStatusResponse(status);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(body.length);
    messages.push(length, Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
  await replayBuild(record, writer, logs);
  return Buffer.concat(messages);
}

/** One SolveStatus as a control.StatusResponse (vertexes 1, statuses 2, logs 3, warnings 4). */
export function encodeStatusResponse(status: SolveStatus): Uint8Array {
  const w = new BinaryWriter();
  for (const v of status.vertexes ?? []) {
    w.tag(1, WireType.LengthDelimited).fork();
    str(w, 1, v.digest);
    for (const input of v.inputs ?? []) w.tag(2, WireType.LengthDelimited).string(input);
    str(w, 3, v.name);
    if (v.cached === true) w.tag(4, WireType.Varint).bool(true);
    time(w, 5, v.started);
    time(w, 6, v.completed);
    str(w, 7, v.error);
    w.join();
  }
  for (const s of status.statuses ?? []) {
    w.tag(2, WireType.LengthDelimited).fork();
    str(w, 1, s.id);
    str(w, 2, s.vertex);
    str(w, 3, s.name);
    int(w, 4, s.current);
    int(w, 5, s.total);
    time(w, 6, s.timestamp);
    time(w, 7, s.started);
    time(w, 8, s.completed);
    w.join();
  }
  for (const l of status.logs ?? []) {
    w.tag(3, WireType.LengthDelimited).fork();
    str(w, 1, l.vertex);
    time(w, 2, l.timestamp);
    int(w, 3, l.stream);
    const data = Buffer.from(l.data, 'base64');
    if (data.length > 0) w.tag(4, WireType.LengthDelimited).bytes(data);
    w.join();
  }
  for (const warning of status.warnings ?? []) {
    w.tag(4, WireType.LengthDelimited).fork();
    str(w, 1, warning.vertex);
    int(w, 2, warning.level);
    const short = Buffer.from(warning.short, 'base64');
    if (short.length > 0) w.tag(3, WireType.LengthDelimited).bytes(short);
    for (const d of warning.detail ?? []) w.tag(4, WireType.LengthDelimited).bytes(Buffer.from(d, 'base64'));
    w.join();
  }
  return w.finish();
}

function str(w: BinaryWriter, field: number, value: string | undefined): void {
  if (value !== undefined && value !== '') w.tag(field, WireType.LengthDelimited).string(value);
}

function int(w: BinaryWriter, field: number, value: number | undefined): void {
  if (value !== undefined && value !== 0) w.tag(field, WireType.Varint).int64(value);
}

/**
 * A time (epoch ms) as a google.protobuf.Timestamp's fields, zero ones left out (as proto3 leaves them off the wire
 * and encoding/json's omitempty leaves them out of a record).
 */
export function protoTimestamp(ms: number): { seconds?: number; nanos?: number } {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1_000_000);
  return { ...(seconds !== 0 ? { seconds } : {}), ...(nanos !== 0 ? { nanos } : {}) };
}

/** An RFC 3339 time (the SolveStatus JSON's) as a google.protobuf.Timestamp: seconds 1, nanos 2. */
function time(w: BinaryWriter, field: number, value: string | undefined): void {
  if (value === undefined) return;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return;
  const { seconds, nanos } = protoTimestamp(ms);
  w.tag(field, WireType.LengthDelimited).fork();
  if (seconds !== undefined) w.tag(1, WireType.Varint).int64(seconds);
  if (nanos !== undefined) w.tag(2, WireType.Varint).int32(nanos);
  w.join();
}
