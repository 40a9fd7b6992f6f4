import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Command, Option } from 'commander';
import type { BuildGraph, CheckResult, CheckWarning, DockerfileError } from '../frontend/index.js';
import { formatPlatform, parsePlatform, type Platform } from '../registry/oci/index.js';
import type { BuildOutcome, BuildRequest } from './build.js';
import { keyValues } from './options/key-values.js';
import { parseOutput, registryInsecureHosts, type OutputSpec } from './options/output.js';
import { parseAnnotationFlag } from './options/annotations.js';
import { parseSsh, parseAddHosts, parseShmSize, parseUlimits, parseBuildContexts, parseNetwork } from './options/build-flags.js';
import { ensureParent, prepareDestinations } from './options/destinations.js';
import { githubAnnotation } from './format-error.js';
import { defaultRoot } from './options/root.js';
import type { ProgressMode, ProgressWriter } from './progress/index.js';
import { registerCompletionCommand } from './completion.js';
import { parseCacheFrom, parseCacheTo } from './cache/cache-spec.js';
import { defaultProvenanceApplies, parseAttestFlags } from './attest/attest-options.js';
import { UserError, testHooksFromEnv } from '../common/index.js';
import { VERSION } from './version.js';

// Start-up time: everything that reaches the worker, the registry client (undici) or the report renderers is imported
// inside the action that needs it, and the commands defined in other files are imported only when the command line
// names them (registerCommands below). `tsbuild --version` so loads commander and the flag parsers, nothing else.

export { VERSION } from './version.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Flags shared by `build` and `plan`, named as in `docker buildx build`. */
function addBuildFlags(cmd: Command): Command {
  return cmd
    .option('-f, --file <path>', 'name of the Dockerfile (default: CONTEXT/Dockerfile)')
    .option('-t, --tag <name>', 'name and optionally a tag (name:tag); repeatable', collect, [])
    .option('--target <stage>', 'set the target build stage to build')
    .option('--build-arg <key=value>', 'set a build-time variable; repeatable', collect, [])
    .option('--platform <os/arch,...>', 'set the target platform(s) for the build, e.g. linux/amd64,linux/arm64')
    .option('--root <dir>', 'state directory (cache, snapshots, blobs)', defaultRoot())
    .option('--debug', 'print the cause chain of errors');
}

/** `--platform a,b`: the target platforms, normalised as containerd does (arm64/v8 → arm64, arm → arm/v7), deduplicated. */
function platformsOption(text: string | undefined): Platform[] | undefined {
  if (text === undefined) return undefined;
  const out = new Map<string, Platform>();
  for (const item of text.split(',').map((t) => t.trim()).filter(Boolean)) {
    const p = parsePlatform(item);
    if (!p) throw new UserError('INVALID_ARGUMENT', `invalid --platform ${JSON.stringify(item)}`, 'write os/arch[/variant], e.g. linux/amd64 or linux/amd64,linux/arm64');
    const normal: Platform = p.architecture === 'arm64' && p.variant === 'v8' ? { os: p.os, architecture: p.architecture }
      : p.architecture === 'arm' && p.variant === undefined ? { ...p, variant: 'v7' } : p;
    out.set(formatPlatform(normal), normal);
  }
  if (out.size === 0) throw new UserError('INVALID_ARGUMENT', '--platform is empty', 'write os/arch[/variant], e.g. linux/amd64');
  return [...out.values()];
}

function platformOption(text: string | undefined): Platform | undefined {
  return platformsOption(text)?.[0];
}

interface BuildFlags {
  file?: string; tag: string[]; target?: string; buildArg: string[]; platform?: string; root: string; debug?: boolean;
  push?: boolean; output: string[]; progress: ProgressMode;
  /** commander reads `--no-cache` as the negation of `cache` and `--no-cache-filter X` as `cacheFilter`. */
  cache: boolean; cacheFilter: string[];
  metadataFile?: string; iidfile?: string; cacheTo: string[]; cacheFrom: string[]; label: string[]; secret: string[]; quiet?: boolean; allow: string[]; report?: string; attachReport?: boolean;
  pull?: boolean; load?: boolean; buildContext: string[]; annotation: string[]; provenance?: string; sbom?: string; attest: string[];
  network?: string; addHost: string[]; shmSize?: string; ulimit: string[]; ssh: string[]; check?: boolean; call?: string;
  explainAgainst?: string; dryRun?: boolean;
  insecureRegistry: string[];
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
  return outputs;
}

