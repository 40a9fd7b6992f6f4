import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publishBusybox } from '../../test/fixtures/busybox-image.js';
import { startRegistry, type RunningRegistry } from '../../test/fixtures/registry-server.js';
import { baseOnlyContext } from './contexts.js';
import { deferRemovals, emptyGraveyard, removeTree } from './remove-tree.js';
import { Buildah, Tsbuild } from './tools.js';

/** What every scenario runs against: one base registry holding busybox, the two builders, the work directory. */
export interface BenchEnv {
  projectRoot: string;
  /** bench/work: generated contexts and state, git-ignored, kept between runs only for the big tree. */
  work: string;
  reps: number;
  /** The base registry (127.0.0.1:PORT) and the base image reference in it. */
  registry: RunningRegistry;
  base: string;
  registriesConf: string;
  tsbuild: Tsbuild;
  /** A buildah with its own storage under work/state/buildah-NAME. */
  buildah(name: string): Buildah;
  /** A state directory for tsbuild's `--root`, removed first (mounts included). */
  freshRoot(name: string): Promise<string>;
  /** Pulls the base image into a tsbuild root and a buildah storage (untimed), by building just `FROM base`. */
  pullBase(root: string, buildah: Buildah): Promise<void>;
  /** Starts one more registry (for push targets); stopped by `close()` if the scenario does not. */
  startRegistry(): Promise<RunningRegistry>;
  /** Progress lines for whoever watches `make bench`. */
  log(line: string): void;
  close(): Promise<void>;
}

/** Writes a registries.conf that lets buildah and skopeo talk plain HTTP to the bench's local registries. */
async function writeRegistriesConf(file: string, hosts: string[]): Promise<void> {
  const entries = hosts.map((h) => `[[registry]]\nlocation = "${h}"\ninsecure = true\n`);
  await writeFile(file, `unqualified-search-registries = []\n\n${entries.join('\n')}`);
}

/** Starts the base registry, publishes busybox to it and prepares the work directory. */
export async function openBenchEnv(projectRoot: string, reps: number, log: (line: string) => void): Promise<BenchEnv> {
  const work = join(projectRoot, 'bench/work');
  const state = join(work, 'state');
  await removeTree(state);
  await mkdir(state, { recursive: true });
  await deferRemovals(join(work, 'graveyard'));
  const registry = await startRegistry();
  const extra: RunningRegistry[] = [];
  try {
    await publishBusybox(registry.host, 'busybox');
  } catch (err) {
    await registry.stop();
    throw err;
  }
  const registriesConf = join(state, 'registries.conf');
  await writeRegistriesConf(registriesConf, [registry.host]);
  return {
    projectRoot, work, reps, registry, registriesConf,
    base: `${registry.host}/busybox:latest`,
    tsbuild: new Tsbuild({ projectRoot }),
    buildah: (name) => new Buildah(join(state, `buildah-${name}`), registriesConf),
    freshRoot: async (name) => {
      const dir = join(state, `tsbuild-${name}`);
      await removeTree(dir);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    pullBase: async (root, buildah) => {
      const ctx = await baseOnlyContext(work, `${registry.host}/busybox:latest`);
      await new Tsbuild({ projectRoot }).build(root, ctx.dir);
      await buildah.bud(ctx.dir, 'localhost/bench-base-only:1');
    },
    startRegistry: async () => {
      const r = await startRegistry();
      extra.push(r);
      return r;
    },
    log,
    close: async () => {
      for (const r of extra) await r.stop();
      await registry.stop();
      await removeTree(state);
      await emptyGraveyard();
    },
  };
}
