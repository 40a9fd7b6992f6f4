import { UserError } from '../../common/index.js';
import { parseDuration } from './units.js';

/** The one filter du and prune take, as buildx writes it (`until=24h`): its duration in ms, or undefined without one. */
export function untilFilter(filters: string[]): number | undefined {
  let until: number | undefined;
  for (const f of filters) {
    const m = /^until=(.+)$/.exec(f);
    if (!m?.[1]) throw new UserError('INVALID_ARGUMENT', `unsupported --filter ${f}`, 'use --filter until=24h');
    until = parseDuration(m[1]);
  }
  return until;
}
