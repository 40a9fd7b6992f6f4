import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { cp, lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { publishDebian } from '../fixtures/debian-image.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { PROJECT_ROOT, run, tsbuild } from '../fixtures/tsbuild-cli.js';
import { inspectConfig } from './realworld-image.js';

// The corpus: realistic Dockerfiles in test/corpus/<name>/ with their small contexts and an expect.json saying
// which config fields and which files (content, type, mode, owner) the final image must have. Each is built with
// `-o type=oci` (config read back with `skopeo inspect --config oci-archive:`) and `-o type=local` (the final
// filesystem). Dockerfiles take their base image from `ARG BASE`: the busybox or the Debian fixture.

const CORPUS = join(PROJECT_ROOT, 'test/corpus');

/** What one file in the final filesystem must look like; absent fields are not checked. */
interface FileExpectation { type?: 'file' | 'dir' | 'symlink'; mode?: string; uid?: number; gid?: number; content?: string; matches?: string; target?: string }

/** A corpus case's expect.json. */
interface CorpusExpectation {
  description: string;
  base: 'busybox' | 'debian';
  buildArgs: Record<string, string>;
  /** Context files made at test time (for paths the repository cannot hold, e.g. node_modules/). */
  extraFiles: Record<string, string>;
  /** Config fields: Env entries must all be present, object fields must contain these keys, others are equal. */
  config: Record<string, unknown>;
  /** Variable names that must not be in the config's Env. */
  envAbsent: string[];
  files: Record<string, FileExpectation>;
  absent: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error(`${what} must be an array of strings`);
  return v;
}

function stringRecord(v: unknown, what: string): Record<string, string> {
  if (v === undefined) return {};
  if (!isRecord(v) || !Object.values(v).every((s) => typeof s === 'string')) throw new Error(`${what} must map names to strings`);
  return v as Record<string, string>;
}

/** Reads and checks one expect.json. */
function parseExpectation(path: string): CorpusExpectation {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!isRecord(raw)) throw new Error(`${path}: not an object`);
  const { description, base, config = {}, files = {} } = raw;
  if (typeof description !== 'string') throw new Error(`${path}: description must be a sentence`);
  if (base !== 'busybox' && base !== 'debian') throw new Error(`${path}: base must be "busybox" or "debian"`);
  if (!isRecord(config) || !isRecord(files)) throw new Error(`${path}: config and files must be objects`);
  for (const [p, f] of Object.entries(files)) if (!isRecord(f)) throw new Error(`${path}: files["${p}"] must be an object`);
  return {
    description, base, config,
    buildArgs: stringRecord(raw['buildArgs'], `${path}: buildArgs`),
    extraFiles: stringRecord(raw['extraFiles'], `${path}: extraFiles`),
    envAbsent: strings(raw['envAbsent'], `${path}: envAbsent`),
    files: files as Record<string, FileExpectation>,
    absent: strings(raw['absent'], `${path}: absent`),
  };
}

const cases = readdirSync(CORPUS, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
  .map((name) => ({ name, expected: parseExpectation(join(CORPUS, name, 'expect.json')) }));

function typeOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): string {
  return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
}

async function checkFile(root: string, path: string, want: FileExpectation): Promise<void> {
  const full = join(root, path);
  const st = await lstat(full).catch(() => undefined);
  expect(st, `${path} is missing from the final filesystem`).to.not.equal(undefined);
  if (st === undefined) return;
  if (want.type !== undefined) expect(typeOf(st), `${path} type`).to.equal(want.type);
  if (want.mode !== undefined) expect((st.mode & 0o7777).toString(8).padStart(4, '0'), `${path} mode`).to.equal(want.mode);
  if (want.uid !== undefined) expect(st.uid, `${path} uid`).to.equal(want.uid);
  if (want.gid !== undefined) expect(st.gid, `${path} gid`).to.equal(want.gid);
  if (want.target !== undefined) expect(await readlink(full), `${path} link target`).to.equal(want.target);
  if (want.content !== undefined) expect(await readFile(full, 'utf8'), `${path} content`).to.equal(want.content);
  if (want.matches !== undefined) expect(await readFile(full, 'utf8'), `${path} content`).to.match(new RegExp(want.matches));
}

