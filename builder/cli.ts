import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { parseDockerfile, planDot } from '../frontend/index.js';
import { UserError, formatPlatform, parsePlatform, type Platform } from '../registry/oci/index.js';
import { runBuild, writeMetadata, type BuildRequest } from './build.js';
import { keyValues } from './options/key-values.js';
import { parseOutput, type OutputSpec } from './options/output.js';
import { defaultRoot } from './options/root.js';
import { resolveSecrets } from './options/secrets.js';
import { createProgress, type ProgressMode } from './progress/index.js';
import { registerStateCommands } from './state-commands.js';
import { registerArtifactCommands } from './artifact-commands.js';
import { registerAuthCommands } from './auth-commands.js';
import { registerReportCommand } from './report-command.js';
import { attachReport } from './report-attach.js';
import { registerCompletionCommand } from './completion.js';
import { registerImagetoolsCommands } from './imagetools-commands.js';
import { loadReport, renderTerminalSummary, writeReports } from './report/index.js';
import { planBuild, planWithCache } from './plan.js';
import { parseCacheFrom, parseCacheTo } from './cache/cache-spec.js';
import { defaultProvenanceApplies, parseAttestFlags } from './attest/attest-options.js';

/** The version `--version` prints. */
export const VERSION = '0.1.0';

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
  file?: string; tag: string[]; target?: string; buildArg: string[]; platform?: string; root: string;
  push?: boolean; output: string[]; progress: ProgressMode;
  /** commander reads `--no-cache` as the negation of `cache` and `--no-cache-filter X` as `cacheFilter`. */
  cache: boolean; cacheFilter: string[];
  metadataFile?: string; iidfile?: string; cacheTo: string[]; cacheFrom: string[]; label: string[]; secret: string[]; quiet?: boolean; allow: string[]; report?: string; attachReport?: boolean;
  provenance?: string; sbom?: string; attest: string[];
}

