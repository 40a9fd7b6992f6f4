import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';
import { copyToLayout, inspectConfig, layerEntries, layoutBlobs } from './realworld-image.js';

// Image attributes down to the field, as BuildKit writes them for the same Dockerfile: the config, its history
// entries and the layer list. Each case names the BuildKit source that decides it (dockerfile2llb convert.go,
// exporter/containerimage writer.go) and failed on tsbuild until it did the same.

interface HistoryEntry { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }
interface Config { created?: string | null; config: Record<string, unknown>; history: HistoryEntry[]; rootfs: { diff_ids: string[] } }

/** diffId of the empty tar (two 512-byte zero blocks): BuildKit's layer for a step that changed nothing. */
const EMPTY_TAR = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

describe('image attributes as BuildKit writes them', function () {
  this.timeout(180_000);
  let env: BuildEnv | undefined;
  let n = 0;

  before(async () => {
    env = await startBuildEnv('tsbuild-attributes-');
  });
  after(async () => {
    await env?.stop();
  });

  /** Builds `dockerfile` (BASE = the busybox fixture) with `files` to an OCI tarball; returns its path. */
  const build = async (dockerfile: string, files: Record<string, string> = {}): Promise<string> => {
    if (!env) throw new Error('no build env');
    const ctx = join(env.dir, `ctx${++n}`);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile.replaceAll('BASE', env.base));
    for (const [p, content] of Object.entries(files)) await writeFile(join(ctx, p), content);
    const tar = join(env.dir, `out${n}.tar`);
    const r = await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '--provenance=false', '-o', `type=oci,dest=${tar}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    return tar;
  };
  const config = async (tar: string): Promise<Config> => (await inspectConfig(`oci-archive:${tar}`)) as unknown as Config;

  it('a RUN, COPY or WORKDIR that changes nothing still adds a layer, the empty tar, and its history entry is not empty_layer', async () => {
    // dockerfile2llb commits RUN, COPY/ADD and WORKDIR (but `WORKDIR /`) withLayer; the exporter takes every
    // snapshot of the ref's layer chain (cache/remote.go getRemote) and drops none. BuildKit's own
    // testExportedHistory (frontend/dockerfile/dockerfile_history_test.go) counts `RUN ["ls"]` as a layer.
    const tar = await build('FROM BASE\nRUN ["true"]\nCOPY nothing* /tmp/\nWORKDIR /tmp\nWORKDIR /\nENV A=1\n');
    const c = await config(tar);
    const ours = c.history.slice(-5);
    expect(ours.map((h) => [h.created_by, h.empty_layer === true])).to.deep.equal([
      ['RUN true # buildkit', false],
      ['COPY nothing* /tmp/ # buildkit', false],
      ['WORKDIR /tmp', false],
      ['WORKDIR /', true],
      ['ENV A=1', true],
    ]);
    expect(c.rootfs.diff_ids.slice(1)).to.deep.equal([EMPTY_TAR, EMPTY_TAR, EMPTY_TAR]);
    expect(c.history.filter((h) => h.empty_layer !== true)).to.have.length(c.rootfs.diff_ids.length);
    const layout = await copyToLayout(`oci-archive:${tar}`, join(env?.dir ?? '', `layout${++n}`));
    const { layers } = await layoutBlobs(layout);
    expect(layers).to.have.length(4);
    for (const layer of layers.slice(1)) expect(await layerEntries(layer)).to.deep.equal([]);
    // The very blob BuildKit's exporter writes for it (Go's gzip of the empty tar, 32 bytes), on so many registries.
    expect(layers.slice(1).map((l) => l.digest)).to.deep.equal(Array(3).fill('sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1'));
  });

  it('FROM scratch starts from BuildKit\'s empty image: WorkingDir "/" and the default PATH in the config', async () => {
    // dockerfile2llb emptyImage (image.go): Config.WorkingDir = "/", Env = [PATH=...]; BuildKit's
    // testDockerfileScratchConfig asserts a non-empty WorkingDir. A WORKDIR still replaces it.
    const c = await config(await build('FROM scratch\nENV foo=bar\n'));
    expect(c.config['WorkingDir']).to.equal('/');
    expect(c.config['Env']).to.deep.equal(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'foo=bar']);
    expect(c.rootfs.diff_ids).to.deep.equal([]);
    expect(c.history.map((h) => [h.created_by, h.empty_layer])).to.deep.equal([['ENV foo=bar', true]]);
    const staged = await config(await build('FROM scratch AS base\nFROM base\nLABEL a=b\n'));
    expect(staged.config['WorkingDir']).to.equal('/');
    const moved = await config(await build('FROM scratch\nWORKDIR /app\n'));
    expect(moved.config['WorkingDir']).to.equal('/app');
  });

  it('dates a config-only step by the layers around it and the image by its last layer, as BuildKit\'s exporter', async () => {
    // dockerfile2llb records no time (commitToHistory without SOURCE_DATE_EPOCH); the exporter's
    // normalizeLayersAndHistory gives each layer its snapshot's time, a step before the build's first layer that
    // layer's, one after a layer the previous layer's, and patchImageConfig makes the last entry's the image's.
    const c = await config(await build('FROM BASE\nENV A=1\nRUN echo 1 > /one\nLABEL l=1\nRUN echo 2 > /two\nUSER nobody\n'));
    const [env1, run1, label, run2, user] = c.history.slice(-5).map((h) => h.created);
    expect([env1, label, user, c.created]).to.deep.equal([run1, run1, run2, run2]);
    // A build that adds no layer is as old as its base's last entry (moby/buildkit#6096: "reset to the timestamp
    // of last layer created during build in the exporter").
    const meta = await config(await build('FROM BASE\nLABEL only=1\nENV B=2\n'));
    const base = meta.history.at(-3)?.created;
    expect(base).to.be.a('string');
    expect([meta.history.at(-2)?.created, meta.history.at(-1)?.created, meta.created]).to.deep.equal([base, base, base]);
  });

  it('writes `"created": null` for FROM scratch with config-only steps, where no layer gives a time, as BuildKit\'s exporter', async () => {
    // dockerfile2llb leaves Created nil (emptyImage has none, commitToHistory records no time without
    // SOURCE_DATE_EPOCH); normalizeLayersAndHistory finds no layer to date anything by; patchImageConfig, with no
    // "created" in the config, marshals the last history time it found: a nil pointer, `null`. Not the export time.
    const c = await config(await build('FROM scratch\nENV A=1\nLABEL l=1\n'));
    expect(c).to.have.property('created', null);
    expect(c.history.map((h) => 'created' in h)).to.deep.equal([false, false]);
  });
});
