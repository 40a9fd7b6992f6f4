import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { BuildGraph } from '../../frontend/index.js';
import type { BuildOutcome, BuildRequest } from '../build.js';
import type { DebugRequest } from '../debug/debug-session.js';
import { envDefault } from '../options/env-default.js';
import { keyValues } from '../options/key-values.js';
import { loadOutputOf, parseOutput, registryInsecureHosts, type OutputSpec } from '../options/output.js';
import { parseAnnotationFlag } from '../options/annotations.js';
import { parseAddHosts, parseAllow, parseBuildContexts, parseCgroupParent, parseNetwork, parseResourceLimits, parseShmSize, parseSsh, parseUlimits, type NamedContext } from '../options/build-flags.js';
import { checkLocalDelete } from '../options/local-delete.js';
import { buildSettingsAttrs, localMountName } from '../options/frontend-attrs.js';
import type { GitAttributes, LocalDirs } from '../git-info/index.js';
import type { GitAccess } from '../remote-context/index.js';
import { openSshAgents } from '../options/ssh-key-agent.js';
import { destState, ensureParent, prepareDestinations, writeOutputFile, writingTo } from '../options/destinations.js';
import { metadataRequestFromEnv, writeMetadata, writeMetadataObject } from '../metadata-file.js';
import { githubAnnotation } from '../format-error.js';
import { cacheEntries, parseCacheFrom, parseCacheTo, unsupportedCaches } from '../cache/cache-spec.js';
import { defaultProvenanceApplies, parseAttestFlags } from '../attest/attest-options.js';
import { UserError, checkReplaceable, goJson, parseGoBool, redactCredentials, testHooksFromEnv, visibleText } from '../../common/index.js';
import { parseCallFunc, type CallFunc } from '../options/call.js';
import type { RetryEvent } from '../../registry/index.js';
import type { RunningSteps } from '../../solver/index.js';
import type { ProgressWriter } from '../progress/index.js';
import { addBuildFlags, addBuildxOnlyFlags, buildxOnlyWarnings, collect, defaultProgress, isJsonProgress, platformsOption, progressOf, type BuildFlags } from './build-flags.js';
import { builderOf, rootOf } from './global-options.js';
import { buildRefPrefix, readBuilders } from '../builders/index.js';
import { retryText, withRoot, type Root } from './root.js';

