import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';

// RUN --mount=type=ssh: the step never sees the host's agent socket. Each mount gets a socket of its own, owned by
// the mount's uid/gid with its mode (as BuildKit's), and every connection to it is piped to the agent the user named
// with --ssh. The Dockerfile picks only the id and where the socket appears inside the container.

/** How long a new connection waits for the agent to close the step's previous one: a stuck agent delays, never blocks. */
const REAP_WAIT_MS = 1000;

/** A listening proxy socket: bind `dir`/`name` into the container; `close` stops it and removes the directory. */
export interface SshAgentProxy { dir: string; name: string; close(): Promise<void> }

/** Starts a proxy to `agent` (a host socket path, from --ssh). */
export async function startSshAgentProxy(agent: string, owner: { uid: number; gid: number; mode: number }): Promise<SshAgentProxy> {
  // A short path: a unix socket path is at most 107 bytes, and --root may be deep.
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-ssh-'));
  const name = 'agent.sock';
  const open = new Set<Socket>();
  // The agent's ends of connections the step has finished with, not yet closed by the agent. A step that connects
  // again at once (three `ssh` in a row) is joined to the agent only after they are gone: the agent sees one
  // connection at a time, as the step made them, and not a second socket beside one it has not yet reaped.
  const finishing = new Set<Promise<void>>();
  const server = createServer((client) => {
    client.pause();
    // One turn of the event loop first: the end of a connection the step closed before making this one is then seen.
    const joined = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => finishing.size === 0 ? undefined : Promise.race([Promise.all(finishing), delay(REAP_WAIT_MS, undefined, { ref: false })]));
    void joined.then(() => {
      if (client.destroyed) return;
      const upstream = connect(agent);
      const reaped = new Promise<void>((resolve) => upstream.once('close', () => resolve()));
      let done = false;
      const finished = (): void => {
        if (done) return;
        done = true;
        finishing.add(reaped);
        void reaped.then(() => finishing.delete(reaped));
      };
      // The step closed its end (the pipe then ends the agent's) or reset it (a client that closes with part of the
      // answer unread: its kernel sends RST): either way the agent's end is only half-closed here, so the agent closes
      // it itself and this side sees its `close` then. Destroying it here would leave nothing to wait for.
      client.once('end', finished);
      const release = (): void => {
        finished();
        if (!upstream.writableEnded) upstream.end();
        upstream.resume();   // nothing reads the rest of the answer now: let the agent's close come through
      };
      // Released at the reset itself: waiting for the socket's `close` let the step's next connection in first.
      client.once('error', () => { client.destroy(); release(); });
      client.once('close', release);
      upstream.on('error', () => { client.destroy(); upstream.destroy(); });   // the agent went away: drop both
      for (const s of [client, upstream]) {
        open.add(s);
        s.on('close', () => open.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(join(dir, name), () => { server.off('error', reject); resolve(); });
    });
    await chown(join(dir, name), owner.uid, owner.gid);
    await chmod(join(dir, name), owner.mode);
  } catch (err) {
    server.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir, name,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
