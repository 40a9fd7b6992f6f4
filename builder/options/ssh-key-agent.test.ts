import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKeyAgent } from './ssh-key-agent.js';

describe('the --ssh key-file agent', () => {
  let dir: string;
  let key: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsbuild-agent-test-'));
    key = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@corp-build-host', '-f', key]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const request = (type: number): Buffer => Buffer.from([0, 0, 0, 1, type]);

  it('lists its keys without their comments or file paths, as BuildKit\'s sshprovider adds them', async () => {
    const agent = await startKeyAgent([key]);
    try {
      const conn = connect(agent.socket);
      const reply = await new Promise<Buffer>((resolve, reject) => {
        let got = Buffer.alloc(0);
        conn.on('error', reject);
        conn.on('data', (chunk: Buffer) => {
          got = Buffer.concat([got, chunk]);
          if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) resolve(got);
        });
        conn.write(request(11));   // SSH_AGENTC_REQUEST_IDENTITIES
      });
      conn.destroy();
      expect(reply[4]).to.equal(12);   // SSH_AGENT_IDENTITIES_ANSWER
      expect(reply.readUInt32BE(5)).to.equal(1);
      expect(reply.readUInt32BE(reply.length - 4)).to.equal(0);   // the last field, the comment, is empty
      expect(reply.toString('latin1')).not.to.contain('alice').and.not.to.contain(dir);
    } finally {
      await agent.close();
    }
  });

  it('stops reading a client that sends requests and never reads the answers (its replies would pile up in memory)', async () => {
    const agent = await startKeyAgent([key]);
    try {
      const conn = connect(agent.socket);
      await new Promise<void>((resolve) => conn.once('connect', () => resolve()));
      conn.pause();   // never read
      const flood = Buffer.concat(Array.from({ length: 200_000 }, () => request(11)));   // 1 MB of requests
      conn.write(flood);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      // The agent stopped taking requests once its answers filled the socket: most of ours are still unsent (an
      // agent that reads on takes the whole megabyte within the wait, keeping 13 MB of answers in its heap).
      expect(conn.writableLength).to.be.greaterThan(flood.length / 2);
      conn.destroy();
    } finally {
      await agent.close();
    }
  });
});