/** `tsbuild build`. */
export function registerBuild(program: Command, signal: AbortSignal): void {
  addBuildxOnlyFlags(addBuildFlags(program.command('build').argument('[context]', 'build context directory', '.').description('build an image from a Dockerfile'))
    .option('--push', 'push the image to the registry of each -t name (shorthand for --output=type=registry)')
    .option('-o, --output <spec>', 'output destination: type=image|registry|oci|docker|local|tar[,dest=…][,name=…][,push=…][,tar=false]', collect, [])
    .addOption(envDefault(new Option('--progress <mode>', 'progress output: auto, plain, tty, quiet (-q), none, rawjson (buildx\'s SolveStatus JSON) or tsbuild-json (tsbuild\'s own events); default $BUILDKIT_PROGRESS, else auto'), () => defaultProgress()))
    .option('--pull', 'always resolve base images from the registry (tsbuild always does: it keeps no local tag cache)')
    .option('--load', 'load the image into docker or podman (`docker load`), whichever is running')
    .option('--build-context <name=value>', 'additional build context: NAME=DIR, NAME=docker-image://REF or NAME=oci-layout://DIR replaces the stage NAME, FROM NAME, COPY --from=NAME and RUN --mount=from=NAME; repeatable', collect, [])
    .option('--annotation <key=value>', 'add an annotation to the image: [manifest|index|manifest-descriptor[PLATFORM]:]KEY=VALUE; repeatable', collect, [])
    .option('--network <mode>', 'default network of RUN: default, none, host (grants network.host to the build\'s steps)')
    .option('--add-host <host:ip>', 'add a line to RUN\'s /etc/hosts; repeatable', collect, [])
    .option('--shm-size <size>', 'size of /dev/shm in every RUN, e.g. 256m (default 64m)')
    .option('--cgroup-parent <path>', 'cgroup every RUN\'s own is made under (PATH/tsbuild/STEP, e.g. ci/builds); part of each RUN\'s cache key, as in BuildKit')
    .option('--ulimit <name=soft:hard>', 'resource limit for every RUN, docker\'s names (nofile=1024:2048; -1 unlimited); repeatable', collect, [])
    .option('--resource <key=value>', 'cgroup limit for every RUN: memory=2g, memory-swap=3g (-1 unlimited), cpu-shares=512, cpu-period=100000, cpu-quota=50000, cpuset-cpus=0-1, cpuset-mems=0; repeatable', collect, [])
    // docker build's spellings, hidden as in buildx, which turns each into a --resource entry (legacyResourceValue).
    .addOption(new Option('-m, --memory <bytes>').hideHelp())
    .addOption(new Option('--memory-swap <bytes>').hideHelp())
    .addOption(new Option('-c, --cpu-shares <n>').hideHelp())
    .addOption(new Option('--cpu-period <n>').hideHelp())
    .addOption(new Option('--cpu-quota <n>').hideHelp())
    .addOption(new Option('--cpuset-cpus <cpus>').hideHelp())
    .addOption(new Option('--cpuset-mems <mems>').hideHelp())
    .option('--ssh <default|id=socket|id=key[,key]>', 'SSH agent socket, or private key files, for RUN --mount=type=ssh (default: $SSH_AUTH_SOCK); repeatable', collect, [])
    .option('--check', 'evaluate the build checks and print them, without building (--call=check)')
    .option('--call <method>', 'build (default), check, outline (the target\'s build args, secrets and SSH) or targets (the stages); add ,format=json for BuildKit\'s JSON, ,ignorestatus=true to exit 0 on check findings')
    .addOption(new Option('--print <method>', 'buildx\'s older spelling of --call').hideHelp())
    .option('--no-cache', 'do not use the cache when building')
    .option('--no-cache-filter <stage>', 'do not cache the given stage; repeatable', collect, [])
    .option('--cache-to <spec>', 'export the build cache: type=registry,ref=REF[,mode=min|max], type=local,dest=DIR[,mode=…], type=inline, or type=gha|s3|azblob with BuildKit\'s attributes; repeatable', collect, [])
    .option('--cache-from <spec>', 'use a remote build cache: type=registry,ref=REF (a cache or an image with an inline cache), type=local,src=DIR, or type=gha|s3|azblob; repeatable', collect, [])
    .option('--metadata-file <file>', 'write build result metadata to a file')
    .option('--iidfile <file>', 'write the image ID (config digest) to a file')
    .option('--label <key=value>', 'set metadata for the image; repeatable', collect, [])
    .option('--secret <spec>', 'secret to expose to RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR', collect, [])
    .option('-q, --quiet', 'suppress progress and print the image ID on success')
    .option('--report <file>', 'write the cache-hit report: FILE.json, FILE.md or FILE.html (all three when FILE has no extension)')
    .option('--attach-report', 'attach the cache report (JSON + HTML) to each pushed image as an OCI referrer')
    .option('--dry-run', 'with --push: build, push nothing, and print per blob whether the push would skip, mount or upload it')
    .option('--explain-against <ref|build-id|file>', 'at the end, compare this build with another (an image pushed with --attach-report, a report JSON file, a build id)')
    .option('--allow <entitlement>', 'allow extra privileged entitlement: network.host, security.insecure, buildx.local.delete (-o type=local,mode=delete outside a subdirectory of the working directory); repeatable', collect, [])
    .option('--insecure-registry <host>', 'a registry host[:port] reached with unverified TLS, or plain HTTP when it speaks no TLS (buildx registry.insecure); repeatable', collect, [])
    .option('--provenance <value>', 'attach SLSA provenance: true (mode=max, as BuildKit reads provenance without a mode), mode=min|max[,version=v1][,builder-id=URL], or false (default: mode=min when pushing or writing type=oci, unless BUILDX_NO_DEFAULT_ATTESTATIONS=1)')
    .option('--sbom <value>', 'attach an SPDX SBOM of the image: true, scan-stage=true (also the build stages), or false')
    .option('--attest <spec>', 'attach an attestation: type=provenance[,mode=max] or type=sbom[,scan-stage=true]; repeatable', collect, [])
    .action(async (context: string, given: BuildFlags, cmd: Command) => {
      for (const w of buildxOnlyWarnings(cmd)) process.stderr.write(`${w}\n`);
      const session = cmd.parent?.name() === 'debug' ? await debugRequestOf(cmd.parent.opts(), context, given) : undefined;
      const progress = progressOf(given, cmd.getOptionValueSource('progress') === 'cli');
      // A session takes the terminal: a live display drawing over it would garble both.
      const flags = { ...given, ...progress, ...(session !== undefined && (progress.progress === 'auto' || progress.progress === 'tty') ? { progress: 'plain' as const } : {}), ...(session !== undefined ? { debugSession: session } : {}) };
      // `--network host` on the command line is the person running the build granting it, as buildx adds the
      // network.host entitlement for it (build/opt.go); a Dockerfile's RUN --network=host and a bake file's
      // `network = "host"` still need --allow network.host.
      const allow = flags.network === 'host' && !flags.allow.includes('network.host') ? [...flags.allow, 'network.host'] : flags.allow;
      return runBuildFlags(context, { ...flags, allow, root: rootOf(cmd), ...(builderOf(cmd) !== undefined ? { builder: builderOf(cmd) } : {}) }, signal);
    }));

}

/** `tsbuild debug`'s options for the build under it; stdin must be free for the session. */
async function debugRequestOf(opts: { on?: string; invoke?: string }, context: string, flags: BuildFlags): Promise<DebugRequest> {
  if (context === '-' || flags.file === '-') throw new UserError('INVALID_ARGUMENT', 'tsbuild debug build reads the session\'s input from stdin: the context or Dockerfile cannot come from it too', 'pass the context as a directory and -f as a file');
  const { parseInvokeConfig } = await import('../options/invoke.js');
  return { on: opts.on === 'always' ? 'always' : 'error', invoke: parseInvokeConfig(opts.invoke), isInvokeGiven: opts.invoke !== undefined };
}

/**
 * What builds run at once in one process share (bake's targets): the build's progress goes to `progress`, a display
 * the build does not own, what it prints after its progress (the cache summary) goes to `after`, and a step another
 * of them is running is waited for instead of run twice (`runningSteps`, solver/solve.ts).
 */
export interface SharedBuild { progress: ProgressWriter; after(text: string): void; runningSteps: RunningSteps }

