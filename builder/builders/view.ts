import { DEFAULT_BUILDER, type BuilderRecords } from './records.js';
import { EMBEDDED_DRIVER } from './manage.js';

// A builder as buildx's `ls` and `inspect` show one (builder.Builder with its loaded nodes), made from the records
// and the facts of this machine. Every builder is the same machine: `default` has one node named `default`, a
// created one the nodes `create` gave it; all of them build in the state root the endpoint names.

/** buildkit's client.PruneInfo: one gc rule, in bytes. */
export interface GcRule { all: boolean; filter: string[] | null; keepDuration: number; reservedSpace: number; maxUsedSpace: number; minFreeSpace: number }

/** What is true of this machine for every builder: its version, platforms, worker labels, gc policy. */
export interface MachineFacts {
  /** The state root (`--root`): every builder's endpoint. */
  root: string;
  /** What the BUILDKIT column shows: tsbuild's name and version. */
  version: string;
  /** The host's platform, then those QEMU emulation makes available. */
  platforms: string[];
  labels: Record<string, string>;
  gcPolicy: GcRule[];
}

/** One node as buildx's builder.Node is shown. */
export interface NodeView {
  name: string; endpoint: string; status: 'running'; version: string;
  /** `create --platform`: shown first, starred. */
  fixedPlatforms: string[];
  platforms: string[]; flags: string[]; driverOpts: Record<string, string>; labels: Record<string, string>; gcPolicy: GcRule[];
}

/** One builder as buildx's builder.Builder is shown. */
export interface BuilderView { name: string; driver: string; isCurrent: boolean; nodes: NodeView[] }

/** The endpoint every node shows: this machine, this root. */
export function machineEndpoint(root: string): string {
  return `local://${root}`;
}

/** Every builder, `default` first and then the created ones in creation order (buildx: contexts, then the store's). */
export function builderViews(records: BuilderRecords, current: string, facts: MachineFacts): BuilderView[] {
  const node = (name: string, fixed: string[], flags: string[], driverOpts: Record<string, string>): NodeView => ({
    name, endpoint: machineEndpoint(facts.root), status: 'running', version: facts.version, fixedPlatforms: fixed,
    platforms: [...new Set([...fixed, ...facts.platforms])], flags, driverOpts, labels: facts.labels, gcPolicy: facts.gcPolicy,
  });
  return [
    { name: DEFAULT_BUILDER, driver: EMBEDDED_DRIVER, isCurrent: current === DEFAULT_BUILDER, nodes: [node(DEFAULT_BUILDER, [], [], {})] },
    ...records.builders.map((b) => ({
      name: b.name, driver: EMBEDDED_DRIVER, isCurrent: current === b.name,
      nodes: b.nodes.map((n) => node(n.name, n.platforms, n.flags, n.driverOpts)),
    })),
  ];
}

/**
 * A node's platforms as buildx's platformutil.FormatInGroups writes them: the fixed ones (`create --platform`)
 * first with a `*`, then the detected ones not among them.
 */
export function formatPlatformGroups(n: NodeView): string[] {
  return [...n.fixedPlatforms.map((p) => `${p}*`), ...n.platforms.filter((p) => !n.fixedPlatforms.includes(p))];
}