function checkConfig(config: Record<string, unknown>, expected: CorpusExpectation): void {
  for (const [key, want] of Object.entries(expected.config)) {
    const got = config[key];
    if (key === 'Env') expect(got, 'Env').to.include.members(strings(want, 'Env'));
    else if (isRecord(want)) {
      expect(isRecord(got), `${key} is missing or not an object`).to.equal(true);
      for (const [sub, value] of Object.entries(want)) expect((got as Record<string, unknown>)[sub], `${key}.${sub}`).to.deep.equal(value);
    } else expect(got, key).to.deep.equal(want);
  }
  const env = strings(config['Env'], 'Env').map((e) => e.slice(0, e.indexOf('=')));
  for (const name of expected.envAbsent) expect(env, `${name} must not be in Env`).to.not.include(name);
}

describe('the real-world Dockerfile corpus (test/corpus)', function () {
  this.timeout(300_000);
  let registry: RunningRegistry;
  let dir: string;
  const bases: Record<'busybox' | 'debian', string> = { busybox: '', debian: '' };

  before(async function () {
    this.timeout(600_000);   // the first run on a machine debootstraps the Debian base
    registry = await startRegistry();
    await publishBusybox(registry.host);
    bases.busybox = `${registry.host}/busybox:latest`;
    if (cases.some((c) => c.expected.base === 'debian')) bases.debian = (await publishDebian(registry.host)).ref;
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-corpus-'));
  });
  after(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has cases to build', () => {
    expect(cases.length).to.be.greaterThan(5);
  });

  for (const { name, expected } of cases) {
    it(`builds ${name}: ${expected.description}`, async () => {
      const ctx = join(dir, name, 'ctx');
      await cp(join(CORPUS, name), ctx, { recursive: true });
      for (const [path, content] of Object.entries(expected.extraFiles)) {
        await mkdir(dirname(join(ctx, path)), { recursive: true });
        await writeFile(join(ctx, path), content);
      }
      const image = join(dir, name, 'image.tar');
      const fsTar = join(dir, name, 'fs.tar');
      const fs = join(dir, name, 'fs');
      const args = Object.entries({ BASE: bases[expected.base], ...expected.buildArgs }).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
      // The final filesystem as a tar (-o type=tar keeps the image's owners; -o type=local gives every file to the
      // invoking user, as buildx does), unpacked by root with owners and modes kept.
      const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', ...args,
        '-o', `type=oci,dest=${image}`, '-o', `type=tar,dest=${fsTar}`, ctx]);
      expect(r.code, r.stderr.slice(-3000)).to.equal(0);
      await mkdir(fs, { recursive: true });
      const untar = await run('tar', ['-xpf', fsTar, '-C', fs, '--same-owner', '--numeric-owner']);
      expect(untar.code, untar.stderr).to.equal(0);
      const config = (await inspectConfig(`oci-archive:${image}`))['config'];
      expect(isRecord(config), 'the image config has a config object').to.equal(true);
      checkConfig(config as Record<string, unknown>, expected);
      for (const [path, want] of Object.entries(expected.files)) await checkFile(fs, path, want);
      for (const path of expected.absent) {
        expect(await lstat(join(fs, path)).then(() => true, () => false), `${path} must not be in the final filesystem`).to.equal(false);
      }
    });
  }

  it('runs the onbuild image\'s triggers in an image built FROM it, once, and leaves none in the new config', async () => {
    const parent = `${registry.host}/corpus/onbuild:1`;
    const pushed = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--build-arg', `BASE=${bases.busybox}`,
      '-t', parent, '--push', join(CORPUS, 'onbuild')]);
    expect(pushed.code, pushed.stderr.slice(-3000)).to.equal(0);
    const ctx = join(dir, 'onbuild-child');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'child.txt'), 'child\n');
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${parent}\nRUN cat /app/onbuild.txt\n`);
    const image = join(dir, 'onbuild-child.tar');
    const fs = join(dir, 'onbuild-child-fs');
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '-o', `type=oci,dest=${image}`, '-o', `type=local,dest=${fs}`, ctx]);
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);
    expect(await readFile(join(fs, 'app/onbuild.txt'), 'utf8')).to.equal('triggered\n');
    expect(await readFile(join(fs, 'app/src/child.txt'), 'utf8')).to.equal('child\n');
    expect(await readFile(join(fs, 'app/base.txt'), 'utf8')).to.equal('base\n');
    const config = (await inspectConfig(`oci-archive:${image}`))['config'];
    expect(isRecord(config) ? config['OnBuild'] ?? null : 'no config', 'OnBuild of the child image').to.equal(null);
  });
});
