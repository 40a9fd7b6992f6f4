import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { USER_AGENT } from '../../common/index.js';
import { Downloads, downloadsDir, pruneDownloads } from './downloads.js';

const sha256 = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

// ADD <url>'s downloads against a real HTTP server whose answers each case sets: BuildKit's http source revalidation
// (source/http/source.go resolveMetadataRef), one Downloads per build as the worker makes them.
describe('Downloads (ADD <url>: keyed by content, revalidated by ETag)', () => {
  let server: Server;
  let url: string;
  let dir: string;
  let root: string;
  let temp: string;
  /** What the server serves now, per path: body, ETag (none when undefined), whether it answers If-None-Match with 304. */
  const served = new Map<string, { body: string; etag?: string; notModified?: boolean; bareNotModified?: boolean }>();
  const requests: { method: string; path: string; ifNoneMatch?: string }[] = [];
  /** The User-Agent of each request, in order. */
  const agents: (string | undefined)[] = [];
  const signal = new AbortController().signal;
  const build = (): Downloads => new Downloads(root, temp);

  before(async () => {
    server = createServer((req, res) => {
      const ifNoneMatch = req.headers['if-none-match'];
      requests.push({ method: req.method ?? '', path: req.url ?? '', ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}) });
      agents.push(req.headers['user-agent']);
      const entry = served.get(req.url ?? '');
      if (entry === undefined) { res.writeHead(404).end(); return; }
      const tag = entry.etag;
      if (entry.notModified === true && tag !== undefined && ifNoneMatch !== undefined && ifNoneMatch.split(',').map((t) => t.trim()).includes(tag)) {
        // Some servers answer a 304 without repeating the ETag: it is about the one that was sent.
        res.writeHead(304, entry.bareNotModified === true ? {} : { etag: tag }).end();
        return;
      }
      res.writeHead(200, { ...(tag !== undefined ? { etag: tag } : {}), 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT', 'content-length': Buffer.byteLength(entry.body) });
      res.end(req.method === 'HEAD' ? undefined : entry.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tsbuild-downloads-'));
    root = path.join(dir, 'root');
    temp = path.join(root, 'tmp');
    await mkdir(temp, { recursive: true });
    requests.length = 0;
    agents.length = 0;
  });
  afterEach(async () => {
    expect(await readdir(temp), 'the temp dir after every download').to.deep.equal([]);
    await rm(dir, { recursive: true, force: true });
  });
  const methods = (p: string): string[] => requests.filter((r) => r.path === p).map((r) => r.method);

  it('downloads once per build, keys by content and Last-Modified, and the copy gets the same body', async () => {
    served.set('/a', { body: 'A1', etag: '"a1"' });
    const one = build();
    expect(await one.key(`${url}/a`, undefined, signal)).to.deep.equal({ digest: sha256('A1'), lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT' });
    const got = await one.fetch(`${url}/a`, undefined, signal);
    expect(await readFile(got.file, 'utf8')).to.equal('A1');
    expect(methods('/a')).to.deep.equal(['GET']);
  });

  it('names tsbuild as the User-Agent of its GET and HEAD, as BuildKit\'s http source names itself (not the HTTP library)', async () => {
    served.set('/ua', { body: 'U', etag: '"u"' });
    await build().fetch(`${url}/ua`, undefined, signal);
    await build().key(`${url}/ua`, undefined, signal);
    expect(methods('/ua')).to.deep.equal(['GET', 'HEAD']);
    expect(agents).to.deep.equal([USER_AGENT, USER_AGENT]);
    expect(USER_AGENT).to.match(/^tsbuild\/\d+\.\d+$/);
  });

  it('revalidates in the next build with a HEAD and the stored ETag; only a changed body is fetched again', async () => {
    served.set('/b', { body: 'B1', etag: '"b1"' });
    await build().key(`${url}/b`, undefined, signal);
    requests.length = 0;
    expect((await build().key(`${url}/b`, undefined, signal)).digest).to.equal(sha256('B1'));
    expect(requests).to.deep.equal([{ method: 'HEAD', path: '/b', ifNoneMatch: '"b1"' }]);
    requests.length = 0;
    served.set('/b', { body: 'B2', etag: '"b2"' });
    const next = build();
    expect((await next.key(`${url}/b`, undefined, signal)).digest).to.equal(sha256('B2'));
    expect(methods('/b')).to.deep.equal(['HEAD', 'GET']);
    expect(await readFile((await next.fetch(`${url}/b`, undefined, signal)).file, 'utf8')).to.equal('B2');
  });

  it('takes a 304 as the stored body, with or without the ETag repeated, and a weak ETag as the same tag', async () => {
    served.set('/c', { body: 'C1', etag: 'W/"c1"', notModified: true, bareNotModified: true });
    await build().key(`${url}/c`, undefined, signal);
    requests.length = 0;
    expect((await build().key(`${url}/c`, undefined, signal)).digest).to.equal(sha256('C1'));
    expect(methods('/c')).to.deep.equal(['HEAD']);
  });

  it('downloads every time from a server that sends no ETag, as BuildKit does', async () => {
    served.set('/d', { body: 'D1' });
    await build().key(`${url}/d`, undefined, signal);
    await build().key(`${url}/d`, undefined, signal);
    expect(methods('/d')).to.deep.equal(['GET', 'GET']);
  });

  it('keys a --checksum step by the checksum without a request, and copies a stored body of that digest without one', async () => {
    served.set('/e', { body: 'E1', etag: '"e1"' });
    const checksum = sha256('E1');
    expect(await build().key(`${url}/e`, checksum, signal)).to.deep.equal({ digest: checksum });
    expect(requests).to.deep.equal([]);
    await build().fetch(`${url}/e`, checksum, signal);
    expect(methods('/e')).to.deep.equal(['GET']);
    await build().fetch(`${url}/e`, checksum, signal);
    expect(methods('/e')).to.deep.equal(['GET']);
  });

  it('refuses a body that does not match --checksum and keeps nothing of it', async () => {
    served.set('/f', { body: 'F1', etag: '"f1"' });
    const err = await build().fetch(`${url}/f`, sha256('other'), signal).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'DIGEST_MISMATCH');
    expect(await readdir(downloadsDir(root)).catch(() => [])).to.deep.equal([]);
  });

  it('prune removes the stored downloads, and the next build fetches again', async () => {
    served.set('/g', { body: 'G1', etag: '"g1"' });
    await build().key(`${url}/g`, undefined, signal);
    expect(await pruneDownloads(root, Date.now() - 60_000)).to.equal(0);   // used within the minute: kept
    expect(await pruneDownloads(root)).to.equal(2);
    expect(await readdir(downloadsDir(root))).to.deep.equal([]);
    await build().key(`${url}/g`, undefined, signal);
    expect(methods('/g')).to.deep.equal(['GET', 'GET']);
  });
});
