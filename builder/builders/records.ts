import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { UserError, isProcessAlive, replaceFile } from '../../common/index.js';

// The builder instances a user created with `tsbuild create`, kept in one small JSON file in the state root (buildx
// keeps one file a builder in ~/.docker/buildx/instances and the current one in ~/.docker/buildx/current). Every one
// of them builds on this machine, in this root: a record only remembers what `create` was told, so that `ls`,
// `inspect`, `use`, `rm` and `--builder` agree with each other as buildx's do.

/** One node of a created builder: what `create` was given for it (buildx's store.Node). */
export interface BuilderNodeRecord {
  name: string;
  /** The CONTEXT|ENDPOINT argument, when one was given (tsbuild builds here all the same). */
  endpoint?: string;
  /** `--platform`: fixed platforms, shown first and starred as buildx shows them. */
  platforms: string[];
  driverOpts: Record<string, string>;
  /** `--buildkitd-flags`, split into words. */
  flags: string[];
  /** `--config` / `--buildkitd-config`: the file's path (tsbuild does not apply it). */
  config?: string;
}

/** One created builder (buildx's store.NodeGroup). */
export interface BuilderRecord { name: string; driver: string; nodes: BuilderNodeRecord[] }

/** The file: the builders and the one `use` made current (none: `default`). */
export interface BuilderRecords { current?: string; builders: BuilderRecord[] }

/** The name of the builder that is always there: this machine. */
export const DEFAULT_BUILDER = 'default';

const FILE = 'builders.json';

// buildx store/util.go: namePattern and ValidateName's message; a valid name is stored lower-cased.
const NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9.\-_]*$/;

/** A builder or node name as buildx accepts it, lower-cased; a UserError with buildx's text otherwise. */
export function validateName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new UserError('BUILDER_INVALID', `invalid name ${name}, name needs to start with a letter and may not contain symbols, except ._-`, 'e.g. --name ci-builder');
  }
  return name.toLowerCase();
}

/** The records of `root` (none yet: no builders but `default`). */
export function readBuilders(root: string): BuilderRecords {
  let text: string;
  try {
    text = readFileSync(join(root, FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { builders: [] };
    throw new UserError('BUILDER_INVALID', `cannot read ${join(root, FILE)}: ${(err as Error).message}`, 'check the permissions of the state root (--root)', { cause: err });
  }
  return parseBuilders(text, join(root, FILE));
}

/** Checks the file's JSON before anything else sees it. */
export function parseBuilders(text: string, file: string): BuilderRecords {
  const bad = (why: string): never => {
    throw new UserError('BUILDER_INVALID', `${file} is not a tsbuild builders file: ${why}`, `remove ${file} to forget every created builder (the default one stays)`);
  };
  let value: unknown;
  try { value = JSON.parse(text); } catch { return bad('not JSON'); }
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { builders?: unknown }).builders)) return bad('no builders list');
  const v = value as { current?: unknown; builders: unknown[] };
  if (v.current !== undefined && typeof v.current !== 'string') bad('current is not a name');
  const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
  const builders = v.builders.map((b): BuilderRecord => {
    const r = b as Partial<BuilderRecord> | null;
    if (typeof r?.name !== 'string' || !NAME_PATTERN.test(r.name) || typeof r.driver !== 'string' || !Array.isArray(r.nodes)) return bad('a builder without name, driver or nodes');
    const nodes = r.nodes.map((n): BuilderNodeRecord => {
      const m = n as Partial<BuilderNodeRecord> | null;
      if (typeof m?.name !== 'string' || !strings(m.platforms) || !strings(m.flags) || typeof m.driverOpts !== 'object' || m.driverOpts === null
        || (m.endpoint !== undefined && typeof m.endpoint !== 'string') || (m.config !== undefined && typeof m.config !== 'string')) return bad(`a node of ${r.name} is malformed`);
      const opts = Object.entries(m.driverOpts);
      if (!opts.every(([, o]) => typeof o === 'string')) return bad(`a driver option of ${r.name} is not a string`);
      return { name: m.name, platforms: m.platforms, flags: m.flags, driverOpts: Object.fromEntries(opts) as Record<string, string>,
        ...(m.endpoint !== undefined ? { endpoint: m.endpoint } : {}), ...(m.config !== undefined ? { config: m.config } : {}) };
    });
    return { name: r.name, driver: r.driver, nodes };
  });
  return { ...(typeof v.current === 'string' ? { current: v.current } : {}), builders };
}