/** A `--call`'s answer: `printed`, the text or JSON as `build --call` prints it, and `json`, BuildKit's result object. */
export interface CallResult { printed: string; json: unknown }

/** Where a `--call`'s answer goes: `tsbuild build` writes it to stdout; `tsbuild bake` collects every target's and prints them together. */
export type CallAnswer = (answer: CallResult) => void;

const toStdout: CallAnswer = ({ printed }) => { process.stdout.write(printed); };

/** What `tsbuild build` does with its parsed flags (`--call` included); `tsbuild bake` calls it once per target. */
export async function runBuildFlags(context: string, flags: BuildFlags, signal: AbortSignal, shared?: SharedBuild, answer: CallAnswer = toStdout): Promise<void> {
  const call = parseCallFunc(flags.check ? 'check' : (flags.call ?? flags.print));
  if (call?.name === 'lint') return checkAction(context, flags, flags.root, call, signal, answer);
  if (call?.name === 'targets') return targetsAction(context, flags, call, signal, answer);
  if (call?.name === 'outline') return outlineAction(context, flags, call, signal, answer);
  return buildAction(context, flags, signal, shared);
}

/** The outputs a build writes: `-o` values, plus `--push` (an image output pushed to every `-t`). */
function outputsOf(flags: BuildFlags): OutputSpec[] {
  const outputs = flags.output.map((o) => parseOutput(o, flags.tag));
  // `--annotation` adds to every image output, as buildx does.
  const annotations = flags.annotation.flatMap(parseAnnotationFlag);
  if (annotations.length) {
    for (const o of outputs) if (o.type === 'image' || o.type === 'oci' || o.type === 'docker') o.annotations = [...annotations, ...(o.annotations ?? [])];
  }
  if (flags.push) {
    const image = outputs.find((o) => o.type === 'image');
    if (image && image.type === 'image') image.push = true;
    else outputs.push({ type: 'image', names: flags.tag, push: true, ...(annotations.length ? { annotations } : {}) });
  }
  for (const o of outputs) {
    if (o.type === 'image' && o.push && o.names.length === 0) {
      throw new UserError('INVALID_ARGUMENT', '--push needs an image name', 'add -t registry/repo:tag (or -o type=registry,name=…)');
    }
  }
  // As buildx's CreateExports (build/opt.go): one output at most on stdout, and not a terminal's, where a tar is noise.
  const onStdout = outputs.filter((o) => 'dest' in o && o.dest === '-');
  if (onStdout.length > 1) throw new UserError('INVALID_ARGUMENT', 'multiple outputs configured to write to stdout', 'give all but one of them dest=FILE');
  if (onStdout[0] && process.stdout.isTTY) {
    throw new UserError('INVALID_ARGUMENT', `dest file is required for ${onStdout[0].type} exporter. refusing to write to console`, 'give dest=FILE, or redirect standard output to a file or a pipe');
  }
  return outputs;
}

