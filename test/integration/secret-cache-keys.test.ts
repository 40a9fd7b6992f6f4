import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { filesContaining } from '../fixtures/files-containing.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// The cache index (cache.db) and an exported cache (--cache-to) hold cache keys' ingredients; a secret-looking build
// arg enters them as the digest of its value (key recipe v2), never the value. The only place the value stays is the
// image itself: an ARG a RUN uses is in the image history (`RUN |1 GITHUB_TOKEN=… …`), as with BuildKit.

describe('secret-looking build args in the cache index and the cache export', function () {
  this.timeout(240_000);
  let env: BuildEnv | undefined;
  let dir = '';
  const SECRET = 's3cr3t-in-key';

  before(async () => {
    env = await startBuildEnv('tsbuild-secretkeys-');
    dir = env.dir;
  });
  after(async () => {
    await env?.stop();
  });

  it('keeps the value out of cache.db and a --cache-to type=local dir; the same value hits, another misses', async () => {
    const ctx = join(dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env?.base ?? ''}\nARG GITHUB_TOKEN\nRUN test -n "$GITHUB_TOKEN" && echo ok > /ok\n`);
    const root = join(dir, 'root');
    const cache = join(dir, 'cache');
    const build = (token: string, extra: string[] = []) => tsbuild(['build', '--root', root, '--progress', 'plain', '--build-arg', `GITHUB_TOKEN=${token}`,
      '--iidfile', join(dir, 'iid'), ...extra, ctx]);
    const first = await build(SECRET, ['--cache-to', `type=local,dest=${cache},mode=max`]);
    expect(first.code, first.stderr).to.equal(0);
    const config = (await readFile(join(dir, 'iid'), 'utf8')).trim();

    // In the root: only the image config (its history names the ARG's value, as BuildKit's does).
    const inRoot = await filesContaining(root, SECRET);
    expect(inRoot.map((f) => basename(f))).to.deep.equal([config.slice(7)]);
    const history = await run('grep', ['-caF', `GITHUB_TOKEN=${SECRET}`, inRoot[0] ?? '']);
    expect(history.stdout.trim()).to.equal('1');
    // The exported cache leaves the machine: no value at all, but the key ingredients carry its digest.
    expect(await filesContaining(cache, SECRET)).to.deep.equal([]);
    expect(await filesContaining(cache, 'redacted:sha256:')).to.have.length.greaterThan(0);
    const db = new DatabaseSync(join(root, 'cache.db'), { readOnly: true });
    try {
      const row = db.prepare("SELECT count(*) AS n FROM records WHERE parts LIKE '%redacted:sha256:%'").get();
      expect(Number(row?.['n'])).to.be.greaterThan(0);
    } finally {
      db.close();
    }

    // The digest still keys the step: the same value hits, another value misses.
    const same = await build(SECRET);
    expect(same.code, same.stderr).to.equal(0);
    expect(same.stderr).to.match(/RUN test -n "\$GITHUB_TOKEN".*\n#\d+ CACHED/);
    const other = await build('another-value');
    expect(other.code, other.stderr).to.equal(0);
    expect(other.stderr).to.match(/#\d+ MISS build arg GITHUB_TOKEN changed/);
    expect(other.stderr).to.not.contain(SECRET);
    expect(other.stderr).to.not.contain('another-value');
    expect((await filesContaining(root, SECRET)).map((f) => basename(f))).to.deep.equal([config.slice(7)]);
  });
});
