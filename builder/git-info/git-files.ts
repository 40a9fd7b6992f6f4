import { readFile, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { redactCredentials } from '../../common/index.js';

// The plain checkout read from its files, without starting git. Every build in a checkout asks for its root, HEAD's
// commit and its remote (git-attributes.ts); as two git processes that was ~40 ms of a 220 ms no-op rebuild here:
// git itself runs in 3 ms, the rest is Node forking its 70 MB process twice (measured with farm-bench, BUILDX_GIT_INFO
// on against off, 20 pairs). Only what needs no interpretation is read here: a `.git` directory, HEAD naming a
// branch whose commit is a loose or packed ref (or HEAD holding a commit), and a config of plain `key = value`
// lines. Anything else (a `.git` file of a worktree or submodule, includes, URL rewriting by insteadOf, quoting,
// an unborn branch) answers undefined, and the caller asks git, which knows all of it.

/** What the files say: the work tree's root (symbolic links resolved, as git prints it), HEAD's commit, the remote URL. */
export interface CheckoutFacts { root: string; commit: string; remoteUrl: string | undefined }

const COMMIT = /^[0-9a-f]{40}$/;

/** What only git reads right: URL rewriting (url.*.insteadOf) and included files. */
const GIT_ONLY = /insteadof|\[include/i;

/** The facts of the checkout whose `.git` directory is in `top`, or undefined when git must be asked. */
export async function readCheckout(top: string, env: NodeJS.ProcessEnv): Promise<CheckoutFacts | undefined> {
  const gitDir = join(top, '.git');
  if (!(await stat(gitDir).then((s) => s.isDirectory(), () => false))) return undefined;
  const head = (await readText(join(gitDir, 'HEAD')))?.trim();
  if (head === undefined) return undefined;
  const branchRef = head.startsWith('ref: ') ? head.slice(5).trim() : undefined;
  const commit = branchRef === undefined ? head : await refCommit(gitDir, branchRef);
  if (commit === undefined || !COMMIT.test(commit)) return undefined;
  const config = await readText(join(gitDir, 'config'));
  if (config === undefined || !(await plainUserConfig(env))) return undefined;
  const sections = parsePlainConfig(config);
  // A bare repository or one whose work tree is elsewhere: git's answer, not the directory's.
  const core = sections?.get('core');
  if (sections === undefined || core?.get('bare') === 'true' || core?.has('worktree')) return undefined;
  const branch = branchRef?.startsWith('refs/heads/') ? branchRef.slice('refs/heads/'.length) : undefined;
  // GitCLI.RemoteURL's order: the branch's upstream remote, then origin, then upstream.
  const upstream = branch === undefined ? undefined : sections.get(`branch "${branch}"`)?.get('remote');
  const url = [upstream, 'origin', 'upstream'].map((r) => (r === undefined ? undefined : sections.get(`remote "${r}"`)?.get('url'))).find((u) => u !== undefined && u !== '');
  const root = await realpath(top).catch(() => undefined);
  if (root === undefined) return undefined;
  return { root, commit, remoteUrl: url === undefined ? undefined : redactCredentials(url) };
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

/** A branch's commit: its loose ref file, else its line in packed-refs. */
async function refCommit(gitDir: string, ref: string): Promise<string | undefined> {
  if (!ref.startsWith('refs/') || ref.includes('..')) return undefined;
  const loose = (await readText(join(gitDir, ref)))?.trim();
  if (loose !== undefined) return loose;
  const packed = await readText(join(gitDir, 'packed-refs'));
  for (const line of packed?.split('\n') ?? []) {
    const [sha, name] = line.split(' ');
    if (name === ref) return sha;
  }
  return undefined;
}

/**
 * The repository's config as sections of plain keys (the first value of a key, as `git remote get-url` takes a
 * remote's first url), or undefined for anything this reader does not interpret: includes, insteadOf, quotes,
 * escapes or continued lines.
 */
function parsePlainConfig(text: string): Map<string, Map<string, string>> | undefined {
  if (GIT_ONLY.test(text)) return undefined;
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (/["\\]/.test(line)) {
      // A section name's quotes are plain; anywhere else quotes and escapes need git's reading.
      const section = /^\[([A-Za-z0-9.-]+) "([^"\\]*)"\]$/.exec(line);
      if (section === null) return undefined;
      current = new Map();
      const name = `${(section[1] ?? '').toLowerCase()} "${section[2] ?? ''}"`;
      if (!sections.has(name)) sections.set(name, current);
      else current = sections.get(name);
      continue;
    }
    // `[branch.main]`, the old spelling of a subsection, is git's to read.
    const plain = /^\[([A-Za-z0-9-]+)\]$/.exec(line);
    if (plain !== null) {
      const name = (plain[1] ?? '').toLowerCase();
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9-]*)\s*=\s*([^#;]*)$/.exec(line);
    if (kv === null || current === undefined) return undefined;
    const key = (kv[1] ?? '').toLowerCase();
    if (!current.has(key)) current.set(key, (kv[2] ?? '').trim());
  }
  return sections;
}

/** The user's and the system's git config rewrite no URL and include nothing: else git must read them. */
async function plainUserConfig(env: NodeJS.ProcessEnv): Promise<boolean> {
  const home = env['HOME'] ?? homedir();
  const paths = ['/etc/gitconfig', join(home, '.gitconfig'), join(env['XDG_CONFIG_HOME'] || join(home, '.config'), 'git/config')];
  for (const p of paths) {
    const text = await readText(p);
    if (text !== undefined && GIT_ONLY.test(text)) return false;
  }
  return true;
}
