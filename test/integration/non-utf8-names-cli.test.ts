import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { link, mkdir, readFile, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// A file name on Linux is bytes. A tar that holds one that is not UTF-8 (Latin-1 `caf\xe9`), unpacked by ADD from the
// context or pulled as a base image's layer, gives a file of exactly that name, as docker and BuildKit give; tsbuild
// used to read tars with a library that decoded names as UTF-8 and unpacked `caf\uFFFD` instead.
describe('names that are not UTF-8 in tars, through tsbuild build', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let ctx: string;
  const cafe = Buffer.from([0x63, 0x61, 0x66, 0xe9]);   // "café" in Latin-1
  const dir = Buffer.from([0x64, 0xff]);
  const linked = Buffer.from([0x68, 0xe9]);
  const under = (top: string, ...names: Buffer[]): Buffer => Buffer.concat([Buffer.from(top), ...names.flatMap((n) => [Buffer.from('/'), n])]);
  const hex = (names: Buffer[]): string[] => names.map((n) => n.toString('hex')).sort();

  before(async () => {
    env = await startBuildEnv('tsbuild-latin-cli-');
    ctx = join(env.dir, 'ctx');
    const src = join(env.dir, 'src');
    await mkdir(ctx);
    await mkdir(src);
    await writeFile(under(src, cafe), 'latin\n');
    await mkdir(under(src, dir));
    await link(under(src, cafe), under(src, dir, linked));
    await symlink(cafe, under(src, Buffer.from('link')));
    // GNU tar writes these names as PAX path records of their bytes, as Go's archive/tar does.
    execFileSync('tar', ['--format=pax', '-C', src, '-cf', join(ctx, 'latin.tar'), '.']);
  });
  after(async () => { await env.stop(); });

  /** Checks that `top` holds the archive's files under their own bytes. */
  async function expectLatin(top: string): Promise<void> {
    expect(hex(await readdir(top, { encoding: 'buffer' }))).to.deep.equal(hex([cafe, dir, Buffer.from('link')]));
    expect(await readFile(under(top, cafe), 'utf8')).to.equal('latin\n');
    expect(await readFile(under(top, dir, linked), 'utf8')).to.equal('latin\n');
    expect((await readlink(under(top, Buffer.from('link')), { encoding: 'buffer' })).equals(cafe)).to.equal(true);
  }

  it('ADD of a local tar unpacks a Latin-1 name as its bytes, and a base image whose layer holds it keeps them', async () => {
    // The RUN steps fail unless the container sees the file under the Latin-1 name (busybox printf: \351 is 0xe9).
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      'ADD latin.tar /x/',
      `RUN cat "/x/$(printf 'caf\\351')" > /seen-add`,
      '',
    ].join('\n'));
    const ref = `${env.registry.host}/latin:1`;
    const out = join(env.dir, 'out-add');
    const built = await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx]);
    expect(built.code, built.stderr.slice(-2000)).to.equal(0);
    await expectLatin(join(out, 'x'));
    expect(await readFile(join(out, 'seen-add'), 'utf8')).to.equal('latin\n');
    const pushed = await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '-t', ref, '--push', ctx]);
    expect(pushed.code, pushed.stderr.slice(-2000)).to.equal(0);

    // A fresh root pulls that image and unpacks each of its layers: the ADD layer holds the names as PAX bytes.
    const next = join(env.dir, 'ctx-base');
    await mkdir(next);
    await writeFile(join(next, 'Dockerfile'), [`FROM ${ref}`, `RUN cat "/x/$(printf 'd\\377/h\\351')" > /seen-base`, ''].join('\n'));
    const out2 = join(env.dir, 'out-base');
    const cold = await tsbuild(['build', '--root', join(env.dir, 'root-cold'), '--progress', 'plain', '-o', `type=local,dest=${out2}`, next]);
    expect(cold.code, cold.stderr.slice(-2000)).to.equal(0);
    await expectLatin(join(out2, 'x'));
    expect(await readFile(join(out2, 'seen-base'), 'utf8')).to.equal('latin\n');
    expect((await stat(under(join(out2, 'x'), dir, linked))).nlink).to.equal(2);
  });
});