async function buildAction(context: string | undefined, asked: BuildFlags, signal: AbortSignal, shared?: SharedBuild): Promise<void> {
  // `-o ""` is no output, as buildx's ParseExports skips it (it was a local export into the working directory).
  const given = { ...asked, output: asked.output.filter((o) => o !== '') };
  // Every flag is checked before anything starts: a typo costs no build and leaves no temp file.
  const loads = given.output.map(loadOutputOf);
  const loadNames = loads.flatMap((l) => l?.names ?? []);
  const flags = loads.some((l) => l !== undefined) ? { ...given, output: given.output.filter((_, k) => loads[k] === undefined), load: true } : given;
  const buildArgs = keyValues('--build-arg', flags.buildArg);
  // buildx refuses an empty syntax argument before it builds (build/opt.go toSolveOpt); bare, it is left unset.
  if (buildArgs.BUILDKIT_SYNTAX?.trim() === '') {
    throw new UserError('INVALID_ARGUMENT', 'empty BUILDKIT_SYNTAX build-arg is invalid, use --build-arg BUILDKIT_SYNTAX without \'=\' for optional behavior', 'drop --build-arg BUILDKIT_SYNTAX=, or give it a frontend image');
  }
  // buildx passes SOURCE_DATE_EPOCH from the environment as the build arg when none is given (build/opt.go); what it
  // names (seconds, `context`, a named context, a stage) is resolved once the contexts are fetched (source-date-epoch.ts).
  if (process.env.SOURCE_DATE_EPOCH !== undefined && !Object.hasOwn(buildArgs, 'SOURCE_DATE_EPOCH')) buildArgs.SOURCE_DATE_EPOCH = process.env.SOURCE_DATE_EPOCH;
  const platforms = platformsOption(flags.platform);
  const shmSize = parseShmSize(flags.shmSize);
  const cgroupParent = parseCgroupParent(flags.cgroupParent);
  const ulimits = parseUlimits(flags.ulimit);
  const limits = parseResourceLimits(resourceEntries(flags));
  const ssh = parseSsh(flags.ssh);
  const network = parseNetwork(flags.network);
  const extraHosts = parseAddHosts(flags.addHost);
  const namedContexts = parseBuildContexts(flags.buildContext);
  // Every -t must be a valid reference even when no output uses it yet (buildx checks them first too): `-t
  // UPPER/x` or `-t ../../etc` was accepted in silence without -o, and written into a docker tar's RepoTags with one.
  if (flags.tag.length > 0) {
    const { parseReference } = await import('../../registry/index.js');
    for (const tag of flags.tag) parseReference(tag);
  }
  const outputs = outputsOf(flags);
  const allowed = parseAllow(flags.allow);
  checkLocalDelete(outputs, allowed.isLocalDeleteAllowed);
  // --dry-run: build everything, push nothing; print what each push would send (push-plan.ts).
  const dryRunNames = flags.dryRun ? dryRunTargets(outputs, flags) : [];
  const toCaches = unsupportedCaches(cacheEntries(flags.cacheTo, '--cache-to'), '--cache-to');
  const fromCaches = unsupportedCaches(cacheEntries(flags.cacheFrom, '--cache-from'), '--cache-from');
  const cacheTo = toCaches.kept.map((t) => parseCacheTo(t));
  const cacheFrom = fromCaches.kept.map((t) => parseCacheFrom(t));
  for (const w of [...fromCaches.warnings, ...toCaches.warnings]) process.stderr.write(`${w}\n`);
  // BUILDKIT_INLINE_CACHE=1 as a build arg is the old spelling of --cache-to type=inline.
  if (/^(1|true)$/i.test(buildArgs.BUILDKIT_INLINE_CACHE ?? '') && !cacheTo.some((c) => c.type === 'inline')) cacheTo.push({ type: 'inline' });
  if (flags.attachReport && !outputs.some((o) => o.type === 'image' && o.push)) {
    throw new UserError('INVALID_ARGUMENT', '--attach-report needs a pushed image', 'add --push (or -o type=registry)');
  }
  const { findLoader, loadArchive } = await import('../outputs/load.js');
  const loader = flags.load ? await findLoader() : undefined;
  // The archive `docker load` reads is the whole image: in the state root's temp dir, never the host's $TMPDIR
  // (worker/temp-dirs.ts), where one a killed build left is removed by the next build or prune.
  const loadTmp = loader ? await (await import('../../worker/index.js')).makeRootTempDir(flags.root, 'load') : undefined;
  if (loadTmp) outputs.push({ type: 'docker', dest: join(loadTmp, 'image.tar'), names: loadNames.length > 0 ? loadNames : flags.tag });
  await prepareDestinations(outputs, cacheTo, [flags.metadataFile, flags.iidfile]);
  // As buildx: an --iidfile from an earlier build goes first (a failed build leaves none), and what is written at the
  // end is a new file in its place, never through a symbolic link that was there. A device or pipe (/dev/stdout) is
  // written into and never removed (buildx's os.Remove, run as root, removes /dev/stdout itself).
  if (flags.iidfile && (await destState(flags.iidfile)) !== 'special') {
    const iidfile = flags.iidfile;
    await rm(iidfile, { force: true }).catch((err: NodeJS.ErrnoException) => {
      throw new UserError('INVALID_ARGUMENT', `--iidfile ${iidfile}: cannot replace it: ${err.code ?? err.message}`, 'name a file tsbuild may remove and write, or a path that does not exist yet', { cause: err });
    });
  }
  if (flags.metadataFile) await checkReplaceable(resolve(flags.metadataFile));
  if (flags.report) await ensureParent(flags.report, `--report ${flags.report}`);
  const settings = {
    contextDir: context ?? '.', tags: flags.tag, buildArgs, labels: keyValues('--label', flags.label, 'empty'),
    outputs, noCache: flags.cache === false, noCacheFilter: flags.cacheFilter,
    allow: allowed.entitlements, cacheFrom, cacheTo,
    ...(flags.file ? { dockerfile: flags.file } : {}), ...(flags.target ? { target: flags.target } : {}),
    ...(platforms ? { platforms } : {}),
    // buildx's default: min provenance on pushed and OCI-layout images (deterministic here, see attest/provenance.ts).
    attest: parseAttestFlags(flags, buildArgs, { defaultProvenance: defaultProvenanceApplies(outputs, process.env) }),
    ...(network ? { network } : {}), ...(extraHosts.length ? { extraHosts } : {}), ...(Object.keys(namedContexts).length ? { namedContexts } : {}),
    ...(ulimits.length ? { ulimits } : {}), ...(shmSize !== undefined ? { shmSize } : {}), ...(limits !== undefined ? { limits } : {}),
    ...(cgroupParent !== undefined ? { cgroupParent } : {}),
    // buildx's BUILDX_METADATA_PROVENANCE and BUILDX_METADATA_WARNINGS: what --metadata-file holds (metadata-file.ts).
    ...(flags.metadataFile ? { metadata: metadataRequestFromEnv(process.env) } : {}),
  };
  // The context `-` (a tar or a Dockerfile on stdin), a git URL or an http(s) URL: fetched into a private dir in the
  // state root's temp dir, removed in the `finally` below (and here when what follows fails before it).
  const { fetchNamedContexts, resolveContext } = await import('../remote-context/index.js');
  // --secret sources are checked before anything is fetched, as buildx's CreateSecrets runs before the solve: a
  // missing file is a usage error (exit 2, as a missing --ssh socket) and costs no clone or download.
  const { resolveSecrets } = await import('../options/secrets.js');
  const secrets = await resolveSecrets(flags.secret);
  for (const w of secrets.warnings) process.stderr.write(`${w}\n`);
  // --ssh ID=KEY: an agent of this build's own answers for the keys until the build ends (ssh-key-agent.ts).
  const agents = await openSshAgents(ssh);
  let remote: Awaited<ReturnType<typeof resolveContext>>;
  try {
    remote = await resolveContext(context ?? '.', flags.file, signal, flags.root, { agent: gitAgentOf(flags, agents.sockets), secrets: secrets.secrets }, parseGoBool(buildArgs.BUILDKIT_CONTEXT_KEEP_GIT_DIR) === true);
  } catch (err) {
    await agents.close();
    throw err;
  }
  let stdinDockerfile: string | undefined;
  let named: Awaited<ReturnType<typeof fetchNamedContexts>> | undefined;
  try {
    // --build-context NAME=<git or http(s) URL>: fetched like the context, removed in the `finally` below.
    named = await fetchNamedContexts(namedContexts, signal, flags.root, { agent: gitAgentOf(flags, agents.sockets), secrets: secrets.secrets });
    // docker build's stdin form `-f -`: the Dockerfile from stdin.
    stdinDockerfile = flags.file === '-' ? await readStdin() : undefined;
  } catch (err) {
    await named?.cleanup();
    await remote?.cleanup();
    await agents.close();
    throw err;
  }
  // buildx's git information of a local context's checkout (git-info/): `vcs:*` attributes and, asked for, labels.
  const git = remote === undefined ? await localGitAttributes(context ?? '.', flags.file, namedContexts) : undefined;
  if (git?.warning !== undefined) process.stderr.write(`${git.warning}\n`);
  const labels = { ...settings.labels, ...git?.labels };
  // The settings as buildx sends them, kept with the build's record (`history inspect`), with the checkout's `vcs:*`.
  const frontendAttrs = { ...buildSettingsAttrs({ ...settings, labels }), ...git?.vcs };
  const { createProgress } = await import('../progress/index.js');
  const { runBuild } = await import('../build.js');
  const { loadReport, renderTerminalSummary, writeReportFiles, writeStepSummary } = await import('../report/index.js');
  const progress = shared?.progress ?? createProgress(flags.quiet ? 'quiet' : flags.progress);
  const req: BuildRequest = {
    ...settings, labels, frontendAttrs, secrets: secrets.secrets, progress, signal, ...(shared ? { runningSteps: shared.runningSteps } : {}),
    ...(remote ? { remoteContext: {
      locator: remote.locator, url: remote.source?.url ?? '-', ...(remote.source?.commit ? { commit: remote.source.commit } : {}),
      ...(remote.source?.kind === 'git' ? { gitUrl: redactCredentials(context ?? '.') } : {}),
    } } : {}),
    ...(remote ? { contextDir: remote.contextDir, ...(remote.dockerfile !== undefined ? { dockerfile: remote.dockerfile } : {}), ...(remote.dockerfileText !== undefined ? { dockerfileText: remote.dockerfileText } : {}) } : {}),
    ...(stdinDockerfile !== undefined ? { dockerfileText: stdinDockerfile } : {}),
    // A Dockerfile from stdin (`-f -`, or the context `-` holding one) is `Dockerfile` in errors and warnings, as BuildKit names it.
    ...(stdinDockerfile !== undefined || (remote?.source?.kind === 'stdin' && remote.dockerfileText !== undefined) ? { dockerfileName: 'Dockerfile' } : {}),
    ...(Object.keys(named.contexts).length ? { namedContexts: named.contexts } : {}),
    ...(Object.keys(agents.sockets).length ? { ssh: agents.sockets } : {}),
    ...(flags.debugSession !== undefined ? { debug: flags.debugSession } : {}),
  };
  for (const [name, source] of Object.entries(named.sources)) progress.note(`build context ${name}: ${source.url}${source.commit ? ` at ${source.commit}` : ''}`);
  if (remote?.source?.url !== undefined) progress.note(`build context ${remote.source.url}${remote.source.commit ? ` at ${remote.source.ref ?? ''} ${remote.source.commit}` : ''}`);
  const { randomUUID } = await import('node:crypto');
  const buildId = randomUUID().replaceAll('-', '').slice(0, 20);
  const env = process.env;
  // buildx records every build's context and Dockerfile before it solves (build/build.go, saveLocalState). buildx
  // cannot run without its config directory; tsbuild can (a CI job's read-only or missing HOME), so there the build
  // goes on and says what was not recorded.
  const { localStateOf, saveLocalState } = await import('../local-state.js');
  await saveLocalState(`${buildRefPrefix(readBuilders(flags.root), flags.builder)}/${buildId}`, localStateOf('default', context ?? '.', flags.file, remote !== undefined), env)
    .catch((err: NodeJS.ErrnoException) => process.stderr.write(`warning: buildx local state of this build not recorded: ${err.message} (set BUILDX_CONFIG to a writable directory)\n`));
  const hooks = testHooksFromEnv(process.env);
  try {
    // SOURCE_DATE_EPOCH: seconds, or the time of the context, a named context or a source-only stage (BuildKit's).
    const dated = await buildEpochOf(req, remote?.source?.time, named.sources, namedContexts, { signal, root: flags.root, git: { agent: gitAgentOf(flags, agents.sockets), secrets: secrets.secrets } })
      .catch((err: unknown) => { progress.close(); throw err; });
    // The root's resources (lock, worker, cache, history, registry client) are the build's and its reports', closed once.
    const rootOptions = {
      // registry.insecure=true on -o type=image and the --cache-to/--cache-from names: those hosts too.
      insecureRegistries: [...flags.insecureRegistry, ...registryInsecureHosts(outputs, [...cacheTo, ...cacheFrom])], onRetry: (e: RetryEvent) => progress.note(retryText(e)), hooks,
      ...(dated.sourceDateEpoch !== undefined ? { sourceDateEpoch: dated.sourceDateEpoch } : {}),
    };
    await withRoot(flags.root, rootOptions, async (root) => {
      let outcome: BuildOutcome;
      try {
        outcome = await runBuild({ ...req, ...dated, buildId, hooks }, root);
      } catch (err) {
        progress.close();
        await reportFailure(err, buildId, root, flags, env);
        throw err;
      }
      progress.close();
      // The build's one report: written to --report, the job summary, the attached referrer and the terminal.
      const report = await loadReport(root, outcome.buildId, { graph: outcome.graph, metrics: outcome.metrics, image: { digest: outcome.digest, names: outcome.pushed, ...(outcome.attestations ? { attestations: outcome.attestations } : {}) } }, outcome.storedRecord);
      const reportFile = flags.report;
      if (reportFile) await writingTo(`--report ${reportFile}`, reportFile, signal, () => writeReportFiles(report, reportFile));
      await writeStepSummary(report, env);
      if (flags.attachReport) await (await import('../report-attach.js')).attachReport(report, outcome.pushed, outcome.digest, await root.registry(), signal, root.dir);
      // The signature: every build ends by saying what missed and why, unless the user asked for machine output.
      if (!flags.quiet && flags.progress !== 'quiet' && !isJsonProgress(flags.progress)) {
        const summary = renderTerminalSummary(report);
        if (shared) shared.after(summary);
        else process.stderr.write(summary);
      }
      const { explainAgainst, renderExplain } = await import('./explain.js');
      if (flags.explainAgainst !== undefined) process.stderr.write(visibleText(renderExplain(await explainAgainst(root, outcome.buildId, flags.explainAgainst, signal), 'text')));
      const names = flags.output.length || flags.push ? flags.tag : [];
      const { metadataFile, iidfile } = flags;
      if (metadataFile) {
        await writingTo(`--metadata-file ${metadataFile}`, metadataFile, signal, () => writeMetadata(metadataFile, outcome, {
          names, outputs, request: req.metadata ?? metadataRequestFromEnv(env), refPrefix: buildRefPrefix(readBuilders(flags.root), flags.builder),
        }));
      }
      if (iidfile) await writingTo(`--iidfile ${iidfile}`, iidfile, signal, () => writeOutputFile(iidfile, outcome.imageId));
      if (loader && loadTmp) await loadArchive(loader, join(loadTmp, 'image.tar'));
      if (flags.quiet) process.stdout.write(`${outcome.imageId}\n`);
      const { pushPlans, renderPushPlan } = await import('../push-plan.js');
      if (flags.dryRun) for (const plan of await pushPlans(dryRunNames, outcome.image, pushCandidates(outcome.graph, flags), await root.registry(), signal)) process.stdout.write(renderPushPlan(plan));
    });
  } finally {
    await named.cleanup();
    await remote?.cleanup();
    await agents.close();
    if (loadTmp) await rm(loadTmp, { recursive: true, force: true });
  }
}

