import type { Accounts } from '../confined/index.js';
import type { ProgressSink } from '../../solver/index.js';
import { resolveOwner, type Owner } from '../user.js';
import { CopyError } from './errors.js';

export type { Owner } from '../user.js';

/**
 * COPY/ADD --chown: `user[:group]` resolved as BuildKit resolves it (worker/user.ts). A name the image does not
 * define gives 0 as BuildKit gives it, so the image is the one BuildKit builds; the step's log says which name it was,
 * where BuildKit says nothing. Only the spec's shape is refused: an empty user, or more than one `:`.
 */
export async function resolveChown(spec: string, accounts: () => Promise<Accounts>, progress: ProgressSink): Promise<Owner> {
  const [user = '', , extra] = spec.split(':');
  if (user === '' || extra !== undefined) {
    throw new CopyError('INVALID_ARGUMENT', `invalid --chown value ${JSON.stringify(spec)}`, 'use --chown=user[:group] with names or numeric ids, e.g. --chown=1000:1000');
  }
  const { owner, unknown } = await resolveOwner(spec, accounts);
  for (const name of unknown) {
    progress.log('stderr', Buffer.from(`warning: --chown=${spec}: ${name}; owned by ${owner.uid}:${owner.gid}, as BuildKit does\n`));
  }
  return owner;
}
