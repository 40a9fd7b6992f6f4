import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateToExistingPath } from './existing-path.js';
import { checkLocalDelete } from './local-delete.js';
import type { OutputSpec } from './output.js';

// buildx lets `-o type=local,mode=delete` delete without --allow=buildx.local.delete only in a strict subdirectory of
// the working directory, symbolic links of the existing part of dest followed (build/opt.go isSafeLocalDeleteDest,
// util/osutil/path.go EvaluateToExistingPath).

describe('local output mode=delete and the working directory', () => {
  let base: string;
  let cwd: string;
  const local = (dest: string, mode?: 'delete'): OutputSpec => ({ type: 'local', dest, ...(mode ? { mode } : {}) });
  const refused = (dest: string, allowed = false): boolean => {
    try {
      checkLocalDelete([local(dest, 'delete')], allowed, cwd);
      return false;
    } catch (err) {
      expect(String(err)).to.contain(`local output mode=delete for destination ${JSON.stringify(dest)} requires --allow=buildx.local.delete`);
      return true;
    }
  };
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'tsbuild-local-delete-'));
    cwd = join(base, 'work');
    mkdirSync(join(cwd, 'sub'), { recursive: true });
    mkdirSync(join(base, 'elsewhere'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('lets a subdirectory go without the grant, existing or not, named relatively or in full', () => {
    // `sub/up/..` is cleaned before any link is looked at (Go's filepath.Abs), as buildx does: it is `sub`.
    symlinkSync('..', join(cwd, 'sub', 'up'));
    for (const dest of ['out', 'sub', 'sub/new/deeper', './out', join(cwd, 'out'), 'sub/../out', 'sub/up/..']) expect(refused(dest), dest).to.equal(false);
  });

  it('asks for the grant for the working directory, a parent, a path outside, and a link (dangling too) leading out', () => {
    symlinkSync(join(base, 'elsewhere'), join(cwd, 'link'));
    symlinkSync(join(base, 'elsewhere', 'new'), join(cwd, 'dangling'));
    symlinkSync('..', join(cwd, 'sub', 'up'));
    for (const dest of ['.', cwd, '..', join(base, 'elsewhere'), 'link', 'link/x', 'dangling', 'sub/up']) expect(refused(dest), dest).to.equal(true);
    for (const dest of ['.', 'link', 'dangling']) expect(refused(dest, true), `${dest} allowed`).to.equal(false);
  });

  it('checks only local outputs in delete mode', () => {
    expect(() => checkLocalDelete([local('.'), { type: 'tar', dest: '.' }], false, cwd)).not.to.throw();
  });

  it('evaluates a path as EvaluateToExistingPath: links followed as far as the path exists, the rest kept', () => {
    symlinkSync('../elsewhere', join(cwd, 'rel'));
    symlinkSync(join(base, 'elsewhere', 'a', 'b'), join(cwd, 'dangling'));
    expect(evaluateToExistingPath('rel/x/y', cwd)).to.deep.equal({ path: join(base, 'elsewhere'), rest: 'x/y' });
    expect(evaluateToExistingPath('dangling', cwd)).to.deep.equal({ path: join(base, 'elsewhere'), rest: 'a/b' });
    expect(evaluateToExistingPath('sub', cwd)).to.deep.equal({ path: join(cwd, 'sub'), rest: '' });
  });
});
