import type { BuildHistory, SqliteCacheIndex } from '../../solver/index.js';
import type { LinuxWorker } from '../../worker/index.js';
import type { CredentialSource, RegistryClient, RetryEvent } from '../../registry/index.js';
import type { TestHooks } from '../../common/index.js';
import type { RootLock } from '../root-lock.js';

/** How a command wants its root's resources set up; all optional. */
export interface RootOptions {
  /** `--insecure-registry` hosts, besides those tsbuild.toml marks (the client reads tsbuild.toml itself: mirrors, http, ca). */
  insecureRegistries?: string[];
  /** `--certs-dir`: per-registry CAs as docker keeps them. */
  certsDir?: string;
  /** Where the registry client's credentials come from; default docker's config.json. */
  credentials?: CredentialSource;
  /** Each registry retry, for progress output; default: a note on standard error. */
  onRetry?: (event: RetryEvent) => void;
  /** The worker's: SOURCE_DATE_EPOCH and the test hooks of a build. */
  sourceDateEpoch?: number | undefined;
  hooks?: TestHooks;
}

/**
 * One state root (`--root`) and everything a command uses in it: the root lock, the worker (snapshots, content
 * store), the cache index, the build history, and ONE configured registry client. Each is made on first use and
 * loaded lazily (a command loads only the modules it needs; `tsbuild --version` loads none of them); `close`
 * releases what was made, once, in reverse order. Commands get a Root from `openRoot` and never open these
 * themselves.
 */
export class Root {
  readonly dir: string;
  readonly #opts: RootOptions;
  readonly #closers: (() => Promise<void> | void)[] = [];
  #lock: RootLock | undefined;
  #worker: Promise<LinuxWorker> | undefined;
  #cache: Promise<SqliteCacheIndex> | undefined;
  #history: Promise<BuildHistory> | undefined;
  #registry: Promise<RegistryClient> | undefined;
  #closed = false;

  constructor(dir: string, opts: RootOptions) {
    this.dir = dir;
    this.#opts = opts;
  }

  /** Takes the root lock (shared for builds, exclusive for prune: root-lock.ts), held until close. */
  async lock(mode: 'shared' | 'exclusive', onWait?: () => void): Promise<void> {
    if (this.#lock) throw new Error('the root is locked already');
    const { lockRoot } = await import('../root-lock.js');
    this.#hold(await lockRoot(this.dir, mode, onWait));
  }

  /**
   * Lets the root lock go, so that `lock` may take it again in another mode (automatic gc trades a build's shared
   * lock for an exclusive one: builder/gc.ts). Whoever unlocks must lock again before using the root further.
   */
  async unlock(): Promise<void> {
    // The cache index was opened `pruneExcluded` under the lock and keeps this build's leases in memory; once the
    // lock is gone a prune of another process may run, and it must see them: written first.
    if (this.#cache !== undefined) (await this.#cache).flush();
    const lock = this.#lock;
    this.#lock = undefined;
    await lock?.release();
  }

  /** Takes the lock in `mode` at once or not at all (builder/gc.ts); true when taken, held until close or unlock. */
  async tryLock(mode: 'shared' | 'exclusive'): Promise<boolean> {
    if (this.#lock) throw new Error('the root is locked already');
    const { tryLockRoot } = await import('../root-lock.js');
    const lock = await tryLockRoot(this.dir, mode);
    if (lock) this.#hold(lock);
    return lock !== undefined;
  }

  #hold(lock: RootLock): void {
    this.#lock = lock;
    this.#closers.push(() => lock.release());
  }

  worker(): Promise<LinuxWorker> {
    this.#worker ??= this.#open(async () => {
      const { LinuxWorker } = await import('../../worker/index.js');
      const w = await LinuxWorker.open({
        root: this.dir, ...(this.#opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: this.#opts.sourceDateEpoch } : {}),
        ...(this.#opts.hooks ? { hooks: this.#opts.hooks } : {}),
      });
      return [w, () => w.close()];
    });
    return this.#worker;
  }

  cache(): Promise<SqliteCacheIndex> {
    this.#cache ??= this.#open(async () => {
      const { SqliteCacheIndex } = await import('../../solver/index.js');
      // Under the root lock no prune runs until close (root-lock.ts): the index keeps a build's leases in memory.
      const c = SqliteCacheIndex.open(this.dir, { pruneExcluded: this.#lock !== undefined });
      return [c, () => c.close()];
    });
    return this.#cache;
  }

  history(): Promise<BuildHistory> {
    this.#history ??= this.#open(async () => {
      const { BuildHistory } = await import('../../solver/index.js');
      const h = BuildHistory.open(this.dir);
      return [h, () => h.close()];
    });
    return this.#history;
  }

  /** The root's one registry client: retries reported, `--insecure-registry` hosts, tsbuild.toml's registries. */
  registry(): Promise<RegistryClient> {
    this.#registry ??= this.#open(async () => {
      const { RegistryClient } = await import('../../registry/index.js');
      const onRetry = this.#opts.onRetry ?? ((e: RetryEvent) => process.stderr.write(`${retryText(e)}\n`));
      const { certsDir, credentials } = this.#opts;
      const c = new RegistryClient({
        insecureRegistries: this.#opts.insecureRegistries ?? [], onRetry,
        ...(certsDir !== undefined ? { certsDir } : {}), ...(credentials !== undefined ? { credentials } : {}),
      });
      return [c, () => c.close()];
    });
    return this.#registry;
  }

  /** Releases everything opened, newest first; a second call does nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let first: unknown;
    for (const close of this.#closers.reverse()) {
      try { await close(); } catch (err) { first ??= err; }
    }
    if (first !== undefined) throw first;
  }

  async #open<T>(make: () => Promise<[T, () => Promise<void> | void]>): Promise<T> {
    if (this.#closed) throw new Error(`the root ${this.dir} is closed`);
    const [value, close] = await make();
    this.#closers.push(close);
    return value;
  }
}

/** How a retry reads in progress output. */
export function retryText(e: RetryEvent): string {
  return `retrying ${e.operation} in ${e.delayMs} ms (attempt ${e.attempt}): ${e.error.message}`;
}

/** Opens the state root `dir` for one command; resources are made on first use. */
export function openRoot(dir: string, opts: RootOptions = {}): Root {
  return new Root(dir, opts);
}

/** Runs `fn` with the root `dir` open, closing it after (also when `fn` throws). */
export async function withRoot<T>(dir: string, opts: RootOptions, fn: (root: Root) => Promise<T>): Promise<T> {
  const root = openRoot(dir, opts);
  try {
    return await fn(root);
  } finally {
    await root.close();
  }
}