/** The outputs a build writes: `-o` values, plus `--push` (an image output pushed to every `-t`). */
function outputsOf(flags: BuildFlags): OutputSpec[] {
  const outputs = flags.output.map((o) => parseOutput(o, flags.tag));
  if (flags.push) {
    const image = outputs.find((o) => o.type === 'image');
    if (image && image.type === 'image') image.push = true;
    else outputs.push({ type: 'image', names: flags.tag, push: true });
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
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const platforms = platformsOption(flags.platform);
  const outputs = outputsOf(flags);
  if (flags.attachReport && !outputs.some((o) => o.type === 'image' && o.push)) {
    throw new UserError('INVALID_ARGUMENT', '--attach-report needs a pushed image', 'add --push (or -o type=registry)');
  }
  const settings = {
    contextDir: context ?? '.', tags: flags.tag, buildArgs: keyValues('--build-arg', flags.buildArg), labels: keyValues('--label', flags.label),
    outputs, noCache: flags.cache === false, noCacheFilter: flags.cacheFilter, root: flags.root,
    allow: flags.allow.flatMap((a) => a.split(',')),
    cacheFrom: flags.cacheFrom.map(parseCacheFrom), cacheTo: flags.cacheTo.map(parseCacheTo),
    ...(flags.file ? { dockerfile: flags.file } : {}), ...(flags.target ? { target: flags.target } : {}),
    ...(platforms ? { platforms } : {}),
    // buildx's default: min provenance on pushed and OCI-layout images (deterministic here, see attest/provenance.ts).
    attest: parseAttestFlags(flags, keyValues('--build-arg', flags.buildArg), { defaultProvenance: defaultProvenanceApplies(outputs, process.env) }),
    ...(epoch !== undefined && /^\d+$/.test(epoch) ? { sourceDateEpoch: Number(epoch) } : {}),
  };
  // docker build's stdin forms: `-f -` reads the Dockerfile from stdin; a context of `-` is a Dockerfile with no files.
  const stdinDockerfile = flags.file === '-' || context === '-' ? await readStdin() : undefined;
  const emptyContext = context === '-' ? await mkdtemp(join(tmpdir(), 'tsbuild-context-')) : undefined;
  const secrets = await resolveSecrets(flags.secret);
  const progress = createProgress(flags.quiet ? 'quiet' : flags.progress);
  const req: BuildRequest = {
    ...settings, secrets: secrets.files, progress, signal,
    ...(emptyContext ? { contextDir: emptyContext } : {}), ...(stdinDockerfile !== undefined ? { dockerfileText: stdinDockerfile } : {}),
  };
  try {
    const outcome = await runBuild(req);
    progress.close();
    if (flags.report) await writeReports(outcome, flags.report, { root: flags.root });
    const report = await loadReport(flags.root, outcome.buildId, { graph: outcome.graph, metrics: outcome.metrics, image: { digest: outcome.digest, names: outcome.pushed, ...(outcome.attestations ? { attestations: outcome.attestations } : {}) } });
    if (flags.attachReport) await attachReport(report, outcome.pushed, outcome.digest, signal);
    // The signature: every build ends by saying what missed and why, unless the user asked for machine output.
    if (!flags.quiet && flags.progress !== 'rawjson') process.stderr.write(renderTerminalSummary(report));
    const names = flags.output.length || flags.push ? flags.tag : [];
    if (flags.metadataFile) await writeMetadata(flags.metadataFile, outcome, names);
    if (flags.iidfile) await writeFile(flags.iidfile, outcome.imageId);
    if (flags.quiet) process.stdout.write(`${outcome.imageId}\n`);
  } catch (err) {
    progress.close();
    throw err;
  } finally {
    await secrets.cleanup();
    if (emptyContext) await rm(emptyContext, { recursive: true, force: true });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The whole command line. `signal` aborts a running build (Ctrl-C). */
export function buildProgram(signal: AbortSignal): Command {
  const program = new Command('tsbuild')
    .description('Build container images from Dockerfiles, push them to registries, and explain every cache miss.')
    .version(VERSION, '-v, --version')
    .showHelpAfterError()
    .addHelpText('after', `
Examples:
  tsbuild build -t localhost:5000/app:1 --push .
  tsbuild --push localhost:5000/app:1 .          shorthand for the line above
  tsbuild build -o type=oci,dest=app.tar .       OCI layout tarball, no registry
  tsbuild plan --format dot . | dot -Tsvg         the build graph, without building`);

  addBuildFlags(program.command('build').argument('[context]', 'build context directory', '.').description('build an image from a Dockerfile'))
    .option('--push', 'push the image to the registry of each -t name (shorthand for --output=type=registry)')
    .option('-o, --output <spec>', 'output destination: type=image|registry|oci|docker|local|tar[,dest=…][,name=…][,push=…][,tar=false]', collect, [])
    .addOption(new Option('--progress <mode>', 'progress output').choices(['auto', 'plain', 'tty', 'rawjson', 'quiet']).default('auto'))
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
    .option('--allow <entitlement>', 'allow extra privileged entitlement: network.host, security.insecure; repeatable', collect, [])
    .option('--provenance <value>', 'attach SLSA provenance: true (mode=min), mode=min|max[,version=v1][,builder-id=URL], or false (default: mode=min when pushing or writing type=oci, unless BUILDX_NO_DEFAULT_ATTESTATIONS=1)')
    .option('--sbom <value>', 'attach an SPDX SBOM of the image: true, scan-stage=true (also the build stages), or false')
    .option('--attest <spec>', 'attach an attestation: type=provenance[,mode=max] or type=sbom[,scan-stage=true]; repeatable', collect, [])
    .action((context: string, flags: BuildFlags) => buildAction(context, flags, signal));

  addBuildFlags(program.command('plan').argument('[context]', 'build context directory', '.').description('print the build graph without building'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'dot']).default('text'))
    .action(async (context: string, flags: BuildFlags & { format: 'text' | 'json' | 'dot' }) => {
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
      process.stdout.write(`${JSON.stringify(parseDockerfile(text, flags.file), null, 2)}\n`);
    });

  registerStateCommands(program);
  registerArtifactCommands(program);
  registerAuthCommands(program);
  registerReportCommand(program);
  registerCompletionCommand(program);
  registerImagetoolsCommands(program);
  return program;
}

/**
 * The mission's shorthand `tsbuild --push REF [CONTEXT]` is `tsbuild build -t REF --push [CONTEXT]`; any other
 * invocation that starts with a flag (other than help/version) is a build too.
 */
export function normalizeArgv(args: string[]): string[] {
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