/**
 * The epoch a build uses (source-date-epoch.ts) from the fetched contexts' times, and SOURCE_DATE_EPOCH as its
 * Dockerfile then reads it. A Dockerfile that cannot be read here is left to the build to report.
 */
async function buildEpochOf(req: BuildRequest, contextTime: number | undefined, namedSources: Record<string, { time?: number }>, namedContexts: Record<string, NamedContext>,
  fetch: { signal: AbortSignal; root: string; git: GitAccess }): Promise<Pick<BuildRequest, 'sourceDateEpoch' | 'epochArg'>> {
  const { readDockerfile } = await import('../build.js');
  const dockerfile = await readDockerfile(req).catch(() => undefined);
  if (dockerfile === undefined) return {};
  const { resolveBuildEpoch } = await import('../source-date-epoch.js');
  const { remoteSourceTime } = await import('../remote-context/index.js');
  const named = Object.fromEntries(Object.keys(namedContexts).map((name) => [name, namedSources[name]?.time]));
  const { epoch, arg } = await resolveBuildEpoch({ path: req.dockerfileName ?? req.remoteContext?.locator ?? dockerfile.path, text: dockerfile.text }, {
    buildArgs: req.buildArgs, ...(req.platforms?.[0] ? { platform: req.platforms[0] } : {}), ...(req.target ? { target: req.target } : {}),
    times: { context: contextTime, named, source: (url, checksum) => remoteSourceTime(url, checksum, fetch.signal, fetch.root, fetch.git) },
  });
  return { ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}), ...(arg !== undefined ? { epochArg: arg } : {}) };
}

