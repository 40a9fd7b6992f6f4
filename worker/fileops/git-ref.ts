import { redactUrl, TsbuildError, type ErrorCode } from '../../common/index.js';

/**
 * A git source as BuildKit reads one (frontend/dockerfile/dfgitutil ParseGitRef, util/gitutil ParseURL): the remote
 * to fetch, the ref (branch, tag, `refs/…` or a commit), the subdirectory, and the query options.
 */
export interface GitRef {
  /** The URL git fetches: the given URL without its query and fragment. */
  remote: string;
  /** Branch, tag, full ref or commit; empty = the remote's default branch (its HEAD). */
  ref: string;
  /** Clean relative path inside the checkout ('' = the whole repository). */
  subdir: string;
  /** `?checksum=` / `?commit=`: a commit (prefix) the resolved ref must match. */
  checksum?: string;
  keepGitDir?: boolean;
  /** `?submodules=false` skips them; default: checked out, as BuildKit does. */
  submodules?: boolean;
}

/** A git URL BuildKit would refuse (bad query, unknown scheme), or one tsbuild refuses for containment. */
export class GitRefError extends TsbuildError {
  readonly code: ErrorCode = 'INVALID_ARGUMENT';
}

const PROTO = /^([a-zA-Z0-9]+):\/\//;
// BuildKit's util/sshutil scp-style transport: user@host:path[?query][#fragment].
const SCP = /^([a-zA-Z0-9-_]+)@([a-zA-Z0-9-.]+):(.*?)(?:\?(.*?))?(?:#(.*))?$/;
const SCHEMES = new Set(['http', 'https', 'ssh', 'git']);

/**
 * The git source `ref` names, or undefined when it is not one by BuildKit's rules: a supported scheme
 * (http, https, ssh, git; http(s) only with a path ending in `.git`) or the scp form `user@host:path`.
 * `file://`, `ext::` and local paths are never git sources here: a Dockerfile must not clone the host's repositories.
 */
export function parseGitRef(ref: string): GitRef | undefined {
  if (ref.startsWith('./') || ref.startsWith('../') || ref.startsWith('/')) return undefined;
  let remote: string;
  let query: URLSearchParams;
  let fragment: string;
  let path: string;
  const proto = PROTO.exec(ref)?.[1]?.toLowerCase();
  if (proto !== undefined) {
    if (!SCHEMES.has(proto)) return undefined;
    let url: URL;
    try {
      url = new URL(ref);
    } catch {
      return undefined;
    }
    path = decodeURIComponent(url.pathname);
    if ((proto === 'http' || proto === 'https') && !path.endsWith('.git')) return undefined;
    query = new URLSearchParams(url.search);   // a copy: clearing url.search below empties the live one
    fragment = decodeURIComponent(url.hash.replace(/^#/, ''));
    url.hash = '';
    url.search = '';
    remote = url.toString();
  } else {
    const m = SCP.exec(ref);
    if (m === null) return undefined;
    const [, user, host, p = '', q = '', f = ''] = m;
    path = p;
    query = new URLSearchParams(q);
    fragment = f;
    remote = `${user}@${host}:${p}`;
    if ([user, host, p].some((s) => (s ?? '').startsWith('-'))) throw new GitRefError(`invalid git URL ${redactUrl(ref)}`, 'a user, host or path cannot start with "-"');
  }
  if (path === '') throw new GitRefError(`git URL ${redactUrl(ref)} has no repository path`, 'use e.g. https://host/org/repo.git');
  const colon = fragment.indexOf(':');
  const result: GitRef = {
    remote,
    ref: colon < 0 ? fragment : fragment.slice(0, colon),
    subdir: cleanSubdir(colon < 0 ? '' : fragment.slice(colon + 1)),
  };
  loadQuery(result, query, ref);
  return result;
}

/** True when `source` is a git URL (ADD's git source). */
export function isGitUrl(source: string): boolean {
  return parseGitRef(source) !== undefined;
}

// BuildKit cleans the subdir as path.Join("/", subdir) without the leading slash: `..` can never climb out.
function cleanSubdir(subdir: string): string {
  const parts: string[] = [];
  for (const p of subdir.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return parts.join('/');
}

function loadQuery(g: GitRef, query: URLSearchParams, raw: string): void {
  const seen = new Set<string>();
  let tag = '';
  let branch = '';
  const bad = (message: string): GitRefError => new GitRefError(`git URL ${redactUrl(raw)}: ${message}`,
    'query keys are ref, tag, branch, subdir, checksum (or commit), keep-git-dir, submodules');
  const bool = (k: string, v: string): boolean => {
    if (v === '') return true;
    if (/^(1|t|true)$/i.test(v)) return true;
    if (/^(0|f|false)$/i.test(v)) return false;
    throw bad(`invalid ${k} value ${JSON.stringify(v)}`);
  };
  for (const [k, v] of query) {
    if (seen.has(k)) throw bad(`query ${JSON.stringify(k)} has multiple values`);
    seen.add(k);
    if (v === '' && !['submodules', 'keep-git-dir'].includes(k)) throw bad(`query ${JSON.stringify(k)} has no value`);
    switch (k) {
      case 'ref':
        if (g.ref !== '' && g.ref !== v) throw bad(`ref conflicts: ${JSON.stringify(g.ref)} vs ${JSON.stringify(v)}`);
        g.ref = v;
        break;
      case 'tag': tag = v; break;
      case 'branch': branch = v; break;
      case 'subdir': {
        const sub = cleanSubdir(v);
        if (g.subdir !== '' && g.subdir !== sub) throw bad(`subdir conflicts: ${JSON.stringify(g.subdir)} vs ${JSON.stringify(v)}`);
        g.subdir = sub;
        break;
      }
      case 'checksum':
      case 'commit': g.checksum = v; break;
      case 'keep-git-dir': g.keepGitDir = bool(k, v); break;
      case 'submodules': g.submodules = bool(k, v); break;
      default: throw bad(`unexpected query ${JSON.stringify(k)}`);
    }
  }
  if (tag !== '' && branch !== '') throw bad('branch conflicts with tag');
  for (const [value, prefix] of [[tag, 'refs/tags/'], [branch, 'refs/heads/']] as const) {
    if (value === '') continue;
    const full = value.startsWith(prefix) ? value : prefix + value;
    if (g.ref !== '' && g.ref !== full) throw bad(`ref conflicts: ${JSON.stringify(g.ref)} vs ${JSON.stringify(full)}`);
    g.ref = full;
  }
  if (g.ref.startsWith('-')) throw bad(`invalid ref ${JSON.stringify(g.ref)}`);
}
