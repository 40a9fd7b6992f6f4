import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// bin/tsbuild runs the esbuild bundle (dist/bundle/cli/launch.js), which every CLI test exercises; these check what
// only the bundle's launcher does.
describe('the bundled tsbuild command', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-bundle-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('keeps its compile cache in a directory private to the user', async () => {
    const cache = join(dir, 'xdg-cache');
    const res = await tsbuild(['--version'], { env: { XDG_CACHE_HOME: cache } });
    expect(res.code, res.stderr).to.equal(0);
    const cacheDir = join(cache, 'tsbuild', 'compile-cache');
    expect((await stat(cacheDir)).mode & 0o777).to.equal(0o700);
    expect(await readdir(cacheDir)).to.not.deep.equal([]);
  });

  it('runs without a cache, writing nothing, when the cache directory is readable by others', async () => {
    const cache = join(dir, 'shared-cache');
    const cacheDir = join(cache, 'tsbuild', 'compile-cache');
    await mkdir(cacheDir, { recursive: true, mode: 0o755 });
    await chmod(cacheDir, 0o755);
    const res = await tsbuild(['--version'], { env: { XDG_CACHE_HOME: cache } });
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout.trim()).to.match(/^\d+\.\d+\.\d+/);
    expect(await readdir(cacheDir)).to.deep.equal([]);
  });

  it('runs without a cache when the cache location cannot be made (/proc)', async () => {
    const res = await tsbuild(['--version'], { env: { XDG_CACHE_HOME: '/proc/self' } });
    expect(res.code, res.stderr).to.equal(0);
  });
});
