import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// The attestations a build asks for are written beside the files of a local or tar output, as BuildKit's local and
// tar exporters write them (exporter/local/fs.go CreateFS; BuildKit's testProvenanceExportLocal*): an in-toto statement
// per attestation about every regular file of the output, `provenance.json` and `sbom.spdx.json`, mode 0600; never
// buildx's default provenance (inline-only). FROM scratch and COPY only: two platforms need no emulator.
describe('attestations beside the files of -o type=local and type=tar', function () {
  this.timeout(240_000);
  let dir: string;
  let ctx: string;
  let root: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-out-attest-'));
    ctx = join(dir, 'ctx');
    root = join(dir, 'root');
    await mkdir(join(ctx, 'tree', 'sub'), { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), ['FROM scratch', 'ARG TARGETARCH', 'COPY tree/ /', 'COPY ${TARGETARCH}.txt /arch.txt', ''].join('\n'));
    await writeFile(join(ctx, 'tree', 'app'), 'app\n');
    await writeFile(join(ctx, 'tree', 'sub', 'lib'), 'lib\n');
    await symlink('app', join(ctx, 'tree', 'link'));
    for (const arch of ['amd64', 'arm64']) await writeFile(join(ctx, `${arch}.txt`), `${arch}\n`);
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  const build = async (args: string[], env: Record<string, string> = {}): Promise<string> => {
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', ...args, ctx], { env });
    expect(r.code, r.stderr).to.equal(0);
    return r.stderr;
  };
  const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');
  interface Statement { _type: string; predicateType: string; subject: { name: string; digest: { sha256: string } }[]; predicate: Record<string, unknown> }
  const statementAt = async (file: string): Promise<Statement> => JSON.parse(await readFile(file, 'utf8')) as Statement;

  it('writes provenance.json and sbom.spdx.json about every regular file written, read back by their digests', async () => {
    const out = join(dir, 'local');
    await build(['--platform', 'linux/amd64', '--provenance', 'mode=max', '--sbom', 'true', '-o', `type=local,dest=${out}`]);
    expect((await readdir(out)).sort()).to.deep.equal(['app', 'arch.txt', 'link', 'provenance.json', 'sbom.spdx.json', 'sub']);
    const provenance = await statementAt(join(out, 'provenance.json'));
    expect(provenance._type).to.equal('https://in-toto.io/Statement/v1');
    expect(provenance.predicateType).to.equal('https://slsa.dev/provenance/v1');
    // Regular files only (not the symlink, not the statements themselves), in walk order, each by its content.
    expect(provenance.subject.map((s) => s.name)).to.deep.equal(['app', 'arch.txt', 'sub/lib']);
    for (const s of provenance.subject) expect(s.digest.sha256, s.name).to.equal(await sha256(join(out, s.name)));
    expect(JSON.stringify(provenance.predicate)).to.contain('"buildType"');
    const sbom = await statementAt(join(out, 'sbom.spdx.json'));
    expect(sbom.predicateType).to.equal('https://spdx.dev/Document');
    expect(sbom.subject).to.deep.equal(provenance.subject);
    expect((await stat(join(out, 'provenance.json'))).mode & 0o777).to.equal(0o600);
  });

  it('writes none without an attestation asked, nor for an inline-only provenance (buildx\'s default)', async () => {
    const plain = join(dir, 'plain');
    await build(['--platform', 'linux/amd64', '-o', `type=local,dest=${plain}`]);
    expect((await readdir(plain)).sort()).to.deep.equal(['app', 'arch.txt', 'link', 'sub']);
    const inline = join(dir, 'inline');
    await build(['--platform', 'linux/amd64', '--provenance', 'mode=min,inline-only=true', '-o', `type=local,dest=${inline}`]);
    expect((await readdir(inline)).sort()).to.deep.equal(['app', 'arch.txt', 'link', 'sub']);
  });

  it('names them by filename= and attestation-prefix=, dates them SOURCE_DATE_EPOCH, and puts them in a tar too', async () => {
    const tar = join(dir, 'out.tar');
    await build(['--platform', 'linux/amd64', '--provenance', 'mode=min,filename=prov.json', '-o', `type=tar,dest=${tar},attestation-prefix=app-`], { SOURCE_DATE_EPOCH: '1700000000' });
    const list = await run('tar', ['--numeric-owner', '--full-time', '-tvf', tar], { env: { TZ: 'UTC' } });
    const line = list.stdout.split('\n').find((l) => l.endsWith(' app-prov.json'));
    expect(line, list.stdout).to.match(/^-rw------- 0\/0 .* 2023-11-14 22:13:20 app-prov\.json$/);
    const extracted = join(dir, 'extracted');
    await mkdir(extracted);
    await run('tar', ['-xf', tar, '-C', extracted]);
    const statement = await statementAt(join(extracted, 'app-prov.json'));
    expect(statement.subject.map((s) => s.name)).to.deep.equal(['app', 'arch.txt', 'sub/lib']);
  });

  it('puts each platform\'s statements in its directory, or names them after the platform when the directories are merged', async () => {
    const split = join(dir, 'split');
    await build(['--platform', 'linux/amd64,linux/arm64', '--provenance', 'mode=max', '-o', `type=local,dest=${split}`]);
    for (const p of ['linux_amd64', 'linux_arm64']) {
      const statement = await statementAt(join(split, p, 'provenance.json'));
      const arch = statement.subject.find((s) => s.name === 'arch.txt');
      expect(arch?.digest.sha256, p).to.equal(await sha256(join(split, p, 'arch.txt')));
    }
    // platform-split=false: one directory, so the two platforms' provenance need names of their own.
    await writeFile(join(ctx, 'Dockerfile.merged'), ['FROM scratch', 'ARG TARGETARCH', 'COPY ${TARGETARCH}.txt /${TARGETARCH}.txt', ''].join('\n'));
    const merged = join(dir, 'merged');
    await build(['-f', join(ctx, 'Dockerfile.merged'), '--platform', 'linux/amd64,linux/arm64', '--provenance', 'mode=max', '-o', `type=local,dest=${merged},platform-split=false`]);
    expect((await readdir(merged)).sort()).to.deep.equal(['amd64.txt', 'arm64.txt', 'provenance.linux_amd64.json', 'provenance.linux_arm64.json']);
    expect((await statementAt(join(merged, 'provenance.linux_arm64.json'))).subject.map((s) => s.name)).to.deep.equal(['arm64.txt']);
    // A tar keeps each platform in its directory whatever platform-split says; false names the statements after it.
    const tar = join(dir, 'platforms.tar');
    await build(['--platform', 'linux/amd64,linux/arm64', '--provenance', 'mode=max', '-o', `type=tar,dest=${tar},platform-split=false`]);
    const names = (await run('tar', ['-tf', tar])).stdout.split('\n').filter((n) => n.includes('provenance'));
    expect(names).to.deep.equal(['linux_amd64/provenance.linux_amd64.json', 'linux_arm64/provenance.linux_arm64.json']);
  });

  it('refuses a prefix that would make a path, a filename that is not one name, and two files of one name', async () => {
    const prefix = await tsbuild(['build', '--root', root, '--provenance', 'mode=max', '-o', `type=local,dest=${join(dir, 'bad')},attestation-prefix=../x`, ctx]);
    expect(prefix.code).to.equal(2);
    expect(prefix.stderr).to.contain('attestation-prefix "../x" would not give a file name').and.not.contain('    at ');
    const name = await tsbuild(['build', '--root', root, '--provenance', 'mode=max,filename=../p.json', '-o', `type=local,dest=${join(dir, 'bad')}`, ctx]);
    expect(name.code).to.equal(2);
    expect(name.stderr).to.contain('filename must be one file name').and.not.contain('    at ');
    const twice = await tsbuild(['build', '--root', root, '--provenance', 'mode=max,filename=sbom.spdx.json', '--sbom', 'true', '-o', `type=local,dest=${join(dir, 'bad')}`, ctx]);
    expect(twice.code).to.equal(1);
    expect(twice.stderr).to.contain('two attestations would be written as sbom.spdx.json').and.not.contain('    at ');
  });
});
