import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, type CommandRun } from './command.js';
import { removeTree } from './remove-tree.js';

/** How tsbuild is started: the user's command (`bin/tsbuild`), or Node with `--cpu-prof` on its entry for a profile. */
export interface TsbuildLaunch {
  /** The project root: bin/tsbuild, scripts/node and the bundle dist/bundle/cli/launch.js live under it. */
  projectRoot: string;
  /**
   * When set, runs `scripts/node --cpu-prof --cpu-prof-dir DIR dist/bundle/cli/launch.js` (what bin/tsbuild runs) with
   * `--progress tsbuild-json` (tsbuild's own events; rawjson is buildx's SolveStatus now); cpu-profile.ts maps its frames back to the TypeScript through the source maps.
   */
  profileDir?: string;
}

/** The tool under test, run exactly as a user runs it. */
export class Tsbuild {
  readonly #launch: TsbuildLaunch;
  /** The last run's output: the profiler reads its tsbuild-json events from stderr. */
  last: CommandRun | undefined;
  /**
   * The largest peak RSS (KiB) over the runs since the caller last reset it to 0: GNU time's, the largest single
   * process among tsbuild's node and every process it waited for, so a RUN step's own program counts when it is bigger
   * (ts-multistage's `tsc`: ~200 MiB against node's ~150, bench/RESULTS.md tenth round).
   */
  peakRssKiB = 0;
  constructor(launch: TsbuildLaunch) { this.#launch = launch; }

  /** bin/tsbuild's path. */
  get bin(): string { return join(this.#launch.projectRoot, 'bin/tsbuild'); }

  /** `tsbuild build --root ROOT --progress plain ARGS CONTEXT`; resolves with the run (wall time included). */
  async build(root: string, context: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CommandRun> {
    const { projectRoot, profileDir } = this.#launch;
    const common = ['build', '--root', root, ...args];
    const run = profileDir === undefined
      ? await this.#measured([this.bin, ...common, '--progress', 'plain', context], env)
      : await runCommand(join(projectRoot, 'scripts/node'), [
        '--disable-warning=ExperimentalWarning', '--cpu-prof', '--cpu-prof-dir', profileDir,
        '--max-semi-space-size=2', '--min-semi-space-size=2', '--preserve-symlinks', join(projectRoot, 'dist/bundle/cli/launch.js'), ...common, '--progress', 'tsbuild-json', context,
      ], { env });
    this.last = run;
    return run;
  }

  /** `tsbuild push --root ROOT --progress plain ARGS REF`: pushes an image built earlier in ROOT. */
  async push(root: string, ref: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CommandRun> {
    const run = await this.#measured([this.bin, 'push', '--root', root, ...args, '--progress', 'plain', ref], env);
    this.last = run;
    return run;
  }

  /** Runs through GNU time for the peak RSS (see peakRssKiB); adds ~1 ms to the wall time. */
  async #measured(argv: string[], env: NodeJS.ProcessEnv): Promise<CommandRun> {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-bench-rss-'));
    try {
      const file = join(dir, 'rss');
      const run = await runCommand('/usr/bin/time', ['-f', '%M', '-o', file, ...argv], { env });
      const kib = Number((await readFile(file, 'utf8')).trim().split('\n').pop());
      if (Number.isFinite(kib)) this.peakRssKiB = Math.max(this.peakRssKiB, kib);
      return run;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/**
 * The peer: buildah with its own storage (`--root`/`--runroot` under `dir`, overlay driver) and a registries.conf
 * that marks the bench's registries insecure. crun refuses this host's cgroup v1 hybrid mode, hence `--runtime runc`.
 */
export class Buildah {
  readonly #dir: string;
  readonly #env: NodeJS.ProcessEnv;
  constructor(dir: string, registriesConf: string) {
    this.#dir = dir;
    this.#env = { CONTAINERS_REGISTRIES_CONF: registriesConf, BUILDAH_ISOLATION: 'oci' };
  }

  get #global(): string[] {
    return ['--root', join(this.#dir, 'storage'), '--runroot', join(this.#dir, 'run'), '--storage-driver', 'overlay'];
  }

  /**
   * `buildah bud --runtime runc --network host ARGS -t TAG CONTEXT`. Host network: buildah's own default sets up a
   * network namespace per step (~200 ms each here), which would measure networking, not building. tsbuild's default
   * RUN network is its own (one slirp4netns namespace per build, joined by each step: worker/exec/network.ts), so
   * this choice favours buildah slightly.
   */
  bud(context: string, tag: string, args: string[] = [], opts: { keepAll?: boolean } = {}): Promise<CommandRun> {
    return runCommand('buildah', [...this.#global, 'bud', '--runtime', 'runc', '--network', 'host', ...args, '-t', tag, context], { env: this.#env, ...opts });
  }

  /** `buildah pull --tls-verify=false REF`: the base alone, to time it apart from a build. */
  pull(ref: string): Promise<CommandRun> {
    return runCommand('buildah', [...this.#global, 'pull', '--tls-verify=false', ref], { env: this.#env });
  }

  /** `buildah push --tls-verify=false IMAGE docker://DEST`. */
  push(image: string, dest: string): Promise<CommandRun> {
    return runCommand('buildah', [...this.#global, 'push', '--tls-verify=false', image, `docker://${dest}`], { env: this.#env });
  }

  /** `buildah push IMAGE oci-archive:FILE`: the image as an OCI archive (a tar of an OCI layout). */
  pushOciArchive(image: string, file: string): Promise<CommandRun> {
    return runCommand('buildah', [...this.#global, 'push', image, `oci-archive:${file}`], { env: this.#env });
  }

  /** Forgets every image, layer and container: the next build starts cold. */
  async reset(): Promise<void> {
    await runCommand('buildah', [...this.#global, 'rm', '--all'], { env: this.#env }).catch(() => undefined);
    await removeTree(this.#dir);
  }
}

/** `skopeo copy` from an OCI layout directory to a registry (plain HTTP). */
/**
 * The registry's own floor for a push of an OCI layout's image to `host`/`repo`:`tag`: one bash running curl, each
 * blob started (POST) and streamed in one PUT, all blobs at once, then the manifest; no checks, no retries, no start-up
 * beyond bash and curl's. Nothing can move the same bytes into the same registry with fewer requests.
 */
export async function curlPushFloor(ociDir: string, host: string, repo: string, tag: string): Promise<CommandRun> {
  const index = JSON.parse(await readFile(join(ociDir, 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string }[] };
  const manifest = index.manifests[0];
  if (manifest === undefined) throw new Error(`${ociDir}/index.json lists no manifest`);
  const blobPath = (digest: string): string => join(ociDir, 'blobs', ...digest.split(':'));
  const body = JSON.parse(await readFile(blobPath(manifest.digest), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
  const blobs = [body.config.digest, ...body.layers.map((l) => l.digest)];
  const base = `http://${host}/v2/${repo}`;
  const script = [
    'set -e',
    'up() { loc=$(curl -sf -X POST -o /dev/null -w "%header{location}" "$1/blobs/uploads/"); case $loc in http*) ;; *) loc="http://$2$loc" ;; esac',
    '  case $loc in *\?*) sep="&" ;; *) sep="?" ;; esac',
    // -T streams the file (--data-binary @FILE reads it all into memory first); no `Expect: 100-continue` wait.
    '  curl -sf -T "$3" -H "Content-Type: application/octet-stream" -H "Expect:" -o /dev/null "$loc${sep}digest=$4"; }',
    ...blobs.map((d) => `up '${base}' '${host}' '${blobPath(d)}' '${d}' &`),
    'for j in $(jobs -p); do wait "$j"; done',
    `curl -sf -T '${blobPath(manifest.digest)}' -H 'Content-Type: ${manifest.mediaType}' -H 'Expect:' -o /dev/null '${base}/manifests/${tag}'`,
  ].join('\n');
  return runCommand('bash', ['-c', script]);
}

export function skopeoCopy(ociDir: string, dest: string, registriesConf: string): Promise<CommandRun> {
  return runCommand('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${ociDir}`, `docker://${dest}`], {
    env: { CONTAINERS_REGISTRIES_CONF: registriesConf },
  });
}