/**
 * Reads, changes and writes the records of `root` under a lock file, so that builders created at once (CI jobs
 * sharing a machine, each running setup-buildx-action) are all kept. A lock left by a process that died is taken
 * over; `change` may throw, and then nothing is written.
 */
export async function updateBuilders<T>(root: string, change: (records: BuilderRecords) => { records: BuilderRecords; result: T }): Promise<T> {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const lock = join(root, `${FILE}.lock`);
  for (let waited = 0; ; waited += 20) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = Number.NaN;
      try { owner = Number.parseInt(readFileSync(lock, 'utf8'), 10); } catch { /* removed meanwhile, or being written */ }
      if (Number.isInteger(owner) && !isProcessAlive(owner)) { try { unlinkSync(lock); } catch { /* another took it over */ } continue; }
      if (waited > 30_000) throw new UserError('BUILDER_INVALID', `${lock} is held by process ${owner}`, `wait for it, or remove ${lock} if no tsbuild is running`);
      await sleep(20);
    }
  }
  try {
    const before = readBuilders(root);
    const { records, result } = change(before);
    if (JSON.stringify(records) !== JSON.stringify(before)) await writeBuilders(root, records);
    return result;
  } finally {
    unlinkSync(lock);
  }
}

/** Replaces the records of `root`, crash-safe (common/replace-file.ts). */
async function writeBuilders(root: string, records: BuilderRecords): Promise<void> {
  await replaceFile(join(root, FILE), `${JSON.stringify(records, null, 2)}\n`, 0o600);
}

/**
 * The builder `name` names, as buildx's GetNodeGroup looks it up: `default`, or a created one (names are
 * case-insensitive, as buildx lower-cases them); undefined when there is none.
 */
export function findBuilder(records: BuilderRecords, name: string): BuilderRecord | typeof DEFAULT_BUILDER | undefined {
  if (name === DEFAULT_BUILDER) return DEFAULT_BUILDER;
  if (!NAME_PATTERN.test(name)) return undefined;
  const lower = name.toLowerCase();
  return records.builders.find((b) => b.name === lower);
}

/** Like findBuilder, and fails with buildx's message (`no builder "x" found`, exit 1) when there is none. */
export function requireBuilder(records: BuilderRecords, name: string): BuilderRecord | typeof DEFAULT_BUILDER {
  const found = findBuilder(records, name);
  if (found === undefined) {
    throw new UserError('BUILDER_NOT_FOUND', `no builder ${JSON.stringify(name)} found`, `list the builders with \`tsbuild ls\`; create one with \`tsbuild create --name ${NAME_PATTERN.test(name) ? name.toLowerCase() : 'NAME'}\``);
  }
  return found;
}

/** The current builder's name: the one `use` chose, when it still exists, else `default`. */
export function currentBuilder(records: BuilderRecords): string {
  const c = records.current;
  return c !== undefined && records.builders.some((b) => b.name === c) ? c : DEFAULT_BUILDER;
}

/**
 * `BUILDER/NODE` of buildx's build refs (`buildx.build.ref` in a metadata file, `ref` in `history ls --format json`):
 * the builder `--builder` names (else the current one) and its first node; `default` has one node, `default`.
 */
export function buildRefPrefix(records: BuilderRecords, named?: string): string {
  const builder = named?.toLowerCase() ?? currentBuilder(records);
  return `${builder}/${records.builders.find((b) => b.name === builder)?.nodes[0]?.name ?? builder}`;
}

/** The build id of a ref given as buildx writes it (`BUILDER/NODE/ID`), or as the id alone. */
export function buildIdOfRef(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}
