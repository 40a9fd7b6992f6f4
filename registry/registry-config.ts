import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { UserError } from '../common/index.js';

/** What tsbuild.toml says about one registry host, in buildkitd.toml's words. */
export interface RegistryHostConfig {
  /** Hosts (host[:port]) tried, in order, before this registry for pulls; pushes never go to a mirror. */
  mirrors: string[];
  /** Plain HTTP. */
  http: boolean;
  /** HTTPS without verifying the certificate (or plain HTTP when the host does not speak TLS), as docker's insecure registries. */
  insecure: boolean;
  /** Extra PEM CA files trusted for this host. */
  ca: string[];
}

/** The registry part of tsbuild.toml: `[registry."docker.io"] mirrors = ["mirror.example:5000"]`, keyed by host. */
export interface RegistryConfig {
  /** Where it was read from; undefined when no file exists. */
  path?: string;
  hosts: Record<string, RegistryHostConfig>;
}

const HOST_KEYS = ['mirrors', 'http', 'insecure', 'ca'] as const;

/**
 * The config file tsbuild reads: `$TSBUILD_CONFIG` when set, else `$XDG_CONFIG_HOME/tsbuild/tsbuild.toml` (default
 * `~/.config`) when it exists, else `/etc/tsbuild/tsbuild.toml`.
 */
export function registryConfigPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const explicit = env['TSBUILD_CONFIG'];
  if (explicit !== undefined && explicit !== '') return [explicit];
  const xdg = env['XDG_CONFIG_HOME'] !== undefined && env['XDG_CONFIG_HOME'] !== '' ? env['XDG_CONFIG_HOME'] : env['HOME'] !== undefined ? join(env['HOME'], '.config') : undefined;
  return [...(xdg !== undefined ? [join(xdg, 'tsbuild', 'tsbuild.toml')] : []), '/etc/tsbuild/tsbuild.toml'];
}

/** Reads the first config file that exists (an explicit `$TSBUILD_CONFIG` must exist); none is an empty config. */
export async function loadRegistryConfig(env: NodeJS.ProcessEnv = process.env): Promise<RegistryConfig> {
  const paths = registryConfigPaths(env);
  const explicit = env['TSBUILD_CONFIG'] !== undefined && env['TSBUILD_CONFIG'] !== '';
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) continue;
      throw new UserError('INVALID_ARGUMENT', `cannot read tsbuild config ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, explicit ? 'TSBUILD_CONFIG names a file that cannot be read; fix or unset it' : 'fix the file or its permissions', { cause: err });
    }
    return parseRegistryConfig(text, path);
  }
  return { hosts: {} };
}

/** Checks tsbuild.toml text; throws UserError with file:line:column for bad TOML and names any unknown key. */
export function parseRegistryConfig(text: string, path: string): RegistryConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      throw new UserError('INVALID_ARGUMENT', `${path}:${err.line}:${err.column}: ${firstLine(err.message)}`, 'tsbuild.toml is TOML, as buildkitd.toml: [registry."docker.io"] mirrors = ["mirror.example:5000"]', { cause: err });
    }
    throw err;
  }
  const bad = (what: string, hint = 'tsbuild.toml knows [registry."HOST"] tables with mirrors, http, insecure and ca'): UserError => new UserError('INVALID_ARGUMENT', `${path}: ${what}`, hint);
  for (const key of Object.keys(doc)) if (key !== 'registry') throw bad(`unknown key ${JSON.stringify(key)}`);
  const hosts: Record<string, RegistryHostConfig> = {};
  const registry = doc['registry'];
  if (registry === undefined) return { path, hosts };
  if (!isTable(registry)) throw bad('"registry" must be a table of hosts: [registry."docker.io"]');
  for (const [host, value] of Object.entries(registry)) {
    const where = `registry.${JSON.stringify(host)}`;
    if (!/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host)) throw bad(`${where}: not a registry host[:port]`);
    if (!isTable(value)) throw bad(`${where} must be a table`);
    for (const key of Object.keys(value)) if (!(HOST_KEYS as readonly string[]).includes(key)) throw bad(`${where}: unknown key ${JSON.stringify(key)}`);
    const mirrors = stringList(value['mirrors'], `${where}.mirrors`, bad);
    for (const m of mirrors) if (!/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(m)) throw bad(`${where}.mirrors: ${JSON.stringify(m)} is not a host[:port]`, 'give mirrors as host[:port], without a scheme: set http = true in the mirror\'s own [registry."HOST"] table for plain HTTP');
    hosts[host] = {
      mirrors,
      http: bool(value['http'], `${where}.http`, bad),
      insecure: bool(value['insecure'], `${where}.insecure`, bad),
      ca: stringList(value['ca'], `${where}.ca`, bad),
    };
  }
  return { path, hosts };
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function stringList(v: unknown, where: string, bad: (what: string) => UserError): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s !== '')) throw bad(`${where} must be a list of strings`);
  return v as string[];
}

function bool(v: unknown, where: string, bad: (what: string) => UserError): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw bad(`${where} must be true or false`);
  return v;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
