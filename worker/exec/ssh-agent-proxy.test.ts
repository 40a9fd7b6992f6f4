import { expect } from 'chai';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshAgentProxy } from './ssh-agent-proxy.js';

/**
 * A stand-in agent that answers each request with one byte and, like a busy `ssh-agent -d`, notices a closed
 * connection only some time after its peer closed it. It records the most connections it ever held at once.
 */
async function slowAgent(path: string, answerBytes = 1): Promise<{ server: Server; most: () => number }> {
  let held = 0;
  let most = 0;
  const server = createServer((s: Socket) => {
    held++;
    most = Math.max(most, held);
    s.on('data', () => { const answer = Buffer.alloc(answerBytes); answer[0] = 12; s.write(answer); });
    s.on('end', () => setTimeout(() => s.end(), 80));
    s.on('error', () => setTimeout(() => s.destroy(), 80));
    s.on('close', () => { held--; });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, most: () => most };
}

/** One request and its answer, then the connection closed: what `ssh` does with the agent. */
async function ask(path: string): Promise<number> {
  const s = connect(path);
  const reply = await new Promise<Buffer>((resolve, reject) => {
    s.once('data', resolve);
    s.once('error', reject);
    s.write(Buffer.from([0, 0, 0, 1, 11]));
  });
  s.end();
  return reply[0] ?? -1;
}

describe('ssh agent proxy', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ssh-proxy-test-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('joins a step\'s next connection to the agent only after the agent has closed the previous one', async () => {
    const agent = await slowAgent(join(dir, 'agent.sock'));
    const proxy = await startSshAgentProxy(join(dir, 'agent.sock'), { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mode: 0o600 });
    try {
      const replies: number[] = [];
      for (let i = 0; i < 3; i++) replies.push(await ask(join(proxy.dir, proxy.name)));
      expect(replies).to.deep.equal([12, 12, 12]);
      // Before, each connection was joined at once: the agent held the second while still closing the first.
      expect(agent.most()).to.equal(1);
    } finally {
      await proxy.close();
      agent.server.close();
    }
  });

  it('waits for the agent to close a connection the step reset (closed with part of the answer unread)', async () => {
    const agent = await slowAgent(join(dir, 'agent.sock'), 256 * 1024);
    const proxy = await startSshAgentProxy(join(dir, 'agent.sock'), { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mode: 0o600 });
    try {
      for (let i = 0; i < 3; i++) {
        const s = connect(join(proxy.dir, proxy.name));
        await new Promise<void>((resolve, reject) => {
          s.once('data', () => { s.destroy(); resolve(); });   // most of the answer unread: the kernel sends RST
          s.once('error', reject);
          s.write(Buffer.from([0, 0, 0, 1, 11]));
        });
      }
      expect(await ask(join(proxy.dir, proxy.name))).to.equal(12);
      expect(agent.most()).to.equal(1);
    } finally {
      await proxy.close();
      agent.server.close();
    }
  });

  it('gives the socket the mount\'s mode and removes its directory on close', async () => {
    const agent = await slowAgent(join(dir, 'agent.sock'));
    const proxy = await startSshAgentProxy(join(dir, 'agent.sock'), { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mode: 0o640 });
    try {
      expect((await stat(join(proxy.dir, proxy.name))).mode & 0o777).to.equal(0o640);
    } finally {
      await proxy.close();
      agent.server.close();
    }
    let gone = false;
    try { await stat(proxy.dir); } catch { gone = true; }
    expect(gone).to.equal(true);
  });
});
