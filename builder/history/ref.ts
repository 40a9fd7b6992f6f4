import { UserError } from '../../common/index.js';
import type { BuildHistory, BuildRecord } from '../../solver/index.js';
import { buildIdOfRef } from '../builders/index.js';

// Which build `history inspect REF` and `history logs REF` read, as buildx's queryRecords (commands/history/utils.go)
// picks it: no REF is the newest build; `^N` the N-th before it (`^0` the newest), counted over the newest 50 records
// buildx asks BuildKit for (recordsLimit); anything else names one build. buildx wants BuildKit's ref exactly; tsbuild
// also takes a unique prefix of an id, and the BUILDER/NODE/ID form `history ls --format json` and metadata files write.

/** buildx's recordsLimit: how many records a query sees, so `^50` finds none. */
const RECORDS_LIMIT = 50;

const HINT = 'list the builds with `tsbuild history ls`';

/** The build `ref` names in `history`, or a UserError with buildx's message (runInspect, runLogs). */
export function findBuildRecord(history: BuildHistory, ref: string | undefined): BuildRecord {
  const found = ref === undefined || ref === '' ? latest(history) : ref.startsWith('^') ? byOffset(history, ref) : history.getBuild(buildIdOfRef(ref));
  if (found !== undefined) return found;
  throw new UserError('INVALID_ARGUMENT', ref ? `no record found for ref ${JSON.stringify(ref)}` : 'no records found', HINT);
}

function latest(history: BuildHistory): BuildRecord | undefined {
  const id = history.listBuilds(1)[0]?.id;
  return id === undefined ? undefined : history.getBuild(id);
}

/** `^N`: N parsed as strconv.Atoi does (a sign, then decimal digits); a negative N is the newest build, as in buildx. */
function byOffset(history: BuildHistory, ref: string): BuildRecord | undefined {
  const text = ref.slice(1);
  if (!/^[+-]?\d+$/.test(text)) {
    throw new UserError('INVALID_ARGUMENT', `invalid offset ${JSON.stringify(ref)}: strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`, 'write ^N with N a number: ^0 is the latest build, ^1 the one before');
  }
  const offset = Number(text);
  const builds = history.listBuilds(RECORDS_LIMIT);
  const skip = Math.max(0, offset);
  // buildx counts the offset down over the records it skips and reports what is left of it; with exactly as many
  // records as the offset nothing is left, and the ref is "not found" instead.
  if (skip > builds.length) {
    throw new UserError('INVALID_ARGUMENT', `no completed build found with offset ${skip - builds.length}`, HINT);
  }
  const id = builds[skip]?.id;
  return id === undefined ? undefined : history.getBuild(id);
}
