import { isAbsolute, relative, sep } from 'node:path';
import { UserError } from '../../common/index.js';
import { LOCAL_DELETE } from './build-flags.js';
import { evaluatedPath } from './existing-path.js';
import type { OutputSpec } from './output.js';

/**
 * `-o type=local,mode=delete` removes what dest holds and the result does not, so buildx lets it delete without
 * `--allow=buildx.local.delete` only where that cannot reach the invoker's own files: dest must resolve (symbolic links
 * of its existing part followed) to a strict subdirectory of the working directory; `.` itself, a parent, a path
 * outside or a link leading out need the grant (build/opt.go ValidateLocalExportDelete and isSafeLocalDeleteDest).
 * Checked before anything is built, in buildx's words.
 */
export function checkLocalDelete(outputs: OutputSpec[], isAllowed: boolean, cwd = process.cwd()): void {
  if (isAllowed) return;
  for (const o of outputs) {
    if (o.type !== 'local' || o.mode !== 'delete' || isSafeDeleteDest(o.dest, cwd)) continue;
    throw new UserError('INVALID_ARGUMENT', `local output mode=delete for destination ${JSON.stringify(o.dest)} requires --allow=${LOCAL_DELETE}`,
      `pass --allow=${LOCAL_DELETE} if every file in ${o.dest} that the build does not produce may be deleted, or write into a subdirectory of the working directory`);
  }
}

/** True when `dest` resolves to a strict subdirectory of the working directory (both evaluated as buildx does). */
function isSafeDeleteDest(dest: string, cwd: string): boolean {
  let rel: string;
  try {
    rel = relative(evaluatedPath(cwd, cwd), evaluatedPath(dest, cwd));
  } catch {
    return false;   // a loop or a file on the way: not known to be inside, so the grant is needed
  }
  return rel !== '' && rel !== '..' && !isAbsolute(rel) && !rel.startsWith(`..${sep}`);
}