/**
 * After a failed build: the report (`--report`) and the job summary are still written, from the build record,
 * and in GitHub Actions a located error becomes an `::error file=…,line=…::` annotation on the Dockerfile line.
 * A problem writing them never hides the build's own error.
 */
async function reportFailure(err: unknown, buildId: string, root: Root, flags: BuildFlags, env: NodeJS.ProcessEnv): Promise<void> {
  const annotation = githubAnnotation(err, env);
  if (annotation) process.stdout.write(annotation);
  const { loadReport, stepSummaryPath, writeReportFiles, writeStepSummary } = await import('../report/index.js');
  if (!flags.report && !stepSummaryPath(env)) return;
  try {
    const report = await loadReport(root, buildId);
    if (flags.report) await writeReportFiles(report, flags.report);
    await writeStepSummary(report, env);
  } catch (reportErr) {
    // No record (the build failed before it started, e.g. a missing Dockerfile): there is nothing to report on.
    if (flags.debug) process.stderr.write(`note: no report for the failed build: ${reportErr instanceof Error ? reportErr.message : String(reportErr)}\n`);
  }
}

/** The names a --dry-run build would push to; its outputs stop pushing. */
function dryRunTargets(outputs: OutputSpec[], flags: BuildFlags): string[] {
  const names = outputs.flatMap((o) => (o.type === 'image' && o.push ? o.names : []));
  if (names.length === 0) throw new UserError('INVALID_ARGUMENT', '--dry-run needs --push', 'add --push -t registry/repo:tag to see what the push would send');
  if (flags.attachReport) throw new UserError('INVALID_ARGUMENT', '--dry-run pushes nothing, so it cannot --attach-report', 'drop one of the two flags');
  for (const o of outputs) if (o.type === 'image') o.push = false;
  return names;
}

