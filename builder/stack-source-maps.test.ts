import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mapStack, setBundleDir } from './stack-source-maps.js';

describe('mapStack', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-stackmap-'));
    await writeFile(join(dir, 'chunk.js'), 'throw new Error("x");\n');
    // One segment: generated 1:1 → source 0 ("../src/app.ts"), line 3, column 5 (zero-based 2, 4: "AAEI").
    await writeFile(join(dir, 'chunk.js.map'), JSON.stringify({ version: 3, sources: ['../src/app.ts'], names: [], mappings: 'AAEI' }));
  });
  after(async () => {
    setBundleDir('');
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces a bundle frame with the TypeScript file, line and column', () => {
    setBundleDir(pathToFileURL(`${dir}/`).href);
    const url = pathToFileURL(join(dir, 'chunk.js')).href;
    const mapped = mapStack(`Error: x\n    at main (${url}:1:1)\n    at node:internal/x:1:1`);
    expect(mapped).to.equal(`Error: x\n    at main (${join(dir, '..', 'src', 'app.ts')}:3:5)\n    at node:internal/x:1:1`);
  });

  it('maps a frame that names the bundle by its path, as the startup snapshot\'s script does', () => {
    setBundleDir(pathToFileURL(`${dir}/`).href);
    const mapped = mapStack(`Error: x\n    at main (${join(dir, 'chunk.js')}:1:1)`);
    expect(mapped).to.equal(`Error: x\n    at main (${join(dir, '..', 'src', 'app.ts')}:3:5)`);
  });

  it('leaves frames outside the bundle, and everything when no bundle is set, as they were', () => {
    setBundleDir(pathToFileURL(`${dir}/`).href);
    expect(mapStack('at f (file:///elsewhere/a.js:1:1)')).to.equal('at f (file:///elsewhere/a.js:1:1)');
    setBundleDir('');
    const url = pathToFileURL(join(dir, 'chunk.js')).href;
    expect(mapStack(`at f (${url}:1:1)`)).to.equal(`at f (${url}:1:1)`);
  });
});
