import { UserError } from '../../common/index.js';
import { parseDuration } from './units.js';

/** The kinds of record du and prune show, as BuildKit names them: tsbuild's cache records, its RUN cache mounts. */
export type UsageType = 'regular' | 'exec.cachemount';

/** BuildKit's record types (client.UsageRecordType); those tsbuild has no records of match nothing. */
const BUILDKIT_TYPES = new Set(['regular', 'exec.cachemount', 'internal', 'frontend', 'source.local', 'source.git.checkout']);

/** What `--filter` selects, as buildx takes it (`until=24h`, `type=exec.cachemount`, `type!=regular`). */
export interface CacheFilter {
  /** Records not used for this long (ms). */
  until?: number;
  /** Records of this type (`=`, `==`) or of any other (`!=`). */
  type?: { value: string; equal: boolean };
}

/** Parses du's and prune's `--filter` values; any other key than until and type is refused by name. */
export function cacheFilter(filters: string[]): CacheFilter {
  const out: CacheFilter = {};
  for (const f of filters) {
    const until = /^until=(.+)$/.exec(f);
    if (until?.[1] !== undefined) {
      out.until = parseDuration(until[1]);
      continue;
    }
    const type = /^type(==|=|!=)(.+)$/.exec(f);
    if (type?.[1] !== undefined && type[2] !== undefined) {
      if (!BUILDKIT_TYPES.has(type[2])) {
        throw new UserError('INVALID_ARGUMENT', `unsupported --filter ${f}: no record type ${type[2]}`, `use one of ${[...BUILDKIT_TYPES].join(', ')}`);
      }
      out.type = { value: type[2], equal: type[1] !== '!=' };
      continue;
    }
    throw new UserError('INVALID_ARGUMENT', `unsupported --filter ${f}`, 'use --filter until=24h or --filter type=exec.cachemount');
  }
  return out;
}

/** Whether records of `type` pass the filter's type selector. */
export function typeSelected(filter: CacheFilter, type: UsageType): boolean {
  return filter.type === undefined || (filter.type.value === type) === filter.type.equal;
}
