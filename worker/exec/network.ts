// The network of RUN steps with the default network: network namespaces reached from the outside only through
// slirp4netns, a user-mode TCP/IP stack (as rootless Docker/BuildKit do). A build keeps a pool of them, as BuildKit
// pools its namespaces: a step joins an idle one (setns, a single syscall) and hands it back when it ends, so
// concurrent steps never share a loopback (two steps may both listen on 127.0.0.1:8080) and a serial build starts
// slirp4netns once.
//
// What a step can reach: the internet (or whatever the host reaches) by TCP/UDP through slirp's NAT, DNS through
// slirp's forwarder at 10.0.2.3. What it cannot: the host's loopback services (--disable-host-loopback refuses
// 10.0.2.2 → 127.0.0.1, and the step's 127.0.0.1 is its own lo), the host's interfaces for raw sockets and the
// host's abstract unix sockets (both belong to the host's network namespace).
//
// Lifetime: the namespace is held by a `cat` process in it reading a pipe from us; slirp4netns watches another
// pipe (--exit-fd). Both end when we close them or when this process dies, kill -9 included: nothing leaks.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';

/** slirp4netns's fixed addresses in its default 10.0.2.0/24: the gateway (the host) and the DNS forwarder. */
const SLIRP_DNS = '10.0.2.3';
// The largest MTU slirp4netns allows: fewer, bigger segments through the user-mode stack (rootlesskit's default).
const SLIRP_MTU = '65520';
const START_TIMEOUT_MS = 10_000;

/** A running network namespace + slirp4netns, shared by the steps of one build. */
export class UserNetwork {
  #holder: ChildProcess;
  #slirp: ChildProcess;
  #closed = false;
  readonly #exited: Promise<void>;

  private constructor(holder: ChildProcess, slirp: ChildProcess, readonly netns: string, readonly netnsInode: number) {
    this.#holder = holder;
    this.#slirp = slirp;
    this.#exited = Promise.all([holder, slirp].map(exited)).then(() => undefined);
  }

  /**
   * Starts the namespace and its stack; resolves once slirp4netns has configured eth0 (and lo). The tap device is
   * named eth0, the name a step sees under Docker's and BuildKit's bridge networks: scripts and BuildKit's own
   * testRunDefaultNetwork (`ip link show eth0`) look for it by that name.
   */
  static async start(): Promise<UserNetwork> {
    // `unshare --net` execs cat in the new namespace; cat exits at EOF on its stdin, i.e. when we go away.
    const holder = spawn('unshare', ['--net', '--', 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
    let slirp: ChildProcess | undefined;
    try {
      const pid = await started(holder, 'unshare --net');
      const netns = `/proc/${pid}/ns/net`;
      await waitForNetns(netns, holder);
      const inode = (await stat(netns)).ino;
      slirp = spawn('slirp4netns', ['--configure', `--mtu=${SLIRP_MTU}`, '--disable-host-loopback', '--enable-sandbox',
        '--enable-seccomp', '--exit-fd=3', '--ready-fd=4', String(pid), 'eth0'],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
      await ready(slirp);
      // Neither child may keep this process running: close() or our exit ends them.
      for (const child of [holder, slirp]) {
        child.unref();
        for (const s of child.stdio) (s as { unref?: () => void } | null)?.unref?.();
      }
      return new UserNetwork(holder, slirp, netns, inode);
    } catch (err) {
      holder.kill('SIGKILL');
      slirp?.kill('SIGKILL');
      throw err;
    }
  }

  /** /etc/resolv.conf for a step: slirp's DNS forwarder, with the host's search domains and options. */
  async resolvConf(): Promise<string> {
    let host = '';
    try {
      host = await readFile('/etc/resolv.conf', 'utf8');
    } catch { /* no host resolv.conf: the forwarder alone */ }
    const keep = host.split('\n').filter((l) => /^\s*(search|domain|options)\s/.test(l));
    return [`nameserver ${SLIRP_DNS}`, ...keep, ''].join('\n');
  }

  /** True until close(), or until the holder or slirp4netns died. */
  get isAlive(): boolean {
    return !this.#closed && this.#holder.exitCode === null && this.#holder.signalCode === null
      && this.#slirp.exitCode === null && this.#slirp.signalCode === null;
  }

  /** close(), then waits until both processes have exited (and been reaped). */
  async stop(): Promise<void> {
    // ref() again: the children were unref'd so they never keep us alive, but this wait must.
    this.#holder.ref();
    this.#slirp.ref();
    this.close();
    await this.#exited;
  }

  /** Stops slirp4netns and the holder (the namespace goes with its last process). Synchronous and idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const child of [this.#slirp, this.#holder]) {
      for (const s of child.stdio) (s as Readable | Writable | null)?.destroy();
      child.kill('SIGKILL');
    }
  }
}

/**
 * The networks of one build: one per concurrently running step, reused afterwards. A network a step could have
 * reconfigured (security=insecure has CAP_NET_ADMIN) is dropped instead of reused.
 */
export class UserNetworkPool {
  #idle: UserNetwork[] = [];
  readonly #all = new Set<UserNetwork>();
  #isClosed = false;

  /** An idle live network, or a new one. */
  async acquire(): Promise<UserNetwork> {
    if (this.#isClosed) throw new Error('the RUN network pool is closed');
    for (let n = this.#idle.pop(); n !== undefined; n = this.#idle.pop()) {
      if (n.isAlive) return n;
      this.#drop(n);
    }
    const n = await UserNetwork.start();
    this.#all.add(n);
    if (this.#isClosed) {
      this.#drop(n);
      throw new Error('the RUN network pool is closed');
    }
    return n;
  }

  /** Gives a network back after its step; stops it unless isReusable. */
  release(n: UserNetwork, isReusable: boolean): void {
    if (this.#isClosed || !isReusable || !n.isAlive) this.#drop(n);
    else this.#idle.push(n);
  }

  /** Stops every network, idle or in use (their steps are over or being cancelled). Synchronous and idempotent. */
  close(): void {
    this.#isClosed = true;
    for (const n of this.#all) n.close();
    this.#all.clear();
    this.#idle = [];
  }

  #drop(n: UserNetwork): void {
    n.close();
    this.#all.delete(n);
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function started(child: ChildProcess, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`could not start ${what}`, { cause: err })));
    child.once('spawn', () => {
      if (child.pid === undefined) reject(new Error(`${what}: no pid`));
      else resolve(child.pid);
    });
  });
}

// unshare(1) execs cat right after unshare(2); until then /proc/PID/ns/net is still the host's. Wait until the
// namespace differs from ours (a few ms at most).
async function waitForNetns(netns: string, holder: ChildProcess): Promise<void> {
  const ours = (await stat('/proc/self/ns/net')).ino;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (holder.exitCode !== null || holder.signalCode !== null) throw new Error(`unshare --net exited (${holder.exitCode ?? holder.signalCode})`);
    if ((await stat(netns)).ino !== ours) return;
    if (Date.now() > deadline) throw new Error('unshare --net did not create a network namespace in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

function ready(slirp: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    slirp.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString('utf8')).slice(-2000); });
    const timer = setTimeout(() => reject(new Error(`slirp4netns was not ready after ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
    slirp.once('error', (err) => { clearTimeout(timer); reject(new Error('could not start slirp4netns (install the Debian package slirp4netns)', { cause: err })); });
    slirp.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`slirp4netns exited (${code ?? sig}): ${stderr.trim()}`)); });
    (slirp.stdio[4] as Readable).once('data', () => { clearTimeout(timer); resolve(); });
  });
}