/** Repositories a push could mount blobs from: the base images and the registry caches. */
function pushCandidates(graph: BuildGraph, flags: BuildFlags): string[] {
  const bases = graph.vertices.flatMap((v) => (v.op.kind === 'image' ? [v.op.ref] : []));
  // Registry entries only: parsing another backend's entry here could refuse what the build itself went on without.
  const isRegistry = (t: string): boolean => !t.includes('=') || /(^|,)type=registry(,|$)/.test(t);
  const caches = [
    ...cacheEntries(flags.cacheFrom, '--cache-from').filter(isRegistry).map((t) => parseCacheFrom(t)),
    ...cacheEntries(flags.cacheTo, '--cache-to').filter(isRegistry).map((t) => parseCacheTo(t)),
  ].flatMap((c) => (c.type === 'registry' ? [c.ref] : []));
  return [...bases, ...caches];
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The SSH agent git contexts over ssh are fetched with (never the user's key files, git-fetch.ts): the one `--ssh
 * default` forwards, else, for git URLs the user typed on `tsbuild build`'s own command line, theirs
 * ($SSH_AUTH_SOCK), as one fetches with one's own git. A bake file's contexts are the repository's input: only the
 * agent the user forwarded.
 */
function gitAgentOf(flags: BuildFlags, ssh: Record<string, string>): string | undefined {
  return ssh['default'] ?? (flags.isBakeTarget === true ? undefined : process.env.SSH_AUTH_SOCK || undefined);
}

/**
 * The Dockerfile a `--call` reads, and the context's .dockerignore patterns (CopyIgnoredFile): from the context as
 * given; a remote or stdin context is fetched, then removed.
 */
async function callDockerfile(context: string, flags: BuildFlags, signal: AbortSignal): Promise<{ path: string; text: string; excludes: string[] }> {
  const { readDockerfile, readExcludes } = await import('../build.js');
  const { resolveContext } = await import('../remote-context/index.js');
  const agents = await openSshAgents(parseSsh(flags.ssh));
  const remote = await resolveContext(context, flags.file, signal, flags.root, { agent: gitAgentOf(flags, agents.sockets) }).finally(() => agents.close());
  try {
    // `-f -`: the Dockerfile is stdin, named as BuildKit names it (it was read as the file `-`, or a remote
    // context's own Dockerfile was checked instead).
    const contextDir = remote?.contextDir ?? context;
    if (flags.file === '-') return { path: 'Dockerfile', text: await readStdin(), excludes: await readExcludes(contextDir, undefined) };
    const dockerfile = remote === undefined
      ? await readDockerfile({ contextDir: context, ...(flags.file ? { dockerfile: flags.file } : {}) })
      : await readDockerfile({
        contextDir: remote.contextDir,
        ...(remote.dockerfile !== undefined ? { dockerfile: remote.dockerfile } : {}), ...(remote.dockerfileText !== undefined ? { dockerfileText: remote.dockerfileText } : {}),
      });
    // As a build reads them (build.ts): a Dockerfile given as text has no `<Dockerfile>.dockerignore`.
    const own = remote?.dockerfileText !== undefined ? undefined : dockerfile.path;
    return { ...dockerfile, excludes: await readExcludes(contextDir, own) };
  } finally {
    await remote?.cleanup();
  }
}

/** `--call=targets`: the Dockerfile's stages and their descriptions, as buildx prints them; nothing is built. */
async function targetsAction(context: string, flags: BuildFlags, call: CallFunc, signal: AbortSignal, answer: CallAnswer): Promise<void> {
  const { formatTargets, listTargets, targetsResult } = await import('../../frontend/index.js');
  const dockerfile = await callDockerfile(context, flags, signal);
  const targets = listTargets(dockerfile.text, dockerfile.path);
  const result = targetsResult(targets, dockerfile.text);
  answer({ printed: call.format === 'json' ? `${goJson(result)}\n` : formatTargets(targets), json: result });
  await writeCallMetadata(flags.metadataFile, { 'result.json': result, 'result.txt': formatTargets(targets), version: '1.0.0' });
}

/**
 * `--check` / `--call=check`: BuildKit's build checks on the Dockerfile, printed as buildx prints the lint results
 * (text or `format=json`); exit 1 when anything was found, as buildx does, unless `ignorestatus=true`. The base images
 * the target's stages name are resolved first, as a build would (build-checks.ts).
 */
async function checkAction(context: string, flags: BuildFlags, root: string, call: CallFunc, signal: AbortSignal, answer: CallAnswer): Promise<void> {
  const { baseReferenceError, runCheckCall, resolveBases } = await import('../build-checks.js');
  const { hostPlatform } = await import('../../registry/index.js');
  const dockerfile = await callDockerfile(context, flags, signal);
  const platform = platformsOption(flags.platform)?.[0] ?? hostPlatform();
  const args = { buildArgs: keyValues('--build-arg', flags.buildArg), platform, buildPlatform: hostPlatform() };
  const namedContexts = parseBuildContexts(flags.buildContext);
  const { baseEnv, found } = await withRoot(root, { insecureRegistries: flags.insecureRegistry }, async (r) => resolveBases(dockerfile, await r.registry(), {
    namedContexts, ...(flags.target ? { target: flags.target } : {}),
    platform, args,
  }));
  const checked = runCheckCall(dockerfile, checkDisplayName(context, flags.file), baseEnv, args, {
    replaced: Object.keys(namedContexts), conversionError: baseReferenceError(dockerfile, namedContexts, args), excludes: dockerfile.excludes, found,
    ...(flags.target ? { target: flags.target } : {}),
  });
  // Go writes a LintResults without findings with `"warnings": null`.
  const json = { ...checked.results, warnings: checked.results.warnings.length > 0 ? checked.results.warnings : null };
  await writeCallMetadata(flags.metadataFile, { 'result.json': json, 'result.statuscode': String(checked.status), 'result.txt': checked.resultText, version: '1.0.0' });
  answer({ printed: call.format === 'json' ? `${goJson(json)}\n` : checked.text, json });
  if (checked.failure !== undefined) throw checked.failure;
  if (!call.ignoreStatus && checked.status !== 0) process.exitCode = checked.status;
}

/** The Dockerfile as buildx names it in check output: the -f path as given, `stdin`, or CONTEXT/Dockerfile. */
function checkDisplayName(context: string, file: string | undefined): string {
  if (file === '-') return 'stdin';
  return file ?? join(context, 'Dockerfile');
}

/**
 * `--metadata-file` after a `--call`: the subrequest's answer as buildx's decodeExporterResponse keeps it (the
 * `result.json` object, the other keys as strings).
 */
async function writeCallMetadata(file: string | undefined, answer: Record<string, unknown>): Promise<void> {
  if (file !== undefined) await writeMetadataObject(file, answer);
}

/** `--call=outline`: the target's build args, secrets and SSH sockets, as buildx prints BuildKit's outline; nothing is built. */
async function outlineAction(context: string, flags: BuildFlags, call: CallFunc, signal: AbortSignal, answer: CallAnswer): Promise<void> {
  const { formatOutline, outlineOf, outlineResult } = await import('../../frontend/index.js');
  const { hostPlatform } = await import('../../registry/index.js');
  const dockerfile = await callDockerfile(context, flags, signal);
  const platform = platformsOption(flags.platform)?.[0] ?? hostPlatform();
  const outline = outlineOf(dockerfile.text, { buildArgs: keyValues('--build-arg', flags.buildArg), platform, buildPlatform: hostPlatform(), ...(flags.target ? { target: flags.target } : {}) });
  const result = outlineResult(outline, dockerfile.text);
  answer({ printed: call.format === 'json' ? `${goJson(result)}\n` : formatOutline(outline), json: result });
  await writeCallMetadata(flags.metadataFile, { 'result.json': result, 'result.txt': formatOutline(outline), version: '1.0.0' });
}

/**
 * buildx's getGitAttributes for a local context (build/git.go): the directories it mounts are the context, the
 * Dockerfile's directory (none for one read from stdin: buildx writes it to a temp dir) and each local named context.
 */
async function localGitAttributes(context: string, file: string | undefined, named: Record<string, NamedContext>): Promise<GitAttributes> {
  const { gitAttributes } = await import('../git-info/index.js');
  const dirs: LocalDirs = { context };
  if (file !== '-') dirs.dockerfile = file === undefined ? context : dirname(file);
  for (const [name, c] of Object.entries(named)) if (c.kind === 'local') dirs[localMountName(name)] = c.dir;
  return gitAttributes(context, file, dirs, process.env);
}

/**
 * The `--resource` entries as buildx assembles them (commands/build.go): docker build's per-limit flags first, each
 * as `KEY=VALUE`, then the `--resource` values; a key given twice keeps the later value.
 */
function resourceEntries(flags: BuildFlags): string[] {
  const legacy: [string, string | undefined][] = [
    ['memory', flags.memory], ['memory-swap', flags.memorySwap], ['cpu-shares', flags.cpuShares], ['cpu-period', flags.cpuPeriod],
    ['cpu-quota', flags.cpuQuota], ['cpuset-cpus', flags.cpusetCpus], ['cpuset-mems', flags.cpusetMems],
  ];
  return [...legacy.flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`])), ...(flags.resource ?? [])];
}
