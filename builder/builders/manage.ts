import { randomBytes } from 'node:crypto';
import { csvFields, CsvError, UserError } from '../../common/index.js';
import { DEFAULT_BUILDER, currentBuilder, findBuilder, validateName, type BuilderNodeRecord, type BuilderRecords } from './records.js';

// What `create`, `use` and `rm` do to the records, as buildx's builder.Create, runUse and runRm decide it (the texts
// of their errors are buildx's). Pure: records in, records out; the commands read and write the file.

/** The driver buildx shows for the builder embedded in the engine it talks to; tsbuild's only builder is that one. */
export const EMBEDDED_DRIVER = 'docker';

/** Drivers buildx can create instances of (driver/manager.go factories, `docker` excluded: it allows no instances). */
const INSTANCE_DRIVERS = ['docker-container', 'kubernetes', 'remote'];

/** `tsbuild create`'s flags, named as buildx's createOptions. */
export interface CreateRequest {
  name?: string; driver?: string; node?: string; platforms: string[]; driverOpts: string[]; buildkitdFlags?: string;
  config?: string; append: boolean; leave: boolean; use: boolean; endpoint?: string;
}

/** A changed file, the builder's name (what `create` prints) and what tsbuild will not do of what was asked. */
export interface CreateResult { records: BuilderRecords; name: string; warnings: string[] }

const fail = (message: string, hint?: string): never => { throw new UserError('BUILDER_INVALID', message, hint) };

/** buildx's `create`, on records: a new builder, a new or changed node of one (`--append`, `--node`), or `--leave`. */
export function createBuilder(records: BuilderRecords, req: CreateRequest, env: NodeJS.ProcessEnv = process.env): CreateResult {
  if (req.leave) return leaveNode(records, req);
  if (req.name === DEFAULT_BUILDER) fail('default is a reserved name and cannot be used to identify builder instance', 'give another --name');
  if (req.append && req.name === undefined) fail('append requires a builder name', 'add --name NAME of the builder to add a node to');
  const name = req.name !== undefined ? validateName(req.name) : generateName(records);
  const existing = findBuilder(records, name);
  if (existing === DEFAULT_BUILDER) throw new Error('a created builder named default');
  if (existing === undefined && req.append) fail(`failed to find instance ${JSON.stringify(name)} for append`, 'create it first, without --append');
  const driver = req.driver || existing?.driver || 'docker-container';
  if (existing !== undefined && req.node === undefined && !req.append) {
    fail(`existing instance for ${JSON.stringify(name)} but no append mode, specify the node name to make changes for existing instances`, 'add --append, or --node NAME, or remove it first (tsbuild rm)');
  }
  if (existing !== undefined && driver !== existing.driver) fail(`existing instance for ${JSON.stringify(name)} but has mismatched driver ${JSON.stringify(existing.driver)}`);
  if (driver === EMBEDDED_DRIVER) fail(`additional instances of driver ${JSON.stringify(driver)} cannot be created`, `the docker-driver builder is \`${DEFAULT_BUILDER}\`: use it (tsbuild use default)`);
  if (!INSTANCE_DRIVERS.includes(driver)) fail(`failed to find driver ${JSON.stringify(driver)}`, `drivers: ${INSTANCE_DRIVERS.join(', ')}`);
  if (driver === 'remote' && req.endpoint === undefined && !env['BUILDKIT_HOST']) fail('no remote endpoint provided', 'give the endpoint: tsbuild create --driver remote tcp://HOST:PORT');
  const driverOpts: Record<string, string> = {};
  // The key keeps its case, as csvToMap keeps it (env.HTTP_PROXY=… names a variable).
  for (const o of req.driverOpts.flatMap(driverOptFields)) {
    const eq = o.indexOf('=');
    if (eq < 0) fail(`invalid value ${JSON.stringify(o)}, expecting k=v`);
    driverOpts[o.slice(0, eq)] = o.slice(eq + 1);
  }
  const builder = existing ? { ...existing, nodes: [...existing.nodes] } : { name, driver, nodes: [] as BuilderNodeRecord[] };
  const nodeName = req.node !== undefined ? validateName(req.node) : nextNodeName(builder.name, builder.nodes);
  const endpoint = req.endpoint ?? (driver === 'remote' ? env['BUILDKIT_HOST'] : undefined);
  const node: BuilderNodeRecord = {
    name: nodeName, platforms: req.platforms, driverOpts, flags: splitWords(req.buildkitdFlags ?? ''),
    ...(endpoint !== undefined ? { endpoint } : {}), ...(req.config !== undefined ? { config: req.config } : {}),
  };
  const at = builder.nodes.findIndex((n) => n.name === nodeName);
  if (at >= 0) builder.nodes[at] = node; else builder.nodes.push(node);
  const builders = existing ? records.builders.map((b) => (b.name === name ? builder : b)) : [...records.builders, builder];
  const current = req.use ? name : records.current;
  return { records: { ...(current !== undefined ? { current } : {}), builders }, name, warnings: createWarnings(name, driver, node) };
}