async function buildAction(context: string | undefined, flags: BuildFlags, signal: AbortSignal): Promise<void> {
  // Every flag is checked before anything starts: a typo costs no build and leaves no temp file.
  const buildArgs = keyValues('--build-arg', flags.buildArg);
  // buildx passes SOURCE_DATE_EPOCH as a build arg too; either place sets it (the build arg wins, as in BuildKit).
  const epoch = buildArgs.SOURCE_DATE_EPOCH ?? process.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && epoch !== '' && !/^\d+$/.test(epoch)) {
    throw new UserError('INVALID_ARGUMENT', `invalid SOURCE_DATE_EPOCH ${JSON.stringify(epoch)}`, 'use seconds since 1970-01-01 UTC, e.g. $(git log -1 --format=%ct)');
  }
  const platforms = platformsOption(flags.platform);
  const shmSize = parseShmSize(flags.shmSize);
  const ulimits = parseUlimits(flags.ulimit);
  const ssh = parseSsh(flags.ssh);
  const network = parseNetwork(flags.network);
  const extraHosts = parseAddHosts(flags.addHost);
  const namedContexts = parseBuildContexts(flags.buildContext);
  const outputs = outputsOf(flags);
  // --dry-run: build everything, push nothing; print what each push would send (push-plan.ts).
  const dryRunNames = flags.dryRun ? dryRunTargets(outputs, flags) : [];
  const cacheTo = flags.cacheTo.map(parseCacheTo);
  const cacheFrom = flags.cacheFrom.map(parseCacheFrom);
  // BUILDKIT_INLINE_CACHE=1 as a build arg is the old spelling of --cache-to type=inline.
  if (/^(1|true)$/i.test(buildArgs.BUILDKIT_INLINE_CACHE ?? '') && !cacheTo.some((c) => c.type === 'inline')) cacheTo.push({ type: 'inline' });
  if (outputs.some((o) => (o.type === 'image' || o.type === 'oci' || o.type === 'docker') && o.rewriteTimestamp) && epoch === undefined) {
    throw new UserError('INVALID_ARGUMENT', 'rewrite-timestamp=true needs SOURCE_DATE_EPOCH', 'set it in the environment or pass --build-arg SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)');
  }
  if (flags.attachReport && !outputs.some((o) => o.type === 'image' && o.push)) {
    throw new UserError('INVALID_ARGUMENT', '--attach-report needs a pushed image', 'add --push (or -o type=registry)');
  }
  const { findLoader, loadArchive } = await import('./outputs/load.js');
  const loader = flags.load ? await findLoader() : undefined;
  const loadTmp = loader ? await mkdtemp(join(tmpdir(), 'tsbuild-load-')) : undefined;
  if (loadTmp) outputs.push({ type: 'docker', dest: join(loadTmp, 'image.tar'), names: flags.tag });
  await prepareDestinations(outputs, cacheTo, [flags.metadataFile, flags.iidfile]);
  if (flags.report) await ensureParent(flags.report, `--report ${flags.report}`);
  const settings = {
    contextDir: context ?? '.', tags: flags.tag, buildArgs, labels: keyValues('--label', flags.label),
    outputs, noCache: flags.cache === false, noCacheFilter: flags.cacheFilter, root: flags.root,
    allow: flags.allow.flatMap((a) => a.split(',')), cacheFrom, cacheTo,
    insecureRegistries: [...flags.insecureRegistry, ...registryInsecureHosts(outputs, [...cacheTo, ...cacheFrom])],
    ...(flags.file ? { dockerfile: flags.file } : {}), ...(flags.target ? { target: flags.target } : {}),
    ...(platforms ? { platforms } : {}),
    // buildx's default: min provenance on pushed and OCI-layout images (deterministic here, see attest/provenance.ts).
    attest: parseAttestFlags(flags, buildArgs, { defaultProvenance: defaultProvenanceApplies(outputs, process.env) }),
    ...(epoch !== undefined && epoch !== '' ? { sourceDateEpoch: Number(epoch) } : {}),
    ...(network ? { network } : {}), ...(extraHosts.length ? { extraHosts } : {}), ...(Object.keys(namedContexts).length ? { namedContexts } : {}),
    ...(ulimits.length ? { ulimits } : {}), ...(shmSize !== undefined ? { shmSize } : {}), ...(Object.keys(ssh).length ? { ssh } : {}),
  };
  // docker build's stdin forms: `-f -` reads the Dockerfile from stdin; a context of `-` is a Dockerfile with no files.
  const stdinDockerfile = flags.file === '-' || context === '-' ? await readStdin() : undefined;
  const emptyContext = context === '-' ? await mkdtemp(join(tmpdir(), 'tsbuild-context-')) : undefined;
  const { resolveSecrets } = await import('./options/secrets.js');
  const secrets = await resolveSecrets(flags.secret);
  const { createProgress } = await import('./progress/index.js');
  const { runBuild, writeMetadata } = await import('./build.js');
  const { loadReport, renderTerminalSummary, writeReports, writeStepSummary } = await import('./report/index.js');
  const progress = createProgress(flags.quiet ? 'quiet' : flags.progress);
  const req: BuildRequest = {
    ...settings, secrets: secrets.files, progress, signal,
    ...(emptyContext ? { contextDir: emptyContext } : {}), ...(stdinDockerfile !== undefined ? { dockerfileText: stdinDockerfile } : {}),
  };
  const { randomUUID } = await import('node:crypto');
  const buildId = randomUUID().replaceAll('-', '').slice(0, 20);
  const env = process.env;
  try {
    let outcome: BuildOutcome;
    try {
      await checkBeforeBuild(req, progress);
      outcome = await runBuild({ ...req, buildId, hooks: testHooksFromEnv(process.env) });
    } catch (err) {
      progress.close();
      await reportFailure(err, buildId, flags, env);
      throw err;
    }
    progress.close();
    if (flags.report) await writeReports(outcome, flags.report, { root: flags.root, summary: false });
    const report = await loadReport(flags.root, outcome.buildId, { graph: outcome.graph, metrics: outcome.metrics, image: { digest: outcome.digest, names: outcome.pushed, ...(outcome.attestations ? { attestations: outcome.attestations } : {}) } });
    await writeStepSummary(report, env);
    if (flags.attachReport) await (await import('./report-attach.js')).attachReport(report, outcome.pushed, outcome.digest, signal, { insecureRegistries: flags.insecureRegistry });
    // The signature: every build ends by saying what missed and why, unless the user asked for machine output.
    if (!flags.quiet && !isJsonProgress(flags.progress)) process.stderr.write(renderTerminalSummary(report));
    const { explainAgainst, renderExplain } = await import('./explain/explain-command.js');
    if (flags.explainAgainst !== undefined) process.stderr.write(renderExplain(await explainAgainst(flags.root, outcome.buildId, flags.explainAgainst, signal), 'text'));
    const names = flags.output.length || flags.push ? flags.tag : [];
    if (flags.metadataFile) await writeMetadata(flags.metadataFile, outcome, names);
    if (flags.iidfile) await writeFile(flags.iidfile, outcome.imageId);
    if (loader && loadTmp) await loadArchive(loader, join(loadTmp, 'image.tar'));
    if (flags.quiet) process.stdout.write(`${outcome.imageId}\n`);
    const { pushPlans, renderPushPlan } = await import('./push-plan.js');
    if (flags.dryRun) for (const plan of await pushPlans(dryRunNames, outcome.image, pushCandidates(outcome.graph, flags), signal)) process.stdout.write(renderPushPlan(plan));
  } finally {
    await secrets.cleanup();
    if (emptyContext) await rm(emptyContext, { recursive: true, force: true });
    if (loadTmp) await rm(loadTmp, { recursive: true, force: true });
  }
}

