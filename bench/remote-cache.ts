// CI-style rebuild on an empty machine with a registry cache, tsbuild against buildah, in the same run.
// Run: scripts/node dist/bench/remote-cache.js  (root; starts its own registry; writes bench/results/remote-cache.md)
//
// Runner A (warm-up, untimed) builds a two-stage Dockerfile, pushes the image and exports its cache to the registry.
// Then, timed, each from an empty state directory: runner B rebuilds the unchanged context; runner C rebuilds with
// one changed file under the final stage's late COPY. buildah does the same with --layers --cache-to/--cache-from.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishBusybox } from '../test/fixtures/busybox-image.js';
import { startRegistry } from '../test/fixtures/registry-server.js';
import { run, tsbuild } from '../test/fixtures/tsbuild-cli.js';
import { writeRemoteCacheContext } from '../test/fixtures/remote-cache-context.js';

const RESULTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../bench/results/remote-cache.md');
const BIG = 32 * 1024 * 1024;
const RUNS = Number(process.env.RUNS ?? 3);

interface Figure { label: string; ms: number[]; bytesDown?: number }

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function must(p: Promise<{ code: number; stderr: string }>, what: string): Promise<void> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr.slice(-2000)}`);
}

const registry = await startRegistry();
const dir = await mkdtemp(join(tmpdir(), 'tsbuild-bench-rcache-'));
const host = registry.host;
try {
  await publishBusybox(host, 'busybox');
  const conf = join(dir, 'registries.conf');
  await writeFile(conf, `unqualified-search-registries = []\n[[registry]]\nlocation = "${host}"\ninsecure = true\n`);
  const makeContext = (name: string, app: string): Promise<string> => writeRemoteCacheContext(join(dir, name), host, bigBytes, app);
  const bigBytes = randomBytes(BIG);
  const same = await makeContext('ctx', 'v1\n');
  const changed = await makeContext('ctx-changed', 'v2\n');

  // tsbuild
  const ts = (root: string, ctx: string, tag: string, extra: string[]) =>
    tsbuild(['build', '--root', root, '--progress', 'plain', '-t', `${host}/${tag}`, '--push', ...extra, ctx]);
  await must(ts(join(dir, 'ts-a'), same, 'ts-app:a', ['--cache-to', `type=registry,ref=${host}/ts-cache:main,mode=max`]), 'tsbuild runner A');
  const figures: Figure[] = [];
  for (const [label, ctx] of [['unchanged', same], ['one file changed', changed]] as const) {
    const fig: Figure = { label: `tsbuild, ${label}`, ms: [] };
    for (let i = 0; i < RUNS; i++) {
      const root = join(dir, `ts-${label.length}-${i}`);
      const meta = join(dir, `meta-${label.length}-${i}.json`);
      fig.ms.push(await timed(() => must(ts(root, ctx, `ts-app:${label.length}-${i}`, ['--cache-from', `type=registry,ref=${host}/ts-cache:main`, '--metadata-file', meta]), `tsbuild ${label}`)));
      fig.bytesDown = (JSON.parse(await readFile(meta, 'utf8')) as { 'tsbuild.transfer': { blobBytesDown: number } })['tsbuild.transfer'].blobBytesDown;
      await rm(root, { recursive: true, force: true });
    }
    figures.push(fig);
  }

  // buildah: its own storage per runner, the cache as a repository of layer images.
  const env = { CONTAINERS_REGISTRIES_CONF: conf, BUILDAH_ISOLATION: 'oci' };
  const bud = async (state: string, ctx: string, tag: string, extra: string[]): Promise<void> => {
    const global = ['--root', join(state, 'storage'), '--runroot', join(state, 'run'), '--storage-driver', 'overlay'];
    await must(run('buildah', [...global, 'bud', '--runtime', 'runc', '--network', 'host', '--layers', '--tls-verify=false', ...extra, '-t', `${host}/${tag}`, ctx], { env }), 'buildah bud');
    await must(run('buildah', [...global, 'push', '--tls-verify=false', `${host}/${tag}`, `docker://${host}/${tag}`], { env }), 'buildah push');
    await run('buildah', [...global, 'rm', '--all'], { env });
    await run('umount', ['-R', join(state, 'storage', 'overlay')]).catch(() => undefined);
  };
  await bud(join(dir, 'bh-a'), same, 'bh-app:a', ['--cache-to', `${host}/bh-cache`]);
  for (const [label, ctx] of [['unchanged', same], ['one file changed', changed]] as const) {
    const fig: Figure = { label: `buildah, ${label}`, ms: [] };
    for (let i = 0; i < RUNS; i++) {
      fig.ms.push(await timed(() => bud(join(dir, `bh-${label.length}-${i}`), ctx, `bh-app:${label.length}-${i}`, ['--cache-from', `${host}/bh-cache`])));
    }
    figures.push(fig);
  }

  const row = (f: Figure): string => `| ${f.label} | ${(median(f.ms) / 1000).toFixed(2)} s | ${f.ms.map((m) => (m / 1000).toFixed(2)).join(', ')} | ${f.bytesDown === undefined ? '—' : `${(f.bytesDown / 1e6).toFixed(2)} MB`} |`;
  const ratio = (a: string, b: string): string => {
    const x = figures.find((f) => f.label === a);
    const y = figures.find((f) => f.label === b);
    return x && y ? `${(median(x.ms) / median(y.ms)).toFixed(2)}×` : '—';
  };
  const text = [
    `## Remote cache: CI rebuild on an empty state directory (${new Date().toISOString()})`,
    '',
    `Two-stage Dockerfile; the build stage adds ${BIG / 1024 / 1024} MiB twice (COPY + RUN cp), the final image takes a 100-byte file from it. Runner A exported the cache (tsbuild mode=max; buildah --layers --cache-to); every timed run starts from an empty root/storage, builds with --cache-from and pushes to a new tag. ${RUNS} runs each, wall clock.`,
    '',
    '| contender | median | runs | blob bytes pulled (tsbuild metrics) |',
    '|---|---|---|---|',
    ...figures.map(row),
    '',
    `- tsbuild / buildah, unchanged: **${ratio('tsbuild, unchanged', 'buildah, unchanged')}**`,
    `- tsbuild / buildah, one file changed: **${ratio('tsbuild, one file changed', 'buildah, one file changed')}**`,
    '',
  ].join('\n');
  process.stdout.write(text);
  await mkdir(dirname(RESULTS), { recursive: true });
  await writeFile(RESULTS, text);
} finally {
  await registry.stop();
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}