/** What of `create`'s request tsbuild does not carry out, one line each: every builder is this machine's. */
function createWarnings(name: string, driver: string, node: BuilderNodeRecord): string[] {
  const out = [`warning: builder ${JSON.stringify(name)} builds on this machine with tsbuild's embedded builder; no ${driver} builder is started`];
  if (node.endpoint !== undefined) out.push(`warning: endpoint ${node.endpoint} has no effect: tsbuild builds on this machine`);
  if (Object.keys(node.driverOpts).length > 0) out.push(`warning: --driver-opt has no effect: there is no ${driver} builder to pass it to`);
  // buildkitd's --allow-insecure-entitlement only lets a build ask for an entitlement; tsbuild's builds ask the same
  // way (--allow), so setup-buildx-action's default flags change nothing and need no warning.
  const ignored = node.flags.filter((f, i) => !(f.startsWith('--allow-insecure-entitlement') || f === '--debug'
    || (node.flags[i - 1] === '--allow-insecure-entitlement' && !f.startsWith('-'))));
  if (ignored.length > 0) out.push(`warning: --buildkitd-flags ${ignored.join(' ')} have no effect: tsbuild runs no buildkitd`);
  if (node.config !== undefined) out.push(`warning: --config ${node.config} has no effect: tsbuild reads no buildkitd.toml (gc: TSBUILD_GC_* variables; registries: tsbuild.toml)`);
  return out;
}

/** `create --leave --name B --node N`: removes a node, never the last one (buildx NodeGroup.Leave). */
function leaveNode(records: BuilderRecords, req: CreateRequest): CreateResult {
  if (req.name === undefined) fail('leave requires instance name');
  if (req.node === undefined) fail('leave requires node name');
  const name = validateName(req.name ?? '');
  const node = validateName(req.node ?? '');
  const b = findBuilder(records, name);
  if (b === undefined || b === DEFAULT_BUILDER) throw new UserError('BUILDER_NOT_FOUND', `no builder ${JSON.stringify(name)} found`);
  if (!b.nodes.some((n) => n.name === node)) fail(`node ${JSON.stringify(node)} not found for ${name}`);
  if (b.nodes.length === 1) fail('can not leave last node, do you want to rm instance instead?', `tsbuild rm ${name}`);
  const builders = records.builders.map((x) => (x === b ? { ...b, nodes: b.nodes.filter((n) => n.name !== node) } : x));
  return { records: { ...records, builders }, name, warnings: [] };
}

/** `use NAME`: makes it current (`default`: no created one is). buildx's message for an unknown one. */
export function useBuilder(records: BuilderRecords, name: string): BuilderRecords {
  const found = findBuilder(records, name);
  if (found === undefined) throw new UserError('BUILDER_NOT_FOUND', `failed to find instance ${JSON.stringify(name)}`, 'list the builders with `tsbuild ls`');
  const { current: _, ...rest } = records;
  return found === DEFAULT_BUILDER ? rest : { ...rest, current: found.name };
}

/** One name's outcome of `rm`: removed, or why not (buildx prints `NAME removed` / `failed to remove NAME: …`). */
export type RemoveOutcome = { name: string; removed: true } | { name: string; removed: false; error: string };

/**
 * `rm NAME…` on records: each created builder named is forgotten (current falls back to `default`); `default`
 * cannot be removed. No state goes with a record: every builder builds in the root, whose cache `prune` removes.
 */
export function removeBuilders(records: BuilderRecords, names: string[]): { records: BuilderRecords; outcomes: RemoveOutcome[] } {
  let out = records;
  const outcomes = names.map((given): RemoveOutcome => {
    const name = given === '' ? currentBuilder(out) : given;
    const found = findBuilder(out, name);
    if (found === undefined) return { name, removed: false, error: `no builder ${JSON.stringify(name)} found` };
    if (found === DEFAULT_BUILDER) return { name, removed: false, error: 'the default builder cannot be removed: it is this machine' };
    const builders = out.builders.filter((b) => b !== found);
    out = out.current === found.name ? { builders } : { ...out, builders };
    return { name, removed: true };
  });
  return { records: out, outcomes };
}

/** buildx NodeGroup.nextNodeName: NAME0, NAME1, … the first not taken. */
function nextNodeName(name: string, nodes: BuilderNodeRecord[]): string {
  for (let i = 0; ; i++) if (!nodes.some((n) => n.name === `${name}${i}`)) return `${name}${i}`;
}

/** A name for a builder created without --name (buildx draws docker's adjective_surname names). */
function generateName(records: BuilderRecords): string {
  for (;;) {
    const name = `builder_${randomBytes(4).toString('hex')}`;
    if (findBuilder(records, name) === undefined) return name;
  }
}

/**
 * `--driver-opt a=1,b=2` is two options, as buildx's csvToMap reads it (builder/builder.go): csvvalue's fields
 * (common/csv-fields.ts), an empty one or a malformed value refused.
 */
function driverOptFields(text: string): string[] {
  try {
    return csvFields(text);
  } catch (err) {
    if (err instanceof CsvError) fail(`--driver-opt ${JSON.stringify(text)}: ${err.message}`, 'write KEY=VALUE[,KEY=VALUE…], a field holding a comma quoted whole ("k=a,b")');
    throw err;
  }
}

/** `--buildkitd-flags` as words (buildx splits them with shlex): whitespace, single and double quotes. */
function splitWords(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}