/**
 * After a failed build: the report (`--report`) and the job summary are still written, from the build record,
 * and in GitHub Actions a located error becomes an `::error file=…,line=…::` annotation on the Dockerfile line.
 * A problem writing them never hides the build's own error.
 */
async function reportFailure(err: unknown, buildId: string, flags: BuildFlags, env: NodeJS.ProcessEnv): Promise<void> {
  const annotation = githubAnnotation(err, env);
  if (annotation) process.stdout.write(annotation);
  const { loadReport, stepSummaryPath, writeReportFiles, writeStepSummary } = await import('./report/index.js');
  if (!flags.report && !stepSummaryPath(env)) return;
  try {
    const report = await loadReport(flags.root, buildId);
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
  const caches = [...flags.cacheFrom.map(parseCacheFrom), ...flags.cacheTo.map(parseCacheTo)].flatMap((c) => (c.type === 'registry' ? [c.ref] : []));
  return [...bases, ...caches];
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The command line. `signal` aborts a running build (Ctrl-C). With `args` (normalizeArgv's output) only the commands
 * they can reach are defined; without, every command is.
 */
export async function buildProgram(signal: AbortSignal, args?: string[]): Promise<Command> {
  const program = new Command('tsbuild')
    .description('Build container images from Dockerfiles, push them to registries, and explain every cache miss.')
    .version(VERSION, '-v, --version')
    .addHelpText('after', `
Global options (before or after the command): --root DIR, --debug.

Examples:
  tsbuild build -t localhost:5000/app:1 --push .
  tsbuild --push localhost:5000/app:1 .          shorthand for the line above
  tsbuild build -o type=oci,dest=app.tar .       OCI layout tarball, no registry
  tsbuild plan --format dot . | dot -Tsvg         the build graph, without building`);

  addBuildFlags(program.command('build').argument('[context]', 'build context directory', '.').description('build an image from a Dockerfile'))
    .option('--push', 'push the image to the registry of each -t name (shorthand for --output=type=registry)')
    .option('-o, --output <spec>', 'output destination: type=image|registry|oci|docker|local|tar[,dest=…][,name=…][,push=…][,tar=false]', collect, [])
    .addOption(new Option('--progress <mode>', 'progress output (default: $BUILDKIT_PROGRESS, else auto); rawjson is buildx\'s SolveStatus JSON, tsbuild-json tsbuild\'s own events')
      .choices(['auto', 'plain', 'tty', 'rawjson', 'tsbuild-json', 'quiet']).default(defaultProgress()))
    .option('--pull', 'always resolve base images from the registry (tsbuild always does: it keeps no local tag cache)')
    .option('--load', 'load the image into docker or podman (`docker load`), whichever is running')
    .option('--build-context <name=value>', 'additional build context: NAME=docker-image://REF replaces FROM NAME / COPY --from=NAME; repeatable', collect, [])
    .option('--annotation <key=value>', 'add an annotation to the image: [manifest|index|manifest-descriptor[PLATFORM]:]KEY=VALUE; repeatable', collect, [])
    .option('--network <mode>', 'default network of RUN: default, none, host (host needs --allow network.host)')
    .option('--add-host <host:ip>', 'add a line to RUN\'s /etc/hosts; repeatable', collect, [])
    .option('--shm-size <size>', 'size of RUN\'s /dev/shm (only 64m, the fixed size, is supported)')
    .option('--ulimit <name=soft:hard>', 'resource limit for RUN (not supported: refused)', collect, [])
    .option('--ssh <default|id=socket>', 'SSH agent socket for RUN --mount=type=ssh (default: $SSH_AUTH_SOCK); repeatable', collect, [])
    .option('--check', 'evaluate the build checks and print them, without building (--call=check)')
    .option('--call <method>', 'build (default) or check')
    .option('--no-cache', 'do not use the cache when building')
    .option('--no-cache-filter <stage>', 'do not cache the given stage; repeatable', collect, [])
    .option('--cache-to <spec>', 'export the build cache: type=registry,ref=REF[,mode=min|max], type=local,dest=DIR[,mode=…] or type=inline; repeatable', collect, [])
    .option('--cache-from <spec>', 'use a remote build cache: type=registry,ref=REF (a cache or an image with an inline cache) or type=local,src=DIR; repeatable', collect, [])
    .option('--metadata-file <file>', 'write build result metadata to a file')
    .option('--iidfile <file>', 'write the image ID (config digest) to a file')
    .option('--label <key=value>', 'set metadata for the image; repeatable', collect, [])
    .option('--secret <spec>', 'secret to expose to RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR', collect, [])
    .option('-q, --quiet', 'suppress progress and print the image ID on success')
    .option('--report <file>', 'write the cache-hit report: FILE.json, FILE.md or FILE.html (all three when FILE has no extension)')
    .option('--attach-report', 'attach the cache report (JSON + HTML) to each pushed image as an OCI referrer')
    .option('--dry-run', 'with --push: build, push nothing, and print per blob whether the push would skip, mount or upload it')
    .option('--explain-against <ref|build-id|file>', 'at the end, compare this build with another (an image pushed with --attach-report, a report JSON file, a build id)')
    .option('--allow <entitlement>', 'allow extra privileged entitlement: network.host, security.insecure; repeatable', collect, [])
    .option('--insecure-registry <host>', 'a registry host[:port] reached with unverified TLS, or plain HTTP when it speaks no TLS (buildx registry.insecure); repeatable', collect, [])
    .option('--provenance <value>', 'attach SLSA provenance: true (mode=min), mode=min|max[,version=v1][,builder-id=URL], or false (default: mode=min when pushing or writing type=oci, unless BUILDX_NO_DEFAULT_ATTESTATIONS=1)')
    .option('--sbom <value>', 'attach an SPDX SBOM of the image: true, scan-stage=true (also the build stages), or false')
    .option('--attest <spec>', 'attach an attestation: type=provenance[,mode=max] or type=sbom[,scan-stage=true]; repeatable', collect, [])
    .action((context: string, flags: BuildFlags) => {
      const call = flags.check ? 'check' : (flags.call ?? 'build');
      if (call === 'check') return checkAction(context, flags);
      if (call !== 'build') throw new UserError('INVALID_ARGUMENT', `--call ${call} is not supported`, 'use --call=build or --call=check (outline and targets are not implemented)');
      return buildAction(context, flags, signal);
    });

  addBuildFlags(program.command('plan').argument('[context]', 'build context directory', '.').description('print the build graph without building'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'dot']).default('text'))
    .action(async (context: string, flags: BuildFlags & { format: 'text' | 'json' | 'dot' }) => {
      const { planBuild, planWithCache } = await import('./plan.js');
      const { planDot } = await import('../frontend/index.js');
      const plan = await planBuild({
        contextDir: context, buildArgs: keyValues('--build-arg', flags.buildArg), platform: platformOption(flags.platform), root: flags.root, signal,
        ...(flags.file ? { dockerfile: flags.file } : {}), ...(flags.target ? { target: flags.target } : {}),
      });
      // JSON keeps the graph's own shape and adds the predictions beside it.
      if (flags.format === 'json') process.stdout.write(`${JSON.stringify({ ...plan.graph, predictions: plan.predictions }, null, 2)}\n`);
      else process.stdout.write(flags.format === 'dot' ? planDot(plan.graph) : planWithCache(plan));
    });

  const debug = program.command('debug').description('inspect how tsbuild reads its inputs');
  debug.command('parse').description('print the parsed Dockerfile instructions')
    .option('-f, --file <path>', 'Dockerfile to parse', 'Dockerfile')
    .option('--json', 'print JSON (the default and only format)')
    .action(async (flags: { file: string }) => {
      const text = await readFile(flags.file, 'utf8').catch((err: unknown) => {
        throw new UserError('DOCKERFILE_NOT_FOUND', `failed to read ${flags.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'pass -f PATH');
      });
      const { parseDockerfile } = await import('../frontend/index.js');
      process.stdout.write(`${JSON.stringify(parseDockerfile(text, flags.file), null, 2)}\n`);
    });

  for (const register of await registrations(args)) register(program);
  registerCompletionCommand(program);
  oneLineUsageErrors(program);
  return program;
}

type Register = (program: Command) => void;

/** The commands other files define, by the names they register, each group loaded only when needed. */
const COMMAND_GROUPS: { names: string[]; load: () => Promise<Register> }[] = [
  { names: ['history', 'du', 'prune'], load: async () => (await import('./state-commands.js')).registerStateCommands },
  { names: ['artifact'], load: async () => (await import('./artifact-commands.js')).registerArtifactCommands },
  { names: ['login', 'logout'], load: async () => (await import('./auth-commands.js')).registerAuthCommands },
  { names: ['report'], load: async () => (await import('./report-command.js')).registerReportCommand },
  { names: ['explain'], load: async () => (await import('./explain/explain-command.js')).registerExplainCommand },
  { names: ['context'], load: async () => (await import('./context-report/context-command.js')).registerContextCommand },
  { names: ['imagetools'], load: async () => (await import('./imagetools-commands.js')).registerImagetoolsCommands },
  { names: ['push'], load: async () => (await import('./push-command.js')).registerPushCommand },
];

/**
 * Which groups a command line needs (`args` as normalizeArgv returns them): none for `build`, `plan`, `debug` and
 * `--version`; the named one for another command; all of them for help, completion, an unknown name (commander's
 * "did you mean") and when `args` is not given.
 */
async function registrations(args: string[] | undefined): Promise<Register[]> {
  const first = args?.[0];
  if (first === '-v' || first === '--version' || first === 'build' || first === 'plan' || first === 'debug') return [];
  const named = COMMAND_GROUPS.filter((g) => first !== undefined && g.names.includes(first));
  return Promise.all((named.length > 0 ? named : COMMAND_GROUPS).map((g) => g.load()));
}

/**
 * A mistyped option prints one error line and the command's usage line, not the whole help (which hid the error in
 * CI logs). Applied to every command once all are registered.
 */
function oneLineUsageErrors(cmd: Command, path: string[] = []): void {
  const names = [...path, cmd.name()];
  const full = names.join(' ');
  cmd.showHelpAfterError(`usage: ${full} ${cmd.usage()}\n(run '${full} --help' for every option)`);
  // Usage errors of subcommands reach main.ts as CommanderErrors too, so they exit 2 like the program's own.
  if (path.length > 0) cmd.exitOverride();
  for (const sub of cmd.commands) oneLineUsageErrors(sub, names);
}

/** `--progress` when the flag is absent: `$BUILDKIT_PROGRESS` (as buildx reads it) when it names a mode, else auto. */
function defaultProgress(env: NodeJS.ProcessEnv = process.env): ProgressMode {
  const v = env.BUILDKIT_PROGRESS;
  return v === 'plain' || v === 'tty' || v === 'rawjson' || v === 'quiet' || v === 'auto' || v === 'tsbuild-json' ? v : 'auto';
}

function isJsonProgress(mode: ProgressMode): boolean {
  return mode === 'rawjson' || mode === 'tsbuild-json';
}

/**
 * The mission's shorthand `tsbuild --push REF [CONTEXT]` is `tsbuild build -t REF --push [CONTEXT]`; any other
 * invocation that starts with a flag (other than help/version) is a build too.
 */
export function normalizeArgv(argv: string[]): string[] {
  const args = moveGlobalOptions(argv);
  const first = args[0];
  if (first === undefined || !first.startsWith('-') || ['-h', '--help', '-v', '--version'].includes(first)) return args;
  const out = ['build'];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    const next = args[i + 1];
    if (a === '--push' && next !== undefined && /^[^-./][^\s]*[:/]/.test(next)) { out.push('-t', next, '--push'); i++; }
    else out.push(a);
  }
  return out;
}

/** Options every command takes, which docker and buildx users write before the subcommand. */
const GLOBAL_WITH_VALUE = ['--root'];
const GLOBAL_FLAGS = ['--debug'];
const SUBCOMMANDS = ['build', 'plan', 'debug', 'history', 'du', 'prune', 'artifact', 'login', 'logout', 'report', 'completion', 'help'];

/** `tsbuild --root DIR build .` → `tsbuild build --root DIR .`: leading global options move after the subcommand. */
function moveGlobalOptions(args: string[]): string[] {
  const moved: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] ?? '';
    if (GLOBAL_FLAGS.includes(a)) moved.push(a);
    else if (GLOBAL_WITH_VALUE.includes(a) && args[i + 1] !== undefined) { moved.push(a, args[i + 1] ?? ''); i++; }
    else if (GLOBAL_WITH_VALUE.some((g) => a.startsWith(`${g}=`))) moved.push(a);
    else break;
  }
  if (moved.length === 0) return args;
  const rest = args.slice(i);
  const cmd = rest[0];
  if (cmd === undefined) return args;
  if (!SUBCOMMANDS.includes(cmd)) return [...rest, ...moved];   // `--root X --push ref .`: a build, options anywhere
  // `history inspect`, `debug parse`: a parent's own options come right after its name (commander reads them there).
  return [cmd, ...moved, ...rest.slice(1)];
}

/** `--check` / `--call=check`: BuildKit's build checks on the Dockerfile, printed; exit 1 when any is an error. */
async function checkAction(context: string, flags: BuildFlags): Promise<void> {
  const { readDockerfile } = await import('./build.js');
  const { checkDockerfile, formatCheckWarning, DockerfileError } = await import('../frontend/index.js');
  const dockerfile = await readDockerfile({ contextDir: context, ...(flags.file ? { dockerfile: flags.file } : {}) });
  const result = checkDockerfile(dockerfile.text, relativeName(dockerfile.path));
  for (const w of result.warnings) process.stdout.write(`${formatCheckWarning(w, result.isError)}\n`);
  const n = result.warnings.length;
  process.stdout.write(n === 0 ? 'Check complete, no warnings found.\n' : `Check complete, ${n} warning${n === 1 ? ' has' : 's have'} been found!\n`);
  if (result.isError) throw checkFailure(DockerfileError, result.warnings, dockerfile.path);
}

/** Build checks before a build: printed as warnings; fatal (exit 1, at the first finding) with `# check=error=true`. */
async function checkBeforeBuild(req: { contextDir: string; dockerfile?: string; dockerfileText?: string }, progress: ProgressWriter): Promise<void> {
  const { readDockerfile } = await import('./build.js');
  const { checkDockerfile, formatCheckWarning, DockerfileError } = await import('../frontend/index.js');
  let dockerfile: { path: string; text: string };
  let result: CheckResult;
  try {
    dockerfile = await readDockerfile(req);
    result = checkDockerfile(dockerfile.text, relativeName(dockerfile.path));
  } catch {
    return;   // an unreadable or unparsable Dockerfile: the build itself reports it, located
  }
  for (const w of result.warnings) progress.note(formatCheckWarning(w, result.isError));
  if (result.isError) throw checkFailure(DockerfileError, result.warnings, dockerfile.path);
}

function checkFailure(Failure: typeof DockerfileError, warnings: CheckWarning[], path: string): DockerfileError {
  const w = warnings[0];
  const line = w?.line ?? 1;
  return new Failure({ file: path, line, column: w?.column ?? 1, endLine: line, endColumn: w?.column ?? 1 },
    `build checks failed: ${warnings.length} finding${warnings.length === 1 ? '' : 's'} (first: ${w?.rule ?? ''}: ${w?.message ?? ''})`,
    'fix them, or skip rules with `# check=skip=RULE` at the top of the Dockerfile');
}

/** A Dockerfile path as users wrote it: relative to the working directory when inside it. */
function relativeName(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || rel === '' ? path : rel;
}
