import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from './remove-tree.js';

describe('removeTree', () => {
  it('removes a tree deeper than the host\'s path limit, and never what a symlink in it points at', async () => {
    const top = await mkdtemp(join(tmpdir(), 'tsbuild-remove-tree-'));
    const keep = await mkdtemp(join(tmpdir(), 'tsbuild-remove-keep-'));
    try {
      await writeFile(join(keep, 'precious'), 'x');
      await symlink(keep, join(top, 'out'));
      // 100 levels of 46 bytes: 4,600 bytes below `top`, each made relative to the one before (a child process
      // whose working directory walks down).
      const script = "const fs = require('fs'); process.chdir(process.argv[1]); for (let i = 0; i < 100; i++) { fs.mkdirSync('a'.repeat(45)); process.chdir('a'.repeat(45)); } fs.writeFileSync('f', 'deep');";
      execFileSync(process.execPath, ['-e', script, top]);
      expect(execFileSync('find', [top, '-name', 'f'], { encoding: 'utf8' }).length).to.be.greaterThan(4096);
      await removeTree(top);
      expect(existsSync(top)).to.equal(false);
      expect(existsSync(join(keep, 'precious'))).to.equal(true);
      await removeTree(top);   // nothing there: nothing to do
    } finally {
      execFileSync('rm', ['-rf', top, keep]);
    }
  });
});
